"""dermprep.tfdata.from_arrays against its NumPy definition, and the Balance spec both builders order with."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import dermprep.tfdata as T  # noqa: E402
from dermprep.augment import default_pipeline  # noqa: E402
from dermprep.sampling import class_counts, epoch_indices, target_counts  # noqa: E402
from dermprep.tfdata._records import encode_labels  # noqa: E402

LABELS = np.random.default_rng(5).permutation([0] * 12 + [1] * 9 + [2] * 3 + [3] * 6)  # uneven classes
IMAGES = np.stack([np.full((16, 16, 3), 8 * i, np.uint8) for i in range(30)])


def _positions(dataset):
    """Which source image each element of each batch is (images are constant, 8 * index)."""
    return np.concatenate([x[:, 0, 0, 0].astype(int) // 8 for x, _ in dataset.as_numpy_iterator()])


@pytest.mark.parametrize("sampling", [None, "shuffle", "oversample", "undersample", np.array([2, 5, 1, 3])])
@pytest.mark.parametrize("epoch", [0, 3])
def test_an_epoch_is_the_numpy_epoch_order(sampling, epoch):
    got = _positions(T.from_arrays(IMAGES, LABELS, batch_size=7, sampling=sampling, seed=11, epoch=epoch))
    if sampling is None:
        expected = np.arange(30)
    elif isinstance(sampling, str) and sampling == "shuffle":
        expected = np.random.default_rng([11, epoch]).permutation(30)
        np.testing.assert_array_equal(epoch_indices(LABELS, None, seed=11, epoch=epoch), expected)
    else:
        strategy = "target" if not isinstance(sampling, str) else sampling
        targets = target_counts(class_counts(LABELS), strategy, target=None if isinstance(sampling, str) else sampling)
        expected = epoch_indices(LABELS, targets, seed=11, epoch=epoch)
    np.testing.assert_array_equal(got, expected)


def test_labels_features_and_augmentation_follow_the_images():
    features = np.random.default_rng(0).normal(size=(30, 2)).astype(np.float32)
    pipeline = default_pipeline()
    ds = T.from_arrays(IMAGES, LABELS, batch_size=8, sampling="oversample", seed=2, epoch=1, features=features,
                       pipeline=pipeline, label_smoothing=0.1, num_classes=5)
    order = epoch_indices(LABELS, target_counts(class_counts(LABELS, 5)), seed=2, epoch=1)
    start = 0
    for x, y in ds.as_numpy_iterator():
        index = order[start : start + len(y)]
        expected, _ = pipeline.augment_batch(IMAGES[index], seed=2, epoch=1, indices=np.arange(start, start + len(y)))
        np.testing.assert_array_equal(x["image"], expected)
        np.testing.assert_array_equal(x["metadata"], features[index])
        np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
        np.testing.assert_array_equal(np.argmax(y, axis=1), LABELS[index])
        assert y.shape == (len(index), 5) and y.min() == np.float32(0.1 / 5)
        start += len(y)
    assert start == order.size


def test_encode_labels():
    labels = np.array([2, 0, 1])
    assert encode_labels(labels, 3, one_hot=False) is labels
    np.testing.assert_array_equal(encode_labels(labels, 3, one_hot=True), np.eye(3, dtype=np.float32)[labels])
    smooth = encode_labels(labels, 4, one_hot=True, smoothing=0.2)
    assert smooth.dtype == np.float32 and smooth[0].tolist() == pytest.approx([0.05, 0.05, 0.85, 0.05])


def test_drop_remainder_and_errors():
    assert sum(1 for _ in T.from_arrays(IMAGES, LABELS, batch_size=8, drop_remainder=True)) == 3
    with pytest.raises(ValueError, match="makes no batch of 64"):
        T.from_arrays(IMAGES, LABELS, batch_size=64, drop_remainder=True)
    with pytest.raises(ValueError, match="sampling must be one of"):
        T.from_arrays(IMAGES, LABELS, sampling="smote")
    with pytest.raises(ValueError, match=r"features must have shape \(N=30, F\)"):
        T.from_arrays(IMAGES, LABELS, features=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="features must be finite"):
        T.from_arrays(IMAGES, LABELS, features=np.full((30, 2), np.nan))
    with pytest.raises(TypeError, match="pipeline must be"):
        T.from_arrays(IMAGES, LABELS, pipeline="default")
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 4\]"):
        T.from_arrays(IMAGES, LABELS + 5, num_classes=5)
    with pytest.raises(ValueError, match="images must be uint8"):
        T.from_arrays(IMAGES.astype(np.float32) / 255, LABELS)


def test_balance_is_a_declared_frozen_spec():
    spec = T.balance(strategy="undersample", seed=np.int64(4), num_classes=np.int64(4))
    assert isinstance(spec, T.Balance) and spec.seed == 4 and type(spec.num_classes) is int
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 5  # type: ignore[misc]
    assert [f.name for f in dataclasses.fields(T.Balance)][:3] == ["strategy", "seed", "epoch"]
    labels, targets = spec.targets(LABELS)
    np.testing.assert_array_equal(targets, target_counts(class_counts(LABELS, 4), "undersample"))
    np.testing.assert_array_equal(spec.order(LABELS).numpy(), epoch_indices(LABELS, targets, seed=4, epoch=0))
