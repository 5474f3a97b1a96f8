"""dermprep.tfdata.remove_hair: element structures, shapes, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import dermprep  # noqa: E402
import dermprep.tfdata  # noqa: E402
from dermprep.synthetic import make_batch  # noqa: E402


@pytest.fixture(scope="module")
def data():
    images, _, _, labels = make_batch(6, (64, 96), seed=1)
    return images, labels


def test_tuple_elements_match_numpy_and_keep_static_shape(data):
    images, labels = data
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).apply(dermprep.tfdata.remove_hair())
    assert ds.element_spec[0].shape == (64, 96, 3)
    out = [(x.numpy(), int(y)) for x, y in ds]
    np.testing.assert_array_equal(np.stack([x for x, _ in out]), dermprep.remove_hair(images))
    assert [y for _, y in out] == labels.tolist()


@pytest.mark.parametrize("parallel", [1, 4, None])
def test_result_independent_of_parallelism(data, parallel):
    images, _ = data
    calls = tf.data.AUTOTUNE if parallel is None else parallel
    ds = tf.data.Dataset.from_tensor_slices(images).apply(dermprep.tfdata.remove_hair(num_parallel_calls=calls))
    np.testing.assert_array_equal(np.stack(list(ds.as_numpy_iterator())), dermprep.remove_hair(images))


def test_batched_float_and_dict_elements(data):
    images, labels = data
    as_float = (images / 255.0).astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices({"image": as_float, "label": labels}).batch(3)
    ds = ds.apply(dermprep.tfdata.remove_hair())
    assert ds.element_spec["image"].shape.as_list() == [None, 64, 96, 3]
    batches = list(ds.as_numpy_iterator())
    got = np.concatenate([b["image"] for b in batches])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, dermprep.remove_hair(as_float), atol=1e-6)
    np.testing.assert_array_equal(np.concatenate([b["label"] for b in batches]), labels)


def test_invalid_options_fail_at_construction():
    with pytest.raises(TypeError, match="unknown Dull Razor option"):
        dermprep.tfdata.remove_hair(thresh=3)
    with pytest.raises(ValueError, match="method must be one of"):
        dermprep.tfdata.remove_hair(method="x")


def test_invalid_datasets_fail_at_build_time():
    transform = dermprep.tfdata.remove_hair()
    with pytest.raises(TypeError, match="uint8.*float32"):
        tf.data.Dataset.from_tensor_slices(np.zeros((2, 32, 32, 3), np.float64)).apply(transform)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        tf.data.Dataset.from_tensor_slices(np.zeros((2, 32, 32), np.uint8)).apply(transform)
    with pytest.raises(ValueError, match="element"):
        tf.data.Dataset.from_tensor_slices({"x": np.zeros((2, 32, 32, 3), np.uint8)}).apply(transform)
    with pytest.raises(TypeError, match="tf.data.Dataset"):
        transform([1, 2, 3])
