"""``mix()``: mixup and lesion-aware CutMix on batches in tf.data (`dermprep.augment.mixing`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from ..augment.mixing import mix_batch
from ..validation import check_number, check_seed
from ._elements import (
    DatasetTransform,
    Elements,
    check_dataset,
    check_epoch,
    check_first_values,
    from_unit,
    image_value_range,
    to_unit,
)

__all__ = ["mix"]


def mix(*, mixup: float = 0.0, cutmix: float = 0.0, seed: int = 0, epoch: int | tf.Tensor = 0,
        layout: Sequence[str] | None = None, value_range: tuple[float, float] | None = None) -> DatasetTransform:
    """Mix the images and labels of every batch: mixup, lesion-aware CutMix, or one of them per batch.

    Apply it after ``batch()`` (and after augmentation), to batches with
    one-hot or soft labels (``from_arrays(one_hot=True)``): batch ``b`` of
    epoch ``epoch`` is mixed as `dermprep.augment.mixing.mix_batch()` with
    the key ``(seed, epoch, b)``, the same however the dataset is iterated.

    Parameters
    ----------
    mixup, cutmix : float
        ``alpha`` of each method's ``Beta(alpha, alpha)``; 0 turns it off.
    seed : int
    epoch : int or scalar int64 tensor
    layout : tuple of str, optional
        Names of tuple components (`dermprep.tfdata` element convention).
    value_range : (0, 1), (0, 255) or (-1, 1), optional
        Pixel range of float32 images, as in `augment()` (Keras'
        ``image_dataset_from_directory`` gives float32 in [0, 255]: pass
        ``value_range=(0, 255)``); checked before the dataset runs where the
        first batch is cheap to read.

    Returns
    -------
    callable
        ``Dataset -> Dataset`` for ``Dataset.apply``.

    Examples
    --------
    >>> import numpy as np, tensorflow as tf
    >>> images = np.zeros((8, 32, 32, 3), np.uint8); labels = np.eye(8, dtype=np.float32)
    >>> ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4).apply(mix(mixup=0.2, seed=0))
    >>> [tuple(x.shape) for x in next(iter(ds))]
    [(4, 32, 32, 3), (4, 8)]
    """
    mixup = check_number(mixup, "mixup", lower=0.0, upper=10.0)
    cutmix = check_number(cutmix, "cutmix", lower=0.0, upper=10.0)
    seed = check_seed(seed)
    epoch = check_epoch(epoch)

    def transform(dataset: tf.data.Dataset) -> tf.data.Dataset:
        dataset = check_dataset(dataset)
        elements = Elements(dataset.element_spec, layout, "mix()")
        image_spec, label_spec = elements.image_spec, elements.label_spec
        if image_spec.shape.rank != 4:
            raise ValueError(f"mix() works on batches: apply it after .batch(); got images of shape {image_spec.shape}")
        if label_spec is None or label_spec.shape.rank != 2 or not label_spec.dtype.is_floating:
            raise ValueError(f"mix() needs one-hot or soft float labels of shape (batch, classes) "
                             f"(from_arrays(one_hot=True), or tf.one_hot); got {label_spec!r}")
        pixel_range = image_value_range(image_spec, value_range, "mix()")
        check_first_values(dataset, elements, pixel_range, "mix()")

        def mix_one(index: tf.Tensor, element: Any) -> Any:
            def run(images: np.ndarray, labels: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                mixed, soft = mix_batch(to_unit(images, pixel_range, "mix()"), labels, mixup=mixup, cutmix=cutmix,
                                        seed=int(key[0]), epoch=int(key[1]), batch=int(key[2]))
                return from_unit(mixed, pixel_range), soft

            key = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64), tf.cast(index, tf.int64)])
            images, labels = tf.numpy_function(run, [elements.get(element, "image"), elements.get(element, "label"),
                                                     key], [image_spec.dtype, label_spec.dtype], stateful=False)
            images.set_shape(elements.get(element, "image").shape)
            labels.set_shape(elements.get(element, "label").shape)
            return elements.replace(element, image=images, label=labels)

        return dataset.enumerate().map(mix_one, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    return transform
