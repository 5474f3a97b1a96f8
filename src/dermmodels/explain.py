"""Where the model looked: Grad-CAM (Selvaraju et al., ICCV 2017) on the MobileNetV2 base's last feature map.

For a class ``c``, Grad-CAM weights the base's last convolutional feature
maps (MobileNetV2's ``out_relu``, 6x6 for a 192x192 input) by the spatial
mean of the gradient of the class score (its logit, before the softmax) with
respect to them, sums them, keeps the positive part and resizes the map to the
image. High values mark the pixels whose evidence raised that class's score.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["grad_cam", "overlay", "save_explanation", "supports_grad_cam"]


def _parts(model: Any) -> tuple[list[Any], Any, list[Any]]:
    """The layers before the base, the base itself and the head layers after it (a single-input classifier)."""
    import keras  # noqa: PLC0415

    if len(model.inputs) != 1:
        raise ValueError(f"grad_cam needs a single-input (image) classifier; this model has {len(model.inputs)} inputs "
                         "(the metadata branch is not supported)")
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    bases = [k for k, layer in enumerate(layers) if isinstance(layer, keras.Model)]
    if len(bases) != 1 or layers[-1].name != "probabilities":
        raise ValueError("grad_cam needs a classifier from build_mobilenetv2_classifier() (one nested base model, "
                         f"a 'probabilities' output layer); got layers {[layer.name for layer in layers]}")
    k = bases[0]
    return layers[:k], layers[k], layers[k + 1 :]


def supports_grad_cam(model: Any) -> bool:
    """Whether `grad_cam()` can explain ``model``: a single-input classifier built like
    `dermmodels.build_mobilenetv2_classifier()` (one nested base model, a ``probabilities`` output layer)."""
    try:
        _parts(model)
    except ValueError:
        return False
    return True


def grad_cam(model: Any, image: np.ndarray, class_index: int | None = None) -> tuple[np.ndarray, int]:
    """Grad-CAM map of one image for one class.

    Parameters
    ----------
    model : keras.Model
        A classifier from `dermmodels.build_mobilenetv2_classifier()` (``Run.model``).
    image : ndarray (H, W, 3)
        The image as the model takes it (a run's preprocessed uint8 image).
    class_index : int, optional
        The class to explain; default: the model's top class.

    Returns
    -------
    heatmap : ndarray (H, W) float32 in [0, 1]
        1 where the class evidence is strongest (all 0 when no region raised the score).
    class_index : int
        The class explained.
    """
    import tensorflow as tf  # noqa: PLC0415

    before, base, head = _parts(model)
    shape = tuple(int(v) for v in model.inputs[0].shape[1:])
    image = np.asarray(image)
    if image.shape != shape:
        raise ValueError(f"image must have shape {shape} (the model's input); got {image.shape}")
    if not np.isfinite(image.astype(np.float32)).all():
        raise ValueError("image must be finite; got NaN or inf")
    x = tf.convert_to_tensor(image[None].astype(np.float32))
    for layer in before:
        x = layer(x)
    features = base(x, training=False)
    with tf.GradientTape() as tape:
        tape.watch(features)
        h = features
        for layer in head[:-1]:
            h = layer(h, training=False)
        output = head[-1]
        logits = tf.matmul(h, output.kernel) + output.bias
        if class_index is None:
            class_index = int(tf.argmax(logits[0]))
        elif not 0 <= int(class_index) < int(logits.shape[-1]):
            raise ValueError(f"class_index must lie in [0, {int(logits.shape[-1]) - 1}]; got {class_index}")
        score = logits[0, int(class_index)]
    gradients = tape.gradient(score, features)[0]
    weights = tf.reduce_mean(gradients, axis=(0, 1))
    cam = tf.nn.relu(tf.reduce_sum(features[0] * weights, axis=-1))
    cam = tf.image.resize(cam[..., None], shape[:2], method="bilinear")[..., 0].numpy()
    peak = float(cam.max())
    return (cam / peak if peak > 0 else np.zeros_like(cam)).astype(np.float32), int(class_index)


def overlay(image: np.ndarray, heatmap: np.ndarray, *, strength: float = 0.45) -> np.ndarray:
    """The image with the heatmap blended in as a colour map (uint8 RGB, same size)."""
    from matplotlib import colormaps  # noqa: PLC0415

    if heatmap.shape != image.shape[:2]:
        raise ValueError(f"heatmap must have shape {image.shape[:2]} (the image's); got {heatmap.shape}")
    colour = colormaps["jet"](np.clip(heatmap, 0.0, 1.0))[..., :3] * 255.0
    base = image.astype(np.float32) if image.dtype == np.uint8 else np.clip(image, 0, 1).astype(np.float32) * 255.0
    return np.clip((1 - strength) * base + strength * colour, 0, 255).astype(np.uint8)


def save_explanation(image: np.ndarray, heatmap: np.ndarray, title: str, path: str | os.PathLike[str]) -> None:
    """A two-panel PNG: the image, and the image with its Grad-CAM map (titled with the prediction)."""
    from dermprep.figures import new_figure, save_figure  # noqa: PLC0415

    fig = new_figure(6.4, 3.6)
    axes = fig.subplots(1, 2)
    axes[0].imshow(image)
    axes[0].set_title("image", fontsize=9)
    axes[1].imshow(overlay(image, heatmap))
    axes[1].set_title(title, fontsize=9)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    save_figure(fig, path)
