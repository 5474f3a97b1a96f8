"""Exact class balancing as a dataset transformation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from ..sampling import STRATEGIES, as_class_indices, class_counts, epoch_indices, target_counts
from ..validation import check_choice, check_positive_int, check_seed
from ._elements import Elements, check_dataset, check_epoch

__all__ = ["Balance", "balance", "epoch_order"]


def balance(
    *, strategy: str = "oversample", seed: int = 0, epoch: int | tf.Tensor = 0, count: int | None = None,
    target: Any = None, size: int | None = None, num_classes: int | None = None,
    layout: Sequence[str] | None = None, max_element_bytes: int = 64 * 1024, max_records: int = 10_000_000,
) -> Balance:
    """Resample a finite dataset of records to a balanced class distribution, exactly.

    The result is one epoch holding exactly the target count of every class
    (`dermprep.sampling.target_counts()`), every element of a class
    repeated as evenly as possible and the epoch shuffled: the order of
    `dermprep.sampling.epoch_indices()` for ``(seed, epoch)``. ``epoch``
    is explicit (an int, or a scalar tensor inside `dermprep.tfdata.epochs()`):
    the same epoch is the same order on every pass.

    Apply it to *records* (paths or indices with labels) before images are
    decoded, as `from_records()` does: the records are read once and kept in
    memory. Elements bigger than ``max_element_bytes`` are refused so that a
    dataset of decoded images is not silently copied into memory.

    Parameters
    ----------
    strategy : {"oversample", "undersample", "target"}
        See `dermprep.sampling.target_counts()`.
    seed : int
    epoch : int or scalar int64 tensor
    count, target, size
        Passed to `dermprep.sampling.target_counts()`.
    num_classes : int, optional
        Number of classes (default: the length of a per-class ``target``, the
        width of one-hot labels, else the largest label + 1).
        `from_records()` passes its own.
    layout : tuple of str, optional
        Names of tuple components (default for pairs: ``("image", "label")``;
        Keras' ``(x, y, sample_weight)`` is ``layout=("image", "label", "weight")``).
        The component named ``"label"`` is balanced on.
    max_element_bytes : int
        Largest element (all components but the label) kept in memory.
    max_records : int
        Most records read; a longer, infinite or unknown-length dataset
        (``filter()``, ``flat_map()``) is refused before anything is read.

    Returns
    -------
    Balance
        The checked spec: ``Dataset -> Dataset`` for ``Dataset.apply`` (elements keep their structure).

    Examples
    --------
    >>> import numpy as np, tensorflow as tf
    >>> import dermprep.tfdata
    >>> ds = tf.data.Dataset.from_tensor_slices((np.arange(6), [0, 0, 0, 0, 1, 2]))
    >>> balanced = ds.apply(dermprep.tfdata.balance(strategy="oversample", seed=0))
    >>> sorted(int(y) for _, y in balanced)
    [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    """
    return Balance(strategy=strategy, seed=seed, epoch=epoch, count=count, target=target, size=size,
                   num_classes=num_classes, layout=layout, max_element_bytes=max_element_bytes,
                   max_records=max_records)


def epoch_order(labels: np.ndarray, targets: np.ndarray | None, *, seed: int, epoch: int | tf.Tensor) -> tf.Tensor:
    """The records of one epoch, as int64 indices into ``labels``: `dermprep.sampling.epoch_indices()`.

    ``targets`` per-class counts: a balanced epoch; ``None``: every record
    once, shuffled. ``epoch`` may be a tensor (inside `epochs()`): the order
    is computed when the dataset runs, from the labels held here.
    """
    size = labels.size if targets is None else int(targets.sum())

    def order(epoch_value: np.int64) -> np.ndarray:
        return epoch_indices(labels, targets, seed=seed, epoch=int(epoch_value))

    index = tf.numpy_function(order, [tf.cast(epoch, tf.int64)], tf.int64, stateful=False, name="epoch_order")
    return tf.ensure_shape(index, [size])


@dataclass(frozen=True, eq=False)
class Balance:
    """A balancing spec, checked (what `balance()` returns): how many of each class one epoch holds, in which order.

    Called on a dataset of records it gives the balanced epoch; `order()`
    gives that epoch's order for labels already in memory (what
    `from_records()` uses); `targets()` the per-class counts.
    """

    strategy: str = "oversample"
    seed: int = 0
    epoch: int | tf.Tensor = 0
    count: int | None = None
    target: Any = None
    size: int | None = None
    num_classes: int | None = None
    layout: Sequence[str] | None = None
    max_element_bytes: int = 64 * 1024
    max_records: int = 10_000_000

    def __post_init__(self) -> None:
        if isinstance(self.strategy, tf.data.Dataset) or callable(self.strategy):
            raise TypeError(f"strategy must be one of {STRATEGIES}; got {self.strategy!r}")
        checked = {
            "strategy": check_choice(self.strategy, "strategy", STRATEGIES),
            "seed": check_seed(self.seed),
            "epoch": check_epoch(self.epoch),
            "num_classes": None if self.num_classes is None else check_positive_int(
                self.num_classes, "num_classes", minimum=2),
            "max_element_bytes": check_positive_int(self.max_element_bytes, "max_element_bytes"),
            "max_records": check_positive_int(self.max_records, "max_records"),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def class_count(self) -> int | None:
        """The number of classes: ``num_classes``, else the length of a per-class ``target`` sequence, else None
        (the labels decide: one-hot width, or the largest label + 1)."""
        if self.num_classes is not None:
            return self.num_classes
        if self.target is not None and not isinstance(self.target, Mapping) and np.ndim(self.target) == 1:
            return len(self.target)
        return None

    def targets(self, labels: Any) -> tuple[np.ndarray, np.ndarray]:
        """The labels as class indices (one-hot rows decoded) and the epoch's count of each class."""
        num_classes = self.class_count()
        labels = as_class_indices(np.asarray(labels), num_classes)
        return labels, target_counts(class_counts(labels, num_classes), self.strategy, count=self.count,
                                     target=self.target, size=self.size)

    def order(self, labels: Any) -> tf.Tensor:
        """The epoch's indices into ``labels`` (int64 tensor; works inside a graph, e.g. `epochs()`)."""
        labels, targets = self.targets(labels)
        return epoch_order(labels, targets, seed=self.seed, epoch=self.epoch)

    def __call__(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        check_dataset(dataset)
        spec = dataset.element_spec
        label_position = self._label_position(spec)
        self._check_sizes(spec, label_position)
        columns = self._read(dataset)
        index = self.order(columns[label_position])
        return tf.data.Dataset.from_tensor_slices(
            tf.nest.pack_sequence_as(spec, [tf.gather(tf.constant(c), index) for c in columns])
        )

    def _label_position(self, spec: Any) -> int:
        """Where the label is among the flattened components of an element."""
        if isinstance(spec, tf.TensorSpec):
            raise ValueError("balance() needs elements with a label: (x, label) tuples or dicts with a 'label' key; "
                             f"got element_spec {spec!r}")
        elements = Elements(spec, self.layout, "balance()") if not isinstance(spec, dict) or "image" in spec \
            else None
        label_spec = elements.label_spec if elements is not None else spec.get("label")
        if label_spec is None:
            raise ValueError("balance() needs elements with a label: (x, label) tuples, a layout naming 'label', "
                             f"or dicts with a 'label' key; got element_spec {spec!r}")
        if label_spec.shape.rank in (1, 2) and label_spec.shape[0] is None:
            raise ValueError(f"balance() balances single records, and these elements are batched (labels "
                             f"{label_spec.shape}): apply balance() before .batch()")
        if label_spec.shape.rank not in (0, 1) or not (label_spec.dtype.is_integer or label_spec.dtype.is_floating):
            raise ValueError(f"balance(): labels must be int scalars or one-hot vectors; got {label_spec}")
        return next(i for i, s in enumerate(tf.nest.flatten(spec)) if s is label_spec)

    def _check_sizes(self, spec: Any, label_position: int) -> None:
        """Every other component has a static shape and fits in ``max_element_bytes``."""
        for position, component in enumerate(tf.nest.flatten(spec)):
            if position == label_position:
                continue
            if not component.shape.is_fully_defined() and component.dtype != tf.string:
                raise ValueError(
                    f"balance() keeps each element in memory and needs static shapes; got {component}. "
                    "Apply it to records (paths/indices and labels) before decoding images."
                )
            nbytes = int(np.prod(component.shape.as_list())) * component.dtype.size if component.dtype != tf.string else 0
            if nbytes > self.max_element_bytes:
                raise ValueError(
                    f"balance() keeps each element in memory; an element component of {nbytes} bytes "
                    f"({component}) exceeds max_element_bytes={self.max_element_bytes}. Apply it to records "
                    "(paths/indices and labels) before decoding images, e.g. "
                    "dermprep.tfdata.from_records(..., balance=...), or raise max_element_bytes."
                )

    def _read(self, dataset: tf.data.Dataset) -> list[np.ndarray]:
        """Every record, read once and eagerly (even when applied inside a graph), as one array per component."""
        with tf.init_scope():
            cardinality = int(dataset.cardinality())
            if cardinality == tf.data.INFINITE_CARDINALITY:
                raise ValueError("balance() needs a finite dataset; apply it before .repeat()")
            if cardinality == tf.data.UNKNOWN_CARDINALITY:  # filter(), flat_map(), from_generator(): maybe endless
                raise ValueError(
                    "balance() reads every record into memory and needs a dataset of known length; this one's is "
                    "unknown (filter(), flat_map() and from_generator() hide it, and it may be infinite). Apply "
                    "balance() to the records before those steps (and before .repeat()), or give the dataset its "
                    "length: dataset.take(n), or dataset.apply(tf.data.experimental.assert_cardinality(n))")
            if cardinality > self.max_records:
                raise ValueError(f"balance() reads every record into memory; this dataset has {cardinality} "
                                 f"(max_records={self.max_records})")
            rows = list(dataset.as_numpy_iterator())
        if not rows:
            raise ValueError("balance() got an empty dataset")
        return [np.stack(c) for c in zip(*(tf.nest.flatten(r) for r in rows), strict=True)]
