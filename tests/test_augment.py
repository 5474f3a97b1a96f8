"""Augmentation: contracts over every op, determinism, masks, lesion in frame, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dermprep.augment import (
    OPS,
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
from dermprep.augment._engine import _geometry_batch, augment_batch
from dermprep.synthetic import make_sample


@pytest.fixture(scope="module")
def sample():
    return make_sample((96, 96), rng=4, hair=False)


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_contract_every_op(name, dtype, sample):
    image = sample.image if dtype == np.uint8 else (sample.image / 255.0).astype(np.float32)
    before = image.copy()
    on = Pipeline([OPS[name](p=1.0)])
    outs = [on.apply(image, seed=s, index=i) for s in range(2) for i in range(3)]
    for out in outs:
        assert out.shape == image.shape and out.dtype == image.dtype
        if dtype == np.float32:
            assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(image, before)  # input untouched
    np.testing.assert_array_equal(on.apply(image, seed=1, index=2), outs[5])  # replayable
    off = Pipeline([OPS[name](p=0.0)])
    np.testing.assert_array_equal(off.apply(image, seed=3, index=7), image)  # p=0: exact identity


def test_default_pipeline_changes_images_and_is_seeded(sample):
    p = default_pipeline()
    a = p.apply(sample.image, seed=0, index=0)
    assert not np.array_equal(a, sample.image)
    assert np.array_equal(a, p.apply(sample.image, seed=0, index=0))
    different = [p.apply(sample.image, seed=0, index=0, epoch=e) for e in range(1, 4)]
    assert any(not np.array_equal(a, d) for d in different)


def test_mask_follows_the_image(sample):
    mask = sample.lesion_mask.astype(np.uint8)
    painted = np.repeat(mask[..., None] * 255, 3, axis=-1).astype(np.uint8)
    p = Pipeline([Flip(p=0.5), Rotate(p=1.0), Zoom(p=1.0), Shift(p=1.0)])
    for index in range(12):
        image, out_mask = p.apply(painted, seed=5, index=index, mask=mask)
        from_image = image[..., 0] > 127
        agree = (from_image == out_mask.astype(bool)).mean()
        assert agree > 0.99, f"index {index}: image and mask agree on {agree:.4f} of pixels"


@settings(max_examples=30)
@given(seed=st.integers(0, 10_000), index=st.integers(0, 500))
def test_property_lesion_stays_in_frame(seed, index):
    s = make_sample((96, 96), rng=seed % 50, hair=False)
    ops = {op.name: op for op in (Rotate(p=1.0, angle_range=(-180, 180)), Zoom(p=1.0, zoom_range=(1.5, 2.0)),
                                  Shift(p=1.0, fraction=0.3))}
    from dermprep.augment._engine import draws

    u = draws(seed, 0, np.array([index]))
    maps, _, _ = _geometry_batch(ops, u, s.image[None], s.lesion_mask[None].astype(np.uint8), 96, 96)
    m = maps[0]
    ys, xs = np.nonzero(s.lesion_mask)
    inv = np.linalg.inv(m[:, :2])
    out = inv @ (np.stack([xs, ys]) - m[:, 2:3])
    inside = ((out[0] >= -0.5) & (out[0] <= 95.5) & (out[1] >= -0.5) & (out[1] <= 95.5)).mean()
    assert inside >= 0.9, f"only {inside:.2%} of the lesion stays in frame"


def test_colour_stays_in_range_and_near_the_input(sample):
    p = Pipeline([Brightness(p=1.0), Contrast(p=1.0), Gamma(p=1.0)])
    for index in range(10):
        out = p.apply(sample.image, seed=1, index=index).astype(float)
        ratio = out.mean() / sample.image.mean()
        assert 0.6 < ratio < 1.5


def test_batch_equals_single_images():
    images = np.stack([make_sample((64, 64), rng=i, hair=False).image for i in range(40)])
    p = default_pipeline()
    batch, _ = augment_batch(p, images, None, 9, 2, np.arange(40))
    for i in (0, 17, 39):
        np.testing.assert_array_equal(batch[i], p.apply(images[i], seed=9, index=i, epoch=2))


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
    with pytest.raises(ValueError, match=r"image must have shape \(H, W, 3\)"):
        p.apply(np.zeros((2, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="index must be"):
        p.apply(np.zeros((32, 32, 3), np.uint8), index=-1)
    with pytest.raises(ValueError, match="mask must have shape"):
        p.apply(np.zeros((32, 32, 3), np.uint8), mask=np.zeros((3, 3)))


tf = pytest.importorskip("tensorflow")
import dermprep.tfdata as T  # noqa: E402


@pytest.fixture(scope="module")
def data():
    samples = [make_sample((64, 64), rng=i, hair=False) for i in range(70)]
    return (np.stack([s.image for s in samples]), np.stack([s.lesion_mask for s in samples]).astype(np.uint8),
            np.arange(70) % 7)


def test_dataset_is_deterministic_whatever_the_parallelism(data):
    images, _, labels = data
    runs = []
    for calls in (1, 3, tf.data.AUTOTUNE):
        ds = tf.data.Dataset.from_tensor_slices((images, labels)).apply(T.augment(seed=11, num_parallel_calls=calls))
        runs.append(np.stack([x for x, _ in ds.as_numpy_iterator()]))
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])
    np.testing.assert_array_equal(runs[0][45], default_pipeline().apply(images[45], seed=11, index=45))


def test_epochs_differ_reproducibly_and_labels_pass_through(data):
    images, _, labels = data
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).apply(T.augment(seed=2))
    first = list(ds.as_numpy_iterator())
    second = list(ds.as_numpy_iterator())
    assert [int(y) for _, y in first] == labels.tolist()
    assert not np.array_equal(first[3][0], second[3][0])
    np.testing.assert_array_equal(second[3][0], default_pipeline().apply(images[3], seed=2, index=3, epoch=1))
    assert int(ds.cardinality()) == 70


def test_masks_and_dicts_in_graph_mode(data):
    images, masks, labels = data
    p = Pipeline([Rotate(p=1.0), Flip()])
    ds = tf.data.Dataset.from_tensor_slices((images, masks, labels)).apply(T.augment(p, seed=0))
    assert ds.element_spec[1].shape == (64, 64) and ds.element_spec[0].shape == (64, 64, 3)
    x, m, _ = next(iter(ds.as_numpy_iterator()))
    expected_x, expected_m = p.apply(images[0], seed=0, index=0, mask=masks[0])
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(m, expected_m)
    dict_ds = tf.data.Dataset.from_tensor_slices({"image": images, "label": labels}).apply(T.augment(seed=0))
    assert set(next(iter(dict_ds)).keys()) == {"image", "label"}
    floats = tf.data.Dataset.from_tensor_slices((images / 255.0).astype(np.float32)).apply(T.augment(seed=0))
    out = np.stack(list(floats.as_numpy_iterator()))
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1


def test_dataset_errors(data):
    images, _, labels = data
    with pytest.raises(ValueError, match="before .batch"):
        tf.data.Dataset.from_tensor_slices(images).batch(4).apply(T.augment())
    with pytest.raises(TypeError, match="uint8.*float32"):
        tf.data.Dataset.from_tensor_slices(images.astype(np.float64)).apply(T.augment())
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        tf.data.Dataset.from_tensor_slices(images[..., 0]).apply(T.augment())
    with pytest.raises(TypeError, match="pipeline must be"):
        T.augment(pipeline="default")
    with pytest.raises(ValueError, match="seed must be"):
        T.augment(seed=-3)


@given(angle=st.floats(-45, 45), zoom=st.floats(0.8, 1.3), tx=st.floats(-0.1, 0.1), ty=st.floats(-0.1, 0.1),
       as_float=st.booleans(), wide=st.booleans())
def test_fast_reflected_warp_matches_opencv_reflect_101(angle, zoom, tx, ty, as_float, wide):
    """The engine's padded 4-channel warp is OpenCV's BORDER_REFLECT_101 warp up to 1 grey level."""
    import cv2

    from dermprep.augment._engine import _warp_reflect

    h, w = (150, 200) if wide else (96, 96)
    image = make_sample((h, w), rng=5, hair=False).image
    if as_float:
        image = image.astype(np.float32) / 255.0
    c, s = np.cos(np.radians(angle)) / zoom, np.sin(np.radians(angle)) / zoom
    m = np.array([[c, -s, 0.0], [s, c, 0.0]])
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    m[:, 2] = centre + np.array([tx * w, ty * h]) - m[:, :2] @ centre
    expected = cv2.warpAffine(image, m, (w, h), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT_101)
    got = _warp_reflect(image, m, w, h)
    assert got.dtype == image.dtype and got.shape == image.shape
    difference = np.abs(got.astype(np.float64) - expected.astype(np.float64)) * (255.0 if as_float else 1.0)
    assert difference.max() <= 1.0 + 1e-3
    assert (difference > 0.5).mean() < 0.001
