"""Hair-removal quality against ground truth (synthetic images with known hair)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..runtime import require
from ..validation import check_image, check_mask

__all__ = ["HairRemovalQuality", "hair_removal_quality", "dice"]


@dataclass(frozen=True)
class HairRemovalQuality:
    """Mean quality of restored images over a batch.

    Attributes
    ----------
    psnr : float
        PSNR (dB) of the restored vs the clean image, whole image.
    ssim : float
        SSIM of the restored vs the clean image (RGB, whole image).
    psnr_hair : float
        PSNR (dB) inside the true hair mask only.
    dice : float
        Dice coefficient of the predicted vs the true hair mask.
    changed_fraction : float
        Fraction of pixels whose value changed by more than 8 grey levels
        (any channel) between input and output; on hair-free input this is
        the damage done.
    """

    psnr: float
    ssim: float
    psnr_hair: float
    dice: float
    changed_fraction: float

    def as_dict(self) -> dict[str, float]:
        """The metrics as a plain dict (for JSON)."""
        return asdict(self)


def dice(predicted: np.ndarray, true: np.ndarray) -> float:
    """Dice coefficient ``2|A and B| / (|A| + |B|)`` of two boolean masks (1.0 if both empty)."""
    predicted = np.asarray(predicted, bool)
    true = np.asarray(true, bool)
    if predicted.shape != true.shape:
        raise ValueError(f"predicted and true masks must have the same shape; got {predicted.shape} and {true.shape}")
    total = int(predicted.sum()) + int(true.sum())
    return 1.0 if total == 0 else 2.0 * float((predicted & true).sum()) / total


def _metrics() -> tuple:
    metrics = require("skimage.metrics", "hair-removal quality metrics (PSNR, SSIM)")
    return metrics.peak_signal_noise_ratio, metrics.structural_similarity


def _to_u8(image: np.ndarray) -> np.ndarray:
    return image if image.dtype == np.uint8 else np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def hair_removal_quality(
    original: np.ndarray,
    restored: np.ndarray,
    clean: np.ndarray,
    predicted_mask: np.ndarray,
    true_mask: np.ndarray,
) -> HairRemovalQuality:
    """Score hair removal against the known clean image and hair mask.

    Parameters
    ----------
    original : ndarray, shape (H, W, 3) or (N, H, W, 3)
        The hairy input.
    restored : ndarray, same shape
        The output of a hair-removal method.
    clean : ndarray, same shape
        The image without hair.
    predicted_mask, true_mask : ndarray of bool, shape (H, W) or (N, H, W)
        The method's hair mask and the true one.

    Returns
    -------
    HairRemovalQuality
        Means over the batch (images with an empty true mask are left out of
        ``psnr_hair``; NaN if all are).
    """
    original = check_image(original, "original")
    restored = check_image(restored, "restored")
    clean = check_image(clean, "clean")
    if not (original.shape == restored.shape == clean.shape):
        raise ValueError(
            f"original, restored and clean must have the same shape; got {original.shape}, "
            f"{restored.shape} and {clean.shape}"
        )
    predicted_mask = check_mask(predicted_mask, original.shape[:-1], "predicted_mask")
    true_mask = check_mask(true_mask, original.shape[:-1], "true_mask")
    if original.ndim == 3:
        original, restored, clean = original[None], restored[None], clean[None]
        predicted_mask, true_mask = predicted_mask[None], true_mask[None]
    peak_signal_noise_ratio, structural_similarity = _metrics()
    psnrs, ssims, hair_psnrs, dices, changed = [], [], [], [], []
    for o, r, c, pm, tm in zip(original, restored, clean, predicted_mask, true_mask, strict=True):
        o8, r8, c8 = _to_u8(o), _to_u8(r), _to_u8(c)
        identical = np.array_equal(c8, r8)  # skimage divides by a zero MSE
        psnrs.append(float("inf") if identical else peak_signal_noise_ratio(c8, r8, data_range=255))
        ssims.append(structural_similarity(c8, r8, channel_axis=-1, data_range=255))
        if tm.any():
            err = np.mean((c8[tm].astype(np.float64) - r8[tm]) ** 2)
            hair_psnrs.append(float("inf") if err == 0 else 10 * np.log10(255.0**2 / err))
        dices.append(dice(pm, tm))
        changed.append(float((np.abs(r8.astype(np.int16) - o8).max(axis=-1) > 8).mean()))
    return HairRemovalQuality(
        psnr=float(np.mean(psnrs)),
        ssim=float(np.mean(ssims)),
        psnr_hair=float(np.mean(hair_psnrs)) if hair_psnrs else float("nan"),
        dice=float(np.mean(dices)),
        changed_fraction=float(np.mean(changed)),
    )
