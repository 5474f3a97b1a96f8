"""Exact class balancing as a dataset transformation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from ..sampling import STRATEGIES, as_class_indices, class_counts, epoch_indices, target_counts
from ..validation import check_choice, check_positive_int, check_seed
from ._elements import DatasetTransform, Elements, check_dataset, check_epoch

__all__ = ["balance"]


def balance(
    *,
    strategy: str = "oversample",
    seed: int = 0,
    epoch: int | tf.Tensor = 0,
    count: int | None = None,
    target: Any = None,
    size: int | None = None,
    num_classes: int | None = None,
    layout: Sequence[str] | None = None,
    max_element_bytes: int = 64 * 1024,
    max_records: int = 10_000_000,
) -> DatasetTransform:
    """Resample a finite dataset of records to a balanced class distribution, exactly.

    The result is one epoch holding exactly the target count of every class
    (`dermprep.sampling.target_counts()`), every element of a class
    repeated as evenly as possible and the epoch shuffled: the order of
    `dermprep.sampling.epoch_indices()` for ``(seed, epoch)``. ``epoch``
    is explicit (an int, or a scalar tensor inside
    `dermprep.tfdata.epochs()`): the same epoch is the same order on
    every pass.

    Apply it to *records* (paths or indices with labels) before images are
    decoded, as `from_records()` does: the records are read once and
    kept in memory. Elements bigger than ``max_element_bytes`` are refused
    so that a dataset of decoded images is not silently copied into memory.

    Parameters
    ----------
    strategy : {"oversample", "undersample", "target"}
        See `dermprep.sampling.target_counts()`.
    seed : int
    epoch : int or scalar int64 tensor
    count, target, size
        Passed to `dermprep.sampling.target_counts()`.
    num_classes : int, optional
        Number of classes (default: from one-hot labels, else max label + 1).
    layout : tuple of str, optional
        Names of tuple components (default for pairs: ``("image", "label")``;
        Keras' ``(x, y, sample_weight)`` is ``layout=("image", "label", "weight")``).
        The component named ``"label"`` is balanced on.
    max_element_bytes : int
        Largest element (all components but the label) kept in memory.
    max_records : int
        Most records read; a longer (or infinite) dataset is refused.

    Returns
    -------
    callable
        ``Dataset -> Dataset`` for ``Dataset.apply``; elements keep their structure.

    Examples
    --------
    >>> import numpy as np, tensorflow as tf
    >>> import dermprep.tfdata
    >>> ds = tf.data.Dataset.from_tensor_slices((np.arange(6), [0, 0, 0, 0, 1, 2]))
    >>> balanced = ds.apply(dermprep.tfdata.balance(strategy="oversample", seed=0))
    >>> sorted(int(y) for _, y in balanced)
    [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    """
    if isinstance(strategy, (tf.data.Dataset,)) or callable(strategy):
        raise TypeError(f"strategy must be one of {STRATEGIES}; got {strategy!r}")
    strategy = check_choice(strategy, "strategy", STRATEGIES)
    seed = check_seed(seed)
    epoch = check_epoch(epoch)
    if num_classes is not None:
        num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
    max_element_bytes = check_positive_int(max_element_bytes, "max_element_bytes")
    max_records = check_positive_int(max_records, "max_records")

    return _Balance(strategy=strategy, seed=seed, epoch=epoch, count=count, target=target, size=size,
                    num_classes=num_classes, layout=layout, max_element_bytes=max_element_bytes,
                    max_records=max_records)


class _Balance:
    """The transformation `balance()` returns: ``Dataset -> Dataset``, and the epoch's order for known labels."""

    def __init__(self, **settings: Any) -> None:
        self.__dict__.update(settings)

    def order(self, labels: np.ndarray) -> tf.Tensor:
        """The epoch's indices into ``labels`` (int64 tensor; works inside a graph, e.g. `epochs()`)."""
        labels = as_class_indices(np.asarray(labels), self.num_classes)
        targets = target_counts(class_counts(labels, self.num_classes), self.strategy, count=self.count,
                                target=self.target, size=self.size)
        seed = self.seed

        def order(epoch_value: np.int64) -> np.ndarray:
            return epoch_indices(labels, targets, seed=seed, epoch=int(epoch_value))

        index = tf.numpy_function(order, [tf.cast(self.epoch, tf.int64)], tf.int64, stateful=False, name="balance")
        return tf.ensure_shape(index, [int(targets.sum())])

    def __call__(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        check_dataset(dataset)
        spec = dataset.element_spec
        if isinstance(spec, tf.TensorSpec):
            raise ValueError("balance() needs elements with a label: (x, label) tuples or dicts with a 'label' key; "
                             f"got element_spec {spec!r}")
        elements = Elements(spec, self.layout, "balance()") if not isinstance(spec, dict) or "image" in spec \
            else None
        label_spec = elements.label_spec if elements is not None else spec.get("label")
        if label_spec is None:
            raise ValueError("balance() needs elements with a label: (x, label) tuples, a layout naming 'label', "
                             f"or dicts with a 'label' key; got element_spec {spec!r}")
        if label_spec.shape.rank not in (0, 1) or not (label_spec.dtype.is_integer or label_spec.dtype.is_floating):
            raise ValueError(f"balance(): labels must be int scalars or one-hot vectors; got {label_spec}")
        flat_specs = tf.nest.flatten(spec)
        label_position = next(i for i, s in enumerate(flat_specs) if s is label_spec)
        for component in flat_specs:
            if component is label_spec:
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
        with tf.init_scope():  # the records are read once, eagerly, even when applied inside a graph
            cardinality = int(dataset.cardinality())
            if cardinality == tf.data.INFINITE_CARDINALITY:
                raise ValueError("balance() needs a finite dataset; apply it before .repeat()")
            if cardinality > self.max_records:
                raise ValueError(f"balance() reads every record into memory; this dataset has {cardinality} "
                                 f"(max_records={self.max_records})")
            rows = list(dataset.take(self.max_records + 1).as_numpy_iterator())
        if len(rows) > self.max_records:  # unknown cardinality (e.g. .repeat().filter()): stop reading
            raise ValueError(f"balance() reads every record into memory; this dataset has more than "
                             f"max_records={self.max_records} (or is infinite: apply balance() before .repeat())")
        if not rows:
            raise ValueError("balance() got an empty dataset")
        columns = [np.stack(c) for c in zip(*(tf.nest.flatten(r) for r in rows), strict=True)]
        index = self.order(columns[label_position])
        return tf.data.Dataset.from_tensor_slices(
            tf.nest.pack_sequence_as(spec, [tf.gather(tf.constant(c), index) for c in columns])
        )
