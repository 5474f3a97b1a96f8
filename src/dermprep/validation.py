"""The input checks shared by dermprep and dermmodels (never called by kernels).

One place, one set of exception types: ``TypeError`` when a value has the
wrong type, ``ValueError`` when it has the right type and a wrong value.
Messages name the argument, say what was expected and what was received,
e.g. ``image must have shape (H, W, 3) or (N, H, W, 3); got (224, 224)``.

The rules are the same everywhere: NumPy scalars are accepted wherever the
Python ones are (``np.int64(32)``, ``np.float32(0.1)``); a bool is never a
number and a string is never a bool; numbers must be finite; integers must
be integers (2.5 is not a class index); seeds fit in 63 bits.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = [
    "SEED_MAX",
    "SUPPORTED_DTYPES",
    "check_bool",
    "check_choice",
    "check_fraction",
    "check_image",
    "check_int_range",
    "check_label_mask",
    "check_labels",
    "check_mask",
    "check_number",
    "check_positive_int",
    "check_probability",
    "check_range",
    "check_rng",
    "check_seed",
    "check_size",
    "is_integer",
]

#: Largest accepted seed (seeds travel through TensorFlow as int64).
SEED_MAX = 2**63 - 1

SUPPORTED_DTYPES = (np.dtype(np.uint8), np.dtype(np.float32))


def check_image(
    image: Any,
    name: str = "image",
    *,
    allow_batch: bool = True,
    min_size: int = 1,
) -> np.ndarray:
    """Validate an RGB image or batch and return it as a C-contiguous array.

    Parameters
    ----------
    image : array_like, shape (H, W, 3) or (N, H, W, 3)
        uint8 in [0, 255] or float32 in [0, 1].
    name : str
        Argument name used in error messages.
    allow_batch : bool
        Whether a leading batch axis is accepted.
    min_size : int
        Smallest accepted height and width.

    Returns
    -------
    ndarray
        The same data, C-contiguous (a copy only when the input was not).
        The input is never modified.

    Raises
    ------
    TypeError
        If ``image`` is not an array or has an unsupported dtype.
    ValueError
        If the shape, channel count, size or values are wrong.
    """
    if not isinstance(image, np.ndarray):
        if hasattr(image, "numpy") and callable(image.numpy):
            image = image.numpy()
        elif isinstance(image, (list, tuple)):
            image = np.asarray(image)
        else:
            raise TypeError(f"{name} must be a numpy.ndarray; got {type(image).__name__}")
    _check_image_shape(image, name, allow_batch, min_size)
    _check_image_values(image, name)
    return np.ascontiguousarray(image)


def _check_image_shape(image: np.ndarray, name: str, allow_batch: bool, min_size: int) -> None:
    shapes = "(H, W, 3) or (N, H, W, 3)" if allow_batch else "(H, W, 3)"
    if image.ndim not in ((3, 4) if allow_batch else (3,)):
        hint = ""
        if image.ndim == 2:
            hint = " (a grayscale image: stack it to RGB with np.stack([img] * 3, axis=-1))"
        raise ValueError(f"{name} must have shape {shapes}; got {image.shape}{hint}")
    channels = image.shape[-1]
    if channels != 3:
        if channels == 4:
            hint = " (RGBA: drop the alpha channel with image[..., :3])"
        elif channels == 1:
            hint = " (single channel: repeat it with np.repeat(image, 3, axis=-1))"
        else:
            hint = ""
        raise ValueError(
            f"{name} must have 3 channels (RGB) in its last axis, shape {shapes}; "
            f"got {image.shape}{hint}"
        )
    if image.dtype not in SUPPORTED_DTYPES:
        hint = " (convert with image.astype(np.float32))" if image.dtype == np.float64 else ""
        raise TypeError(
            f"{name} must have dtype uint8 (values in [0, 255]) or float32 "
            f"(values in [0, 1]); got {image.dtype}{hint}"
        )
    height, width = image.shape[-3], image.shape[-2]
    if height < min_size or width < min_size:
        raise ValueError(
            f"{name} must be at least {min_size}x{min_size} pixels; "
            f"got {height}x{width} (shape {image.shape})"
        )
    if image.ndim == 4 and image.shape[0] == 0:
        raise ValueError(f"{name} batch must hold at least one image; got shape {image.shape}")


def _check_image_values(image: np.ndarray, name: str) -> None:
    """float32 values finite and in [0, 1] (uint8 cannot be out of range)."""
    if image.dtype != np.float32:
        return
    if not np.isfinite(image).all():
        raise ValueError(f"{name} must not contain NaN or inf; got non-finite values")
    lo, hi = float(image.min()), float(image.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name} of dtype float32 must have values in [0, 1]; "
            f"got values in [{lo:.4g}, {hi:.4g}] (divide uint8 data by 255)"
        )


def _check_array_of_shape(array: Any, shape: tuple[int, ...], name: str, *, of_image: bool = False) -> np.ndarray:
    """A NumPy array of exactly ``shape`` (``of_image``: the messages say it is the image's height and width)."""
    shape = tuple(shape)
    if not isinstance(array, np.ndarray):
        expected = f" of shape {shape}" if of_image else ""
        raise TypeError(f"{name} must be a numpy.ndarray{expected}; got {type(array).__name__}")
    if array.shape != shape:
        whose = " (the image's height and width)" if of_image else ""
        raise ValueError(f"{name} must have shape {shape}{whose}; got {array.shape}")
    return array


def check_mask(mask: Any, shape: tuple[int, ...], name: str = "mask") -> np.ndarray:
    """Validate a boolean mask of a given (H, W) or (N, H, W) shape (0/1 integers are turned into bools)."""
    mask = _check_array_of_shape(mask, shape, name)
    if mask.dtype != np.bool_:
        if np.issubdtype(mask.dtype, np.integer) and mask.size and mask.max() <= 1 and mask.min() >= 0:
            return np.ascontiguousarray(mask.astype(bool))
        raise TypeError(f"{name} must be a boolean array; got dtype {mask.dtype}")
    return np.ascontiguousarray(mask)


def check_label_mask(mask: Any, shape: tuple[int, ...], name: str = "mask") -> np.ndarray:
    """Validate a lesion mask or integer label map of the image's (H, W) (or (N, H, W)) shape.

    bool or any integer dtype, every value kept: non-zero marks the lesion,
    and resampling (nearest neighbour) keeps labels as they are. Float masks
    are refused: their values would be rounded or thresholded silently.
    Returns the mask C-contiguous (a copy only when it was not).
    """
    mask = _check_array_of_shape(mask, shape, name, of_image=True)
    if not (mask.dtype == np.bool_ or np.issubdtype(mask.dtype, np.integer)):
        raise TypeError(f"{name} must be a bool or integer label mask; got dtype {mask.dtype} "
                        "(mask values are labels, kept exactly by nearest-neighbour resampling; non-zero is lesion)")
    return np.ascontiguousarray(mask)


def check_labels(labels: Any, name: str = "labels", *, num_classes: int | None = None,
                 size: int | None = None) -> np.ndarray:
    """Validate class labels and return them as int64 class indices, shape (N,).

    Integer labels, or floats that are whole numbers (a CSV column read as
    float), or numbers held as objects (a pandas column); never bools or
    strings. Indices are >= 0 and, with ``num_classes``, below it. ``size``:
    exactly one label per image. One-hot labels are `dermprep.sampling`'s
    to decode (`dermprep.sampling.as_class_indices()`).

    Examples
    --------
    >>> check_labels([0, 2.0, 1], num_classes=3).tolist()
    [0, 2, 1]
    """
    values = np.asarray(labels)
    if size is not None and values.shape != (size,):
        raise ValueError(f"{name} must have one entry per image ({size}); got shape {values.shape}")
    if values.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class indices; got shape {values.shape}")
    if values.size == 0:
        raise ValueError(f"{name} must not be empty; got 0 labels")
    values = _as_class_indices(values, name)
    low, high = int(values.min()), int(values.max())
    if num_classes is None and low < 0:
        raise ValueError(f"{name} must be class indices >= 0; got values down to {low}")
    if num_classes is not None and (low < 0 or high >= num_classes):
        raise ValueError(f"{name} must be integers in [0, {num_classes - 1}] (num_classes={num_classes}); "
                         f"got values in [{low}, {high}]")
    return values


def _as_class_indices(values: np.ndarray, name: str) -> np.ndarray:
    """int64 from integer labels or whole-number floats (objects: as numbers); TypeError for anything else."""
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    numbers = values
    if values.dtype.kind == "O":
        try:
            numbers = values.astype(np.float64)
        except (TypeError, ValueError):
            numbers = values
    if numbers.dtype.kind == "f":
        whole = np.isfinite(numbers) & (numbers == np.round(numbers))
        if whole.all():
            return numbers.astype(np.int64)
        examples = values[~whole][:5].tolist()
    else:
        examples = values[:5].tolist()
    raise TypeError(f"{name} must be integer class indices; got dtype {values.dtype} (e.g. {examples})")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_bool(value: Any, name: str) -> bool:
    """Validate a flag: ``True`` or ``False`` (NumPy bools too), never a truthy string or number."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r} ({type(value).__name__})")
    return bool(value)


def check_positive_int(value: Any, name: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """Validate an integer ``>= minimum`` (and ``<= maximum``); bools and floats are refused."""
    bounds = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer {bounds}; got {value!r} ({type(value).__name__})")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be an integer {bounds}; got {value!r}")
    return int(value)


def check_seed(value: Any, name: str = "seed") -> int:
    """Validate a seed (or an index, an epoch): an integer in [0, 2**63), as NumPy and TensorFlow take them."""
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer in [0, 2**63); got {value!r} ({type(value).__name__})")
    if not 0 <= value <= SEED_MAX:
        raise ValueError(f"{name} must be an integer in [0, 2**63); got {value!r}")
    return int(value)


def check_size(value: Any, name: str = "image_size", *, minimum: int = 1) -> tuple[int, int]:
    """Validate an image size, dermprep's one convention: ``(height, width)``, or one int for a square.

    Examples
    --------
    >>> check_size(64), check_size((150, 200))
    ((64, 64), (150, 200))
    """
    if _is_int(value):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(_is_int(v) for v in value):
        raise TypeError(f"{name} must be a (height, width) pair of integers, or one integer for a square; "
                        f"got {value!r}")
    if min(value) < minimum:
        raise ValueError(f"{name} must be at least {minimum}x{minimum} pixels; got {tuple(value)!r}")
    return int(value[0]), int(value[1])


def check_number(
    value: Any,
    name: str,
    *,
    lower: float | None = None,
    upper: float | None = None,
    lower_open: bool = False,
) -> float:
    """Validate a finite real number within optional bounds (``lower_open``: strictly above ``lower``)."""
    if lower is None and upper is None:
        expected = "a finite number"
    elif upper is None:
        expected = f"a number {'>' if lower_open else '>='} {lower}"
    elif lower is None:
        expected = f"a number <= {upper}"
    else:
        expected = f"a number in {'(' if lower_open else '['}{lower}, {upper}]"
    if not _is_real(value):
        raise TypeError(f"{name} must be {expected}; got {value!r} ({type(value).__name__})")
    number = float(value)
    if not np.isfinite(number):
        raise ValueError(f"{name} must be {expected} (finite); got {value!r}")
    if lower is not None and (number < lower or (lower_open and number == lower)):
        raise ValueError(f"{name} must be {expected}; got {value!r}")
    if upper is not None and number > upper:
        raise ValueError(f"{name} must be {expected}; got {value!r}")
    return number


def check_fraction(value: Any, name: str) -> float:
    """Validate a fraction in [0, 1) (a share of the data, say)."""
    if not _is_real(value):
        raise TypeError(f"{name} must be a fraction in [0, 1); got {value!r} ({type(value).__name__})")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1); got {value!r}")
    return float(value)


def is_integer(value: Any) -> bool:
    """Whether ``value`` is an integer (Python or NumPy), never a bool."""
    return _is_int(value)


def check_probability(value: Any, name: str = "p") -> float:
    """Validate a probability in [0, 1]."""
    if not _is_real(value):
        raise TypeError(f"{name} must be a number in [0, 1]; got {value!r} ({type(value).__name__})")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1]; got {value!r}")
    return float(value)


def check_choice(value: Any, name: str, choices: tuple[Any, ...]) -> Any:
    """Validate that ``value`` is one of ``choices`` and return the matching choice.

    Numbers match numerically (``np.float32(0.35)`` matches ``0.35``); a bool
    matches no number and a string no non-string.
    """
    if not isinstance(value, (bool, np.bool_)):
        for choice in choices:
            if _is_real(choice) and _is_real(value):
                if np.isclose(float(value), float(choice), rtol=1e-6, atol=0.0):
                    return choice
            elif isinstance(choice, str) == isinstance(value, str) and not _is_real(value) and value == choice:
                return choice
    raise ValueError(f"{name} must be one of {choices}; got {value!r}")


def check_range(
    value: Any,
    name: str,
    *,
    lower: float | None = None,
    upper: float | None = None,
) -> tuple[float, float]:
    """Validate a ``(low, high)`` tuple with ``low <= high`` inside optional bounds."""
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(_is_real(v) for v in value):
        raise TypeError(f"{name} must be a (low, high) pair of numbers; got {value!r}")
    low, high = float(value[0]), float(value[1])
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{name} must be finite; got {value!r}")
    if low > high:
        raise ValueError(f"{name} must satisfy low <= high; got {value!r}")
    if lower is not None and low < lower:
        raise ValueError(f"{name} must lie within [{lower}, {upper}]; got {value!r}")
    if upper is not None and high > upper:
        raise ValueError(f"{name} must lie within [{lower}, {upper}]; got {value!r}")
    return low, high


def check_int_range(value: Any, name: str, *, lower: int | None = None, upper: int | None = None) -> tuple[int, int]:
    """Validate a ``(low, high)`` pair of integers with ``low <= high`` inside optional bounds."""
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(_is_int(v) for v in value):
        raise TypeError(f"{name} must be a (low, high) pair of integers; got {value!r}")
    check_range(value, name, lower=lower, upper=upper)
    return int(value[0]), int(value[1])


def check_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """Turn ``None``, an int seed or a Generator into a Generator."""
    if rng is None or isinstance(rng, (np.random.Generator, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    if _is_int(rng):
        if rng < 0:
            raise ValueError(f"{name} seed must be >= 0; got {rng!r}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{name} must be None, an int seed or a numpy.random.Generator; got {type(rng).__name__}"
    )
