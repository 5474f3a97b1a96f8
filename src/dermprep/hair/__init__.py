"""Hair removal for dermoscopic images: Dull Razor in numba, and the OpenCV recipe.

Public functions take one RGB image (H, W, 3) or a batch (N, H, W, 3), uint8
in [0, 255] or float32 in [0, 1], and return the same dtype.
"""

from ._dullrazor import (
    METHODS,
    DullRazorParams,
    check_hair_options,
    dull_razor_params,
    hair_mask,
    remove_hair,
)
from ._lesion import estimate_lesion
from .quality import HairRemovalQuality, dice, hair_removal_quality

__all__ = [
    "METHODS",
    "DullRazorParams",
    "HairRemovalQuality",
    "check_hair_options",
    "dice",
    "dull_razor_params",
    "estimate_lesion",
    "hair_mask",
    "hair_removal_quality",
    "remove_hair",
]
