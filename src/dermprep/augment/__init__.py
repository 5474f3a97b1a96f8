"""Lesion-aware augmentation for dermoscopic images.

Operations are small, checked configuration objects; a :class:`Pipeline`
orders them; :func:`dermprep.tfdata.augment` runs a pipeline in tf.data
(batched, in-graph, stateless randomness keyed on seed, element index and
epoch). :meth:`Pipeline.apply` replays any element on a NumPy image.
Importing this package does not import TensorFlow; applying does.
"""

from ._ops import (
    OPS,
    Brightness,
    Contrast,
    Cutout,
    Dihedral,
    Flip,
    Gamma,
    Hair,
    Hue,
    Op,
    RandomResizedCrop,
    Rotate,
    Saturation,
    ShadesOfGray,
    Shift,
    Vignette,
    Zoom,
)
from ._pipeline import Pipeline, default_pipeline

__all__ = [
    "OPS",
    "Brightness",
    "Contrast",
    "Cutout",
    "Dihedral",
    "Flip",
    "Gamma",
    "Hair",
    "Hue",
    "Op",
    "Pipeline",
    "RandomResizedCrop",
    "Rotate",
    "Saturation",
    "ShadesOfGray",
    "Shift",
    "Vignette",
    "Zoom",
    "default_pipeline",
]
