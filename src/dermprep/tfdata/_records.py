"""Datasets from image files (records) and from images already in memory.

Both order an epoch with `dermprep.sampling.epoch_indices()` (file order,
a shuffle, or a `Balance`'s class quotas) and give labels through one
encoder, `encode_labels()`.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from .._pixels import to_float32
from ..augment import Pipeline
from ..io import check_image_files
from ..preprocess import HairCache, Preprocessing
from ..sampling import epoch_indices
from ..validation import (
    check_bool,
    check_choice,
    check_image,
    check_labels,
    check_number,
    check_positive_int,
    check_seed,
    check_size,
)
from ._balance import Balance, epoch_order
from ._elements import check_epoch, check_parallel_calls

__all__ = ["encode_labels", "epoch_lengths", "epochs", "from_arrays", "from_records"]


def encode_labels(labels: np.ndarray, num_classes: int, *, one_hot: bool, smoothing: float = 0.0) -> np.ndarray:
    """Class indices (N,) as a dataset gives them: int64 as they are, or float32 one-hot rows (N, num_classes).

    One-hot rows hold ``1 - smoothing + smoothing / num_classes`` at the class
    and ``smoothing / num_classes`` elsewhere (label smoothing).
    """
    if not one_hot:
        return labels
    rows = np.full((labels.size, num_classes), smoothing / num_classes, np.float32)
    rows[np.arange(labels.size), labels] += 1.0 - smoothing
    return rows


def _check_features(values: Any, n: int, name: str) -> np.ndarray:
    """Per-record features: finite float32 of shape (n, F)."""
    features = np.asarray(values, dtype=np.float32)
    if features.ndim != 2 or features.shape[0] != n:
        raise ValueError(f"{name} must have shape (N={n}, F); got {features.shape}")
    if not np.isfinite(features).all():
        rows = np.flatnonzero(~np.isfinite(features).all(axis=1))
        raise ValueError(f"{name} must be finite; rows {rows[:5].tolist()} hold NaN or inf "
                         "(encode missing values, e.g. with dermprep.ham10000.encode_metadata)")
    return features


def from_records(
    paths: Any, labels: Any, *, preprocessing: Preprocessing | None = None,
    image_size: int | tuple[int, int] = (224, 224), aspect: str = "stretch", remove_hair: bool = False,
    hair_options: Mapping[str, Any] | None = None, cache_dir: str | None = None, dtype: str = "uint8",
    one_hot: bool = False, num_classes: int | None = None, metadata: Any = None, balance: Balance | None = None,
    shuffle_seed: int | None = None, epoch: int | tf.Tensor | None = None,
    num_parallel_calls: int | None = tf.data.AUTOTUNE,
) -> tf.data.Dataset:
    """A dataset of decoded, preprocessed images and labels from image files.

    Each file goes through `dermprep.preprocess.Preprocessing.load()` (decode upright, optional cached hair
    removal, frame and resize): the NumPy twin of this dataset is ``[preprocessing.load(p) for p in paths]``.
    Every argument is checked before the dataset is built: the files exist and are complete
    (`dermprep.io.check_image_files()`), the labels are class indices.

    Parameters
    ----------
    paths : sequence of str
        Image files.
    labels : sequence of int
        Class indices in ``[0, num_classes)``.
    preprocessing : Preprocessing, optional
        All image settings at once; otherwise built from ``image_size``, ``aspect``, ``remove_hair`` and
        ``hair_options`` (see `Preprocessing`).
    image_size : int or (int, int)
        ``(height, width)``, or one int for a square.
    cache_dir : str, optional
        With hair removal: a `HairCache` folder, so hair removal runs once per image across epochs and runs.
    dtype : {"uint8", "float32"}
        uint8 in [0, 255] or float32 in [0, 1].
    one_hot : bool
        One-hot float32 labels of length ``num_classes`` instead of int64.
    num_classes : int, optional
        Default: the largest label + 1. Give it when a split may lack the last
        classes (one-hot width, a model's outputs); ``balance`` counts with it.
    metadata : array_like, shape (N, F), optional
        Per-record features (e.g. `dermprep.ham10000.encode_metadata()`);
        elements then are ``({"image": ..., "metadata": ...}, label)``.
    balance : Balance, optional
        A `balance()` spec, applied to the records (before decoding, so no image is held in memory).
        Balanced epochs come shuffled.
    shuffle_seed : int, optional
        Shuffle the records of each epoch in the order ``numpy.random.default_rng([shuffle_seed,
        epoch]).permutation(N)``. Training data needs one of ``balance`` or ``shuffle_seed``: records in
        file order (HAM10000's metadata is grouped by diagnosis) give one-class batches, and Keras' ``fit``
        does not shuffle a dataset.
    epoch : int or scalar int64 tensor, optional
        Which epoch's order to give: of ``shuffle_seed``, or of ``balance`` (in
        place of the spec's own ``epoch``). Without either, there is no order
        to choose, and an ``epoch`` is refused rather than ignored.
    num_parallel_calls : int or tf.data.AUTOTUNE

    Returns
    -------
    tf.data.Dataset
        Elements ``(image, label)`` or ``({"image", "metadata"}, label)``,
        images of static shape ``image_size + (3,)``.
    """
    paths, labels, num_classes = _check_records(paths, labels, num_classes)
    settings = {"image_size": check_size(image_size, "image_size", minimum=16), "aspect": aspect,
                "remove_hair": remove_hair, "hair_options": dict(hair_options or {})}
    if preprocessing is None:
        preprocessing = Preprocessing(**settings)  # type: ignore[arg-type]
    elif settings != {"image_size": (224, 224), "aspect": "stretch", "remove_hair": False, "hair_options": {}}:
        raise ValueError("give the image settings once: preprocessing= holds image_size, aspect, remove_hair and "
                         "hair_options, so they cannot be given beside it")
    decode = _image_loader(preprocessing, cache_dir, dtype)
    label_values = encode_labels(labels, num_classes, one_hot=check_bool(one_hot, "one_hot"))
    order = _record_order(labels, num_classes, _check_balance(balance, num_classes, epoch), shuffle_seed, epoch)
    features = [] if metadata is None else [_check_features(metadata, paths.size, "metadata")]
    return _record_dataset([paths, *features, label_values], order, decode, check_parallel_calls(num_parallel_calls))


def _check_records(paths: Any, labels: Any, num_classes: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """File names (str, N), checked on disk; their class indices (int64, N); the number of classes."""
    if num_classes is not None:
        num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
    if isinstance(paths, (str, bytes)) or np.ndim(paths) != 1:
        raise ValueError(f"paths must be a non-empty 1-D sequence of file names; got {paths!r:.200}")
    labels = check_labels(labels, num_classes=num_classes, size=len(paths))
    if num_classes is None:
        num_classes = check_positive_int(int(labels.max()) + 1, "num_classes (the largest label + 1)", minimum=2)
    return check_image_files(paths, "paths"), labels, num_classes


def _check_balance(balance: Any, num_classes: int, epoch: Any) -> Balance | None:
    """The balancing spec counting ``num_classes`` classes, and ordering epoch ``epoch`` where one is given."""
    if balance is None:
        return None
    if not isinstance(balance, Balance):
        raise TypeError(f"balance must be a dermprep.tfdata.balance(...) transformation; got {balance!r} "
                        "(e.g. balance=dermprep.tfdata.balance(strategy='oversample', seed=0))")
    if balance.class_count() not in (None, num_classes):
        raise ValueError(f"balance counts {balance.class_count()} classes and the records {num_classes} "
                         "(from_records' num_classes, or the largest label + 1); give both the same num_classes")
    changes: dict[str, Any] = {"num_classes": num_classes}
    if epoch is not None:
        if isinstance(balance.epoch, tf.Tensor) or balance.epoch != 0:
            raise ValueError("the epoch is given twice (balance(epoch=...) and from_records(epoch=...)); give "
                             "it in one place")
        changes["epoch"] = check_epoch(epoch)
    return dataclasses.replace(balance, **changes)


def _image_loader(preprocessing: Any, cache_dir: str | None, dtype: str) -> Callable[[tf.Tensor], tf.Tensor]:
    """path -> image tensor through ``preprocessing.load`` (cached hair removal), uint8 or float32 in [0, 1]."""
    if not isinstance(preprocessing, Preprocessing):
        raise TypeError(f"preprocessing must be a dermprep.preprocess.Preprocessing; got {preprocessing!r}")
    check_choice(dtype, "dtype", ("uint8", "float32"))
    if cache_dir is not None and not preprocessing.remove_hair:
        raise ValueError("cache_dir caches hair removal; pass remove_hair=True or drop cache_dir")
    cache = HairCache(cache_dir, preprocessing.hair_options) if cache_dir is not None else None
    convert = to_float32 if dtype == "float32" else np.asarray

    def load(path: bytes) -> np.ndarray:
        return convert(preprocessing.load(path.decode(), cache=cache))

    def decode(path: tf.Tensor) -> tf.Tensor:
        image = tf.numpy_function(load, [path], tf.as_dtype(dtype), stateful=False, name="load_image")
        return tf.ensure_shape(image, [*preprocessing.image_size, 3])

    return decode


def _record_order(labels: np.ndarray, num_classes: int, balance: Balance | None, shuffle_seed: Any,
                  epoch: Any) -> tf.Tensor | None:
    """The epoch's order of the records (an int64 tensor): balanced, shuffled, or None (file order)."""
    if shuffle_seed is not None:
        shuffle_seed = check_seed(shuffle_seed, "shuffle_seed")
        if balance is not None:
            raise ValueError("shuffle_seed is not needed with balance (balanced epochs are already shuffled); "
                             "pass one of them")
    if balance is not None:  # the epoch's order from the labels in memory: no dataset is read
        return balance.order(labels)
    if shuffle_seed is None:
        if epoch is not None:
            raise ValueError("epoch chooses the order of shuffle_seed= or balance=, and neither is given: records "
                             "in file order are the same in every epoch. Pass shuffle_seed= (or balance=) for "
                             "training data, or drop epoch")
        return None
    return epoch_order(labels, None, seed=shuffle_seed, epoch=0 if epoch is None else check_epoch(epoch))


def _record_dataset(records: list[np.ndarray], order: tf.Tensor | None, decode: Callable[[tf.Tensor], tf.Tensor],
                    num_parallel_calls: int | None) -> tf.data.Dataset:
    """Records ``[paths, (features,) labels]`` in ``order``, the paths decoded to images."""
    columns = tuple(records) if order is None else tuple(tf.gather(tf.constant(c), order) for c in records)
    dataset = tf.data.Dataset.from_tensor_slices(columns)
    if len(records) == 2:
        return dataset.map(lambda p, y: (decode(p), y), num_parallel_calls=num_parallel_calls, deterministic=True)
    return dataset.map(lambda p, f, y: ({"image": decode(p), "metadata": f}, y),
                       num_parallel_calls=num_parallel_calls, deterministic=True)


def from_arrays(
    images: np.ndarray, labels: Any, *, batch_size: int = 32, features: np.ndarray | None = None,
    sampling: str | np.ndarray | None = None, pipeline: Pipeline | None = None, seed: int = 0,
    epoch: int | tf.Tensor = 0, num_classes: int | None = None, one_hot: bool = False,
    label_smoothing: float = 0.0, targets: np.ndarray | None = None, drop_remainder: bool = False, num_parallel_calls: int | None = tf.data.AUTOTUNE,
) -> tf.data.Dataset:
    """One epoch of batches from images already in memory: ordered, resampled, augmented.

    The fast training path when the decoded images fit in memory (HAM10000
    at 224x224 is 1.5 GB): nothing is decoded per epoch. Batch ``b`` holds
    the images at positions ``[b * batch_size, ...)`` of the epoch's order;
    each is augmented as element ``position`` of epoch ``epoch``.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, 3), uint8
    labels : array_like, shape (N,), int
    batch_size : int
    features : ndarray, shape (N, F), optional
        Per-image features (e.g. `dermprep.ham10000.encode_metadata()`);
        batches then are ``({"image": images, "metadata": features}, labels)``.
    sampling : None, "shuffle", "oversample", "undersample" or per-class counts
        ``None``: file order (evaluation). ``"shuffle"``: every image once,
        in the order of ``default_rng([seed, epoch])``. ``"oversample"`` /
        ``"undersample"``: `dermprep.sampling.target_counts()`; an array of
        per-class counts: exactly those (`dermprep.sampling.epoch_indices()`).
    pipeline : dermprep.augment.Pipeline, optional
        Augmentation (none by default).
    seed : int
    epoch : int or scalar int64 tensor
    num_classes : int, optional
        For one-hot labels (default: max label + 1).
    one_hot : bool
        One-hot float32 labels (always with ``label_smoothing`` > 0).
    label_smoothing : float
        In [0, 0.999]: one-hot labels become ``(1 - s) * onehot + s / num_classes``.
    targets : ndarray, shape (N, num_classes), optional
        Soft targets, one probability row per image (e.g. a teacher's
        predictions mixed with the labels, for distillation): the batches
        carry these rows (label-smoothed too) instead of one-hot labels;
        ``labels`` still decide the class sampling.
    drop_remainder : bool
        Drop a last, smaller batch.
    num_parallel_calls : int or tf.data.AUTOTUNE

    Returns
    -------
    tf.data.Dataset
        Batches ``(images, labels)``: images uint8 (B, H, W, 3); labels int64
        (B,), or float32 (B, num_classes) when one-hot.
    """
    batches = _Batches(images, labels, batch_size=batch_size, features=features, sampling=sampling,
                       pipeline=pipeline, seed=seed, num_classes=num_classes, one_hot=one_hot,
                       label_smoothing=label_smoothing, targets=targets)
    return batches.dataset(check_epoch(epoch), check_bool(drop_remainder, "drop_remainder"),
                           check_parallel_calls(num_parallel_calls))


def _epoch_targets(sampling: Any, labels: np.ndarray, num_classes: int | None, seed: int) -> tuple[bool, np.ndarray | None]:
    """`from_arrays()`'s ``sampling`` as (shuffled?, per-class counts of a balanced epoch, or None)."""
    if sampling is None or (isinstance(sampling, str) and sampling == "shuffle"):
        return sampling is not None, None
    if isinstance(sampling, str):
        spec = Balance(strategy=check_choice(sampling, "sampling", ("oversample", "undersample")), seed=seed,
                       num_classes=num_classes)
    else:
        spec = Balance(strategy="target", target=np.asarray(sampling), seed=seed, num_classes=num_classes)
    return True, spec.targets(labels)[1]


def _check_targets(values: Any, n: int, num_classes: int, smoothing: float) -> np.ndarray:
    """Soft targets: finite float32 probability rows (n, num_classes), label-smoothed like one-hot labels."""
    targets = np.asarray(values, dtype=np.float32)
    if targets.shape != (n, num_classes):
        raise ValueError(f"targets must have shape (N={n}, num_classes={num_classes}); got {targets.shape}")
    if not np.isfinite(targets).all() or (targets < 0).any() or not np.allclose(targets.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("targets must be probability rows: finite, >= 0, each summing to 1")
    return ((1.0 - smoothing) * targets + smoothing / num_classes).astype(np.float32)


class _Batches:
    """`from_arrays()` underneath: the checked arrays and settings, one batch as NumPy, the epoch as a dataset."""

    def __init__(self, images: Any, labels: Any, *, batch_size: Any, features: Any, sampling: Any, pipeline: Any,
                 seed: Any, num_classes: Any, one_hot: Any, label_smoothing: Any, targets: Any = None) -> None:
        images = check_image(images, "images", min_size=8)
        if images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 with shape (N, H, W, 3); got {images.dtype} {images.shape}")
        num_classes = None if num_classes is None else check_positive_int(num_classes, "num_classes", minimum=2)
        self.images, self.labels = images, check_labels(labels, num_classes=num_classes, size=images.shape[0])
        self.batch_size, self.seed = check_positive_int(batch_size, "batch_size"), check_seed(seed)
        smoothing = check_number(label_smoothing, "label_smoothing", lower=0.0, upper=0.999)
        self.one_hot = check_bool(one_hot, "one_hot") or smoothing > 0 or targets is not None
        self.num_classes = num_classes or int(self.labels.max()) + 1
        self.label_values = encode_labels(self.labels, self.num_classes, one_hot=self.one_hot, smoothing=smoothing) \
            if targets is None else _check_targets(targets, self.labels.size, self.num_classes, smoothing)
        if pipeline is not None and not isinstance(pipeline, Pipeline):
            raise TypeError(f"pipeline must be a dermprep.augment.Pipeline or None; got {pipeline!r}")
        self.pipeline: Pipeline | None = pipeline
        self.features = None if features is None else _check_features(features, self.labels.size, "features")
        self.shuffle, self.targets = _epoch_targets(sampling, self.labels, num_classes, self.seed)
        self._last: tuple[int, np.ndarray] | None = None  # the last epoch's order (its batches share it)

    def order(self, epoch: int) -> np.ndarray:
        """Indices of the epoch's images: file order, or `dermprep.sampling.epoch_indices()`."""
        last = self._last
        if last is None or last[0] != epoch:
            order = (epoch_indices(self.labels, self.targets, seed=self.seed, epoch=epoch) if self.shuffle
                     else np.arange(self.labels.size))
            last = self._last = (epoch, order)
        return last[1]

    def batch(self, epoch_value: np.int64, step: np.int64) -> tuple[np.ndarray, ...]:
        """Batch ``step`` of epoch ``epoch_value``: images (augmented as their positions), (features,) labels."""
        epoch, start = int(epoch_value), int(step) * self.batch_size
        index = self.order(epoch)[start : start + self.batch_size]
        x = self.images[index]
        if self.pipeline is not None:
            x, _ = self.pipeline.augment_batch(x, seed=self.seed, epoch=epoch, indices=np.arange(start, start + index.size))
        y = self.label_values[index]
        return (x, y) if self.features is None else (x, self.features[index], y)

    def dataset(self, epoch: int | tf.Tensor, drop_remainder: bool, num_parallel_calls: int | None) -> tf.data.Dataset:
        """The epoch's batches: ``Dataset.range(steps)`` mapped through `batch()`."""
        size = self.labels.size if self.targets is None else int(self.targets.sum())
        steps = size // self.batch_size if drop_remainder else -(-size // self.batch_size)
        if steps == 0:
            raise ValueError(f"an epoch of {size} images makes no batch of {self.batch_size} with drop_remainder=True")
        label_type = tf.float32 if self.one_hot else tf.int64
        types = (tf.uint8, label_type) if self.features is None else (tf.uint8, tf.float32, label_type)

        def produce(step: tf.Tensor) -> Any:
            outputs = tf.numpy_function(self.batch, [tf.cast(epoch, tf.int64), step], types, stateful=False,
                                        name="from_arrays")
            x, y = outputs[0], outputs[-1]
            x.set_shape((None, *self.images.shape[1:]))
            y.set_shape((None, self.num_classes) if self.one_hot else (None,))
            if self.features is None:
                return x, y
            outputs[1].set_shape((None, self.features.shape[1]))
            return {"image": x, "metadata": outputs[1]}, y

        return tf.data.Dataset.range(steps).map(produce, num_parallel_calls=num_parallel_calls, deterministic=True)


def epochs(build_epoch: Callable[[tf.Tensor], tf.data.Dataset], stop: int, *, start: int = 0) -> tf.data.Dataset:
    """Chain one dataset per epoch: ``build_epoch(epoch)`` for ``epoch`` in ``[start, stop)``.

    The epoch is explicit (a scalar int64 tensor handed to
    ``build_epoch``), so a resumed run continues at ``start`` with exactly
    the orders and augmentations it would have seen, and no pass over the
    data (a figure, a throughput check) shifts them.

    When every epoch's length is known (`from_arrays()`, `from_records()`,
    their ``augment``/``batch``: each epoch is built once here to count it),
    the stream has a known length, and `epoch_lengths()` gives the length of
    each epoch: `dermmodels.train()` takes its ``steps_per_epoch`` from it.
    Otherwise give Keras ``steps_per_epoch`` (the batches of one epoch).

    Examples
    --------
    >>> import numpy as np, tensorflow as tf
    >>> import dermprep.tfdata as T
    >>> images = np.zeros((6, 32, 32, 3), np.uint8)
    >>> stream = T.epochs(lambda e: T.from_arrays(images, [0, 0, 0, 0, 1, 1], batch_size=3,
    ...                                           sampling="shuffle", epoch=e), stop=3)
    >>> sum(1 for _ in stream), T.epoch_lengths(stream)
    (6, (2, 2, 2))
    """
    start = check_seed(start, "start")
    stop = check_seed(stop, "stop")
    if stop <= start:
        raise ValueError(f"stop must be greater than start; got start={start}, stop={stop}")
    if not callable(build_epoch):
        raise TypeError(f"build_epoch must be a function epoch -> tf.data.Dataset; got {build_epoch!r}")
    stream = tf.data.Dataset.range(start, stop).flat_map(tf.autograph.experimental.do_not_convert(build_epoch))
    lengths = _epoch_lengths_of(build_epoch, start, stop)
    if lengths is None:
        return stream
    stream = stream.apply(tf.data.experimental.assert_cardinality(sum(lengths)))
    _EPOCH_LENGTHS[stream] = lengths
    return stream


#: The streams `epochs()` made whose epoch lengths are known, with those lengths.
_EPOCH_LENGTHS: weakref.WeakKeyDictionary[tf.data.Dataset, tuple[int, ...]] = weakref.WeakKeyDictionary()


def _epoch_lengths_of(build_epoch: Callable[[tf.Tensor], tf.data.Dataset], start: int,
                      stop: int) -> tuple[int, ...] | None:
    """Each epoch's number of elements, counted on the epoch built eagerly, or None where one is not known."""
    if not tf.executing_eagerly():
        return None
    lengths = []
    for epoch in range(start, stop):
        dataset = build_epoch(tf.constant(epoch, tf.int64))
        if not isinstance(dataset, tf.data.Dataset):
            raise TypeError(f"build_epoch must return a tf.data.Dataset; epoch {epoch} gave {dataset!r}")
        length = int(dataset.cardinality())
        if length < 0:
            return None
        lengths.append(length)
    return tuple(lengths)


def epoch_lengths(dataset: tf.data.Dataset) -> tuple[int, ...] | None:
    """The number of elements of each epoch of a stream made by `epochs()`, or None.

    The stream may have been transformed afterwards by steps that keep every
    element (``prefetch()``, ``map()``, `dermprep.tfdata.augment()` on
    batches, Keras' ``with_options``): the lengths hold while its length is
    still their sum. For any other dataset (or a stream whose epochs were of
    unknown length) the answer is None.
    """
    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(f"dataset must be a tf.data.Dataset; got {type(dataset).__name__}")
    total = int(dataset.cardinality())
    pending, seen = [dataset], 0
    while pending and seen < 256:
        current = pending.pop()
        seen += 1
        lengths = _EPOCH_LENGTHS.get(current)
        if lengths is not None:
            return lengths if sum(lengths) == total else None
        try:
            pending.extend(current._inputs())
        except Exception:  # noqa: BLE001 - a dataset class without the (private) input list
            return None
    return None
