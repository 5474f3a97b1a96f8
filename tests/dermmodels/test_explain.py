"""Grad-CAM: on a small model trained here to tell two synthetic lesion classes apart, the map peaks on the lesion."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from dermmodels import build_mobilenetv2_classifier  # noqa: E402
from dermmodels.evaluation import explain_examples  # noqa: E402
from dermmodels.explain import grad_cam, overlay, save_explanation, supports_grad_cam  # noqa: E402
from dermprep import CLASS_NAMES  # noqa: E402
from dermprep.synthetic import make_sample  # noqa: E402

SIZE = 96
CLASSES = (CLASS_NAMES.index("mel"), CLASS_NAMES.index("vasc"))  # dark brown vs red lesions on random skin tones


def _lesions(n, seed):
    """Images of one lesion each, shifted anywhere by up to a quarter of the side (wrapping), with masks."""
    rng = np.random.default_rng(seed)
    images, masks, labels = [], [], []
    for k in range(n):
        label = k % 2
        sample = make_sample((SIZE, SIZE), rng=rng, label=CLASSES[label], hair=False, vignette=False)
        dy, dx = rng.integers(-SIZE // 4, SIZE // 4 + 1, 2)
        images.append(np.roll(sample.image, (dy, dx), axis=(0, 1)))
        masks.append(np.roll(sample.lesion_mask, (dy, dx), axis=(0, 1)))
        labels.append(label)
    return np.stack(images), np.stack(masks), np.array(labels)


def _small_classifier():
    """The classifier's structure (scaling, a nested convolutional base, pooling, dense head, "probabilities")
    with a small three-layer base whose units see 15x15 pixels: its map can say where the evidence lies."""
    keras = tf.keras
    base = keras.Sequential([keras.Input((SIZE, SIZE, 3))] + [
        keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu") for filters in (16, 32, 32)],
        name="base")
    image = keras.Input((SIZE, SIZE, 3), name="image")
    x = keras.layers.Rescaling(2.0 / 255.0, offset=-1.0, name="scaling")(image)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(base(x))
    x = keras.layers.Dense(16, activation="relu", name="dense")(x)
    return keras.Model(image, keras.layers.Dense(2, activation="softmax", name="probabilities")(x))


@pytest.fixture(scope="module")
def trained():
    tf.keras.utils.set_random_seed(0)
    images, _, labels = _lesions(160, seed=1)
    model = _small_classifier()
    model.compile(optimizer=tf.keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(images.astype(np.float32), labels, epochs=15, batch_size=16, verbose=0)
    return model


def test_grad_cam_peaks_on_the_lesion(trained):
    images, masks, labels = _lesions(24, seed=2)
    predicted = trained.predict(images.astype(np.float32), verbose=0).argmax(axis=1)
    assert np.mean(predicted == labels) >= 0.85  # the model learned the task: its evidence is worth explaining
    on_lesion, contrast = [], []
    for image, mask, label in zip(images, masks, labels, strict=True):
        heatmap, explained = grad_cam(trained, image, int(label))
        assert heatmap.shape == (SIZE, SIZE) and heatmap.dtype == np.float32 and explained == label
        assert 0.0 <= heatmap.min() and heatmap.max() <= 1.0
        peak = np.unravel_index(np.argmax(heatmap), heatmap.shape)
        on_lesion.append(bool(mask[peak]))
        contrast.append(heatmap[mask].mean() - heatmap[~mask].mean())
    assert np.mean(on_lesion) >= 0.8, on_lesion
    # On average the map is higher on the lesion than off it (measured: clearly for the dark class; for the red
    # class the map also spreads over the skin, its lesion-minus-skin mean is slightly negative).
    assert np.mean(contrast) > 0.1, contrast


def test_grad_cam_default_class_is_the_top_class_and_inputs_are_kept(trained, tmp_path):
    images, _, _ = _lesions(2, seed=3)
    image = images[0].copy()
    heatmap, explained = grad_cam(trained, image)
    assert explained == int(trained.predict(image[None].astype(np.float32), verbose=0).argmax())
    np.testing.assert_array_equal(image, images[0])  # the input is not modified
    again, _ = grad_cam(trained, image)
    np.testing.assert_array_equal(heatmap, again)  # deterministic
    blended = overlay(image, heatmap)
    assert blended.shape == image.shape and blended.dtype == np.uint8
    save_explanation(image, heatmap, "mel 0.90", tmp_path / "x.png")
    assert (tmp_path / "x.png").stat().st_size > 0


def test_grad_cam_on_the_mobilenetv2_classifier():
    model = build_mobilenetv2_classifier(7, input_shape=(SIZE, SIZE, 3), weights=None, alpha=0.35)
    heatmap, explained = grad_cam(model, _lesions(1, seed=4)[0][0], 3)
    assert heatmap.shape == (SIZE, SIZE) and explained == 3 and np.isfinite(heatmap).all()


def test_grad_cam_refuses_bad_input(trained):
    with pytest.raises(ValueError, match=r"image must have shape \(96, 96, 3\)"):
        grad_cam(trained, np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="class_index must lie in"):
        grad_cam(trained, np.zeros((SIZE, SIZE, 3), np.uint8), 5)
    with pytest.raises(ValueError, match="must be finite"):
        grad_cam(trained, np.full((SIZE, SIZE, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match="heatmap must have shape"):
        overlay(np.zeros((SIZE, SIZE, 3), np.uint8), np.zeros((8, 8)))
    flat = tf.keras.Sequential([tf.keras.Input((SIZE, SIZE, 3)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="build_mobilenetv2_classifier"):
        grad_cam(flat, np.zeros((SIZE, SIZE, 3), np.uint8))
    assert not supports_grad_cam(flat) and supports_grad_cam(trained)
    assert explain_examples(flat, [np.zeros((SIZE, SIZE, 3), np.uint8)]) is None  # the report leaves the panel out
    assert len(explain_examples(trained, [np.zeros((SIZE, SIZE, 3), np.uint8)] * 2)) == 2
