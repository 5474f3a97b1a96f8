"""The common OpenCV hair-removal recipe: the reference method and benchmark baseline.

Grayscale black-hat with a 17x17 cross kernel, Gaussian blur, binary threshold
at 10, then ``cv2.inpaint`` (Telea) with radius 6. This is the snippet most
public HAM10000 notebooks use; we keep it selectable (``method="opencv"``) so
users can compare it with Dull Razor on their own images.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["opencv_hair_mask", "opencv_remove_hair"]

_KERNEL = cv2.getStructuringElement(cv2.MORPH_CROSS, (17, 17))


def opencv_hair_mask(image_u8: np.ndarray, *, threshold: int = 10) -> np.ndarray:
    """Hair mask of one uint8 RGB image by the OpenCV recipe (bool, (H, W))."""
    gray = cv2.cvtColor(image_u8, cv2.COLOR_RGB2GRAY)
    blackhat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, _KERNEL)
    blurred = cv2.GaussianBlur(blackhat, (3, 3), cv2.BORDER_DEFAULT)
    _, mask = cv2.threshold(blurred, threshold, 255, cv2.THRESH_BINARY)
    return mask.astype(bool)


def opencv_remove_hair(
    image_u8: np.ndarray, *, threshold: int = 10, radius: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """Remove hair from one uint8 RGB image by the OpenCV recipe.

    Returns the inpainted image (uint8) and the mask used (bool).
    """
    mask = opencv_hair_mask(image_u8, threshold=threshold)
    restored = cv2.inpaint(image_u8, mask.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)
    return restored, mask
