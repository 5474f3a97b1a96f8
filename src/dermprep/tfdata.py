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

from ._validation import check_positive_int
from .hair import _dullrazor

__all__ = ["augment", "balance", "from_records", "remove_hair"]

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


# ----------------------------------------------------------------------------
# Class balancing
# ----------------------------------------------------------------------------


def _label_accessors(spec: Any) -> tuple[Any, Callable[[Any], Any]]:
    """The label's spec in an element spec, and a getter for it."""
    if isinstance(spec, tuple) and len(spec) >= 2 and isinstance(spec[-1], tf.TensorSpec):
        return spec[-1], lambda e: e[-1]
    if isinstance(spec, dict) and isinstance(spec.get("label"), tf.TensorSpec):
        return spec["label"], lambda e: e["label"]
    raise ValueError(
        "balance() needs elements (x, ..., label) or dicts with a 'label' key, the label an int "
        f"scalar or a one-hot vector; got element_spec {spec!r}"
    )


def balance(
    *,
    strategy: str = "oversample",
    seed: int = 0,
    count: int | None = None,
    target: Any = None,
    size: int | None = None,
    num_classes: int | None = None,
    max_element_bytes: int = 64 * 1024,
) -> DatasetTransform:
    """Resample a finite dataset to a balanced class distribution, exactly, every epoch.

    Each pass over the result is one epoch holding exactly the target count
    of every class (:func:`dermprep.sampling.target_counts`), every element
    of a class repeated as evenly as possible and the epoch shuffled
    (:func:`dermprep.sampling.epoch_indices`). The n-th pass over the
    dataset is epoch n: reproducible under ``seed``, different per epoch.
    Elements are drawn by index, not by rejection, so balancing costs
    almost nothing per element.

    Apply it to *records* (paths or indices with labels) before images are
    decoded, as :func:`from_records` does: the records of the dataset are
    read once and kept in memory, images are then loaded lazily. Elements
    bigger than ``max_element_bytes`` are refused so that a dataset of
    decoded images is not silently copied into memory.

    Parameters
    ----------
    strategy : {"oversample", "undersample", "target"}
        See :func:`dermprep.sampling.target_counts`.
    seed : int
        Seed of the resampling.
    count, target, size
        Passed to :func:`dermprep.sampling.target_counts`.
    num_classes : int, optional
        Number of classes (default: from one-hot labels, else max label + 1).
    max_element_bytes : int
        Largest element (all components but the label) kept in memory.

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
    from .sampling import STRATEGIES, class_counts, epoch_indices, target_counts  # noqa: PLC0415

    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}; got {strategy!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}")
    if isinstance(max_element_bytes, bool) or not isinstance(max_element_bytes, int) or max_element_bytes < 1:
        raise ValueError(f"max_element_bytes must be a positive integer; got {max_element_bytes!r}")

    def transform(dataset: tf.data.Dataset) -> tf.data.Dataset:
        if not isinstance(dataset, tf.data.Dataset):
            raise TypeError(f"dataset must be a tf.data.Dataset; got {type(dataset).__name__}")
        spec = dataset.element_spec
        label_spec, get_label = _label_accessors(spec)
        if label_spec.shape.rank not in (0, 1) or not (label_spec.dtype.is_integer or label_spec.dtype.is_floating):
            raise ValueError(f"labels must be int scalars or one-hot vectors; got {label_spec}")
        if dataset.cardinality() == tf.data.INFINITE_CARDINALITY:
            raise ValueError("balance() needs a finite dataset; apply it before .repeat()")
        others = [s for s in tf.nest.flatten(spec) if s is not label_spec]
        for component in others:
            if not component.shape.is_fully_defined() and component.dtype != tf.string:
                raise ValueError(
                    f"balance() keeps each element in memory and needs static shapes; got {component}. "
                    "Apply it to records (paths/indices and labels) before decoding images."
                )
            nbytes = (
                int(np.prod(component.shape.as_list())) * component.dtype.size
                if component.dtype != tf.string else 0
            )
            if nbytes > max_element_bytes:
                raise ValueError(
                    f"balance() keeps each element in memory; an element component of {nbytes} bytes "
                    f"({component}) exceeds max_element_bytes={max_element_bytes}. Apply it to records "
                    "(paths/indices and labels) before decoding images, e.g. "
                    "dermprep.tfdata.from_records(..., balance=...), or raise max_element_bytes."
                )
        elements = list(dataset.as_numpy_iterator())
        if not elements:
            raise ValueError("balance() got an empty dataset")
        columns = [np.stack(c) for c in zip(*(tf.nest.flatten(e) for e in elements), strict=True)]
        labels = np.asarray([get_label(e) for e in elements])
        counts = class_counts(labels, num_classes)
        targets = target_counts(counts, strategy, count=count, target=target, size=size)
        epoch_size = int(targets.sum())
        tensors = [tf.constant(c) for c in columns]
        state = {"epoch": -1}

        def next_epoch() -> np.ndarray:
            state["epoch"] += 1  # each new iterator over the dataset is the next epoch
            return epoch_indices(labels, targets, seed=int(seed), epoch=state["epoch"])

        def one_epoch(_: tf.Tensor) -> tf.data.Dataset:
            index = tf.ensure_shape(tf.numpy_function(next_epoch, [], tf.int64, stateful=True), [epoch_size])
            # one vectorised gather per epoch, then plain slicing: no per-element work is added
            columns_in_order = [tf.gather(t, index) for t in tensors]
            return tf.data.Dataset.from_tensor_slices(tf.nest.pack_sequence_as(spec, columns_in_order))

        return (
            tf.data.Dataset.range(1)
            .flat_map(one_epoch)
            .apply(tf.data.experimental.assert_cardinality(epoch_size))
        )

    return transform


# ----------------------------------------------------------------------------
# Records -> images
# ----------------------------------------------------------------------------

_ASPECTS = ("stretch", "crop", "pad")


def _hair_free_loader(cache_dir: str | None, options: dict[str, Any]) -> Callable[[bytes], np.ndarray]:
    """Decode a file, remove hair at its native resolution, cache the result as PNG."""
    import hashlib  # noqa: PLC0415
    import os  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    import cv2  # noqa: PLC0415

    from . import __version__  # noqa: PLC0415

    key_options = repr(sorted(options.items())) + __version__

    def load(path: bytes) -> np.ndarray:
        name = path.decode() if isinstance(path, bytes) else str(path)
        cached = None
        if cache_dir is not None:
            stat = os.stat(name)
            digest = hashlib.sha1(
                f"{os.path.abspath(name)}|{stat.st_size}|{stat.st_mtime_ns}|{key_options}".encode()
            ).hexdigest()[:16]
            cached = os.path.join(cache_dir, f"{os.path.splitext(os.path.basename(name))[0]}-{digest}.png")
            if os.path.exists(cached):
                image = cv2.imread(cached, cv2.IMREAD_COLOR)
                if image is not None:
                    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        bgr = cv2.imdecode(np.fromfile(name, dtype=np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"cannot decode image file {name!r}")
        restored = _dullrazor.remove_hair(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), **options)
        if cached is not None:  # atomic: a reader never sees half a file
            os.makedirs(cache_dir, exist_ok=True)
            fd, temp = tempfile.mkstemp(suffix=".png", dir=cache_dir)
            os.close(fd)
            try:
                if not cv2.imwrite(temp, cv2.cvtColor(restored, cv2.COLOR_RGB2BGR)):
                    raise OSError(f"cannot write cache file {temp}")
                os.replace(temp, cached)
            finally:
                if os.path.exists(temp):
                    os.unlink(temp)
        return restored  # type: ignore[return-value]

    return load


def from_records(
    paths: Any,
    labels: Any,
    *,
    image_size: tuple[int, int] = (224, 224),
    aspect: str = "stretch",
    dtype: str = "uint8",
    one_hot: bool = False,
    num_classes: int = 7,
    metadata: Any = None,
    remove_hair: bool = False,
    hair_options: dict[str, Any] | None = None,
    cache_dir: str | None = None,
    balance: DatasetTransform | None = None,
    shuffle_seed: int | None = None,
    num_parallel_calls: int | None = tf.data.AUTOTUNE,
) -> tf.data.Dataset:
    """Build a dataset of decoded, resized images and labels from file records.

    Parameters
    ----------
    paths : sequence of str
        Image files (JPEG or PNG).
    labels : sequence of int
        Class indices (see :data:`dermprep.CLASS_NAMES`).
    image_size : (int, int)
        Output ``(height, width)``; 224x224 by default (MobileNetV2).
    aspect : {"stretch", "crop", "pad"}
        How a different aspect ratio (HAM10000 is 4:3) is handled:
        ``"stretch"`` resizes to the size (what most HAM10000 work does);
        ``"crop"`` cuts the central region of the target aspect first (keeps
        the lesion, usually centred, at its shape); ``"pad"`` letterboxes
        with black.
    dtype : {"uint8", "float32"}
        uint8 in [0, 255] or float32 in [0, 1].
    one_hot : bool
        One-hot float32 labels of length ``num_classes`` instead of int64.
    num_classes : int
        Number of classes (7 for HAM10000).
    metadata : array_like, shape (N, F), optional
        Per-record features (e.g. :func:`dermprep.ham10000.encode_metadata`);
        elements then are ``({"image": ..., "metadata": ...}, label)``.
    remove_hair : bool
        Remove hair (Dull Razor) at the file's native resolution before resizing.
    hair_options : dict, optional
        Options for :func:`dermprep.remove_hair`.
    cache_dir : str, optional
        With ``remove_hair``: keep each hair-free image as a PNG here (keyed
        on the file's path, size, mtime and the options), so hair removal
        runs once per image across epochs and runs.
    balance : callable, optional
        A :func:`balance` transformation, applied to the records (before
        decoding, so no image is held in memory). Balanced epochs come shuffled.
    shuffle_seed : int, optional
        Shuffle the records (before decoding, so no image is held in memory)
        in a new, seeded order every epoch. Training data needs one of
        ``balance`` or ``shuffle_seed``: records in file order (HAM10000's
        metadata is grouped by diagnosis) give one-class batches, and Keras'
        ``fit`` does not shuffle a ``tf.data.Dataset``.
    num_parallel_calls : int or tf.data.AUTOTUNE

    Returns
    -------
    tf.data.Dataset
        Elements ``(image, label)`` or ``({"image", "metadata"}, label)``,
        images of static shape ``image_size + (3,)``.
    """
    paths = np.asarray(paths, dtype=str)
    labels = np.asarray(labels)
    if paths.ndim != 1 or paths.size == 0:
        raise ValueError(f"paths must be a non-empty 1-D sequence of file names; got shape {paths.shape}")
    if labels.shape != paths.shape:
        raise ValueError(f"labels must have one entry per path ({paths.size}); got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must be integers in [0, {num_classes - 1}]; got {labels.dtype} in "
                         f"[{labels.min()}, {labels.max()}]")
    if (
        not isinstance(image_size, (tuple, list)) or len(image_size) != 2
        or not all(isinstance(v, int) and v >= 16 for v in image_size)
    ):
        raise ValueError(f"image_size must be (height, width) with both >= 16; got {image_size!r}")
    if aspect not in _ASPECTS:
        raise ValueError(f"aspect must be one of {_ASPECTS}; got {aspect!r}")
    if dtype not in ("uint8", "float32"):
        raise ValueError(f"dtype must be 'uint8' or 'float32'; got {dtype!r}")
    hair_options = dict(hair_options or {})
    if hair_options and not remove_hair:
        raise ValueError("hair_options are only used with remove_hair=True")
    if remove_hair:
        _dullrazor.dull_razor_params((450, 600), **hair_options)
    if cache_dir is not None and not remove_hair:
        raise ValueError("cache_dir caches hair removal; pass remove_hair=True or drop cache_dir")
    if shuffle_seed is not None:
        shuffle_seed = check_positive_int(shuffle_seed, "shuffle_seed", minimum=0)
        if balance is not None:
            raise ValueError("shuffle_seed is not needed with balance (balanced epochs are already shuffled); "
                             "pass one of them")
    features = None
    if metadata is not None:
        features = np.asarray(metadata, dtype=np.float32)
        if features.ndim != 2 or features.shape[0] != paths.size:
            raise ValueError(f"metadata must have shape (N={paths.size}, F); got {features.shape}")

    height, width = image_size
    records = (paths, labels.astype(np.int64)) if features is None else (paths, features, labels.astype(np.int64))
    dataset = tf.data.Dataset.from_tensor_slices(records)
    if balance is not None:
        dataset = dataset.apply(balance)
    elif shuffle_seed is not None:
        dataset = dataset.shuffle(paths.size, seed=shuffle_seed, reshuffle_each_iteration=True)
    loader = _hair_free_loader(cache_dir, hair_options) if remove_hair else None

    def decode(path: tf.Tensor) -> tf.Tensor:
        if loader is not None:
            image = tf.numpy_function(loader, [path], tf.uint8, stateful=False, name="load_without_hair")
            image.set_shape([None, None, 3])
        else:
            image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        if aspect == "crop":
            shape = tf.cast(tf.shape(image)[:2], tf.float32)
            target = width / height
            crop_h = tf.minimum(shape[0], shape[1] / target)
            crop_w = tf.minimum(shape[1], shape[0] * target)
            top = tf.cast((shape[0] - crop_h) / 2, tf.int32)
            left = tf.cast((shape[1] - crop_w) / 2, tf.int32)
            image = tf.image.crop_to_bounding_box(image, top, left, tf.cast(crop_h, tf.int32), tf.cast(crop_w, tf.int32))
            resized = tf.image.resize(image, (height, width), antialias=True)
        elif aspect == "pad":
            resized = tf.image.resize_with_pad(tf.cast(image, tf.float32), height, width, antialias=True)
        else:
            resized = tf.image.resize(image, (height, width), antialias=True)
        if dtype == "uint8":
            out = tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
        else:
            out = tf.clip_by_value(resized / 255.0, 0.0, 1.0)
        return tf.ensure_shape(out, [height, width, 3])

    def encode_label(label: tf.Tensor) -> tf.Tensor:
        return tf.one_hot(label, num_classes, dtype=tf.float32) if one_hot else label

    if features is None:
        dataset = dataset.map(
            lambda p, y: (decode(p), encode_label(y)), num_parallel_calls=num_parallel_calls, deterministic=True
        )
    else:
        dataset = dataset.map(
            lambda p, f, y: ({"image": decode(p), "metadata": f}, encode_label(y)),
            num_parallel_calls=num_parallel_calls, deterministic=True,
        )
    return dataset


# ----------------------------------------------------------------------------
# Augmentation
# ----------------------------------------------------------------------------


def _augment_accessors(spec: Any) -> tuple[Any, Any, Callable[..., Any], Callable[..., Any]]:
    """Image spec, mask spec (or None), a getter (image, mask) and a setter for an element spec."""
    if isinstance(spec, tf.TensorSpec):
        return spec, None, lambda e: (e, None), lambda e, image, mask: image
    if isinstance(spec, dict) and isinstance(spec.get("image"), tf.TensorSpec):
        mask_spec = spec.get("mask")

        def put_dict(e: Any, image: Any, mask: Any) -> Any:
            out = {**e, "image": image}
            if mask_spec is not None:
                out["mask"] = mask
            return out

        return spec["image"], mask_spec, lambda e: (e["image"], e.get("mask")), put_dict
    if isinstance(spec, tuple) and spec and isinstance(spec[0], tf.TensorSpec):
        if len(spec) >= 3 and isinstance(spec[1], tf.TensorSpec) and spec[1].shape.rank in (2, 3) \
                and spec[1].shape.rank is not None and spec[0].shape.rank == 3 \
                and spec[1].shape[:2] == spec[0].shape[:2]:
            return spec[0], spec[1], lambda e: (e[0], e[1]), lambda e, image, mask: (image, mask, *e[2:])
        return spec[0], None, lambda e: (e[0], None), lambda e, image, mask: (image, *e[1:])
    raise ValueError(
        "augment() needs elements that are an image, an (image, label) or (image, mask, label) tuple, "
        f"or a dict with 'image' (and optional 'mask'); got element_spec {spec!r}"
    )


def augment(pipeline: Any = None, *, seed: int = 0, num_parallel_calls: int | None = tf.data.AUTOTUNE) -> DatasetTransform:
    """Lesion-aware augmentation as a dataset transformation.

    Parameters
    ----------
    pipeline : dermprep.augment.Pipeline, list of ops/dicts, or None
        ``None``: :func:`dermprep.augment.default_pipeline`.
    seed : int
        The same seed gives the same augmented dataset, element by element,
        whatever ``num_parallel_calls``. Each pass over the dataset is the
        next epoch (0, 1, ...) with different, reproducible augmentations;
        :meth:`~dermprep.augment.Pipeline.apply` replays any (index, epoch).
    num_parallel_calls : int or tf.data.AUTOTUNE

    Returns
    -------
    callable
        ``Dataset -> Dataset``. Elements: an image (H, W, 3), ``(image,
        label, ...)``, ``(image, mask, label, ...)`` or a dict with
        ``"image"`` and optional ``"mask"`` (H, W); uint8 or float32 images
        of static size; the mask gets the same geometry (nearest neighbour).
        Labels and other components pass through unchanged. Works on
        unbatched datasets (apply it before ``.batch()``): it groups 32
        elements internally and augments each group in one
        ``tf.numpy_function`` call (OpenCV, GIL released; see
        :mod:`dermprep.augment._engine` for why not TF ops).

    Examples
    --------
    >>> import numpy as np, tensorflow as tf
    >>> import dermprep.tfdata
    >>> images = np.zeros((4, 64, 64, 3), np.uint8)
    >>> ds = tf.data.Dataset.from_tensor_slices((images, [0, 1, 2, 3]))
    >>> ds.apply(dermprep.tfdata.augment(seed=1)).element_spec[0]
    TensorSpec(shape=(64, 64, 3), dtype=tf.uint8, name=None)
    """
    from .augment import Pipeline, default_pipeline  # noqa: PLC0415
    from .augment._engine import GROUP, augment_batch  # noqa: PLC0415

    if pipeline is None:
        pipeline = default_pipeline()
    elif not isinstance(pipeline, Pipeline):
        if isinstance(pipeline, (list, tuple)):
            pipeline = Pipeline(pipeline)
        else:
            raise TypeError(f"pipeline must be a dermprep.augment.Pipeline, a list of ops, or None; got {pipeline!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}")

    def transform(dataset: tf.data.Dataset) -> tf.data.Dataset:
        if not isinstance(dataset, tf.data.Dataset):
            raise TypeError(f"dataset must be a tf.data.Dataset; got {type(dataset).__name__}")
        spec = dataset.element_spec
        image_spec, mask_spec, get, put = _augment_accessors(spec)
        if image_spec.shape.rank == 4:
            raise ValueError(f"augment() works on single images; apply it before .batch(); got images {image_spec.shape}")
        _check_image_spec(image_spec)
        if not image_spec.shape[:2].is_fully_defined():
            raise ValueError(f"augment() needs a static image size (resize first); got {image_spec.shape}")
        if mask_spec is not None and mask_spec.shape[:2] != image_spec.shape[:2]:
            raise ValueError(f"mask shape {mask_spec.shape} does not match image shape {image_spec.shape}")
        cardinality = int(dataset.cardinality())
        state = {"epoch": -1}

        def next_epoch() -> np.int64:
            state["epoch"] += 1  # each new iterator over the dataset is the next epoch
            return np.int64(state["epoch"])

        mask_dtype = None if mask_spec is None else mask_spec.dtype
        mask_2d = None if mask_spec is None else [int(v) for v in image_spec.shape[:2]]

        def run_numpy(images: np.ndarray, masks: np.ndarray, epoch: np.int64, indices: np.ndarray) -> tuple:
            m = None if masks.size == 0 else np.ascontiguousarray(masks.astype(np.uint8))
            out, out_masks = augment_batch(pipeline, images, m, int(seed), int(epoch), indices)
            return out, (np.zeros((0,), np.uint8) if out_masks is None else out_masks)

        def run(epoch: tf.Tensor, indices: tf.Tensor, element: Any) -> Any:
            images, masks = get(element)
            if masks is not None:
                m = tf.cast(tf.reshape(masks, tf.concat([tf.shape(masks)[:1], mask_2d], 0)) > 0, tf.uint8)
            else:
                m = tf.zeros([0], tf.uint8)
            out, out_masks = tf.numpy_function(
                run_numpy, [images, m, epoch, indices], (images.dtype, tf.uint8), stateful=False, name="augment"
            )
            out = tf.ensure_shape(out, images.shape)
            if masks is not None:
                out_masks = tf.cast(tf.reshape(out_masks, tf.shape(masks)), mask_dtype)
                out_masks = tf.ensure_shape(out_masks, masks.shape)
            else:
                out_masks = None
            return put(element, out, out_masks)

        def one_epoch(_: tf.Tensor) -> tf.data.Dataset:
            epoch = tf.numpy_function(next_epoch, [], tf.int64, stateful=True)
            grouped = dataset.enumerate().batch(GROUP)
            mapped = grouped.map(
                lambda i, *e: run(epoch, i, e[0] if len(e) == 1 else e),
                num_parallel_calls=num_parallel_calls, deterministic=True,
            )
            return mapped.unbatch()

        result = tf.data.Dataset.range(1).flat_map(one_epoch)
        if cardinality >= 0:
            result = result.apply(tf.data.experimental.assert_cardinality(cardinality))
        return result

    return transform
