"""Mixing pairs of images: mixup and lesion-aware CutMix (NumPy), and its tf.data face."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dermprep.augment import mix_batch
from dermprep.augment.mixing import cutmix_pair
from dermprep.synthetic import make_sample


def _batch(n=6, size=64):
    samples = [make_sample((size, size), rng=i, label=i % 7, hair=False) for i in range(n)]
    images = np.stack([s.image for s in samples])
    lesions = np.stack([s.lesion_mask for s in samples])
    return images, np.eye(n, dtype=np.float32), lesions


@settings(max_examples=25, deadline=None)
@given(mixup=st.sampled_from([0.0, 0.2, 1.0]), cutmix=st.sampled_from([0.0, 1.0]), seed=st.integers(0, 2**40),
       epoch=st.integers(0, 50), batch=st.integers(0, 500), dtype=st.sampled_from([np.uint8, np.float32]))
def test_shapes_dtypes_determinism_and_label_rows(mixup, cutmix, seed, epoch, batch, dtype):
    images, labels, lesions = _batch()
    if dtype == np.float32:
        images = images.astype(np.float32) / 255.0
    before = images.copy(), labels.copy()
    out, mixed = mix_batch(images, labels, mixup=mixup, cutmix=cutmix, seed=seed, epoch=epoch, batch=batch,
                           lesions=lesions)
    again = mix_batch(images, labels, mixup=mixup, cutmix=cutmix, seed=seed, epoch=epoch, batch=batch,
                      lesions=lesions)
    assert out.shape == images.shape and out.dtype == images.dtype and mixed.dtype == labels.dtype
    np.testing.assert_array_equal(out, again[0])
    np.testing.assert_array_equal(mixed, again[1])
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, atol=1e-6)
    assert (mixed >= 0).all()
    np.testing.assert_array_equal(images, before[0])  # inputs untouched
    np.testing.assert_array_equal(labels, before[1])
    if not (mixup or cutmix):
        np.testing.assert_array_equal(out, images)


def test_mixup_mixes_images_and_labels_in_the_same_proportion():
    images, labels, _ = _batch()
    images = images.astype(np.float32) / 255.0
    out, mixed = mix_batch(images, labels, mixup=0.4, seed=3)
    for i in range(len(images)):
        lam = mixed[i, i] if mixed[i].max() < 1 else 1.0
        partners = [j for j in np.flatnonzero(mixed[i] > 0) if j != i]
        expected = images[i] if not partners else lam * images[i] + (1 - lam) * images[partners[0]]
        np.testing.assert_allclose(out[i], expected, atol=1e-5)


def test_cutmix_keeps_the_lesion_of_the_labelled_image_and_weighs_labels_by_lesion_area():
    image, other = np.zeros((100, 100, 3), np.uint8), np.full((100, 100, 3), 200, np.uint8)
    lesion = np.zeros((100, 100), bool)
    lesion[35:65, 35:65] = True  # a central lesion, as dermoscopy frames them
    other_lesion = np.zeros_like(lesion)  # the pasted image shows only skin where the patch lands
    mixed, weight = cutmix_pair(image, other, lesion, other_lesion, 0.1, np.random.default_rng(0))
    assert (mixed[lesion] == 0).all()  # a patch of 10% fits beside the lesion: none of it covered
    assert (mixed == 200).any() and weight == 0.0  # skin carries no diagnosis: the label stays the image's own
    other_lesion[:] = True
    _, weight = cutmix_pair(image, other, lesion, other_lesion, 0.1, np.random.default_rng(0))
    assert weight == pytest.approx(1000 / (900 + 1000), abs=0.02)  # lesion pixels shown: 30x30 own, ~10% of b's


@pytest.mark.parametrize("kwargs, error, message", [
    ({"labels": np.zeros(6, np.int64)}, ValueError, "labels must be one-hot or soft labels"),
    ({"mixup": -1.0}, ValueError, "mixup must be"),
    ({"cutmix": "yes"}, TypeError, "cutmix must be"),
    ({"seed": 2**63}, ValueError, "seed must be an integer in \\[0, 2\\*\\*63\\)"),
    ({"images": np.zeros((32, 32, 3), np.uint8)}, ValueError, "images must be a batch"),
])
def test_invalid_input(kwargs, error, message):
    images, labels, _ = _batch()
    arguments = {"images": images, "labels": labels, "mixup": 0.2, **kwargs}
    with pytest.raises(error, match=message):
        mix_batch(arguments.pop("images"), arguments.pop("labels"), **arguments)


def test_tfdata_mix_equals_numpy_and_does_not_depend_on_iteration():
    tf = pytest.importorskip("tensorflow")
    import dermprep.tfdata as T

    images, labels, _ = _batch(8, 48)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    mixed = dataset.apply(T.mix(mixup=0.3, cutmix=1.0, seed=5, epoch=2))
    first = [(x.numpy(), y.numpy()) for x, y in mixed]
    second = [(x.numpy(), y.numpy()) for x, y in mixed]
    for b, ((x, y), (x2, y2)) in enumerate(zip(first, second, strict=True)):
        expected = mix_batch(images[4 * b:4 * b + 4], labels[4 * b:4 * b + 4], mixup=0.3, cutmix=1.0, seed=5,
                             epoch=2, batch=b)
        np.testing.assert_array_equal(x, expected[0])
        np.testing.assert_array_equal(y, expected[1])
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    with pytest.raises(ValueError, match="after .batch"):
        tf.data.Dataset.from_tensor_slices((images, labels)).apply(T.mix(mixup=0.2))
    with pytest.raises(ValueError, match="one-hot or soft float labels"):
        tf.data.Dataset.from_tensor_slices((images, np.arange(8))).batch(4).apply(T.mix(mixup=0.2))
