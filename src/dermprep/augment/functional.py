"""Pure augmentation functions on NumPy images: no randomness, no state.

Every random operation of `dermprep.augment` is built from these: a
transform samples its parameters, then calls them. They are usable on their
own (figures, custom pipelines, tests).

Conventions
-----------
- Images are RGB, (H, W, 3), uint8 in [0, 255] or float32 in [0, 1]; the
  output has the input's dtype and shape, and the input is never modified.
- A geometric transformation is a 3x3 matrix that maps *output* pixel
  coordinates ``(x, y, 1)`` to the *input* coordinates they are read from
  (OpenCV's ``WARP_INVERSE_MAP``). Applying ``A`` then ``B`` reads through
  ``A @ B``: compose in the order the operations are applied.
- A colour transformation is a 3x4 matrix ``[M | b]`` acting on RGB values
  scaled to [0, 1] (``rgb' = M @ rgb + b``), whatever the image dtype.
- Matrix builders take scalars or arrays of shape ``(n,)`` (as kornia's
  ``_compute_rotation_matrix``): a scalar gives one matrix, ``(n,)``
  parameters give ``n`` matrices, shape ``(n, 3, 3)`` or ``(n, 3, 4)``.
  The operations of `dermprep.augment.transforms` build every element's
  matrix with these, so this module is the one definition of their maths.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from .._pixels import pixel_scale

__all__ = [
    "adjust_brightness",
    "adjust_contrast",
    "adjust_gamma",
    "adjust_hue",
    "adjust_saturation",
    "apply_colour_matrix",
    "apply_symmetry",
    "brightness_matrix",
    "contrast_matrix",
    "crop_matrix",
    "cutout",
    "dihedral_matrix",
    "flip_matrix",
    "hue_matrix",
    "illuminant",
    "is_symmetry",
    "rotation_matrix",
    "saturation_matrix",
    "shades_of_gray",
    "shades_of_gray_matrix",
    "shift_matrix",
    "vignette",
    "warp_affine",
    "warp_labels",
    "zoom_matrix",
]

LUMA = np.array([0.299, 0.587, 0.114])
TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
FROM_YIQ = np.linalg.inv(TO_YIQ)


# ----------------------------------------------------------------------------
# Geometry: 3x3 inverse maps about the image centre
# ----------------------------------------------------------------------------


def _about_centre(linear: np.ndarray, height: int, width: int, shift: np.ndarray | None = None) -> np.ndarray:
    """``input = linear @ (output - c) + c + shift`` for linear maps (..., 2, 2) and shifts (..., 2): (..., 3, 3)."""
    linear = np.asarray(linear, dtype=np.float64)
    centre = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    matrix = np.zeros((*linear.shape[:-2], 3, 3))
    matrix[..., :2, :2] = linear
    matrix[..., :2, 2] = centre - linear @ centre
    if shift is not None:
        matrix[..., :2, 2] += shift
    matrix[..., 2, 2] = 1.0
    return matrix


def _diagonal(x: Any, y: Any) -> np.ndarray:
    """The 2x2 maps ``diag(x, y)``, shape (..., 2, 2)."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    out = np.zeros((*x.shape, 2, 2))
    out[..., 0, 0], out[..., 1, 1] = x, y
    return out


def flip_matrix(height: int, width: int, *, horizontal: Any = False, vertical: Any = False) -> np.ndarray:
    """Mirror left-right (``horizontal``) and/or top-bottom (``vertical``); bools or bool arrays (n,).

    Examples
    --------
    >>> flip_matrix(4, 6, horizontal=True) @ [0, 0, 1]
    array([5., 0., 1.])
    """
    return _about_centre(_diagonal(np.where(horizontal, -1.0, 1.0), np.where(vertical, -1.0, 1.0)), height, width)


#: The 8 symmetries of a square as 2x2 maps: ``k % 4`` quarter turns, then a transpose if ``k >= 4``.
DIHEDRAL = np.stack([np.linalg.matrix_power(np.array([[0.0, -1.0], [1.0, 0.0]]), k % 4)
                     @ (np.array([[0.0, 1.0], [1.0, 0.0]]) if k >= 4 else np.eye(2)) for k in range(8)])
DIHEDRAL.setflags(write=False)


def dihedral_matrix(size: int, k: Any) -> np.ndarray:
    """Symmetry ``k`` (0-7) of a square ``size`` x ``size`` image: ``k % 4`` quarter turns, a transpose if ``k >= 4``."""
    index = np.asarray(k)
    if index.dtype.kind not in "iu" or not np.all((index >= 0) & (index <= 7)):
        raise ValueError(f"k must be an integer in [0, 7] (or an array of them); got {k!r}")
    return _about_centre(DIHEDRAL[index.astype(np.int64)], size, size)


def rotation_matrix(height: int, width: int, angle: Any) -> np.ndarray:
    """Rotate by ``angle`` degrees (a number or an array (n,)) about the centre."""
    theta = np.radians(np.asarray(angle, dtype=np.float64))
    c, s = np.cos(theta), np.sin(theta)
    return _about_centre(np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2), height, width)


def zoom_matrix(height: int, width: int, zoom: Any, zoom_y: Any = None) -> np.ndarray:
    """Scale about the centre by ``zoom`` (> 1 zooms in); ``zoom_y`` for a different vertical factor."""
    zoom = np.asarray(zoom, dtype=np.float64)
    zy = zoom if zoom_y is None else np.asarray(zoom_y, dtype=np.float64)
    return _about_centre(_diagonal(1.0 / zoom, 1.0 / zy), height, width)


def shift_matrix(height: int, width: int, dx: Any, dy: Any) -> np.ndarray:
    """Move the content by ``(dx, dy)`` pixels (positive: right, down)."""
    shift = -np.stack(np.broadcast_arrays(np.asarray(dx, dtype=np.float64), np.asarray(dy, dtype=np.float64)), -1)
    return _about_centre(np.broadcast_to(np.eye(2), (*shift.shape[:-1], 2, 2)), height, width, shift)


def crop_matrix(height: int, width: int, box_width: Any, box_height: Any, dx: Any = 0.0, dy: Any = 0.0) -> np.ndarray:
    """Read a box of ``box_width`` x ``box_height`` (fractions of the frame), centred ``(dx, dy)`` pixels from
    the frame's centre, stretched to the whole frame (a resized crop)."""
    shift = np.stack(np.broadcast_arrays(np.asarray(dx, dtype=np.float64), np.asarray(dy, dtype=np.float64)), -1)
    return _about_centre(_diagonal(box_width, box_height), height, width, shift)


def is_symmetry(matrix: np.ndarray, height: int, width: int) -> bool:
    """Whether ``matrix`` maps the pixel grid exactly onto itself (a flip, transpose or quarter turn)."""
    (a, b, c), (d, e, f) = np.asarray(matrix, dtype=np.float64)[:2].tolist()
    if sorted((abs(a), abs(b))) != [0.0, 1.0] or sorted((abs(d), abs(e))) != [0.0, 1.0] or abs(a) != abs(e):
        return False
    right, bottom = width - 1.0, height - 1.0
    for x, y in ((0.0, 0.0), (right, 0.0), (0.0, bottom), (right, bottom)):
        u, v = a * x + b * y + c, d * x + e * y + f
        if abs(u - round(u)) > 1e-6 or abs(v - round(v)) > 1e-6 or not (-1e-6 <= u <= right + 1e-6) \
                or not (-1e-6 <= v <= bottom + 1e-6):
            return False
    return True


def apply_symmetry(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a flip, transpose or quarter turn (see `is_symmetry()`) exactly, by reindexing (any dtype)."""
    (a, b), (c, d) = np.round(np.asarray(matrix)[:2, :2]).astype(int).tolist()
    if image.dtype.type not in (np.uint8, np.uint16, np.int16, np.int32, np.float32, np.float64):
        if b != 0:  # other dtypes (bool, int64): NumPy views, copied once
            image, a, d = np.swapaxes(image, 0, 1), c, b
        return np.ascontiguousarray(image[:: -1 if d < 0 else 1, :: -1 if a < 0 else 1])
    if b != 0:  # in_x = b y, in_y = c x: a transpose, then flips
        image = cv2.transpose(image)
        a, d = c, b
    if a < 0 and d < 0:
        return cv2.flip(image, -1)
    if a < 0:
        return cv2.flip(image, 1)
    if d < 0:
        return cv2.flip(image, 0)
    return image.copy()


def warp_affine(image: np.ndarray, matrix: np.ndarray, *, interpolation: str = "bilinear") -> np.ndarray:
    """Resample ``image`` through ``matrix`` (output -> input) with reflected borders.

    Exact symmetries (flips, transposes, quarter turns) are applied by
    reindexing, without resampling. Bilinear resampling gives OpenCV's
    ``warpAffine(..., BORDER_REFLECT_101)`` up to one grey level, about
    twice as fast (the reflection is laid out once, the warp runs on four
    channels without border logic).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3) or (H, W)
        An image, or a mask (use ``interpolation="nearest"`` for masks).
    matrix : ndarray, shape (3, 3) or (2, 3)
    interpolation : {"bilinear", "nearest"}

    Returns
    -------
    ndarray, same shape and dtype
    """
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest'; got {interpolation!r}")
    height, width = image.shape[:2]
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape == (2, 3):
        m = np.vstack([m, [0.0, 0.0, 1.0]])
    if is_symmetry(m, height, width):
        return apply_symmetry(image, m)
    if interpolation == "nearest":
        return warp_labels(image, m)
    return _warp_reflect(image, m[:2], width, height)


def _warp_reflect(image: np.ndarray, m: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear ``cv2.warpAffine`` (inverse map) with reflected borders, about twice as fast.

    OpenCV's border handling inside the warp and its 3-channel bilinear path
    are slow; here the reflection is laid out once around the image (as far
    as the map reaches) and the warp runs on 4 channels (its vectorised path)
    with no border logic. Same pixels as ``borderMode=BORDER_REFLECT_101``
    up to one grey level of fixed-point rounding.
    """
    (a, b, c), (d, e, f) = m.tolist()
    right, bottom = width - 1.0, height - 1.0
    # where the output corners read from (the extremes of an affine map are at corners)
    low_x, high_x = c + min(0.0, a * right) + min(0.0, b * bottom), c + max(0.0, a * right) + max(0.0, b * bottom)
    low_y, high_y = f + min(0.0, d * right) + min(0.0, e * bottom), f + max(0.0, d * right) + max(0.0, e * bottom)
    reach = max(0.0, -low_x, high_x - right, -low_y, high_y - bottom)
    pad = int(math.ceil(reach)) + 2
    if pad >= min(height, width):  # extreme maps: let OpenCV reflect as far as needed
        return cv2.warpAffine(image, m, (width, height), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT_101)
    shifted = m.copy()
    shifted[:, 2] += pad
    four = cv2.copyMakeBorder(cv2.cvtColor(image, cv2.COLOR_RGB2RGBA), pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    out = cv2.warpAffine(four, shifted, (width, height), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT)
    return cv2.cvtColor(out, cv2.COLOR_RGBA2RGB)


_OPENCV_LABELS = (np.uint8, np.uint16, np.int16, np.int32)


def warp_labels(labels: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Resample a mask or label map (H, W) through ``matrix`` with nearest neighbour; every value kept exactly.

    Any bool or integer dtype (values beyond int32 are refused); reflected borders.
    """
    height, width = labels.shape[:2]
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape == (2, 3):
        m = np.vstack([m, [0.0, 0.0, 1.0]])
    if is_symmetry(m, height, width):
        return apply_symmetry(labels, m)
    work = labels
    if labels.dtype == np.bool_ or labels.dtype == np.int8:
        work = labels.astype(np.int16)
    elif labels.dtype.type not in _OPENCV_LABELS:
        if labels.size and (labels.min() < -(2**31) or labels.max() >= 2**31):
            raise ValueError(f"label values must fit in int32 to be resampled; got [{labels.min()}, {labels.max()}]")
        work = labels.astype(np.int32)
    out = cv2.warpAffine(work, m[:2], (width, height), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_NEAREST,
                         borderMode=cv2.BORDER_REFLECT_101)
    return out.astype(labels.dtype, copy=False)


# ----------------------------------------------------------------------------
# Colour: 3x4 affine maps on RGB in [0, 1]
# ----------------------------------------------------------------------------


def _affine(linear: np.ndarray, offset: np.ndarray | None = None) -> np.ndarray:
    """Colour maps ``[M | b]`` (..., 3, 4) from linear maps (..., 3, 3) and offsets (..., 3)."""
    out = np.zeros((*linear.shape[:-2], 3, 4))
    out[..., :3] = linear
    if offset is not None:
        out[..., 3] = offset
    return out


def _scaled_identity(factor: Any) -> np.ndarray:
    """``factor * I`` for a number or an array of factors (n,): (..., 3, 3)."""
    return np.asarray(factor, dtype=np.float64)[..., None, None] * np.eye(3)


def brightness_matrix(factor: Any) -> np.ndarray:
    """Multiply every channel by ``factor`` (exposure)."""
    return _affine(_scaled_identity(factor))


def contrast_matrix(factor: Any, mean: Any) -> np.ndarray:
    """Scale deviations from the grey level ``mean`` (in [0, 1]) by ``factor``."""
    f = np.asarray(factor, dtype=np.float64)
    return _affine(_scaled_identity(f), ((1.0 - f) * np.asarray(mean, dtype=np.float64))[..., None])


def saturation_matrix(factor: Any) -> np.ndarray:
    """Blend with the luma image: 0 gives grey, 1 the input, > 1 more saturated."""
    f = np.asarray(factor, dtype=np.float64)[..., None, None]
    return _affine(f * np.eye(3) + (1.0 - f) * np.outer(np.ones(3), LUMA))


def hue_matrix(shift: Any) -> np.ndarray:
    """Rotate hue by ``shift`` turns (in the YIQ chroma plane, luma kept)."""
    theta = np.asarray(shift, dtype=np.float64) * 2.0 * np.pi
    rotation = np.zeros((*theta.shape, 3, 3))
    rotation[..., 0, 0] = 1.0
    rotation[..., 1, 1], rotation[..., 1, 2] = np.cos(theta), -np.sin(theta)
    rotation[..., 2, 1], rotation[..., 2, 2] = np.sin(theta), np.cos(theta)
    return _affine(FROM_YIQ @ rotation @ TO_YIQ)


def illuminant(image: np.ndarray, power: float = 6.0, *, step: int = 1) -> np.ndarray:
    """Shades-of-Gray illuminant estimate: ``mean(x ** power) ** (1 / power)`` per channel, unit norm.

    ``image`` is one image (H, W, 3), giving shape (3,), or a batch (N, H, W, 3),
    giving (N, 3); uint8, or floats in [0, 1]. ``step`` subsamples rows and
    columns (the engine uses 8).
    """
    pixels = image[..., ::step, ::step, :]
    pixels = pixels.reshape(*pixels.shape[:-3], -1, 3).astype(np.float64) / pixel_scale(image.dtype)
    e = np.mean(np.maximum(pixels, 1e-6) ** power, axis=-2) ** (1.0 / power)
    return e / np.maximum(np.linalg.norm(e, axis=-1, keepdims=True), 1e-12)


def shades_of_gray_matrix(estimate: np.ndarray) -> np.ndarray:
    """Von Kries correction that maps the illuminant ``estimate`` (unit norm; (3,) or (n, 3)) to grey."""
    e = np.asarray(estimate, dtype=np.float64)
    return _affine((1.0 / (np.maximum(e, 1e-12) * math.sqrt(3.0)))[..., None] * np.eye(3))


def apply_colour_matrix(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 3x4 colour matrix, saturating to the dtype's range."""
    m = np.asarray(matrix, dtype=np.float64).copy()
    if image.dtype == np.uint8:
        m[:, 3] *= pixel_scale(image.dtype)
        return cv2.transform(image, m)
    return np.clip(cv2.transform(image, m), 0.0, 1.0).astype(np.float32)


def adjust_brightness(image: np.ndarray, factor: float) -> np.ndarray:
    """Multiply intensities by ``factor``."""
    return apply_colour_matrix(image, brightness_matrix(factor))


def adjust_contrast(image: np.ndarray, factor: float) -> np.ndarray:
    """Scale deviations from the image's mean grey level by ``factor``."""
    mean = float(np.mean(image[::8, ::8].reshape(-1, 3).astype(np.float64).mean(axis=0)))
    return apply_colour_matrix(image, contrast_matrix(factor, mean / pixel_scale(image.dtype)))


def adjust_saturation(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the grey image by ``factor`` (1 = unchanged)."""
    return apply_colour_matrix(image, saturation_matrix(factor))


def adjust_hue(image: np.ndarray, shift: float) -> np.ndarray:
    """Rotate hue by ``shift`` turns."""
    return apply_colour_matrix(image, hue_matrix(shift))


def shades_of_gray(image: np.ndarray, power: float = 6.0) -> np.ndarray:
    """Shades-of-Gray colour constancy (Finlayson & Trezzi 2004): map the estimated illuminant to grey.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), uint8 or float32
    power : float
        Minkowski norm; 6 as in top ISIC 2018/2019 entries (1 is grey world).

    References
    ----------
    .. [1] Finlayson G., Trezzi E. "Shades of Gray and Colour Constancy." Color and Imaging
       Conference, 2004.
    """
    return apply_colour_matrix(image, shades_of_gray_matrix(illuminant(image, power, step=8)))


# ----------------------------------------------------------------------------
# Non-linear pixel operations
# ----------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _gamma_lut(gamma: float) -> np.ndarray:
    lut = np.clip(np.round(((np.arange(256) / 255.0) ** gamma) * 255.0), 0, 255).astype(np.uint8)
    lut.setflags(write=False)
    return lut


def adjust_gamma(image: np.ndarray, gamma: float) -> np.ndarray:
    """``x ** gamma`` on values in [0, 1] (a lookup table for uint8; gamma rounded to 4 decimals)."""
    if image.dtype == np.uint8:
        return cv2.LUT(image, _gamma_lut(round(float(gamma), 4)))
    return np.power(np.maximum(image, 0.0), np.float32(gamma)).astype(np.float32)


@lru_cache(maxsize=16)
def _radius(height: int, width: int) -> np.ndarray:
    """Distance from the centre, 1 at the corners."""
    yy = (np.arange(height) - (height - 1) / 2.0) / (height / 2.0)
    xx = (np.arange(width) - (width - 1) / 2.0) / (width / 2.0)
    r = (np.sqrt(yy[:, None] ** 2 + xx[None, :] ** 2) / math.sqrt(2.0)).astype(np.float32)
    r.setflags(write=False)
    return r


def vignette(image: np.ndarray, radius: float, strength: float) -> np.ndarray:
    """Darken outside a circle like a dermoscope's field of view.

    Parameters
    ----------
    radius : float
        Where darkening starts, as a fraction of the half-diagonal.
    strength : float
        How dark it gets (0: none, 1: black), reached 0.1 half-diagonals further out.
    """
    falloff = 1.0 - float(strength) * np.clip((_radius(*image.shape[:2]) - float(radius)) / 0.1, 0.0, 1.0)
    falloff = falloff.astype(np.float32)
    return cv2.multiply(image, cv2.merge([falloff] * 3), dtype=cv2.CV_8U if image.dtype == np.uint8 else cv2.CV_32F)


def cutout(image: np.ndarray, centre: tuple[float, float], side: float) -> np.ndarray:
    """Fill a square of ``side`` pixels centred at ``centre = (x, y)`` with the image mean."""
    height, width = image.shape[:2]
    cx, cy = (float(v) for v in centre)
    y0, y1 = int(max(cy - side / 2, 0)), int(min(cy + side / 2, height))
    x0, x1 = int(max(cx - side / 2, 0)), int(min(cx + side / 2, width))
    out = image.copy()
    out[y0:y1, x0:x1] = np.array(cv2.mean(image)[:3], dtype=np.float64).astype(image.dtype)
    return out
