"""The augmentation pipeline: sample then apply, replay, masks, lesion in frame, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dermprep.augment import (
    Brightness,
    Contrast,
    Flip,
    Gamma,
    Pipeline,
    Rotate,
    Shift,
    Zoom,
    default_pipeline,
)
from dermprep.synthetic import make_sample


@pytest.fixture(scope="module")
def sample():
    return make_sample((96, 96), rng=4, hair=False)


def test_default_pipeline_changes_images_and_is_seeded(sample):
    p = default_pipeline()
    a = p(sample.image, seed=0, index=0)
    assert not np.array_equal(a, sample.image)
    assert np.array_equal(a, p(sample.image, seed=0, index=0))
    different = [p(sample.image, seed=0, index=0, epoch=e) for e in range(1, 4)]
    assert any(not np.array_equal(a, d) for d in different)


def test_sample_then_apply_params_is_the_call(sample):
    p = default_pipeline()
    for index in range(6):
        params = p.sample(seed=3, index=index, epoch=2, image=sample.image)
        assert set(params) == set(p.names)
        assert all(isinstance(v["applied"], bool) for v in params.values())
        np.testing.assert_array_equal(p.apply_params(sample.image, params), p(sample.image, seed=3, index=index, epoch=2))


def test_parameters_are_plain_and_printable(sample):
    params = default_pipeline().sample(seed=1, index=7)
    text = repr(params)
    assert "rotate" in text and "np." not in text and "array" not in text
    assert isinstance(params["rotate"]["angle"], float)


def test_switching_an_op_off_in_the_params_skips_it(sample):
    p = Pipeline([Rotate(p=1.0), Brightness(p=1.0)])
    params = p.sample(seed=0, index=0, image=sample.image)
    params["rotate"]["applied"] = False
    only_brightness = Pipeline([Brightness(p=1.0)])
    expected = only_brightness.apply_params(sample.image, {"brightness": params["brightness"]})
    np.testing.assert_array_equal(p.apply_params(sample.image, params), expected)


def test_mask_follows_the_image_and_keeps_label_values(sample):
    mask = sample.lesion_mask.astype(np.uint8)
    painted = np.repeat(mask[..., None] * 255, 3, axis=-1).astype(np.uint8)
    p = Pipeline([Flip(p=0.5), Rotate(p=1.0), Zoom(p=1.0), Shift(p=1.0)])
    for index in range(12):
        image, out_mask = p(painted, seed=5, index=index, mask=mask)
        from_image = image[..., 0] > 127
        agree = (from_image == out_mask.astype(bool)).mean()
        assert agree > 0.99, f"index {index}: image and mask agree on {agree:.4f} of pixels"
    labels = (mask * 3).astype(np.int64) + 1000  # an int64 label map with values far above 255
    _, out = p(painted, seed=5, index=2, mask=labels)
    assert out.dtype == np.int64 and set(np.unique(out)) <= {1000, 1003}


@settings(max_examples=30)
@given(seed=st.integers(0, 10_000), index=st.integers(0, 500))
def test_property_lesion_stays_in_frame(seed, index):
    s = make_sample((96, 96), rng=seed % 50, hair=False)
    p = Pipeline([Rotate(p=1.0, angle_range=(-180, 180)), Zoom(p=1.0, zoom_range=(1.5, 2.0)),
                  Shift(p=1.0, fraction=0.3)])
    mask = s.lesion_mask.astype(np.uint8)
    _, out = p(s.image, seed=seed, index=index, mask=mask)
    kept = out.sum() / max(1, mask.sum())
    assert kept >= 0.9, f"only {kept:.2%} of the lesion stays in frame"


def test_geometry_that_would_push_the_lesion_out_is_switched_off_in_the_params():
    s = make_sample((96, 96), rng=1, hair=False)
    mask = np.zeros((96, 96), np.uint8)
    mask[2:20, 2:20] = 1  # a lesion in the corner: a big zoom would push it out
    p = Pipeline([Zoom(p=1.0, zoom_range=(2.0, 2.0))])
    assert p.sample(seed=0, index=0)["zoom"]["applied"]
    assert not p.sample(seed=0, index=0, image=s.image, mask=mask)["zoom"]["applied"]


def test_colour_stays_in_range_and_near_the_input(sample):
    p = Pipeline([Brightness(p=1.0), Contrast(p=1.0), Gamma(p=1.0)])
    for index in range(10):
        out = p(sample.image, seed=1, index=index).astype(float)
        ratio = out.mean() / sample.image.mean()
        assert 0.6 < ratio < 1.5


@settings(max_examples=15)
@given(seed=st.integers(0, 2**63 - 1), epoch=st.integers(0, 1000), dtype=st.sampled_from([np.uint8, np.float32]))
def test_property_batch_equals_single_images_shape_dtype_kept_input_untouched(seed, epoch, dtype):
    images = np.stack([make_sample((48, 64), rng=i, hair=False).image for i in range(5)])
    if dtype == np.float32:
        images = (images / 255.0).astype(np.float32)
    before = images.copy()
    p = default_pipeline()
    batch, _ = p.augment_batch(images, seed=seed, epoch=epoch, indices=np.arange(10, 15))
    assert batch.shape == images.shape and batch.dtype == images.dtype
    np.testing.assert_array_equal(images, before)
    for i in (0, 4):
        np.testing.assert_array_equal(batch[i], p(images[i], seed=seed, index=10 + i, epoch=epoch))


def test_pipeline_config_round_trip_and_errors():
    p = default_pipeline()
    assert Pipeline(p.config()) == p
    with pytest.raises(ValueError, match="rotate.p must be in"):
        Rotate(p=-0.1)
    with pytest.raises(ValueError, match="low <= high"):
        Zoom(zoom_range=(1.2, 0.9))
    with pytest.raises(ValueError, match="lie within"):
        Brightness(factor_range=(0.1, 3.0))
    with pytest.raises(ValueError, match="unknown op name 'blur'"):
        Pipeline([{"op": "blur"}])
    with pytest.raises(TypeError, match="ops\\[0\\] \\(flip\\)"):
        Pipeline([{"op": "flip", "diagonal": True}])
    with pytest.raises(ValueError, match="appear once"):
        Pipeline([Flip(), Flip()])
    with pytest.raises(TypeError, match="operation or a dict"):
        Pipeline(["flip"])
    with pytest.raises(TypeError, match="ops must be a sequence"):
        Pipeline(None)
    with pytest.raises(ValueError, match=r"image must have shape \(H, W, 3\)"):
        p(np.zeros((2, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="index must be"):
        p(np.zeros((32, 32, 3), np.uint8), index=-1)
    with pytest.raises(ValueError, match="seed must be an integer in \\[0, 2"):
        p.sample(seed=2**64)
    with pytest.raises(ValueError, match="mask must have shape"):
        p(np.zeros((32, 32, 3), np.uint8), mask=np.zeros((3, 3), np.uint8))
    with pytest.raises(TypeError, match="bool or integer label mask"):
        p(np.zeros((32, 32, 3), np.uint8), mask=np.full((32, 32), 0.5))
    with pytest.raises(ValueError, match="params must map every op"):
        p.apply_params(np.zeros((32, 32, 3), np.uint8), {"flip": {"applied": False}})
    with pytest.raises(ValueError, match=r"float32 must have values in \[0, 1\]"):
        p(np.full((32, 32, 3), 200.0, np.float32))
