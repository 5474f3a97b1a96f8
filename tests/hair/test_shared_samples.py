"""The real HAM10000 sample images in ../shared/samples (skipped where absent).

These nine images are for looking at results, not tuning: the assertions here
are only that every image is processed and that the hairy ones yield hair.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dermprep import remove_hair

HAIRY = ["ISIC_0024320", "ISIC_0030589", "ISIC_0024368", "ISIC_0025606", "ISIC_0031841"]


def _load(path):
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_samples_are_processed_and_hair_is_found(shared_dir):
    samples = shared_dir / "samples"
    if not samples.is_dir():
        pytest.skip(f"{samples} is absent")
    paths = sorted(samples.glob("*.jpg"))
    assert len(paths) == 9
    images = np.stack([_load(p) for p in paths])
    restored, masks = remove_hair(images, return_mask=True)
    assert restored.shape == images.shape
    fractions = {p.stem: float(m.mean()) for p, m in zip(paths, masks, strict=True)}
    for name in HAIRY:
        assert fractions[name] > 0.02, fractions
