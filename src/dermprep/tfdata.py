"""dermprep's tf.data face: dataset transformations for ``Dataset.apply``.

Every function here returns a ``Dataset -> Dataset`` callable::

    ds = ds.apply(dermprep.tfdata.remove_hair())

Elements may be an image, an ``(image, label, ...)`` tuple or a dict with an
``"image"`` key; only the image is transformed. Images are (H, W, 3) or
batched (N, H, W, 3), uint8 or float32 in [0, 1]; static shapes are kept.

Importing this module imports TensorFlow; ``import dermprep`` does not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from .hair import _dullrazor

__all__ = ["remove_hair"]

DatasetTransform = Callable[[tf.data.Dataset], tf.data.Dataset]


def _image_spec(spec: Any) -> tuple[Any, Callable[[Any], Any], Callable[[Any, Any], Any]]:
    """Find the image in an element spec; return it with a getter and a setter."""
    if isinstance(spec, tf.TensorSpec):
        return spec, lambda e: e, lambda e, image: image
    if isinstance(spec, tuple) and spec and isinstance(spec[0], tf.TensorSpec):
        return spec[0], lambda e: e[0], lambda e, image: (image, *e[1:])
    if isinstance(spec, dict) and isinstance(spec.get("image"), tf.TensorSpec):
        return spec["image"], lambda e: e["image"], lambda e, image: {**e, "image": image}
    raise ValueError(
        "dataset elements must be an image tensor, an (image, label, ...) tuple or a dict "
        f"with an 'image' key; got element_spec {spec!r}"
    )


def _check_image_spec(spec: tf.TensorSpec) -> None:
    if spec.dtype not in (tf.uint8, tf.float32):
        raise TypeError(
            f"dataset images must have dtype uint8 (values in [0, 255]) or float32 (values in [0, 1]); "
            f"got {spec.dtype.name}"
        )
    rank = spec.shape.rank
    if rank not in (3, 4) or spec.shape[-1] not in (3, None):
        raise ValueError(
            f"dataset images must have shape (H, W, 3) or (N, H, W, 3); got {spec.shape}"
        )


def remove_hair(
    *,
    method: str = "dullrazor",
    num_parallel_calls: int | None = tf.data.AUTOTUNE,
    **options: Any,
) -> DatasetTransform:
    """Hair removal as a dataset transformation.

    Runs :func:`dermprep.remove_hair` on each element's image through
    ``tf.numpy_function``; the numba kernel releases the GIL, so parallel
    calls run on all cores. The result does not depend on
    ``num_parallel_calls`` (the algorithm is deterministic; order is kept).

    Parameters
    ----------
    method : {"dullrazor", "opencv"}
        As in :func:`dermprep.remove_hair`.
    num_parallel_calls : int or tf.data.AUTOTUNE
        Passed to ``Dataset.map``.
    **options
        Overrides of :class:`dermprep.DullRazorParams`, checked here.

    Returns
    -------
    callable
        ``Dataset -> Dataset`` for ``Dataset.apply``.

    Examples
    --------
    >>> import tensorflow as tf
    >>> import dermprep.tfdata
    >>> from dermprep.synthetic import make_batch
    >>> images, _, _, labels = make_batch(4, (96, 128), seed=0)
    >>> ds = tf.data.Dataset.from_tensor_slices((images, labels))
    >>> ds = ds.apply(dermprep.tfdata.remove_hair())
    >>> ds.element_spec[0]
    TensorSpec(shape=(96, 128, 3), dtype=tf.uint8, name=None)
    """
    _dullrazor._check_method(method)
    if method == "opencv" and options:
        raise TypeError(f"method='opencv' takes no options; got {sorted(options)}")
    if method == "dullrazor":
        _dullrazor.dull_razor_params((450, 600), **options)  # validate names and values now

    def run(image: np.ndarray) -> np.ndarray:
        return _dullrazor.remove_hair(image, method=method, **options)  # type: ignore[return-value]

    def transform(dataset: tf.data.Dataset) -> tf.data.Dataset:
        if not isinstance(dataset, tf.data.Dataset):
            raise TypeError(f"dataset must be a tf.data.Dataset; got {type(dataset).__name__}")
        spec, get, put = _image_spec(dataset.element_spec)
        _check_image_spec(spec)
        is_tuple = isinstance(dataset.element_spec, tuple)

        def apply(*element: Any) -> Any:
            item = element if is_tuple else element[0]
            image = get(item)
            restored = tf.numpy_function(run, [image], image.dtype, stateful=False, name="remove_hair")
            restored.set_shape(image.shape)
            return put(item, restored)

        return dataset.map(apply, num_parallel_calls=num_parallel_calls, deterministic=True)

    return transform
