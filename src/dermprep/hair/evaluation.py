"""What hair removal does to real images: pixels changed inside and outside the lesion.

On real images there is no clean ground truth, but there is a lesion mask
(HAM10000 publishes one for every image), and the lesion's own structures
(pigment network, streaks, dots, globules, white lines, vessels) are what a
dermatologist or a classifier reads. A hair remover should change lesion
pixels only where hair crosses the lesion. `change_inside_and_outside()`
measures it per image; the benchmark and ``experiments/hair_real.py`` run it
over whole folders.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..validation import check_image, check_positive_int

__all__ = ["ImageChange", "change_inside_and_outside"]


@dataclass(frozen=True)
class ImageChange:
    """Fractions of pixels changed by more than ``threshold`` grey levels (any channel).

    Attributes
    ----------
    lesion : float
        Inside the lesion mask (NaN when the mask is empty).
    skin : float
        Outside it (NaN when the mask covers everything).
    whole : float
        Over the whole image.
    """

    lesion: float
    skin: float
    whole: float

    def as_dict(self) -> dict[str, float]:
        """Plain data for JSON."""
        return asdict(self)


def change_inside_and_outside(original: np.ndarray, restored: np.ndarray, lesion_mask: np.ndarray, *,
                              threshold: int = 8) -> ImageChange:
    """Fractions of lesion and skin pixels that hair removal changed by more than ``threshold`` grey levels.

    Parameters
    ----------
    original, restored : ndarray, shape (H, W, 3), uint8 or float32 in [0, 1]
    lesion_mask : ndarray, shape (H, W)
        Non-zero inside the lesion (HAM10000's masks are 255 there).
    threshold : int
        Grey levels (0-255 scale).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((4, 4, 3), np.uint8)
    >>> restored = image.copy(); restored[0, 0] = 50
    >>> change_inside_and_outside(image, restored, np.eye(4) > 0).lesion
    0.25
    """
    original = check_image(original, "original", allow_batch=False)
    restored = check_image(restored, "restored", allow_batch=False)
    if original.shape != restored.shape:
        raise ValueError(f"original and restored must have the same shape; got {original.shape} and {restored.shape}")
    lesion_mask = np.asarray(lesion_mask)
    if lesion_mask.shape != original.shape[:2]:
        raise ValueError(f"lesion_mask must have shape {original.shape[:2]}; got {lesion_mask.shape}")
    threshold = check_positive_int(threshold, "threshold", minimum=0, maximum=254)
    scale = 255.0 if original.dtype == np.float32 else 1.0
    difference = np.abs(restored.astype(np.float32) * scale - original.astype(np.float32) * scale).max(axis=-1)
    changed = difference > threshold
    inside = lesion_mask > 0
    lesion = float(changed[inside].mean()) if inside.any() else float("nan")
    skin = float(changed[~inside].mean()) if (~inside).any() else float("nan")
    return ImageChange(lesion=lesion, skin=skin, whole=float(changed.mean()))
