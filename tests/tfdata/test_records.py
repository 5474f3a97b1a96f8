"""dermprep.tfdata.balance and from_records."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

tf = pytest.importorskip("tensorflow")

import dermprep.tfdata as T  # noqa: E402
from dermprep.sampling import class_counts, epoch_indices, target_counts  # noqa: E402


def _labels(ds):
    return np.array([int(np.argmax(y)) if np.ndim(y) else int(y) for *_, y in ds.as_numpy_iterator()])


@settings(max_examples=15)
@given(labels=st.lists(st.integers(0, 4), min_size=1, max_size=60), seed=st.integers(0, 50),
       strategy=st.sampled_from(["oversample", "undersample"]))
def test_property_epoch_counts_equal_the_target(labels, seed, strategy):
    labels = np.array(labels)
    ds = tf.data.Dataset.from_tensor_slices((np.arange(labels.size), labels)).apply(
        T.balance(strategy=strategy, seed=seed, num_classes=5)
    )
    expected = target_counts(class_counts(labels, 5), strategy)
    got = _labels(ds)
    np.testing.assert_array_equal(np.bincount(got, minlength=5), expected)
    assert int(ds.cardinality()) == expected.sum()


def test_order_is_the_numpy_epoch_order_and_epochs_are_explicit():
    labels = np.array([0] * 20 + [1] * 3 + [2] * 7)
    records = tf.data.Dataset.from_tensor_slices((np.arange(30), labels))
    ds = records.apply(T.balance(seed=7))
    targets = target_counts(class_counts(labels), "oversample")
    first = [int(x) for x, _ in ds]
    assert [int(x) for x, _ in ds] == first  # every pass is the same epoch: nothing hidden advances
    np.testing.assert_array_equal(first, epoch_indices(labels, targets, seed=7, epoch=0))
    second = [int(x) for x, _ in records.apply(T.balance(seed=7, epoch=1))]
    np.testing.assert_array_equal(second, epoch_indices(labels, targets, seed=7, epoch=1))
    stream = T.epochs(lambda e: records.apply(T.balance(seed=7, epoch=e)), stop=2)  # inside a graph too
    assert [int(x) for x, _ in stream] == first + second


def test_keras_sample_weights_are_not_balanced_on():
    x, y, w = np.arange(6), np.array([0, 0, 0, 0, 1, 1]), np.array([9.0, 9.0, 9.0, 9.0, 9.0, 1.0])
    ds = tf.data.Dataset.from_tensor_slices((x, y, w)).apply(T.balance(seed=0, layout=("image", "label", "weight")))
    assert sorted(int(label) for _, label, _ in ds) == [0, 0, 0, 0, 1, 1, 1, 1]
    with pytest.raises(ValueError, match="layout="):
        tf.data.Dataset.from_tensor_slices((x, y, w)).apply(T.balance(seed=0))


def test_soft_labels_are_refused_not_argmaxed():
    soft = np.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.0]], np.float32)
    with pytest.raises(ValueError, match="exactly one 1"):
        tf.data.Dataset.from_tensor_slices((np.arange(3), soft)).apply(T.balance())
    with pytest.raises(ValueError, match="exactly one 1"):
        tf.data.Dataset.from_tensor_slices((np.arange(2), np.zeros((2, 3), np.float32))).apply(T.balance())


def test_one_hot_labels_dicts_and_features():
    feats = np.random.default_rng(0).normal(size=(9, 4)).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)[[0, 0, 0, 0, 0, 1, 1, 2, 2]]
    ds = tf.data.Dataset.from_tensor_slices((feats, labels)).apply(T.balance(strategy="undersample", seed=1))
    got = list(ds.as_numpy_iterator())
    assert len(got) == 6 and np.bincount([int(np.argmax(y)) for _, y in got]).tolist() == [2, 2, 2]
    for x, y in got:  # features still travel with their own labels
        row = np.flatnonzero((feats == x).all(axis=1))[0]
        np.testing.assert_array_equal(labels[row], y)
    dict_ds = tf.data.Dataset.from_tensor_slices({"x": np.arange(4), "label": [0, 0, 0, 1]})
    out = list(dict_ds.apply(T.balance(seed=0)).as_numpy_iterator())
    assert sorted(int(e["label"]) for e in out) == [0, 0, 0, 1, 1, 1]


def test_explicit_target_distribution():
    ds = tf.data.Dataset.from_tensor_slices((np.arange(10), [0] * 6 + [1] * 4))
    out = _labels(ds.apply(T.balance(strategy="target", target=[0.25, 0.75], size=8, seed=0)))
    assert np.bincount(out).tolist() == [2, 6]


def test_balance_errors():
    images = tf.data.Dataset.from_tensor_slices((np.zeros((4, 224, 224, 3), np.uint8), [0, 0, 1, 1]))
    with pytest.raises(ValueError, match="before decoding images"):
        images.apply(T.balance())
    with pytest.raises(ValueError, match="strategy must be one of"):
        T.balance(strategy="smote")
    with pytest.raises(ValueError, match="finite dataset"):
        tf.data.Dataset.from_tensor_slices((np.arange(2), [0, 1])).repeat().apply(T.balance())
    with pytest.raises(ValueError, match="needs elements with a label"):
        tf.data.Dataset.range(3).apply(T.balance())
    with pytest.raises(TypeError, match="strategy must be one of"):
        T.balance(strategy=T.balance())
    unknown = tf.data.Dataset.from_tensor_slices((np.arange(3), [0, 1, 1])).repeat().filter(lambda x, y: True)
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"known length.*take\(n\).*assert_cardinality\(n\)"):
        unknown.apply(T.balance())  # never reads an infinite dataset of unknown length (was: 10**7 records)
    assert time.perf_counter() - started < 1.0
    declared = tf.data.Dataset.from_tensor_slices((np.arange(3), [0, 1, 1])).filter(lambda x, y: True).apply(
        tf.data.experimental.assert_cardinality(3))
    assert sorted(int(y) for _, y in declared.apply(T.balance(seed=0))) == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="empty dataset"):
        tf.data.Dataset.from_tensor_slices((np.arange(0), np.zeros(0, np.int64))).apply(T.balance())
    with pytest.raises(ValueError, match=r"classes \[1\] have no elements"):
        tf.data.Dataset.from_tensor_slices((np.arange(2), [0, 2])).apply(
            T.balance(strategy="target", target=[1, 1, 1])
        )


@pytest.fixture()
def records(tmp_path):
    paths = []
    for i in range(6):
        image = np.full((60, 80, 3), 40 * i, np.uint8)
        image[:, :40] = 255 - 40 * i
        path = tmp_path / f"ISIC_{i}.{'png' if i % 2 else 'jpg'}"
        cv2.imwrite(str(path), image)
        paths.append(str(path))
    return paths, np.array([0, 1, 1, 2, 2, 2])


@pytest.mark.parametrize("aspect", ["stretch", "crop", "pad"])
def test_from_records_decodes_and_resizes(records, aspect):
    paths, labels = records
    ds = T.from_records(paths, labels, image_size=(32, 48), aspect=aspect)
    assert ds.element_spec[0].shape == (32, 48, 3) and ds.element_spec[0].dtype == tf.uint8
    out = list(ds.as_numpy_iterator())
    assert [int(y) for _, y in out] == labels.tolist()
    if aspect == "pad":  # 60x80 (4:3) into 32x48 (3:2): black bars left and right
        assert out[0][0][:, 0].max() == 0
    else:
        assert out[0][0][:, 0].min() > 200  # the left half of image 0 is bright


def test_from_records_one_hot_float_metadata_and_balance(records):
    paths, labels = records
    feats = np.arange(12, dtype=np.float32).reshape(6, 2)
    ds = T.from_records(paths, labels, image_size=(16, 16), dtype="float32", one_hot=True, num_classes=3,
                        metadata=feats, balance=T.balance(seed=0))
    out = list(ds.as_numpy_iterator())
    assert len(out) == 9
    assert np.bincount([int(np.argmax(y)) for _, y in out]).tolist() == [3, 3, 3]
    x, y = out[0]
    assert x["image"].dtype == np.float32 and 0 <= x["image"].min() and x["image"].max() <= 1
    assert x["metadata"].shape == (2,) and y.shape == (3,)


def test_from_records_hair_removal_is_cached(tmp_path):
    from dermprep import remove_hair
    from dermprep.synthetic import make_sample

    sample = make_sample((150, 200), rng=2)
    path = tmp_path / "ISIC_h.png"
    cv2.imwrite(str(path), cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR))
    cache = tmp_path / "cache"
    ds = T.from_records([str(path)], [3], image_size=(150, 200), remove_hair=True, cache_dir=str(cache))
    first = next(iter(ds))[0].numpy()
    np.testing.assert_array_equal(first, remove_hair(sample.image))  # same size: resize is the identity
    cached = list(cache.glob("*.png"))
    assert len(cached) == 1
    marker = np.zeros((150, 200, 3), np.uint8)  # prove the second pass reads the cache
    cv2.imwrite(str(cached[0]), marker)
    np.testing.assert_array_equal(next(iter(ds))[0].numpy(), marker)


def test_from_records_shuffle_seed_reshuffles_every_epoch_reproducibly(tmp_path):
    paths, labels = [], []
    for i in range(12):
        path = tmp_path / f"ISIC_s{i}.png"
        cv2.imwrite(str(path), np.full((16, 16, 3), 20 * i, np.uint8))
        paths.append(str(path))
        labels.append(i % 3)

    def epochs(parallel, seed=5, n=3):
        return [[int(x[0, 0, 0]) // 20 for x, _ in T.from_records(
            paths, labels, image_size=(16, 16), shuffle_seed=seed, epoch=e, num_parallel_calls=parallel,
        ).as_numpy_iterator()] for e in range(n)]

    first = epochs(1)
    assert all(sorted(order) == list(range(12)) for order in first)  # every record once per epoch
    assert first[0] != list(range(12)) and first[0] != first[1]  # shuffled, differently each epoch
    assert epochs(4) == first  # the same orders under the seed, whatever the parallelism
    assert epochs(1, seed=6) != first
    unshuffled = T.from_records(paths, labels, image_size=(16, 16))
    assert [int(x[0, 0, 0]) // 20 for x, _ in unshuffled.as_numpy_iterator()] == list(range(12))


def test_from_records_errors(records):
    paths, labels = records
    with pytest.raises(ValueError, match="labels must have one entry per image"):
        T.from_records(paths, labels[:2])
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 6\]"):
        T.from_records(paths, labels + 7, num_classes=7)
    with pytest.raises(ValueError, match="aspect must be one of"):
        T.from_records(paths, labels, aspect="fit")
    with pytest.raises(ValueError, match="cache_dir caches hair removal"):
        T.from_records(paths, labels, cache_dir="/tmp/x")
    with pytest.raises(ValueError, match="image_size"):
        T.from_records(paths, labels, image_size=(8, 8))
    with pytest.raises(ValueError, match="metadata must be finite"):
        T.from_records(paths, labels, metadata=np.full((6, 2), np.nan))
    with pytest.raises(TypeError, match="balance must be a dermprep.tfdata.balance"):
        T.from_records(paths, labels, balance="oversample")
    with pytest.raises(TypeError, match="labels must be integer class indices"):
        T.from_records(paths, labels + 0.5)
    with pytest.raises(ValueError, match="metadata must have shape"):
        T.from_records(paths, labels, metadata=np.zeros((2, 3)))
    with pytest.raises(TypeError, match=r"shuffle_seed must be an integer in \[0, 2\*\*63\); got 'a'"):
        T.from_records(paths, labels, shuffle_seed="a")
    with pytest.raises(ValueError, match=r"shuffle_seed must be an integer in \[0, 2\*\*63\); got -1"):
        T.from_records(paths, labels, shuffle_seed=-1)
    with pytest.raises(ValueError, match="shuffle_seed is not needed with balance"):
        T.from_records(paths, labels, shuffle_seed=0, balance=T.balance(seed=0))
