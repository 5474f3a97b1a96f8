"""The one element convention every dermprep dataset operation shares.

A dataset element is one of:

- an image tensor;
- a dict with an ``"image"`` key and optional ``"mask"`` and ``"label"``
  keys (any other key passes through untouched);
- a tuple whose components are named by ``layout``: ``("image", "label")``
  (the default for pairs, Keras' ``(x, y)``), ``("image", "mask", "label")``,
  ``("image", "label", "weight")`` (Keras' ``(x, y, sample_weight)``), ...
  Only ``"image"``, ``"mask"`` and ``"label"`` mean something; other names
  pass through. Tuples of three or more components need an explicit
  ``layout``: nothing is ever guessed from shapes.

Where the ``"image"`` component is itself a dict (a model with several
inputs, ``({"image": ..., "metadata": ...}, label)``), the image and mask
are its ``"image"`` and ``"mask"`` entries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from ..validation import check_positive_int, check_seed

__all__ = [
    "DatasetTransform",
    "Elements",
    "check_dataset",
    "check_epoch",
    "check_first_values",
    "check_parallel_calls",
    "from_unit",
    "image_value_range",
    "to_unit",
    "VALUE_RANGES",
]

#: What every operation here returns: a function for ``Dataset.apply``.
DatasetTransform = Callable[[tf.data.Dataset], tf.data.Dataset]

_MEANINGFUL = ("image", "mask", "label")


def check_dataset(dataset: Any) -> tf.data.Dataset:
    """Refuse anything that is not a ``tf.data.Dataset``."""
    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(f"dataset must be a tf.data.Dataset; got {type(dataset).__name__}")
    return dataset


def _check_layout(layout: Any) -> tuple[str, ...] | None:
    if layout is None:
        return None
    if isinstance(layout, str) or not isinstance(layout, Sequence) or not all(isinstance(n, str) for n in layout):
        raise TypeError(f"layout must be a tuple of component names such as ('image', 'mask', 'label'); got {layout!r}")
    layout = tuple(layout)
    for name in _MEANINGFUL:
        if layout.count(name) > 1:
            raise ValueError(f"layout names {name!r} more than once: {layout!r}")
    if "image" not in layout:
        raise ValueError(f"layout must name one 'image' component; got {layout!r}")
    return layout


class Elements:
    """Where the image, mask and label sit in a dataset's elements, with getters and a replacer.

    Parameters
    ----------
    spec : element_spec of the dataset
    layout : tuple of str, optional
        Component names for tuple elements (see the module docstring).
    operation : str
        Name used in error messages (``"augment()"``, ...).
    """

    def __init__(self, spec: Any, layout: Sequence[str] | None, operation: str) -> None:
        layout = _check_layout(layout)
        self.spec = spec
        self.operation = operation
        self.is_tuple = isinstance(spec, tuple)
        if self.is_tuple:
            if layout is None:
                if len(spec) == 1:
                    layout = ("image",)
                elif len(spec) == 2:
                    layout = ("image", "label")
                else:
                    raise ValueError(
                        f"{operation}: elements are {len(spec)}-tuples; name their components with layout=, "
                        "e.g. layout=('image', 'mask', 'label') or layout=('image', 'label', 'weight')"
                    )
            if len(layout) != len(spec):
                raise ValueError(f"{operation}: layout {layout!r} names {len(layout)} components; "
                                 f"elements have {len(spec)}: {spec!r}")
            self.layout: tuple[str, ...] | None = layout
        else:
            if layout is not None:
                raise ValueError(f"{operation}: layout= is for tuple elements; these are {type(spec).__name__}: {spec!r}")
            self.layout = None
        self.image_spec = self._find("image", spec)
        if not isinstance(self.image_spec, tf.TensorSpec):
            raise ValueError(
                f"{operation} needs elements that are an image tensor, a tuple whose 'image' component is a "
                f"tensor (see layout=), or a dict with an 'image' key; got element_spec {spec!r}"
            )
        self.mask_spec = self._find("mask", spec)
        self.label_spec = self._find("label", spec)

    # -- locating ---------------------------------------------------------------------------

    def _slot(self, role: str) -> tuple[Any, str | None]:
        """(position in the element or None for a dict/tensor element, key inside a dict or None)."""
        if self.is_tuple:
            assert self.layout is not None
            if role in self.layout:
                return self.layout.index(role), None
            if role == "mask" and isinstance(self.spec[self.layout.index("image")], dict):
                return self.layout.index("image"), "mask"
            return None, None
        return None, role

    def _find(self, role: str, spec: Any) -> Any:
        if not self.is_tuple:
            if isinstance(spec, tf.TensorSpec):
                return spec if role == "image" else None
            return spec.get(role) if isinstance(spec, dict) else None
        assert self.layout is not None
        if role in self.layout:
            component = spec[self.layout.index(role)]
            if role in ("image", "mask") and isinstance(component, dict):
                return component.get(role)
            return component
        if role == "mask":
            image_component = spec[self.layout.index("image")]
            if isinstance(image_component, dict):
                return image_component.get("mask")
        return None

    def get(self, element: Any, role: str) -> Any:
        """The ``role`` tensor of an element (``None`` if it has none)."""
        if self._find(role, self.spec) is None:
            return None
        if not self.is_tuple:
            return element if isinstance(self.spec, tf.TensorSpec) else element[role]
        component = element[self.layout.index(role if role in self.layout else "image")]  # type: ignore[union-attr]
        return component[role] if isinstance(component, dict) else component

    def replace(self, element: Any, **values: Any) -> Any:
        """A copy of ``element`` with the given roles replaced."""
        if not self.is_tuple:
            if isinstance(self.spec, tf.TensorSpec):
                return values.get("image", element)
            return {**element, **values}
        items = list(element)
        for role, value in values.items():
            if role in self.layout:  # type: ignore[operator]
                position = self.layout.index(role)  # type: ignore[union-attr]
                if isinstance(items[position], dict):
                    items[position] = {**items[position], role: value}
                else:
                    items[position] = value
            else:  # a mask inside the image dict
                position = self.layout.index("image")  # type: ignore[union-attr]
                items[position] = {**items[position], role: value}
        return tuple(items)

    def map(self, dataset: tf.data.Dataset, fn: Callable[[Any], Any], **options: Any) -> tf.data.Dataset:
        """``dataset.map`` with ``fn`` taking one element whatever its structure."""
        if self.is_tuple:
            return dataset.map(lambda *e: fn(tuple(e)), **options)
        return dataset.map(fn, **options)


def check_parallel_calls(value: Any) -> int | None:
    """``num_parallel_calls``: a positive integer, ``tf.data.AUTOTUNE`` or None."""
    if value is None or value == tf.data.AUTOTUNE:
        return value
    return check_positive_int(value, "num_parallel_calls")


def check_epoch(epoch: Any) -> Any:
    """An epoch: an integer >= 0, or a scalar integer tensor (inside ``Dataset.range(...).flat_map``)."""
    if isinstance(epoch, (tf.Tensor, tf.Variable)):
        if not epoch.dtype.is_integer or epoch.shape.rank != 0:
            raise TypeError(f"epoch must be an integer >= 0 or a scalar integer tensor; got {epoch!r}")
        return epoch
    return check_seed(epoch, "epoch")


#: The pixel ranges float32 images may declare with ``value_range=``: dermprep's own, Keras'
#: ``image_dataset_from_directory``'s and MobileNet-style ``preprocess_input``'s.
VALUE_RANGES = ((0, 1), (0, 255), (-1, 1))


def _range_hint(low: float, high: float, value_range: tuple[float, float]) -> str:
    """What the values seen most likely are, and the fix, for a message."""
    if low >= 0 and high <= 255 and value_range == (0.0, 1.0):
        return (" (float32 images in [0, 255], as from keras.utils.image_dataset_from_directory: pass "
                "value_range=(0, 255))")
    if low >= -1 and high <= 1 and value_range != (-1.0, 1.0):
        return (" (images in [-1, 1], as keras.applications' preprocess_input gives: apply dermprep's operations "
                "before preprocess_input, or pass value_range=(-1, 1))")
    if low < 0:
        return (" (negative values: images already normalised for a model (mean subtracted, preprocess_input)? "
                "apply dermprep's operations before that normalisation)")
    return ""


def to_unit(image: np.ndarray, value_range: tuple[float, float], operation: str) -> np.ndarray:
    """A NumPy image in dermprep's convention (uint8, or float32 in [0, 1]) from one in ``value_range``.

    Values outside the declared range are refused with the fix, never clipped
    into garbage (a float32 image in [0, 255] read as [0, 1] would turn white).
    """
    if image.dtype == np.uint8:
        return image
    if image.size and not np.isfinite(image).all():
        raise ValueError(f"{operation}: images contain NaN or inf")
    low, high = (float(image.min()), float(image.max())) if image.size else (value_range[0], value_range[0])
    if low < value_range[0] or high > value_range[1]:
        raise ValueError(f"{operation}: float32 images must have values in [{value_range[0]:g}, {value_range[1]:g}]; "
                         f"got values in [{low:.4g}, {high:.4g}]{_range_hint(low, high, value_range)}")
    if value_range == (0.0, 1.0):
        return image
    return ((image - np.float32(value_range[0])) / np.float32(value_range[1] - value_range[0])).astype(np.float32)


def from_unit(image: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Back from `to_unit()`'s convention to ``value_range``."""
    if image.dtype == np.uint8 or value_range == (0.0, 1.0):
        return image
    return (image * np.float32(value_range[1] - value_range[0]) + np.float32(value_range[0])).astype(np.float32)


def image_value_range(spec: tf.TensorSpec, value_range: Any, operation: str) -> tuple[float, float]:
    """The pixel range of a dataset's images: (0, 255) for uint8; (0, 1), (0, 255) or (-1, 1) for float32.

    ``value_range=None`` means the dtype's convention: uint8 in [0, 255],
    float32 in [0, 1]. Keras' ``image_dataset_from_directory`` gives float32
    in [0, 255]: pass ``value_range=(0, 255)``; after a MobileNet-style
    ``preprocess_input``, images are in [-1, 1]: ``value_range=(-1, 1)``.
    """
    if spec.dtype not in (tf.uint8, tf.float32):
        raise TypeError(
            f"{operation}: dataset images must have dtype uint8 (values in [0, 255]) or float32 (values in [0, 1], "
            f"or [0, 255] / [-1, 1] with value_range=); got {spec.dtype.name}"
        )
    rank = spec.shape.rank
    if rank not in (3, 4) or spec.shape[-1] not in (3, None):
        raise ValueError(f"{operation}: dataset images must have shape (H, W, 3) or (N, H, W, 3); got {spec.shape}")
    if value_range is None:
        return (0.0, 255.0) if spec.dtype == tf.uint8 else (0.0, 1.0)
    if not isinstance(value_range, (tuple, list)) or any(isinstance(v, (bool, np.bool_)) for v in value_range) \
            or tuple(value_range) not in VALUE_RANGES:
        raise ValueError(f"{operation}: value_range must be one of {VALUE_RANGES}; got {value_range!r}")
    low, high = float(value_range[0]), float(value_range[1])
    if spec.dtype == tf.uint8 and (low, high) != (0.0, 255.0):
        raise ValueError(f"{operation}: uint8 images are in [0, 255]; value_range={value_range!r} does not fit them")
    return low, high


#: Dataset classes whose first element costs about one upstream element (a batch: one batch of them) to read.
#: Everything else is not peeked at: a shuffle fills its whole buffer first, a cache warns when left unfinished,
#: a filter may scan the whole input, a generator may be a one-shot Python iterator, a flat_map/interleave may be a
#: ``tfdata.epochs`` stream. Those still get the same range check when the dataset runs.
_CHEAP_TO_PEEK = frozenset({
    "TensorSliceDataset", "TensorDataset", "RangeDataset", "MapDataset", "ParallelMapDataset", "BatchDataset",
    "ParallelBatchDataset", "PaddedBatchDataset", "UnbatchDataset", "RestructuredDataset", "PrefetchDataset",
    "TakeDataset", "SkipDataset", "OptionsDataset", "RepeatDataset", "ZipDataset", "ConcatenateDataset",
    "AssertCardinalityDataset", "ShardDataset",
})


def _peekable(dataset: tf.data.Dataset) -> bool:
    """Whether reading a dataset's first element now is harmless: eager, and every dataset upstream is of a kind
    in ``_CHEAP_TO_PEEK``."""
    if not tf.executing_eagerly():
        return False
    pending, seen = [dataset], 0
    while pending:
        current = pending.pop()
        seen += 1
        if seen > 256 or type(current).__name__.lstrip("_") not in _CHEAP_TO_PEEK:
            return False
        try:
            pending.extend(current._inputs())
        except Exception:  # noqa: BLE001 - a dataset class without the (private) input list: do not peek
            return False
    return True


def check_first_values(dataset: tf.data.Dataset, elements: Elements, value_range: tuple[float, float],
                       operation: str) -> None:
    """Refuse float32 images outside ``value_range`` before the dataset runs, where the first element is cheap to
    read (see `_peekable()`): the same message as at run time, without TensorFlow's wrapping around it."""
    if elements.image_spec.dtype != tf.float32 or not _peekable(dataset):
        return
    try:
        first = next(iter(dataset.take(1)))
    except (StopIteration, tf.errors.OpError):  # empty, or failing upstream: the run itself will say so
        return
    to_unit(np.asarray(elements.get(first, "image")), value_range, operation)
