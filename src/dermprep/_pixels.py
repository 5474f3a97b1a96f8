"""The pixel-value convention, written once: uint8 in [0, 255] or float32 in [0, 1].

Every module that moves between the two (augmentation statistics, the
tf.data float output, hair removal's uint8 detection) goes through these,
so "what 1.0 means" and how a float rounds to a grey level are decided here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pixel_scale", "to_float32", "to_uint8"]


def pixel_scale(dtype: np.dtype | type) -> float:
    """The value of full intensity for ``dtype``: 255.0 for uint8, 1.0 for float images.

    Dividing pixel values by it gives intensities in [0, 1] whatever the dtype.
    """
    return 255.0 if np.dtype(dtype) == np.uint8 else 1.0


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A float32 image in [0, 1] as uint8 (rounded half to even, clipped); a uint8 image as it is (no copy)."""
    if image.dtype == np.uint8:
        return image
    return np.clip(np.rint(image * np.float32(255.0)), 0, 255).astype(np.uint8)


def to_float32(image: np.ndarray) -> np.ndarray:
    """A uint8 image as float32 in [0, 1] (``x / 255``); a float32 image as it is (no copy)."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) / np.float32(255.0)
    return image
