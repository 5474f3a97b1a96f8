"""Input checks shared by every public function (never called by kernels).

Messages always name the argument, say what was expected and what was
received, e.g. ``image must have shape (H, W, 3) or (N, H, W, 3); got (224, 224)``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = [
    "check_image",
    "check_mask",
    "check_positive_int",
    "check_probability",
    "check_range",
    "check_rng",
    "SUPPORTED_DTYPES",
]

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
            raise TypeError(
                f"{name} must be a numpy.ndarray; got {type(image).__name__}"
            )
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
        hint = ""
        if image.dtype == np.float64:
            hint = " (convert with image.astype(np.float32))"
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
    if image.dtype == np.float32:
        if not np.isfinite(image).all():
            raise ValueError(f"{name} must not contain NaN or inf; got non-finite values")
        lo, hi = float(image.min()), float(image.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"{name} of dtype float32 must have values in [0, 1]; "
                f"got values in [{lo:.4g}, {hi:.4g}] (divide uint8 data by 255)"
            )
    return np.ascontiguousarray(image)


def check_mask(mask: Any, shape: tuple[int, ...], name: str = "mask") -> np.ndarray:
    """Validate a boolean mask of a given (H, W) or (N, H, W) shape."""
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray; got {type(mask).__name__}")
    if mask.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got {mask.shape}")
    if mask.dtype != np.bool_:
        if np.issubdtype(mask.dtype, np.integer) and mask.size and mask.max() <= 1 and mask.min() >= 0:
            return np.ascontiguousarray(mask.astype(bool))
        raise TypeError(f"{name} must be a boolean array; got dtype {mask.dtype}")
    return np.ascontiguousarray(mask)


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Validate an integer ``>= minimum`` (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def check_probability(value: Any, name: str = "p") -> float:
    """Validate a probability in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1]; got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1]; got {value!r}")
    return float(value)


def check_range(
    value: Any,
    name: str,
    *,
    lower: float | None = None,
    upper: float | None = None,
) -> tuple[float, float]:
    """Validate a ``(low, high)`` tuple with ``low <= high`` inside optional bounds."""
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
    ):
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


def check_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """Turn ``None``, an int seed or a Generator into a Generator."""
    if rng is None or isinstance(rng, (numbers.Integral, np.random.Generator, np.random.SeedSequence)):
        if isinstance(rng, bool):
            raise TypeError(f"{name} must be None, an int seed or a numpy Generator; got {rng!r}")
        if isinstance(rng, numbers.Integral) and rng < 0:
            raise ValueError(f"{name} seed must be >= 0; got {rng!r}")
        return np.random.default_rng(rng)
    raise TypeError(
        f"{name} must be None, an int seed or a numpy.random.Generator; got {type(rng).__name__}"
    )
