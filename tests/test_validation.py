"""The shared input checks: messages name the argument, the expectation and the value."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def test_check_labels_gives_class_indices_and_names_what_is_wrong():
    from dermprep.validation import check_labels

    out = check_labels([0, 2.0, 1], num_classes=3)
    assert out.dtype == np.int64 and out.tolist() == [0, 2, 1]
    assert check_labels(np.array([3, 1], dtype=object)).tolist() == [3, 1]  # a pandas object column of numbers
    with pytest.raises(ValueError, match=r"labels must have one entry per image \(3\); got shape \(2,\)"):
        check_labels([0, 1], size=3)
    with pytest.raises(ValueError, match="must not be empty"):
        check_labels([])
    with pytest.raises(ValueError, match="1-D"):
        check_labels([[0, 1]])
    with pytest.raises(TypeError, match=r"y must be integer class indices; got dtype float64 \(e.g. \[0.5\]\)"):
        check_labels([0.5, 1.0], "y")
    for bad in ([np.nan, 1.0], [np.inf, 1.0], ["nv", "mel"], [True, False]):
        with pytest.raises(TypeError, match="integer class indices"):
            check_labels(bad)
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 2\] \(num_classes=3\); got values in \[0, 3\]"):
        check_labels([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="class indices >= 0; got values down to -1"):
        check_labels([-1, 3])


def test_check_label_mask_keeps_labels_and_refuses_floats():
    from dermprep.validation import check_label_mask

    labels = np.arange(12, dtype=np.int32).reshape(3, 4)[:, ::-1]
    out = check_label_mask(labels, (3, 4))
    assert out.flags.c_contiguous and out.dtype == np.int32 and (out == labels).all()
    with pytest.raises(TypeError, match=r"protect must be a numpy.ndarray of shape \(3, 4\); got list"):
        check_label_mask(labels.tolist(), (3, 4), "protect")
    with pytest.raises(ValueError, match=r"must have shape \(3, 4\) \(the image's height and width\); got \(4, 3\)"):
        check_label_mask(labels.T, (3, 4))
    with pytest.raises(TypeError, match="bool or integer label mask; got dtype float32"):
        check_label_mask(labels.astype(np.float32), (3, 4))


@given(values=st.lists(st.integers(0, 255), min_size=1, max_size=64))
def test_pixel_convention_round_trips(values):
    from dermprep._pixels import pixel_scale, to_float32, to_uint8

    image = np.array(values, np.uint8).reshape(-1, 1, 1)
    as_float = to_float32(image)
    assert as_float.dtype == np.float32 and 0.0 <= as_float.min() and as_float.max() <= 1.0
    np.testing.assert_array_equal(to_uint8(as_float), image)
    assert to_uint8(image) is image and to_float32(as_float) is as_float  # already in the dtype: no copy
    assert pixel_scale(image.dtype) == 255.0 and pixel_scale(np.float32) == 1.0


def test_to_uint8_rounds_half_to_even_and_clips():
    from dermprep._pixels import to_uint8

    image = np.array([0.5 / 255, 1.5 / 255, -0.1, 1.2, 0.999], np.float32)
    assert to_uint8(image).tolist() == [0, 2, 0, 255, 255]
