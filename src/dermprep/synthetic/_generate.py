"""Seeded dermoscopy-like images with lesions and simulated hair of known masks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..classes import CLASS_NAMES
from ..validation import (
    check_bool,
    check_image,
    check_int_range,
    check_positive_int,
    check_probability,
    check_range,
    check_rng,
    check_seed,
    check_size,
    is_integer,
)
from ._raster import rasterize_polyline

__all__ = [
    "SyntheticSample",
    "add_hair",
    "make_lesion_image",
    "make_sample",
    "make_batch",
    "HAM10000_CLASS_FREQUENCIES",
]

#: Class frequencies of HAM10000 (Tschandl et al. 2018), in ``CLASS_NAMES`` order.
HAM10000_CLASS_FREQUENCIES = np.array([327, 514, 1099, 115, 1113, 6705, 142], dtype=np.float64) / 10015.0

_REFERENCE_SHORT_SIDE = 450.0  # HAM10000 images are 600x450; sizes below are given at that scale.


@dataclass(frozen=True)
class SyntheticSample:
    """One synthetic dermoscopy image with its ground truth.

    Attributes
    ----------
    image : ndarray, shape (H, W, 3), uint8
        The image with simulated hair.
    clean : ndarray, shape (H, W, 3), uint8
        The same image without hair (the restoration target).
    hair_mask : ndarray, shape (H, W), bool
        True where a hair covers at least half of the pixel.
    lesion_mask : ndarray, shape (H, W), bool
        True inside the lesion.
    label : int
        Index into `dermprep.CLASS_NAMES` of the lesion's class.
    """

    image: np.ndarray
    clean: np.ndarray
    hair_mask: np.ndarray
    lesion_mask: np.ndarray
    label: int


# Class appearance: base RGB colour of the lesion, colour of its darker structures,
# typical radius (fraction of the short side), border irregularity, network/dot probability.
_CLASS_STYLE: dict[str, dict[str, Any]] = {
    "akiec": dict(color=(190, 110, 95), dark=(150, 80, 70), radius=(0.16, 0.28), irregular=0.22, network=0.0, dots=0.3, scale=0.6),
    "bcc": dict(color=(205, 140, 140), dark=(160, 95, 105), radius=(0.14, 0.26), irregular=0.15, network=0.0, dots=0.5, scale=0.2),
    "bkl": dict(color=(160, 110, 75), dark=(120, 80, 55), radius=(0.18, 0.32), irregular=0.10, network=0.2, dots=0.2, scale=0.3),
    "df": dict(color=(170, 115, 85), dark=(135, 90, 65), radius=(0.10, 0.18), irregular=0.06, network=0.5, dots=0.0, scale=0.0),
    "mel": dict(color=(110, 70, 55), dark=(55, 40, 45), radius=(0.20, 0.36), irregular=0.28, network=0.6, dots=0.8, scale=0.0),
    "nv": dict(color=(150, 95, 65), dark=(105, 65, 45), radius=(0.14, 0.30), irregular=0.07, network=0.7, dots=0.3, scale=0.0),
    "vasc": dict(color=(175, 60, 80), dark=(120, 30, 60), radius=(0.10, 0.22), irregular=0.10, network=0.0, dots=0.0, scale=0.0),
}


def _scale_of(shape: tuple[int, int]) -> float:
    return min(shape) / _REFERENCE_SHORT_SIDE


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Zero-mean, unit-std Gaussian-filtered noise field (float32)."""
    noise = rng.standard_normal(shape).astype(np.float32)
    if sigma > 0.3:
        noise = cv2.GaussianBlur(noise, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    std = float(noise.std())
    return noise / std if std > 0 else noise


def make_lesion_image(
    shape: tuple[int, int] = (450, 600),
    *,
    rng: Any = None,
    label: int | None = None,
    vignette: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Generate a hair-free dermoscopy-like image of skin with one lesion.

    Parameters
    ----------
    shape : (int, int)
        ``(height, width)`` of the image.
    rng : None, int or numpy.random.Generator
        Seed or generator; the same seed gives the same image.
    label : int, optional
        Class index (see `dermprep.CLASS_NAMES`) whose look the lesion takes;
        drawn from the HAM10000 class frequencies when omitted.
    vignette : bool, optional
        Darken the corners like a dermoscope's circular field of view; drawn
        with probability 0.25 when omitted.

    Returns
    -------
    image : ndarray, shape (H, W, 3), uint8
    lesion_mask : ndarray, shape (H, W), bool
    label : int
    """
    height, width = check_shape(shape)
    rng = check_rng(rng)
    if label is None:
        label = int(rng.choice(len(CLASS_NAMES), p=HAM10000_CLASS_FREQUENCIES))
    else:
        label = check_positive_int(label, "label", minimum=0, maximum=len(CLASS_NAMES) - 1)
    if vignette is not None:
        vignette = check_bool(vignette, "vignette")
    name = CLASS_NAMES[int(label)]
    scale = _scale_of((height, width))
    image = _skin(rng, (height, width), scale)
    lesion = _lesion_shape(rng, (height, width), _CLASS_STYLE[name])
    lesion_color = _lesion_colour(rng, lesion, name, scale)
    image = image * (1 - lesion.inside[..., None]) + lesion_color * lesion.inside[..., None]
    if vignette is None:
        vignette = bool(rng.uniform() < 0.25)
    if vignette:
        image = _darken_corners(rng, image, lesion)
    image = image + rng.normal(0.0, 1.2, image.shape)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8), lesion.mask, int(label)


def _skin(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """A dermoscopic skin tone, slow illumination changes, fine texture and sensor noise (float64 RGB)."""
    tone = rng.uniform(0.0, 1.0)
    skin = np.array([228 - 45 * tone, 178 - 55 * tone, 160 - 60 * tone]) + rng.normal(0, 6, 3)
    illumination = 1.0 + 0.05 * _smooth_noise(rng, shape, 60 * scale)
    texture = 3.0 * _smooth_noise(rng, shape, 1.5 * scale)
    return skin[None, None, :] * illumination[..., None] + texture[..., None]


@dataclass(frozen=True)
class _Lesion:
    """Where the lesion is: its centre, radius, boundary, soft and hard masks, and the pixel grid."""

    radius: float
    yy: np.ndarray
    xx: np.ndarray
    dist: np.ndarray
    boundary: np.ndarray
    inside: np.ndarray
    mask: np.ndarray


def _lesion_shape(rng: np.random.Generator, shape: tuple[int, int], style: dict[str, Any]) -> _Lesion:
    """An irregular star-shaped blob with a soft border, near the centre."""
    height, width = shape
    cy = height * (0.5 + rng.uniform(-0.12, 0.12))
    cx = width * (0.5 + rng.uniform(-0.12, 0.12))
    radius = min(height, width) * rng.uniform(*style["radius"])
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = np.arctan2(yy - cy, xx - cx)
    dist = np.hypot(yy - cy, xx - cx)
    boundary = np.ones_like(angle)
    for k in range(2, 7):
        amp = style["irregular"] * rng.uniform(0.2, 1.0) / (k - 1)
        boundary += amp * np.cos(k * angle + rng.uniform(0, 2 * np.pi))
    edge = max(1.0, radius * rng.uniform(0.02, 0.07))
    inside = 1.0 / (1.0 + np.exp(np.clip((dist - radius * boundary) / edge, -30, 30)))
    return _Lesion(radius, yy, xx, dist, boundary, inside, inside > 0.5)


def _lesion_colour(rng: np.random.Generator, lesion: _Lesion, name: str, scale: float) -> np.ndarray:
    """The lesion's pigment: darker towards the centre, blotchy, in its class's colours, with its structures."""
    style = _CLASS_STYLE[name]
    shape, radius = lesion.dist.shape, lesion.radius
    centre_weight = np.clip(1.0 - lesion.dist / (radius * lesion.boundary + 1e-6), 0.0, 1.0) ** 0.7
    blotch = _smooth_noise(rng, shape, 0.15 * radius)
    color = np.array(style["color"], dtype=np.float32) + rng.normal(0, 8, 3)
    dark = np.array(style["dark"], dtype=np.float32) + rng.normal(0, 6, 3)
    mix = np.clip(0.55 * centre_weight + 0.25 * blotch, 0.0, 1.0)[..., None]
    lesion_color = color * (1 - mix) + dark * mix + 2.0 * _smooth_noise(rng, shape, 1.0 * scale)[..., None]
    if name == "mel" and rng.uniform() < 0.6:  # blue-grey veil
        veil = np.clip(_smooth_noise(rng, shape, 0.25 * radius) - 0.5, 0, 1)[..., None]
        lesion_color = lesion_color * (1 - 0.6 * veil) + np.array([95, 100, 125], np.float32) * 0.6 * veil

    structure = np.zeros(shape, np.float32)
    if rng.uniform() < style["network"]:
        structure += _pigment_network(rng, lesion.dist, radius * lesion.boundary, scale) * rng.uniform(14, 30)
    if rng.uniform() < style["dots"]:
        structure += _dots(rng, shape, lesion.mask, scale) * rng.uniform(25, 55)
    lesion_color = lesion_color - structure[..., None] * np.array([1.0, 0.8, 0.7], np.float32)
    if style["scale"] > 0 and rng.uniform() < style["scale"]:  # whitish scale / shiny areas
        scale_field = np.clip(_smooth_noise(rng, shape, 0.08 * radius) - 0.8, 0, 1)
        lesion_color = lesion_color + 45 * scale_field[..., None]
    return lesion_color


def _darken_corners(rng: np.random.Generator, image: np.ndarray, lesion: _Lesion) -> np.ndarray:
    """A dermoscope's circular field of view: the corners fall off to near black."""
    height, width = lesion.dist.shape
    field = np.hypot((lesion.yy - height / 2) / (height / 2), (lesion.xx - width / 2) / (width / 2))
    r0 = rng.uniform(0.95, 1.25)
    falloff = np.clip((field - r0) / 0.08, 0, 1)[..., None]
    return image * (1 - falloff) + 8.0 * falloff


def _pigment_network(rng: np.random.Generator, dist: np.ndarray, extent: np.ndarray, scale: float) -> np.ndarray:
    """Honeycomb-like pigment network (Voronoi cell borders) fading towards the border."""
    height, width = dist.shape
    cell = rng.uniform(10, 18) * scale
    grid_y = np.arange(0, height + cell, cell)
    grid_x = np.arange(0, width + cell, cell)
    gy, gx = np.meshgrid(grid_y, grid_x, indexing="ij")
    seeds_y = (gy + rng.uniform(-0.35, 0.35, gy.shape) * cell).astype(np.float32)
    seeds_x = (gx + rng.uniform(-0.35, 0.35, gx.shape) * cell).astype(np.float32)
    # Distance to the nearest and second-nearest seed among the 3x3 neighbouring cells.
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    iy = np.clip(np.rint(yy / cell).astype(int), 0, gy.shape[0] - 1)
    ix = np.clip(np.rint(xx / cell).astype(int), 0, gy.shape[1] - 1)
    d1 = np.full((height, width), np.inf, np.float32)
    d2 = np.full((height, width), np.inf, np.float32)
    for oy in (-1, 0, 1):
        for ox in (-1, 0, 1):
            jy = np.clip(iy + oy, 0, gy.shape[0] - 1)
            jx = np.clip(ix + ox, 0, gy.shape[1] - 1)
            d = np.hypot(yy - seeds_y[jy, jx], xx - seeds_x[jy, jx])
            d2 = np.where(d < d1, d1, np.minimum(d2, d))
            d1 = np.minimum(d1, d)
    line_width = rng.uniform(1.2, 2.2) * scale
    lines = np.clip(1.0 - (d2 - d1) / (2 * line_width), 0, 1)
    fade = np.clip((extent - dist) / (0.25 * extent + 1e-6), 0, 1)
    return (lines * fade).astype(np.float32)


def _dots(rng: np.random.Generator, shape: tuple[int, int], region: np.ndarray, scale: float) -> np.ndarray:
    """Dark dots and globules (radius 1-5 px at 600x450) scattered in ``region``."""
    out = np.zeros(shape, np.float32)
    ys, xs = np.nonzero(region)
    if ys.size == 0:
        return out
    count = int(rng.integers(8, 40))
    pick = rng.integers(0, ys.size, count)
    for y, x in zip(ys[pick], xs[pick], strict=True):
        r = rng.uniform(1.0, 5.0) * scale
        cv2.circle(out, (int(x), int(y)), max(1, int(round(r))), 1.0, thickness=-1, lineType=cv2.LINE_AA)
    return cv2.GaussianBlur(out, (0, 0), sigmaX=0.6 * max(scale, 0.5))


def add_hair(
    image: np.ndarray,
    *,
    rng: Any = None,
    num_hairs: int | tuple[int, int] = (6, 30),
    width_range: tuple[float, float] = (1.0, 4.0),
    light_fraction: float = 0.2,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw realistic simulated hair onto an image.

    Hairs are smooth random curves (slowly changing curvature) that taper
    towards their tip, anti-aliased, dark (black/brown) or, with probability
    ``light_fraction``, light (blond/grey/white), slightly translucent, and
    placed anywhere, including across the lesion.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), uint8 or float32
        The hair-free image (not modified).
    rng : None, int or numpy.random.Generator
        Seed or generator.
    num_hairs : int or (int, int)
        Number of hairs, or an inclusive range to draw it from.
    width_range : (float, float)
        Hair width in pixels *at 600x450*; scaled with the image's short side.
    light_fraction : float
        Probability that a hair is light rather than dark.

    Returns
    -------
    hairy : ndarray, same shape and dtype as ``image``
    hair_mask : ndarray, shape (H, W), bool
        True where a hair covers at least half of the pixel.
    """
    image = check_image(image, "image", allow_batch=False, min_size=8)
    rng = check_rng(rng)
    hairs = _check_num_hairs(num_hairs)
    wlo, whi = check_range(width_range, "width_range", lower=0.3, upper=64)
    light_fraction = check_probability(light_fraction, "light_fraction")
    count = hairs if isinstance(hairs, int) else int(rng.integers(hairs[0], hairs[1] + 1))

    height, width = image.shape[:2]
    scale = _scale_of((height, width))
    is_uint8 = image.dtype == np.uint8
    out = image.astype(np.float32) / (255.0 if is_uint8 else 1.0)
    hair_mask = np.zeros((height, width), bool)
    coverage = np.zeros((height, width), np.float32)
    diag = float(np.hypot(height, width))
    for _ in range(count):
        points, widths = _hair_path(rng, height, width, diag, scale, wlo, whi)
        coverage[:] = 0.0
        rasterize_polyline(points, widths, coverage)
        if rng.uniform() < light_fraction:
            v = rng.uniform(0.78, 0.95)
            color = np.array([v, v * rng.uniform(0.93, 1.0), v * rng.uniform(0.82, 0.98)], np.float32)
        else:
            v = rng.uniform(0.08, 0.30)
            color = np.array([v * 1.15, v * 0.95, v * 0.85], np.float32)
        opacity = rng.uniform(0.85, 1.0)
        alpha = (coverage * opacity)[..., None]
        out = out * (1.0 - alpha) + color[None, None, :] * alpha
        hair_mask |= coverage >= 0.5
    out = np.clip(out, 0.0, 1.0)
    if is_uint8:
        return (out * 255.0 + 0.5).astype(np.uint8), hair_mask
    return out.astype(np.float32), hair_mask


def _check_num_hairs(num_hairs: Any) -> int | tuple[int, int]:
    """A number of hairs (an integer >= 0) or an inclusive (low, high) range to draw it from."""
    if is_integer(num_hairs):
        return check_positive_int(num_hairs, "num_hairs", minimum=0)
    if isinstance(num_hairs, (tuple, list)) and len(num_hairs) == 2 and all(is_integer(v) for v in num_hairs):
        return check_int_range(num_hairs, "num_hairs", lower=0)
    raise TypeError(f"num_hairs must be an integer >= 0 or a (low, high) pair of integers; got {num_hairs!r}")


def _hair_path(
    rng: np.random.Generator,
    height: int,
    width: int,
    diag: float,
    scale: float,
    wlo: float,
    whi: float,
) -> tuple[np.ndarray, np.ndarray]:
    """A smooth random curve with a tapering width profile."""
    step = 2.0
    length = rng.uniform(0.25, 1.0) * diag
    n = max(3, int(length / step))
    y = rng.uniform(-0.1, 1.1) * height
    x = rng.uniform(-0.1, 1.1) * width
    heading = rng.uniform(0, 2 * np.pi)
    curvature = rng.normal(0.0, 1.2 / diag)  # a slow bend
    wobble = np.cumsum(rng.normal(0.0, 0.02, n)) * 0.3  # slowly wandering direction
    angles = heading + curvature * step * np.arange(n) + wobble
    ys = y + np.concatenate([[0.0], np.cumsum(step * np.sin(angles[:-1]))])
    xs = x + np.concatenate([[0.0], np.cumsum(step * np.cos(angles[:-1]))])
    base = rng.uniform(wlo, whi) * scale
    s = np.linspace(0.0, 1.0, n)
    taper = 1.0 - 0.75 * np.clip((s - 0.6) / 0.4, 0.0, 1.0) ** 1.5  # thins towards the tip
    if rng.uniform() < 0.5:
        taper = taper[::-1]
    widths = np.maximum(base * taper * rng.uniform(0.9, 1.1, n), 0.3)
    return np.stack([ys, xs], axis=1).astype(np.float64), widths.astype(np.float64)


def make_sample(
    shape: tuple[int, int] = (450, 600),
    *,
    rng: Any = None,
    label: int | None = None,
    hair: bool = True,
    num_hairs: int | tuple[int, int] = (6, 30),
    width_range: tuple[float, float] = (1.0, 4.0),
    light_fraction: float = 0.2,
    vignette: bool | None = None,
) -> SyntheticSample:
    """Generate one image with a lesion and (optionally) hair, with ground truth.

    Parameters
    ----------
    shape : (int, int)
        ``(height, width)``; HAM10000's native size is (450, 600).
    rng : None, int or numpy.random.Generator
        Seed or generator; the same seed gives the same sample.
    label : int, optional
        Class index; drawn from HAM10000's class frequencies when omitted.
    hair : bool
        Whether to draw hair (``False`` gives an empty hair mask).
    num_hairs, width_range, light_fraction
        Passed to `add_hair()`.
    vignette : bool, optional
        Passed to `make_lesion_image()`.

    Returns
    -------
    SyntheticSample

    Examples
    --------
    >>> from dermprep.synthetic import make_sample
    >>> s = make_sample((150, 200), rng=0)
    >>> s.image.shape, s.image.dtype, s.hair_mask.dtype
    ((150, 200, 3), dtype('uint8'), dtype('bool'))
    >>> bool((s.image[s.hair_mask] != s.clean[s.hair_mask]).any())
    True
    """
    rng = check_rng(rng)
    clean, lesion_mask, label = make_lesion_image(shape, rng=rng, label=label, vignette=vignette)
    if check_bool(hair, "hair"):
        image, hair_mask = add_hair(
            clean, rng=rng, num_hairs=num_hairs, width_range=width_range, light_fraction=light_fraction
        )
    else:
        image, hair_mask = clean.copy(), np.zeros(clean.shape[:2], bool)
    return SyntheticSample(image=image, clean=clean, hair_mask=hair_mask, lesion_mask=lesion_mask, label=label)


def make_batch(
    n: int,
    shape: tuple[int, int] = (450, 600),
    *,
    seed: int = 0,
    **options: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Generate ``n`` samples as stacked arrays.

    Sample ``i`` is ``make_sample(shape, rng=[seed, i], **options)``, so any
    sample can be regenerated on its own.

    Returns
    -------
    images : ndarray, shape (n, H, W, 3), uint8
    clean : ndarray, shape (n, H, W, 3), uint8
    hair_masks : ndarray, shape (n, H, W), bool
    labels : ndarray, shape (n,), int64
    """
    n = check_positive_int(n, "n")
    seed = check_seed(seed)
    samples = [make_sample(shape, rng=np.random.default_rng([seed, i]), **options) for i in range(n)]
    return (
        np.stack([s.image for s in samples]),
        np.stack([s.clean for s in samples]),
        np.stack([s.hair_mask for s in samples]),
        np.array([s.label for s in samples], dtype=np.int64),
    )


def check_shape(shape: Any) -> tuple[int, int]:
    """An image shape ``(height, width)`` (or one int for a square), at least 16x16."""
    return check_size(shape, "shape", minimum=16)
