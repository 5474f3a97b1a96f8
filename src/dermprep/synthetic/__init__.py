"""Synthetic dermoscopy images with known hair and lesion masks.

The ground truth for hair-removal quality (restored vs clean image, predicted
vs true mask), the embedded default data set of ``dermprep demo``, and the
source of simulated hair for augmentation. Everything is seeded: the same
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

__all__ = [
    "HAM10000_CLASS_FREQUENCIES",
    "SyntheticSample",
    "add_hair",
    "make_batch",
    "make_lesion_image",
    "make_sample",
    "write_ham10000_like",
]
