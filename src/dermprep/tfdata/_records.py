"""Datasets from image files (records) and from images already in memory."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from ..augment import Pipeline
from ..preprocess import HairCache, Preprocessing
from ..sampling import class_counts, epoch_indices, target_counts
from ..validation import check_bool, check_choice, check_positive_int, check_seed
from ._elements import DatasetTransform, check_epoch, check_parallel_calls

__all__ = ["epochs", "from_arrays", "from_records"]


def _check_labels(labels: Any, n: int, num_classes: int, name: str = "labels") -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"{name} must have one entry per image ({n}); got shape {labels.shape}")
    if labels.dtype.kind == "f" and np.isfinite(labels).all() and np.all(labels == np.round(labels)):
        labels = labels.astype(np.int64)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer class indices; got dtype {labels.dtype}")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"{name} must be integers in [0, {num_classes - 1}] (num_classes={num_classes}); got "
                         f"values in [{labels.min()}, {labels.max()}]")
    return labels.astype(np.int64)


def from_records(
    paths: Any,
    labels: Any,
    *,
    preprocessing: Preprocessing | None = None,
    image_size: tuple[int, int] = (224, 224),
    aspect: str = "stretch",
    remove_hair: bool = False,
    hair_options: Mapping[str, Any] | None = None,
    cache_dir: str | None = None,
    dtype: str = "uint8",
    one_hot: bool = False,
    num_classes: int = 7,
    metadata: Any = None,
    balance: DatasetTransform | None = None,
    shuffle_seed: int | None = None,
    epoch: int | tf.Tensor = 0,
    num_parallel_calls: int | None = tf.data.AUTOTUNE,
) -> tf.data.Dataset:
    """A dataset of decoded, preprocessed images and labels from image files.

    Each file goes through `dermprep.preprocess.Preprocessing.load()`
    (decode upright, optional cached hair removal, frame and resize): the
    NumPy twin of this dataset is ``[preprocessing.load(p) for p in paths]``.

    Parameters
    ----------
    paths : sequence of str
        Image files.
    labels : sequence of int
        Class indices in ``[0, num_classes)``.
    preprocessing : Preprocessing, optional
        All image settings at once; otherwise built from ``image_size``,
        ``aspect``, ``remove_hair`` and ``hair_options`` (see
        `Preprocessing`).
    cache_dir : str, optional
        With hair removal: a `HairCache` folder,
        so hair removal runs once per image across epochs and runs.
    dtype : {"uint8", "float32"}
        uint8 in [0, 255] or float32 in [0, 1].
    one_hot : bool
        One-hot float32 labels of length ``num_classes`` instead of int64.
    num_classes : int
    metadata : array_like, shape (N, F), optional
        Per-record features (e.g. `dermprep.ham10000.encode_metadata()`);
        elements then are ``({"image": ..., "metadata": ...}, label)``.
    balance : callable, optional
        A `balance()` transformation, applied to the records (before
        decoding, so no image is held in memory). Balanced epochs come shuffled.
    shuffle_seed : int, optional
        Shuffle the records of each epoch in the order
        ``numpy.random.default_rng([shuffle_seed, epoch]).permutation(N)``.
        Training data needs one of ``balance`` or ``shuffle_seed``: records in
        file order (HAM10000's metadata is grouped by diagnosis) give
        one-class batches, and Keras' ``fit`` does not shuffle a dataset.
    epoch : int or scalar int64 tensor
        Which epoch's order to give (``shuffle_seed``; the ``balance``
        transformation has its own ``epoch``).
    num_parallel_calls : int or tf.data.AUTOTUNE

    Returns
    -------
    tf.data.Dataset
        Elements ``(image, label)`` or ``({"image", "metadata"}, label)``,
        images of static shape ``image_size + (3,)``.
    """
    paths = np.asarray(paths, dtype=str)
    if paths.ndim != 1 or paths.size == 0:
        raise ValueError(f"paths must be a non-empty 1-D sequence of file names; got shape {paths.shape}")
    num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
    labels = _check_labels(labels, paths.size, num_classes)
    if preprocessing is None:
        preprocessing = Preprocessing(image_size=tuple(image_size), aspect=aspect, remove_hair=remove_hair,
                                      hair_options=dict(hair_options or {}))
    elif not isinstance(preprocessing, Preprocessing):
        raise TypeError(f"preprocessing must be a dermprep.preprocess.Preprocessing; got {preprocessing!r}")
    check_choice(dtype, "dtype", ("uint8", "float32"))
    one_hot = check_bool(one_hot, "one_hot")
    if cache_dir is not None and not preprocessing.remove_hair:
        raise ValueError("cache_dir caches hair removal; pass remove_hair=True or drop cache_dir")
    epoch = check_epoch(epoch)
    num_parallel_calls = check_parallel_calls(num_parallel_calls)
    if shuffle_seed is not None:
        shuffle_seed = check_seed(shuffle_seed, "shuffle_seed")
        if balance is not None:
            raise ValueError("shuffle_seed is not needed with balance (balanced epochs are already shuffled); "
                             "pass one of them")
    if balance is not None and not hasattr(balance, "order"):
        raise TypeError(f"balance must be a dermprep.tfdata.balance(...) transformation; got {balance!r} "
                        "(e.g. balance=dermprep.tfdata.balance(strategy='oversample', seed=0))")
    features = None
    if metadata is not None:
        features = np.asarray(metadata, dtype=np.float32)
        if features.ndim != 2 or features.shape[0] != paths.size:
            raise ValueError(f"metadata must have shape (N={paths.size}, F); got {features.shape}")
        if not np.isfinite(features).all():
            rows = np.flatnonzero(~np.isfinite(features).all(axis=1))
            raise ValueError(f"metadata must be finite; rows {rows[:5].tolist()} hold NaN or inf "
                             "(encode missing values, e.g. with dermprep.ham10000.encode_metadata)")

    records = (paths, labels) if features is None else (paths, features, labels)
    if balance is not None:  # the epoch's order from the labels in memory: no dataset is read
        order = balance.order(labels)
    elif shuffle_seed is not None:
        count = paths.size

        def permutation(epoch_value: np.int64) -> np.ndarray:
            return np.random.default_rng([shuffle_seed, int(epoch_value)]).permutation(count).astype(np.int64)

        order = tf.ensure_shape(tf.numpy_function(permutation, [tf.cast(epoch, tf.int64)], tf.int64, stateful=False),
                                [count])
    else:
        order = None
    if order is None:
        dataset = tf.data.Dataset.from_tensor_slices(records)
    else:
        dataset = tf.data.Dataset.from_tensor_slices(tuple(tf.gather(tf.constant(c), order) for c in records))
    cache = HairCache(cache_dir, preprocessing.hair_options) if cache_dir is not None else None
    height, width = preprocessing.image_size

    def load(path: bytes) -> np.ndarray:
        return preprocessing.load(path.decode(), cache=cache)

    def decode(path: tf.Tensor) -> tf.Tensor:
        image = tf.numpy_function(load, [path], tf.uint8, stateful=False, name="load_image")
        image = tf.ensure_shape(image, [height, width, 3])
        return image if dtype == "uint8" else tf.cast(image, tf.float32) / 255.0

    def encode(label: tf.Tensor) -> tf.Tensor:
        return tf.one_hot(label, num_classes, dtype=tf.float32) if one_hot else label

    if features is None:
        return dataset.map(lambda p, y: (decode(p), encode(y)), num_parallel_calls=num_parallel_calls,
                           deterministic=True)
    return dataset.map(lambda p, f, y: ({"image": decode(p), "metadata": f}, encode(y)),
                       num_parallel_calls=num_parallel_calls, deterministic=True)


def from_arrays(
    images: np.ndarray,
    labels: Any,
    *,
    batch_size: int = 32,
    features: np.ndarray | None = None,
    sampling: str | np.ndarray | None = None,
    pipeline: Pipeline | None = None,
    seed: int = 0,
    epoch: int | tf.Tensor = 0,
    num_classes: int | None = None,
    one_hot: bool = False,
    label_smoothing: float = 0.0,
    drop_remainder: bool = False,
    num_parallel_calls: int | None = tf.data.AUTOTUNE,
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
    drop_remainder : bool
        Drop a last, smaller batch.
    num_parallel_calls : int or tf.data.AUTOTUNE

    Returns
    -------
    tf.data.Dataset
        Batches ``(images, labels)``: images uint8 (B, H, W, 3); labels int64
        (B,), or float32 (B, num_classes) when one-hot.
    """
    from ..validation import check_image, check_number  # noqa: PLC0415

    images = check_image(images, "images", min_size=8)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 with shape (N, H, W, 3); got {images.dtype} {images.shape}")
    n = images.shape[0]
    if num_classes is not None:
        num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
    classes = num_classes or int(np.max(labels)) + 1
    labels = _check_labels(labels, n, classes)
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_seed(seed)
    epoch = check_epoch(epoch)
    smoothing = check_number(label_smoothing, "label_smoothing", lower=0.0, upper=0.999)
    one_hot = check_bool(one_hot, "one_hot") or smoothing > 0
    drop_remainder = check_bool(drop_remainder, "drop_remainder")
    num_parallel_calls = check_parallel_calls(num_parallel_calls)
    if pipeline is not None and not isinstance(pipeline, Pipeline):
        raise TypeError(f"pipeline must be a dermprep.augment.Pipeline or None; got {pipeline!r}")
    if features is not None:
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or features.shape[0] != n or not np.isfinite(features).all():
            raise ValueError(f"features must be finite with shape (N={n}, F); got {features.shape}")
    if sampling is None:
        size = n
        order: Callable[[int], np.ndarray] = lambda _: np.arange(n)  # noqa: E731
    elif isinstance(sampling, str) and sampling == "shuffle":
        size = n
        order = lambda e: np.random.default_rng([seed, e]).permutation(n)  # noqa: E731
    else:
        counts = class_counts(labels, classes)
        if isinstance(sampling, str):
            targets = target_counts(counts, check_choice(sampling, "sampling", ("oversample", "undersample")))
        else:
            targets = target_counts(counts, "target", target=np.asarray(sampling))
        size = int(targets.sum())
        order = lambda e: epoch_indices(labels, targets, seed=seed, epoch=e)  # noqa: E731
    steps = size // batch_size if drop_remainder else -(-size // batch_size)
    if steps == 0:
        raise ValueError(f"an epoch of {size} images makes no batch of {batch_size} with drop_remainder=True")
    cache: dict[int, np.ndarray] = {}

    def batch(epoch_value: np.int64, step: np.int64) -> tuple[np.ndarray, ...]:
        e = int(epoch_value)
        if e not in cache:  # one order per epoch (batches of one epoch share it)
            cache.clear()
            cache[e] = order(e)
        start = int(step) * batch_size
        index = cache[e][start : start + batch_size]
        x = images[index]
        if pipeline is not None:
            x, _ = pipeline.augment_batch(x, seed=seed, epoch=e, indices=np.arange(start, start + index.size))
        y = labels[index]
        if one_hot:
            y = np.full((index.size, classes), smoothing / classes, np.float32)
            y[np.arange(index.size), labels[index]] += 1.0 - smoothing
        return (x, y) if features is None else (x, features[index], y)

    label_spec = tf.float32 if one_hot else tf.int64
    shape = images.shape[1:]

    def produce(step: tf.Tensor) -> Any:
        types = (tf.uint8, label_spec) if features is None else (tf.uint8, tf.float32, label_spec)
        outputs = tf.numpy_function(batch, [tf.cast(epoch, tf.int64), step], types, stateful=False, name="from_arrays")
        x, y = outputs[0], outputs[-1]
        x.set_shape((None, *shape))
        y.set_shape((None, classes) if one_hot else (None,))
        if features is None:
            return x, y
        f = outputs[1]
        f.set_shape((None, features.shape[1]))
        return {"image": x, "metadata": f}, y

    return tf.data.Dataset.range(steps).map(produce, num_parallel_calls=num_parallel_calls, deterministic=True)


def epochs(build_epoch: Callable[[tf.Tensor], tf.data.Dataset], stop: int, *, start: int = 0) -> tf.data.Dataset:
    """Chain one dataset per epoch: ``build_epoch(epoch)`` for ``epoch`` in ``[start, stop)``.

    The epoch is explicit (a scalar int64 tensor handed to
    ``build_epoch``), so a resumed run continues at ``start`` with exactly
    the orders and augmentations it would have seen, and no pass over the
    data (a figure, a throughput check) shifts them. Give Keras
    ``steps_per_epoch`` (the batches of one epoch).

    Examples
    --------
    >>> import numpy as np, tensorflow as tf
    >>> import dermprep.tfdata as T
    >>> images = np.zeros((6, 32, 32, 3), np.uint8)
    >>> stream = T.epochs(lambda e: T.from_arrays(images, [0, 0, 0, 0, 1, 1], batch_size=3,
    ...                                           sampling="shuffle", epoch=e), stop=3)
    >>> sum(1 for _ in stream)
    6
    """
    start = check_seed(start, "start")
    stop = check_seed(stop, "stop")
    if stop <= start:
        raise ValueError(f"stop must be greater than start; got start={start}, stop={stop}")
    if not callable(build_epoch):
        raise TypeError(f"build_epoch must be a function epoch -> tf.data.Dataset; got {build_epoch!r}")
    return tf.data.Dataset.range(start, stop).flat_map(tf.autograph.experimental.do_not_convert(build_epoch))
