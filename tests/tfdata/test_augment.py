"""dermprep.tfdata.augment: determinism, explicit epochs, masks by layout, batched and Keras-style inputs, errors."""

from __future__ import annotations

import numpy as np
import pytest

from dermprep.augment import Flip, Pipeline, Rotate, default_pipeline
from dermprep.synthetic import make_sample

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
    np.testing.assert_array_equal(runs[0][45], default_pipeline()(images[45], seed=11, index=45))


def test_epochs_are_explicit_and_a_pass_consumes_nothing(data):
    images, _, labels = data
    source = tf.data.Dataset.from_tensor_slices((images, labels))
    epoch0 = source.apply(T.augment(seed=2, epoch=0))
    first, again = list(epoch0.as_numpy_iterator()), list(epoch0.as_numpy_iterator())
    assert [int(y) for _, y in first] == labels.tolist()
    np.testing.assert_array_equal(first[3][0], again[3][0])  # the same epoch on every pass
    second = list(source.apply(T.augment(seed=2, epoch=1)).as_numpy_iterator())
    assert not np.array_equal(first[3][0], second[3][0])
    np.testing.assert_array_equal(second[3][0], default_pipeline()(images[3], seed=2, index=3, epoch=1))
    assert int(epoch0.cardinality()) == 70
    stream = T.epochs(lambda e: source.apply(T.augment(seed=2, epoch=e)), stop=3, start=1)
    elements = list(stream.as_numpy_iterator())
    assert len(elements) == 140
    np.testing.assert_array_equal(elements[3][0], second[3][0])  # epoch 1 first: resumed runs start mid-way
    np.testing.assert_array_equal(elements[73][0], default_pipeline()(images[3], seed=2, index=3, epoch=2))


def test_masks_by_layout_and_dicts(data):
    images, masks, labels = data
    p = Pipeline([Rotate(p=1.0), Flip()])
    ds = tf.data.Dataset.from_tensor_slices((images, masks * 3, labels)).apply(
        T.augment(p, seed=0, layout=("image", "mask", "label")))
    assert ds.element_spec[1].shape == (64, 64) and ds.element_spec[0].shape == (64, 64, 3)
    x, m, _ = next(iter(ds.as_numpy_iterator()))
    expected_x, expected_m = p(images[0], seed=0, index=0, mask=masks[0] * 3)
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(m, expected_m)
    assert set(np.unique(m)) <= {0, 3}  # label values kept, not turned into 0/1
    weights = tf.data.Dataset.from_tensor_slices((images, masks.astype(np.float32), labels)).apply(
        T.augment(p, seed=0, layout=("image", "weight_map", "label")))
    _, w, _ = next(iter(weights.as_numpy_iterator()))
    np.testing.assert_array_equal(w, masks[0].astype(np.float32))  # not a mask: passes through untouched
    dict_ds = tf.data.Dataset.from_tensor_slices({"image": images, "mask": masks, "label": labels}).apply(
        T.augment(p, seed=0))
    element = next(iter(dict_ds.as_numpy_iterator()))
    np.testing.assert_array_equal(element["mask"], expected_m // 3 if expected_m.max() > 1 else expected_m)


def test_batched_float_0_255_inputs_like_keras_image_dataset_from_directory(data):
    images, _, labels = data
    keras_like = tf.data.Dataset.from_tensor_slices((images.astype(np.float32), labels)).batch(8)
    out = np.concatenate([x for x, _ in keras_like.apply(T.augment(seed=0, value_range=(0, 255))).as_numpy_iterator()])
    assert out.dtype == np.float32 and out.shape == images.shape and out.max() > 1.0
    reference = np.stack([default_pipeline()((images[i] / 255.0).astype(np.float32), seed=0, index=i) for i in (0, 9, 69)])
    np.testing.assert_allclose(out[[0, 9, 69]] / 255.0, reference, atol=1e-5)
    unbatched_float = tf.data.Dataset.from_tensor_slices((images.astype(np.float32), labels))
    with pytest.raises(ValueError, match=r"value_range=\(0, 255\)"):
        unbatched_float.apply(T.augment(seed=0))  # refused at apply time with the exact fix, never turned white


def test_dataset_errors(data):
    images, masks, labels = data
    with pytest.raises(TypeError, match="uint8.*float32"):
        tf.data.Dataset.from_tensor_slices(images.astype(np.float64)).apply(T.augment())
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        tf.data.Dataset.from_tensor_slices(images[..., 0]).apply(T.augment())
    with pytest.raises(TypeError, match="pipeline must be"):
        T.augment(pipeline="default")
    with pytest.raises(ValueError, match="seed must be"):
        T.augment(seed=-3)
    with pytest.raises(ValueError, match="seed must be"):
        T.augment(seed=2**64)
    with pytest.raises(ValueError, match="3-tuples; name their components with layout="):
        tf.data.Dataset.from_tensor_slices((images, masks, labels)).apply(T.augment())
    with pytest.raises(TypeError, match="bool or integer labels"):
        tf.data.Dataset.from_tensor_slices((images, masks.astype(np.float32), labels)).apply(
            T.augment(layout=("image", "mask", "label")))
    with pytest.raises(ValueError, match="static image size"):
        tf.data.Dataset.from_generator(lambda: iter([]), output_signature=tf.TensorSpec((None, None, 3), tf.uint8)).apply(
            T.augment())
    nan = tf.data.Dataset.from_tensor_slices(np.full((2, 16, 16, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match="NaN"):
        nan.apply(T.augment())  # its first element, read before the dataset runs
    late_nan = tf.data.Dataset.from_tensor_slices(np.stack([np.zeros((16, 16, 3), np.float32),
                                                            np.full((16, 16, 3), np.nan, np.float32)]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN"):
        list(late_nan.apply(T.augment(group=1)))  # a later element: refused as it runs


def test_keras_image_dataset_from_directory_output_as_it_comes(tmp_path):
    import cv2

    keras = pytest.importorskip("keras")
    for name in ("benign", "malignant"):
        (tmp_path / name).mkdir()
        for k in range(3):
            image = make_sample((64, 64), rng=k + (10 if name == "malignant" else 0), hair=True).image
            cv2.imwrite(str(tmp_path / name / f"{k}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    ds = keras.utils.image_dataset_from_directory(tmp_path, image_size=(64, 64), batch_size=4, shuffle=False)
    assert ds.element_spec[0].dtype == tf.float32  # batched float32 in [0, 255]
    out = ds.apply(T.remove_hair(value_range=(0, 255))).apply(T.augment(seed=0, value_range=(0, 255)))
    images = np.concatenate([x for x, _ in out.as_numpy_iterator()])
    assert images.shape == (6, 64, 64, 3) and images.dtype == np.float32 and 20 < images.mean() < 255
    with pytest.raises(ValueError, match=r"value_range=\(0, 255\)"):
        ds.apply(T.remove_hair())  # before the dataset runs: its first batch was read
