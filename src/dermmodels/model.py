"""The MobileNetV2 classifier factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dermprep.validation import check_bool, check_choice, check_number, check_positive_int

__all__ = ["ALPHAS", "WEIGHT_SIZES", "build_mobilenetv2_classifier", "feature_extractor", "imagenet_weights_filename",
           "set_base_trainable"]

#: MobileNetV2 widths Keras Applications ships ImageNet weights for.
ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
#: Square input sizes with their own ImageNet weight files; any other size uses the 224 file.
WEIGHT_SIZES = (96, 128, 160, 192, 224)

_WEIGHTS_HELP = (
    'weights must be "imagenet" (Keras downloads and caches the file; needs internet), None (random '
    "initialisation), the path of a local MobileNetV2 no-top weights file (.h5) matching alpha, or a folder "
    "holding Keras' file for alpha (imagenet_weights_filename(alpha))"
)


def build_mobilenetv2_classifier(
    num_classes: int = 7,
    *,
    input_shape: tuple[int, int, int] = (224, 224, 3),
    weights: str | os.PathLike[str] | None = "imagenet",
    alpha: float = 1.0,
    dropout: float = 0.3,
    dense_units: int = 128,
    freeze_base: bool = True,
    metadata_features: int | None = None,
    pixel_range: float = 255.0,
) -> Any:
    """MobileNetV2 transfer-learning classifier (Sandler et al., CVPR 2018).

    ImageNet MobileNetV2 without its top, then global average pooling,
    dropout, a ReLU dense layer and a softmax over ``num_classes``: the
    paper's head. The model takes RGB images in ``[0, pixel_range]`` (uint8
    images from dermprep: 255; float32 in [0, 1]: 1.0) and applies
    MobileNetV2's own scaling to [-1, 1] inside, so an exported model takes
    raw RGB. A pretrained base always runs in inference mode (BatchNorm
    statistics frozen), also when unfrozen for fine-tuning. Training from
    scratch (``weights=None, freeze_base=False``) is the exception: there
    BatchNorm runs in training mode with momentum 0.9 (Keras' 0.999 leaves
    the statistics near their initial values for thousands of steps).

    Parameters
    ----------
    num_classes : int
        At least 2 (7 for HAM10000).
    input_shape : (int, int, 3)
        Image size; at least 32x32.
    weights : "imagenet", None or path
        "imagenet" downloads Keras' file (internet needed); a path loads a
        local no-top ``.h5`` file for the same ``alpha``; a folder, the file
        named `imagenet_weights_filename()` in it.
    alpha : float
        MobileNetV2 width multiplier (0.35, 0.5, 0.75, 1.0, 1.3, 1.4).
    dropout : float
        Dropout rate before the dense layer.
    dense_units : int
        Width of the ReLU dense layer.
    freeze_base : bool
        Freeze the pretrained base (the paper's setting).
    metadata_features : int, optional
        Add a second input of this many metadata features (e.g.
        `dermprep.ham10000.encode_metadata()`, 20), passed through a
        small dense layer and concatenated with the image features. The
        model's inputs are then ``{"image": ..., "metadata": ...}``.
    pixel_range : float
        Largest pixel value of the input images.

    Returns
    -------
    keras.Model

    Raises
    ------
    ValueError, FileNotFoundError, RuntimeError
        Bad arguments; a missing or unreadable weights file; ImageNet
        weights that cannot be downloaded (the message says what to use).
    """
    import keras  # noqa: PLC0415 - TensorFlow/Keras only when a model is built

    num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
    input_shape = _check_input_shape(input_shape)
    alpha = check_choice(alpha, "alpha", ALPHAS)
    dropout = check_number(dropout, "dropout", lower=0.0, upper=0.95)
    dense_units = check_positive_int(dense_units, "dense_units")
    freeze_base = check_bool(freeze_base, "freeze_base")
    if metadata_features is not None:
        metadata_features = check_positive_int(metadata_features, "metadata_features")
    pixel_range = check_number(pixel_range, "pixel_range", lower=0.0, upper=65535.0, lower_open=True)

    base = _imagenet_base(input_shape, alpha, _keras_weights(weights, alpha, input_shape))
    base.trainable = not freeze_base
    from_scratch = weights is None and not freeze_base
    if from_scratch:  # short runs from scratch need BatchNorm statistics that follow the data
        for layer in base.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = 0.9

    image = keras.Input(shape=input_shape, name="image")
    x = keras.layers.Rescaling(2.0 / float(pixel_range), offset=-1.0, name="mobilenetv2_scaling")(image)
    # Pretrained: BatchNorm in inference mode, also when fine-tuning. From scratch: it learns.
    x = base(x) if from_scratch else base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    inputs: Any = image
    if metadata_features is not None:
        metadata = keras.Input(shape=(metadata_features,), name="metadata")
        m = keras.layers.Dense(32, activation="relu", name="metadata_dense")(metadata)
        x = keras.layers.Concatenate(name="fuse")([x, m])
        inputs = {"image": image, "metadata": metadata}
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    x = keras.layers.Dense(dense_units, activation="relu", name="dense")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=f"mobilenetv2_{alpha}_classifier")


def _check_input_shape(input_shape: Any) -> tuple[int, int, int]:
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, 3) with height, width >= 32; got {input_shape!r}")
    height = check_positive_int(input_shape[0], "input_shape[0] (height)", minimum=32)
    width = check_positive_int(input_shape[1], "input_shape[1] (width)", minimum=32)
    if input_shape[2] != 3:
        raise ValueError(f"input_shape must be (height, width, 3); got {input_shape!r}")
    return (height, width, 3)


def _keras_weights(weights: Any, alpha: float, input_shape: tuple[int, int, int]) -> str | None:
    """What Keras' ``weights=`` gets: "imagenet", None, or the path of the local file meant by ``weights``."""
    if weights is None or weights == "imagenet":
        return weights  # type: ignore[no-any-return]
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(f"{_WEIGHTS_HELP}; got {weights!r}")
    path = Path(weights)
    height, width = input_shape[:2]
    if path.is_dir():  # a folder of Keras' files (e.g. copied from ~/.keras/models): the one for alpha
        path = path / imagenet_weights_filename(alpha, height if height == width else 224)
        if not path.is_file():
            path = path.with_name(imagenet_weights_filename(alpha))  # no-top weights load at any size
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {str(path)!r}. {_WEIGHTS_HELP}")
    return str(path)


def _imagenet_base(input_shape: tuple[int, int, int], alpha: float, keras_weights: str | None) -> Any:
    """Keras' MobileNetV2 without its top; load failures as errors that say what to use instead."""
    import keras  # noqa: PLC0415

    try:
        return keras.applications.MobileNetV2(input_shape=input_shape, alpha=alpha, include_top=False,
                                              weights=keras_weights)
    except (OSError, ValueError) as exc:
        if keras_weights == "imagenet":
            raise RuntimeError(
                f"could not load ImageNet weights (no internet or no cache?): {exc}. {_WEIGHTS_HELP}"
            ) from exc
        raise ValueError(f"could not load weights from {keras_weights!r}: {exc}. {_WEIGHTS_HELP}") from exc
    except Exception as exc:  # noqa: BLE001 - urllib errors come in several types
        if keras_weights == "imagenet":
            raise RuntimeError(f"could not download ImageNet weights: {exc}. {_WEIGHTS_HELP}") from exc
        raise


def imagenet_weights_filename(alpha: float, image_size: int = 224) -> str:
    """The name of Keras' no-top ImageNet MobileNetV2 weights file for ``alpha`` at ``image_size``.

    It is the name ``weights="imagenet"`` downloads and caches
    (``~/.keras/models``), and the name to look for in a folder of local
    copies. Keras writes the width as a float (``1.0``, not ``1``) and uses
    the 224 file for sizes it has no file of its own for. The no-top weights
    do not depend on the input size, so any of them loads at any size.

    Examples
    --------
    >>> imagenet_weights_filename(1.0)
    'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5'
    >>> imagenet_weights_filename(0.35, 96)
    'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5'
    """
    alpha = check_choice(alpha, "alpha", ALPHAS)
    image_size = check_positive_int(image_size, "image_size")
    rows = image_size if image_size in WEIGHT_SIZES else 224
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"


def _base_of(model: Any) -> Any:
    import keras  # noqa: PLC0415

    bases = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if not bases:
        raise ValueError("expected a model from build_mobilenetv2_classifier (a nested MobileNetV2 base)")
    return bases[0]


def set_base_trainable(model: Any, layers: int | None) -> None:
    """Choose which layers of the base train: ``None`` all, ``0`` none, ``k`` the top ``k``.

    BatchNorm layers never train and run in inference mode (the factory
    calls the base with ``training=False``): updating ImageNet statistics
    on small batches of skin images destroys them. Compile the model after
    calling this.
    """
    import keras  # noqa: PLC0415

    base = _base_of(model)
    if layers is not None:
        layers = check_positive_int(layers, "layers", minimum=0, maximum=len(base.layers))
    base.trainable = layers != 0
    if layers:
        for layer in base.layers[: len(base.layers) - layers]:
            layer.trainable = False
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization) and layers != 0:
            layer.trainable = False


def feature_extractor(model: Any) -> Any:
    """The model up to its pooled image features (the input of the head), sharing its layers."""
    import keras  # noqa: PLC0415

    return keras.Model(model.inputs, model.get_layer("gap").output)
