"""Mixing pairs of training images and their labels: mixup and a lesion-aware CutMix.

Both work on a batch: every image is paired with another image of the same
batch (a seeded permutation), and the labels (one-hot or soft, shape
``(N, C)``) are mixed in the same proportion as what the image shows.

- **mixup** (Zhang et al., ICLR 2018): ``lam * a + (1 - lam) * b`` for
  images and labels, ``lam ~ Beta(alpha, alpha)``.
- **lesion-aware CutMix** (after Yun et al., ICCV 2019): a rectangle of
  ``b`` covering a ``Beta(alpha, alpha)`` share of the image is pasted
  into ``a`` where it covers as little of ``a``'s lesion as possible (the
  lesion estimated by `dermprep.hair.estimate_lesion()`), and the labels
  are mixed by the *lesion* area each image shows, not by pixel area: a
  patch of ``b``'s plain skin leaves ``a``'s label as it was; skin carries
  no diagnosis.

Randomness comes from ``(seed, epoch, batch)`` only, so a batch mixes the
same way however often, and in whatever order, it is produced.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..validation import check_image, check_number, check_seed

__all__ = ["cutmix_pair", "mix_batch"]

#: Candidate positions per axis for each CutMix patch: a grid, the one covering least of the lesion wins
#: (ties drawn at random).
PATCH_GRID = 9
_MIX_STREAM = 0x6D6978  # keeps mixing draws apart from every other use of (seed, epoch)


def _check_labels(labels: Any, count: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[0] != count or labels.dtype.kind != "f":
        raise ValueError(f"labels must be one-hot or soft labels, float (N, C) with N = {count} (the images); got "
                         f"{labels.dtype} {labels.shape}: use one_hot=True")
    return labels


def cutmix_pair(image: np.ndarray, other: np.ndarray, lesion: np.ndarray, other_lesion: np.ndarray, share: float,
                rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Paste a rectangle of ``other`` covering ``share`` of the image where it hides least of ``lesion``.

    Returns the mixed image and the weight of ``other``'s label: its lesion
    pixels shown, over all lesion pixels shown (the pixel share where
    neither image has a lesion estimate).
    """
    height, width = image.shape[:2]
    side_y = int(round(height * np.sqrt(share)))
    side_x = int(round(width * np.sqrt(share)))
    if side_y == 0 or side_x == 0:
        return image.copy(), 0.0
    table = np.pad(np.cumsum(np.cumsum(lesion, axis=0, dtype=np.int64), axis=1), ((1, 0), (1, 0)))
    ys = np.unique(np.linspace(0, height - side_y, PATCH_GRID).round().astype(int))
    xs = np.unique(np.linspace(0, width - side_x, PATCH_GRID).round().astype(int))
    y0, x0 = np.meshgrid(ys, xs, indexing="ij")
    hidden = (table[y0 + side_y, x0 + side_x] - table[y0, x0 + side_x] - table[y0 + side_y, x0] + table[y0, x0]).ravel()
    best = int(rng.choice(np.flatnonzero(hidden == hidden.min())))
    y, x = int(y0.ravel()[best]), int(x0.ravel()[best])
    mixed = image.copy()
    mixed[y:y + side_y, x:x + side_x] = other[y:y + side_y, x:x + side_x]
    own = int(lesion.sum()) - int(hidden[best])
    shown = int(other_lesion[y:y + side_y, x:x + side_x].sum())
    if own + shown == 0:
        return mixed, side_y * side_x / float(height * width)
    return mixed, shown / float(own + shown)


def mix_batch(images: np.ndarray, labels: np.ndarray, *, mixup: float = 0.0, cutmix: float = 0.0, seed: int = 0,
              epoch: int = 0, batch: int = 0, lesions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mix a batch: mixup, lesion-aware CutMix, or (both given) one of the two per batch at random.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, 3), uint8 or float32
    labels : ndarray, shape (N, C), float
        One-hot or soft labels.
    mixup, cutmix : float
        ``alpha`` of each method's ``Beta(alpha, alpha)``; 0 turns it off.
    seed, epoch, batch : int
        The key of this batch's draws.
    lesions : ndarray of bool, shape (N, H, W), optional
        Lesion masks (default: `dermprep.hair.estimate_lesion()` of each image).

    Returns
    -------
    images, labels : ndarray
        Same shapes and dtypes; the inputs are not modified.

    Examples
    --------
    >>> images = np.zeros((4, 32, 32, 3), np.uint8); labels = np.eye(4, dtype=np.float32)
    >>> mixed, soft = mix_batch(images, labels, mixup=0.4, seed=0)
    >>> mixed.shape, soft.shape, bool(np.allclose(soft.sum(axis=1), 1))
    ((4, 32, 32, 3), (4, 4), True)
    """
    images = check_image(images, "images")
    if images.ndim != 4:
        raise ValueError(f"images must be a batch (N, H, W, 3); got {images.shape}")
    labels = _check_labels(labels, images.shape[0])
    mixup = check_number(mixup, "mixup", lower=0.0, upper=10.0)
    cutmix = check_number(cutmix, "cutmix", lower=0.0, upper=10.0)
    rng = np.random.default_rng([check_seed(seed), check_seed(epoch, "epoch"), check_seed(batch, "batch"), _MIX_STREAM])
    if not (mixup or cutmix) or images.shape[0] < 2:
        return images.copy(), labels.copy()
    partner = rng.permutation(images.shape[0])
    use_cutmix = bool(cutmix) and (not mixup or rng.random() < 0.5)
    if not use_cutmix:
        lam = rng.beta(mixup, mixup, images.shape[0])
        mixed = lam[:, None, None, None] * images + (1.0 - lam[:, None, None, None]) * images[partner]
        out = np.rint(mixed).astype(np.uint8) if images.dtype == np.uint8 else mixed.astype(np.float32)
        return out, (lam[:, None] * labels + (1.0 - lam[:, None]) * labels[partner]).astype(labels.dtype)
    if lesions is None:
        from ..hair import estimate_lesion  # noqa: PLC0415

        lesions = np.stack([estimate_lesion(image) for image in images])
    shares = rng.beta(cutmix, cutmix, images.shape[0])
    out, weights = np.empty_like(images), np.empty(images.shape[0])
    for i, j in enumerate(partner):
        out[i], weights[i] = cutmix_pair(images[i], images[j], lesions[i], lesions[j], float(shares[i]), rng)
    return out, ((1.0 - weights[:, None]) * labels + weights[:, None] * labels[partner]).astype(labels.dtype)
