"""The shared input checks: messages name the argument, the expectation and the value."""

from __future__ import annotations

import numpy as np
import pytest

from dermprep.validation import (
    check_image,
    check_mask,
    check_positive_int,
    check_probability,
    check_range,
    check_rng,
)


def test_check_image_accepts_lists_and_makes_contiguous():
    image = np.zeros((20, 40, 3), np.uint8)[:, ::2]
    assert check_image(image).flags.c_contiguous
    assert check_image(np.zeros((2, 2, 3), np.uint8).tolist() and np.zeros((2, 2, 3), np.uint8), min_size=1).shape == (2, 2, 3)
    with pytest.raises(TypeError, match="got int64"):
        check_image([[[0, 0, 0]] * 2] * 2, min_size=1)


def test_check_image_batch_not_allowed():
    with pytest.raises(ValueError, match=r"img must have shape \(H, W, 3\); got \(1, 4, 4, 3\)"):
        check_image(np.zeros((1, 4, 4, 3), np.uint8), "img", allow_batch=False)


def test_small_checks():
    assert check_positive_int(3, "n") == 3
    with pytest.raises(TypeError, match="n must be an integer"):
        check_positive_int(True, "n")
    with pytest.raises(ValueError, match="p must be in"):
        check_probability(1.5)
    with pytest.raises(ValueError, match="low <= high"):
        check_range((2, 1), "zoom_range")
    with pytest.raises(TypeError, match="pair"):
        check_range((1,), "zoom_range")
    with pytest.raises(ValueError, match="seed must be >= 0"):
        check_rng(-1)
    with pytest.raises(TypeError, match="boolean"):
        check_mask(np.zeros((2, 2), np.float32), (2, 2))
    assert check_mask(np.ones((2, 2), np.uint8), (2, 2)).dtype == bool
