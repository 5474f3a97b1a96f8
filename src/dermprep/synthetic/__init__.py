"""Synthetic dermoscopy images with known hair and lesion masks.

The ground truth for hair-removal quality (restored vs clean image, predicted
vs true mask), the embedded default data set of ``dermmodels demo``, and the
source of simulated hair for augmentation. Two independent hair simulators:
`add_hair()` (opaque painted curves, the one hair removal was first tuned
on) and `simulate_hair()` (semi-transparent, soft, tapered, clumped hair
whose ranges were measured on real images). Everything is seeded: the same
seed gives the same pixels.
"""

from ._dataset import write_ham10000_like
from ._generate import (
    HAM10000_CLASS_FREQUENCIES,
    SyntheticSample,
    add_hair,
    make_batch,
    make_lesion_image,
    make_sample,
)
from ._simulate import simulate_hair

__all__ = [
    "HAM10000_CLASS_FREQUENCIES",
    "SyntheticSample",
    "add_hair",
    "make_batch",
    "make_lesion_image",
    "make_sample",
    "simulate_hair",
    "write_ham10000_like",
]
