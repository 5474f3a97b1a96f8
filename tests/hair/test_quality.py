"""Hair-removal quality on seeded synthetic images with known hair (the issue's targets)."""

from __future__ import annotations

import numpy as np
import pytest

from dermprep import hair_mask, remove_hair
from dermprep.hair import dice, hair_removal_quality
from dermprep.synthetic import make_sample


@pytest.fixture(scope="module")
def scores(hairy_set):
    images, clean, true_masks, _ = hairy_set
    ours, ours_masks = remove_hair(images, return_mask=True)
    ocv, ocv_masks = remove_hair(images, method="opencv", return_mask=True)
    return (
        hair_removal_quality(images, ours, clean, ours_masks, true_masks),
        hair_removal_quality(images, ocv, clean, ocv_masks, true_masks),
    )


def test_mask_dice_at_least_0_8(scores):
    ours, _ = scores
    assert ours.dice >= 0.8


def test_restoration_at_least_as_good_as_opencv(scores):
    ours, ocv = scores
    assert ours.psnr >= ocv.psnr
    assert ours.ssim >= ocv.ssim
    assert ours.psnr_hair >= ocv.psnr_hair


def test_restoration_much_better_than_doing_nothing(hairy_set):
    images, clean, true_masks, _ = hairy_set
    restored = remove_hair(images)
    err_before = np.abs(images.astype(int) - clean)[true_masks].mean()
    err_after = np.abs(restored.astype(int) - clean)[true_masks].mean()
    assert err_after < 0.25 * err_before


def test_hair_free_images_barely_change(hair_free_set):
    images, _, _, _ = hair_free_set
    restored = remove_hair(images)
    changed = (np.abs(restored.astype(np.int16) - images).max(axis=-1) > 8).mean(axis=(1, 2))
    assert changed.max() < 0.005, f"changed fractions per image: {changed}"


def test_hair_crossing_dark_lesions_is_found():
    ours, opencv = [], []
    for i in range(4):
        s = make_sample((450, 600), rng=500 + i, label=4, num_hairs=(15, 25))  # dark melanoma-like lesions
        inside = s.hair_mask & s.lesion_mask
        ours.append((hair_mask(s.image) & inside).sum() / inside.sum())
        opencv.append((hair_mask(s.image, method="opencv") & inside).sum() / inside.sum())
    assert np.mean(ours) >= 0.65
    assert np.mean(ours) > np.mean(opencv) + 0.1


def test_224_images_work_sensibly():
    s = [make_sample((224, 224), rng=900 + i) for i in range(4)]
    images = np.stack([x.image for x in s])
    restored, masks = remove_hair(images, return_mask=True)
    quality = hair_removal_quality(images, restored, np.stack([x.clean for x in s]), masks,
                                   np.stack([x.hair_mask for x in s]))
    assert quality.dice >= 0.7
    assert quality.psnr > hair_removal_quality(images, images, np.stack([x.clean for x in s]),
                                               np.zeros_like(masks), np.stack([x.hair_mask for x in s])).psnr + 5


def test_dice_hand_computed():
    a = np.array([[1, 1, 0], [0, 0, 0]], bool)
    b = np.array([[1, 0, 0], [0, 1, 0]], bool)
    assert dice(a, b) == pytest.approx(2 * 1 / 4)
    assert dice(np.zeros((2, 2), bool), np.zeros((2, 2), bool)) == 1.0
    with pytest.raises(ValueError, match="same shape"):
        dice(a, b[:1])


def test_quality_hand_computed_changed_fraction_and_errors():
    clean = np.full((20, 20, 3), 100, np.uint8)
    original = clean.copy()
    original[5, :] = 10
    mask = np.zeros((20, 20), bool)
    mask[5, :] = True
    q = hair_removal_quality(original, clean, clean, mask, mask)
    assert q.changed_fraction == pytest.approx(20 / 400)
    assert q.dice == 1.0 and q.psnr == float("inf") and q.ssim == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same shape"):
        hair_removal_quality(original, clean[:10], clean, mask, mask)
    with pytest.raises(ValueError, match="true_mask must have shape"):
        hair_removal_quality(original, clean, clean, mask, mask[:3])
