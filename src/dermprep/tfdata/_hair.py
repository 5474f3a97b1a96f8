"""Hair removal as a dataset transformation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from ..hair import check_hair_options
from ..hair import remove_hair as _remove_hair_numpy
from ._elements import (
    DatasetTransform,
    Elements,
    check_dataset,
    check_first_values,
    check_parallel_calls,
    from_unit,
    image_value_range,
    to_unit,
)

__all__ = ["remove_hair"]


def remove_hair(
    *, method: str = "dullrazor", value_range: tuple[float, float] | None = None, layout: Sequence[str] | None = None,
    num_parallel_calls: int | None = tf.data.AUTOTUNE, **options: Any,
) -> DatasetTransform:
    """Hair removal as a dataset transformation.

    Runs `dermprep.remove_hair()` on each element's image (single or
    batched) through ``tf.numpy_function``; the numba kernel releases the
    GIL, so parallel calls run on all cores. The result does not depend on
    ``num_parallel_calls`` (the algorithm is deterministic; order is kept).

    Parameters
    ----------
    method : {"dullrazor", "opencv"}
        As in `dermprep.remove_hair()`.
    value_range : (0, 1), (0, 255) or (-1, 1), optional
        Pixel range of float32 images; ``None``: uint8 in [0, 255], float32
        in [0, 1]. Keras' ``image_dataset_from_directory`` gives float32 in
        [0, 255]: pass ``value_range=(0, 255)``; after a MobileNet-style
        ``preprocess_input`` images are in [-1, 1] (better: remove hair
        before it). Float32 images are checked against the range before the
        dataset runs where their first element is cheap to read.
    layout : tuple of str, optional
        Names of tuple components (see `dermprep.tfdata`).
    num_parallel_calls : int or tf.data.AUTOTUNE
        Passed to ``Dataset.map``.
    **options
        Overrides of `dermprep.DullRazorParams`, checked here.

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
    return _RemoveHair(method, check_hair_options(method, **options), value_range, layout,
                       check_parallel_calls(num_parallel_calls))


@dataclass(frozen=True, eq=False)
class _RemoveHair:
    """What `remove_hair()` returns: its checked settings, applied to a dataset."""

    method: str
    options: dict[str, Any]
    value_range: tuple[float, float] | None
    layout: Sequence[str] | None
    num_parallel_calls: int | None

    def __call__(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        elements = Elements(check_dataset(dataset).element_spec, self.layout, "remove_hair()")
        value_range = image_value_range(elements.image_spec, self.value_range, "remove_hair()")
        check_first_values(dataset, elements, value_range, "remove_hair()")

        def run(image: np.ndarray) -> np.ndarray:
            unit = to_unit(image, value_range, "remove_hair()")
            return from_unit(_remove_hair_numpy(unit, method=self.method, **self.options),  # type: ignore[arg-type]
                             value_range)

        def apply(element: Any) -> Any:
            image = elements.get(element, "image")
            restored = tf.numpy_function(run, [image], image.dtype, stateful=False, name="remove_hair")
            restored.set_shape(image.shape)
            return elements.replace(element, image=restored)

        return elements.map(dataset, apply, num_parallel_calls=self.num_parallel_calls, deterministic=True)
