"""A second hair simulator, independent of `add_hair()`, with its ranges set by measurements of real hair.

`add_hair()` (the first simulator) paints opaque, anti-aliased curves of
an absolute colour; dermprep's hair removal was tuned on it, so it cannot be
the only judge. This one differs in every part of the model:

- **optics**: hair attenuates the skin under it (a transmittance per
  channel, multiplied in), so it is semi-transparent and takes the skin's
  colour and shading; light hair brightens instead;
- **cross-section**: a soft Gaussian profile whose full width at half
  maximum is the hair's width, with a faint, wider shadow beside it;
- **shape**: a heading that drifts (curvature), a width that tapers to the
  tip, hairs in clumps of near-parallel strands;
- **rendering**: distance to a dense centre line (OpenCV's distance
  transform), not polygon coverage.

Its ranges come from ``experiments/measure_hair.py`` on 20 real hairy
600x450 HAM10000 images (``experiments/results/hair_measurements.json``):
widths 2-4.4 px (median 2, 95th percentile 4.4), centre transmittance of
dark hair (R, G, B) from (0.53, 0.37, 0.37) to (0.90, 0.85, 0.83) (5th to
75th percentile; median 0.83, 0.73, 0.72), 15 % light hair at about 1.04-1.09.
Long hairs are gently curved (end-to-end over path length about 0.95, by
eye on the hairy samples; the measured skeleton ratio, median 0.77, also
counts fragments of detection).

``density="dense"`` is the thicket regime: strands are laid until hair
covers a fraction of the image drawn from 20-50 % (the hairiest real images
measure 15-30 % over the whole image and 21-43 % in their densest quarter:
``experiments/measure_hair.py --what coverage`` ->
``experiments/results/hair_coverage.json``), most of them in clumps of 3-10
near-parallel strands 1.5-5 px apart that touch and cross other clumps.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import cv2
import numpy as np

from ..validation import check_choice, check_image, check_int_range, check_probability, check_range, check_rng

__all__ = ["simulate_hair"]

_DARK_CENTRE = np.array([[0.53, 0.37, 0.37], [0.90, 0.85, 0.83]])  # transmittance range (5th-75th percentile)
_LIGHT_CENTRE = np.array([[1.03, 1.05, 1.06], [1.12, 1.15, 1.17]])
_REFERENCE_SHORT_SIDE = 450.0
_DENSE_COVERAGE = (0.2, 0.5)  # fraction of the image the hair's core covers in the dense regime
_DENSE_CLUMP = (3, 10)  # strands per clump (dense); 2-4 otherwise
_DENSE_SPACING = (1.5, 5.0)  # px between neighbouring strands of a clump at 600x450 (dense); 3-9 otherwise


def simulate_hair(
    image: np.ndarray,
    *,
    rng: Any = None,
    density: Literal["sparse", "dense"] = "sparse",
    num_hairs: tuple[int, int] | None = None,
    width_range: tuple[float, float] = (1.8, 4.4),
    light_fraction: float = 0.15,
    clump_probability: float = 0.3,
    shadow: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Lay simulated hair over a hair-free image (see the module docstring for the model).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), uint8 or float32 in [0, 1]
        A hair-free image (not modified).
    rng : None, int or numpy.random.Generator
    density : {"sparse", "dense"}
        ``"dense"``: hair over 20-50 % of the image, mostly clumps of 3-10 touching strands, crossing.
    num_hairs : (int, int), optional
        Sparse only: inclusive range of the number of strands, clumps included (default ``(6, 28)``).
    width_range : (float, float)
        Full width at half maximum, in pixels at 600x450 (scaled with the short side).
    light_fraction : float
        Probability that a clump is light (blond, grey, white).
    clump_probability : float
        Probability that a strand starts a clump of near-parallel strands (2-4 of them; 3-10 when
        dense, where it is at least 0.7).
    shadow : bool
        Draw each hair's faint shadow.

    Returns
    -------
    hairy : ndarray, same shape and dtype as ``image``
    hair_mask : ndarray of bool, shape (H, W)
        Where a hair's profile is at least half its peak: the hair's width, tapered tips included.

    Examples
    --------
    >>> import numpy as np
    >>> hairy, mask = simulate_hair(np.full((150, 200, 3), 200, np.uint8), rng=0)
    >>> bool(mask.any()) and bool((hairy[mask] < 200).any())
    True
    """
    image = check_image(image, "image", allow_batch=False, min_size=16)
    rng = check_rng(rng)
    dense, num_hairs, width_range = _check_layout(density, num_hairs, width_range)
    light_fraction = check_probability(light_fraction, "light_fraction")
    clump_probability = check_probability(clump_probability, "clump_probability")
    if not isinstance(shadow, (bool, np.bool_)):
        raise TypeError(f"shadow must be True or False; got {shadow!r}")
    is_uint8 = image.dtype == np.uint8
    skin = image.astype(np.float32) / (255.0 if is_uint8 else 1.0)
    transmittance, mask = _lay_hair(rng, image.shape[:2], dense, num_hairs, width_range, light_fraction,
                                    clump_probability, shadow)
    hairy = np.clip(skin * transmittance, 0.0, 1.0)
    if is_uint8:
        return (hairy * 255.0 + 0.5).astype(np.uint8), mask
    return hairy.astype(np.float32), mask


def _check_layout(density: Any, num_hairs: Any, width_range: Any) -> tuple[bool, tuple[int, int],
                                                                           tuple[float, float]]:
    """Whether the regime is dense, and the checked strand count and width ranges."""
    dense = check_choice(density, "density", ("sparse", "dense")) == "dense"
    if dense and num_hairs is not None:
        raise TypeError(f"num_hairs applies to density='sparse' (dense hair is laid to a coverage); got {num_hairs!r}")
    counts = check_int_range((6, 28) if num_hairs is None else num_hairs, "num_hairs", lower=0, upper=500)
    return dense, counts, check_range(width_range, "width_range", lower=0.5, upper=30.0)


def _lay_hair(rng: np.random.Generator, shape: tuple[int, int], dense: bool, num_hairs: tuple[int, int],
              width_range: tuple[float, float], light_fraction: float, clump_probability: float,
              shadow: bool) -> tuple[np.ndarray, np.ndarray]:
    """The hair's transmittance (H, W, 3) and core mask: ``num_hairs`` strands, or to a coverage when dense."""
    transmittance = np.ones((*shape, 3), np.float32)
    mask = np.zeros(shape, bool)
    coverage = 0.0
    if dense:
        coverage = rng.uniform(*_DENSE_COVERAGE)
        clump_probability = max(clump_probability, 0.7)
    target = int(rng.integers(num_hairs[0], num_hairs[1] + 1))
    drawn = 0
    while (mask.mean() < coverage and drawn < 5000) if dense else drawn < target:
        if rng.uniform() >= clump_probability:
            strands = 1
        else:
            strands = int(rng.integers(_DENSE_CLUMP[0], _DENSE_CLUMP[1] + 1)) if dense else 1 + int(rng.integers(1, 4))
        strands = strands if dense else min(strands, target - drawn)
        _lay_clump(rng, strands, transmittance, mask, dense=dense, light=rng.uniform() < light_fraction,
                   width_range=width_range, shadow=shadow)
        drawn += strands
    return transmittance, mask


def _lay_clump(rng: np.random.Generator, strands: int, transmittance: np.ndarray, mask: np.ndarray, *, dense: bool,
               light: bool, width_range: tuple[float, float], shadow: bool) -> None:
    """Multiply one clump of near-parallel strands into ``transmittance`` and add their cores to ``mask``."""
    height, width = mask.shape
    scale = min(height, width) / _REFERENCE_SHORT_SIDE
    wlo, whi = width_range
    base = _path(rng, height, width, scale, long=dense)
    centre = _LIGHT_CENTRE if light else _DARK_CENTRE
    spacing = _DENSE_SPACING if dense else (3.0, 9.0)
    for k in range(strands):
        offset = 0.0 if k == 0 else rng.uniform(*spacing) * scale * (1 if k % 2 else -1) * math.ceil(k / 2)
        path = _offset(base, offset, rng.normal(0.0, 0.03))
        hair_width = math.exp(rng.uniform(math.log(wlo), math.log(whi))) * scale
        level = rng.uniform()
        peak = centre[0] + (centre[1] - centre[0]) * level * rng.uniform(0.9, 1.1, 3)
        profile, core = _render(path, hair_width, rng, height, width)
        transmittance *= 1.0 - (1.0 - peak[None, None, :].astype(np.float32)) * profile[..., None]
        if shadow and not light:  # a faint, wider darkening beside the hair (fainter in thickets: it adds up)
            shifted = np.roll(profile, (1, 1), axis=(0, 1))
            blurred = cv2.GaussianBlur(shifted, (0, 0), max(1.0, hair_width))
            transmittance *= 1.0 - (0.03 if dense else 0.06) * blurred[..., None]
        mask |= core


def _path(rng: np.random.Generator, height: int, width: int, scale: float, *, long: bool = False) -> np.ndarray:
    """A hair's centre line (n, 2) of (x, y) points 0.5 px apart, its heading drifting smoothly.

    ``long``: 0.5-1.3 diagonals (thickets of long hair) instead of 0.15-1.3.
    """
    diagonal = math.hypot(height, width)
    length = diagonal * math.exp(rng.uniform(math.log(0.5 if long else 0.15), math.log(1.3)))
    start = np.array([rng.uniform(-0.1, 1.1) * width, rng.uniform(-0.1, 1.1) * height])
    heading = rng.uniform(0.0, 2.0 * math.pi)
    steps = max(8, int(length / 0.5))
    # curvature: a slowly varying turn rate (long paths end to end over length: median 0.96)
    knots = max(2, int(length / (60.0 * scale)) + 2)
    turns = rng.normal(0.0, (0.0035 if long else 0.007) / max(scale, 0.25), knots)  # thickets: long, smooth arcs
    turn = np.interp(np.linspace(0, knots - 1, steps), np.arange(knots), turns)
    angles = heading + np.cumsum(turn) * (0.5 / max(scale, 0.25))
    points = start + np.cumsum(0.5 * np.stack([np.cos(angles), np.sin(angles)], axis=1), axis=0)
    return points


def _offset(points: np.ndarray, distance: float, rotation: float) -> np.ndarray:
    """A strand beside ``points``: shifted sideways by ``distance`` and turned slightly about its start."""
    direction = points[-1] - points[0]
    normal = np.array([-direction[1], direction[0]]) / max(np.linalg.norm(direction), 1e-6)
    c, s = math.cos(rotation), math.sin(rotation)
    turned = (points - points[0]) @ np.array([[c, s], [-s, c]]) + points[0]
    return turned + distance * normal


def _render(points: np.ndarray, hair_width: float, rng: np.random.Generator, height: int,
            width: int) -> tuple[np.ndarray, np.ndarray]:
    """The hair's profile (0-1, peak 1 on the centre line) and its core (profile >= 0.5)."""
    n = len(points)
    # the width tapers to a tip at one end over 15-35 % of the length
    taper = rng.uniform(0.15, 0.35)
    along = np.linspace(0.0, 1.0, n)
    local = hair_width * np.clip(along / taper, 0.15, 1.0) if rng.uniform() < 0.5 else \
        hair_width * np.clip((1.0 - along) / taper, 0.15, 1.0)
    inside = (points[:, 0] >= -2) & (points[:, 0] < width + 2) & (points[:, 1] >= -2) & (points[:, 1] < height + 2)
    profile = np.zeros((height, width), np.float32)
    if not inside.any():
        return profile, profile > 0.5
    xs = np.clip(np.rint(points[inside, 0]).astype(np.int64), 0, width - 1)
    ys = np.clip(np.rint(points[inside, 1]).astype(np.int64), 0, height - 1)
    widths = local[inside]
    # Only the path's bounding box, grown by the profile's reach (3 half-widths), is rendered.
    reach = int(math.ceil(3.0 * max(float(widths.max()) / 2.0, 0.3))) + 2
    y0, y1 = max(int(ys.min()) - reach, 0), min(int(ys.max()) + reach + 1, height)
    x0, x1 = max(int(xs.min()) - reach, 0), min(int(xs.max()) + reach + 1, width)
    ys, xs = ys - y0, xs - x0
    canvas = np.ones((y1 - y0, x1 - x0), np.uint8)
    canvas[ys, xs] = 0
    cell_width = np.zeros(canvas.shape, np.float32)
    np.maximum.at(cell_width, (ys, xs), widths.astype(np.float32))
    distance, labels = cv2.distanceTransformWithLabels(canvas, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    # the width at the nearest centre-line pixel (labels number the zero pixels in scan order)
    zero_y, zero_x = np.nonzero(canvas == 0)
    width_of_label = np.zeros(labels.max() + 1, np.float32)
    width_of_label[labels[zero_y, zero_x]] = cell_width[zero_y, zero_x]
    local_width = width_of_label[labels]
    half = np.maximum(local_width / 2.0, 0.3)
    box = np.exp(-math.log(2.0) * (distance / half) ** 2).astype(np.float32)
    box[distance > 3.0 * half] = 0.0
    profile[y0:y1, x0:x1] = box
    return profile, profile >= 0.5
