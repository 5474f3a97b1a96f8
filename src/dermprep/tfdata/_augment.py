"""Lesion-aware augmentation as a dataset transformation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from ..augment import Pipeline, default_pipeline
from ..validation import check_positive_int, check_seed
from ._elements import (
    DatasetTransform,
    Elements,
    check_dataset,
    check_epoch,
    check_first_values,
    check_parallel_calls,
    from_unit,
    image_value_range,
    to_unit,
)

__all__ = ["augment"]


def augment(
    pipeline: Pipeline | Sequence[Any] | None = None, *, seed: int = 0, epoch: int | tf.Tensor = 0,
    value_range: tuple[float, float] | None = None, layout: Sequence[str] | None = None, group: int = 32,
    num_parallel_calls: int | None = tf.data.AUTOTUNE,
) -> DatasetTransform:
    """Lesion-aware augmentation as a dataset transformation.

    Element ``i`` of the dataset gets ``pipeline(image, seed=seed, index=i,
    epoch=epoch)``: the same whatever ``num_parallel_calls`` or batching,
    and replayable on NumPy images (`dermprep.augment.Pipeline.sample()`
    shows its parameters). ``epoch`` is explicit: one pass over the result
    is one epoch's augmentation; build the next epoch with ``epoch + 1``, or
    let `dermprep.tfdata.epochs()` chain them (a tensor works too).

    Parameters
    ----------
    pipeline : dermprep.augment.Pipeline, list of ops/dicts, or None
        ``None``: `dermprep.augment.default_pipeline()`.
    seed : int
    epoch : int or scalar int64 tensor
    value_range : (0, 1), (0, 255) or (-1, 1), optional
        Pixel range of float32 images (see `remove_hair()`); float32 images
        are checked against it before the dataset runs where their first
        element is cheap to read, and always as they run.
    layout : tuple of str, optional
        Names of tuple components, e.g. ``("image", "mask", "label")``
        (see `dermprep.tfdata`); a ``"mask"`` gets the same geometry
        (nearest neighbour, label values kept).
    group : int
        Unbatched images are augmented ``group`` at a time in one
        ``tf.numpy_function`` call; batched datasets batch by batch.
    num_parallel_calls : int or tf.data.AUTOTUNE

    Returns
    -------
    callable
        ``Dataset -> Dataset``; elements keep their structure, dtype and static shapes.

    Examples
    --------
    >>> import numpy as np, tensorflow as tf
    >>> import dermprep.tfdata
    >>> images = np.zeros((4, 64, 64, 3), np.uint8)
    >>> ds = tf.data.Dataset.from_tensor_slices((images, [0, 1, 2, 3]))
    >>> ds.apply(dermprep.tfdata.augment(seed=1, epoch=0)).element_spec[0]
    TensorSpec(shape=(64, 64, 3), dtype=tf.uint8, name=None)
    """
    if pipeline is None:
        pipeline = default_pipeline()
    elif not isinstance(pipeline, Pipeline):
        if not isinstance(pipeline, (list, tuple)):
            raise TypeError(f"pipeline must be a dermprep.augment.Pipeline, a list of ops, or None; got {pipeline!r}")
        pipeline = Pipeline(pipeline)
    return _Augment(pipeline, check_seed(seed), check_epoch(epoch), value_range, layout,
                    check_positive_int(group, "group"), check_parallel_calls(num_parallel_calls))


@dataclass(frozen=True, eq=False)
class _Augment:
    """What `augment()` returns: its checked settings, applied to a dataset."""

    pipeline: Pipeline
    seed: int
    epoch: int | tf.Tensor
    value_range: tuple[float, float] | None
    layout: Sequence[str] | None
    group: int
    num_parallel_calls: int | None

    def __call__(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        elements = Elements(check_dataset(dataset).element_spec, self.layout, "augment()")
        value_range = image_value_range(elements.image_spec, self.value_range, "augment()")
        _check_specs(elements.image_spec, elements.mask_spec)
        check_first_values(dataset, elements, value_range, "augment()")
        epoch = tf.cast(self.epoch, tf.int64)
        if elements.image_spec.shape.rank == 4:  # the index of a batch's first image: a count of the images before it
            counted = dataset.scan(tf.constant(0, tf.int64), lambda count, element: (
                count + tf.cast(tf.shape(elements.get(element, "image"))[0], tf.int64), (count, element)))
            return counted.map(lambda start, element: self._run(elements, value_range, start, element, epoch),
                               num_parallel_calls=self.num_parallel_calls, deterministic=True)
        cardinality = tf.get_static_value(dataset.cardinality())  # None inside a graph (e.g. tfdata.epochs)
        grouped = dataset.enumerate().batch(self.group)
        mapped = grouped.map(
            lambda index, *element: self._run(elements, value_range, index[0], element[0] if len(element) == 1 else element,
                                              epoch),
            num_parallel_calls=self.num_parallel_calls, deterministic=True,
        ).unbatch()
        if cardinality is not None and int(cardinality) >= 0:
            mapped = mapped.apply(tf.data.experimental.assert_cardinality(int(cardinality)))
        return mapped

    def _run(self, elements: Elements, value_range: tuple[float, float], start: tf.Tensor, element: Any,
             epoch: tf.Tensor) -> Any:
        """Augment the images (and masks) of one element, the first being element ``start`` of the epoch."""
        mask_spec = elements.mask_spec

        def run_numpy(images: np.ndarray, masks: np.ndarray, epoch_value: np.int64, first: np.int64) -> tuple:
            unit = to_unit(images, value_range, "augment()")
            indices = np.arange(int(first), int(first) + images.shape[0])
            m = None if masks.size == 0 and mask_spec is None else masks.reshape(images.shape[:3])
            out, out_masks = self.pipeline.augment_batch(unit, seed=self.seed, epoch=int(epoch_value), indices=indices,
                                                         masks=m)
            return from_unit(out, value_range), (masks if out_masks is None else out_masks.reshape(masks.shape))

        images, masks = elements.get(element, "image"), elements.get(element, "mask")
        out, out_masks = tf.numpy_function(
            run_numpy, [images, tf.zeros([0], tf.uint8) if masks is None else masks, epoch, start],
            (images.dtype, tf.uint8 if masks is None else masks.dtype), stateful=False, name="augment",
        )
        out = tf.ensure_shape(out, images.shape)
        if masks is None:
            return elements.replace(element, image=out)
        return elements.replace(element, image=out, mask=tf.ensure_shape(out_masks, masks.shape))


def _check_specs(image_spec: tf.TensorSpec, mask_spec: tf.TensorSpec | None) -> None:
    """A static image size, and masks (H, W) or (H, W, 1) of bool or integer labels."""
    if not image_spec.shape[-3:-1].is_fully_defined():
        raise ValueError(f"augment() needs a static image size (resize first); got images {image_spec.shape}")
    if mask_spec is None:
        return
    if mask_spec.shape.rank not in (image_spec.shape.rank - 1, image_spec.shape.rank) or \
            mask_spec.shape[-2 if mask_spec.shape.rank == image_spec.shape.rank else -1] is None or \
            (mask_spec.shape.rank == image_spec.shape.rank and mask_spec.shape[-1] != 1):
        raise ValueError(f"masks must have shape (H, W) or (H, W, 1) like their images {image_spec.shape}; "
                         f"got {mask_spec.shape}")
    if not (mask_spec.dtype.is_integer or mask_spec.dtype == tf.bool):
        raise TypeError(f"augment(): masks must be bool or integer labels; got {mask_spec.dtype.name} "
                        "(nearest-neighbour resampling keeps label values; a float mask would be rounded)")
