"""A cheap lesion estimate, so hair removal can leave the lesion's own structures alone when no mask is given."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .._jit import jit
from ..validation import check_image, check_number
from ._kernels import _padded_unvisited, _take_component

__all__ = ["LESION_MARGIN", "estimate_lesion", "lesion_grid"]

#: How far (fraction of the short side) a lesion region is grown: structures reach past a drawn border.
LESION_MARGIN = 0.07


def estimate_lesion(image: np.ndarray, *, margin: float = LESION_MARGIN) -> np.ndarray:
    """Where the lesion probably is: a generous mask from the image alone (no model, about 0.3 ms).

    On a ~64-pixel-high copy: a closing (thin dark hair disappears), a
    blur, then a score of darkness (L*) plus brownness (b*), standardised
    over the dermoscope's field (an ellipse inside the frame, so a dark,
    neutral vignette does not dominate), and Otsu's threshold on it; the
    high-scoring components inside the field (the largest, and any over 2 %
    of it; not those lying mostly on its rim, a vignette's crescent), each filled to its convex hull (light regression, scale and
    crust within a lesion count too), grown by ``margin`` of the short side. It is meant to cover the lesion with room
    to spare (streaks and the network reach past a drawn border), not to
    outline it: HAM10000's official masks are inside it for most images.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), uint8 or float32 in [0, 1]
    margin : float
        Growth as a fraction of the short side.

    Returns
    -------
    ndarray of bool, shape (H, W)
        Empty when no dark region stands out (nothing to protect).

    Examples
    --------
    >>> from dermprep.synthetic import make_sample
    >>> sample = make_sample((150, 200), rng=1, hair=False)
    >>> guess = estimate_lesion(sample.image)
    >>> bool((guess & sample.lesion_mask).sum() > 0.9 * sample.lesion_mask.sum())
    True
    """
    image = check_image(image, "image", allow_batch=False, min_size=8)
    margin = check_number(margin, "margin", lower=0.0, upper=0.5)
    if image.dtype != np.uint8:
        image = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    return lesion_grid(image, image.shape[:2], margin)


_CLOSE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))


@lru_cache(maxsize=16)
def _field(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """The dermoscope's field (an ellipse inside the frame) and its outer rim, where vignettes lie, each as flat
    indices in raster order."""
    yy, xx = np.mgrid[0:h, 0:w]
    radius = np.sqrt(((yy - (h - 1) / 2) / (0.5 * h)) ** 2 + ((xx - (w - 1) / 2) / (0.5 * w)) ** 2)
    field, rim = np.flatnonzero(radius <= 0.95), np.flatnonzero((radius > 0.75) & (radius <= 0.95))
    for array in (field, rim):
        array.setflags(write=False)
    return field, rim


def lesion_grid(image: np.ndarray, size: tuple[int, int], margin: float = LESION_MARGIN) -> np.ndarray:
    """`estimate_lesion()` of a uint8 RGB image, at ``size = (rows, columns)`` (unchecked: for the kernels' callers)."""
    height, width = image.shape[:2]
    scale = 64.0 / min(height, width)
    small_size = (max(8, round(width * scale)), max(8, round(height * scale)))
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_LINEAR)
    small = cv2.morphologyEx(small, cv2.MORPH_CLOSE, _CLOSE)  # thin dark hair disappears
    lab8 = cv2.cvtColor(_gaussian_blur_5x5(small), cv2.COLOR_RGB2LAB)
    h, w = lab8.shape[:2]
    # the dermoscope's field: an ellipse inside the frame (dark vignettes stay out); only its pixels are scored
    field, rim = _field(h, w)
    scores = np.empty(field.size, np.uint8)
    if not _field_scores(lab8.reshape(-1), field, np.empty(2 * field.size, np.float32), scores):
        return np.zeros(size, bool)  # flat: no lesion stands out
    threshold, _ = cv2.threshold(scores.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    dark = np.zeros(h * w, np.uint8)
    _mark_above(scores, field, int(threshold), dark)
    labels = np.empty(h * w, np.int32)
    areas = _label_components(dark, h, w, labels)
    if areas.size <= 1:
        return np.zeros(size, bool)
    kept = _kept_components(labels, areas, rim, field.size).reshape(h, w)
    contours, _ = cv2.findContours(kept, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    region = np.zeros((h, w), np.uint8)
    # convex hulls: holes and bays filled (light regression, scale and crust inside a lesion are lesion too)
    cv2.drawContours(region, [cv2.convexHull(c) for c in contours], -1, 1, thickness=cv2.FILLED)
    grow = max(1, round(margin * 64))
    region = cv2.dilate(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    grid = np.empty(size, bool)
    _nearest_resize(region, grid)
    return grid


# ----------------------------------------------------------------------------
# The score, threshold and component choice in numba: one call each instead of some twenty small NumPy calls
# (0.2 ms of Python per image). The score is computed in float32 in NumPy's own order of operations (its
# pairwise sums included), so it is the same, to the last bit, as the NumPy statement in each docstring.
# ----------------------------------------------------------------------------

#: NumPy's pairwise summation: blocks of up to 128 elements, 8 running sums each.
_PAIRWISE_BLOCK = 128


@jit()
def _block_sum(a: np.ndarray, start: int, n: int) -> np.float32:
    """NumPy's sum of a block of at most `_PAIRWISE_BLOCK` float32 elements: 8 running sums, then the rest."""
    if n < 8:
        s = np.float32(0.0)
        for i in range(start, start + n):
            s += a[i]
        return s
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = start + 8
    whole = start + n - n % 8
    while i < whole:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    s = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < start + n:
        s += a[i]
        i += 1
    return s


@jit()
def _pairwise_sum(a: np.ndarray) -> np.float32:
    """``np.add.reduce(a)`` of a float32 ``a``, in NumPy's order, so rounded as NumPy rounds it: a block sum up
    to `_PAIRWISE_BLOCK` elements, else the sum of the two halves (the first a multiple of 8 long). Walked with
    an explicit stack: numba cannot cache a recursive function (a cached one crashed when loaded)."""
    if a.size <= _PAIRWISE_BLOCK:
        return _block_sum(a, 0, a.size)
    # tasks: (start, length, 0 = to split or sum, 1 = add the last two sums); at most 3 per level of halving
    starts, lengths, kinds = np.empty(192, np.int64), np.empty(192, np.int64), np.empty(192, np.int64)
    sums = np.empty(64, np.float32)
    starts[0], lengths[0], kinds[0] = 0, a.size, 0
    tasks, done = 1, 0
    while tasks:
        tasks -= 1
        start, n, kind = starts[tasks], lengths[tasks], kinds[tasks]
        if kind == 1:
            done -= 1
            sums[done - 1] = sums[done - 1] + sums[done]
        elif n <= _PAIRWISE_BLOCK:
            sums[done] = _block_sum(a, start, n)
            done += 1
        else:
            half = n // 2
            half -= half % 8
            # pushed in reverse: the first half is summed first, then the second, then the two added
            starts[tasks], lengths[tasks], kinds[tasks] = start, n, 1
            starts[tasks + 1], lengths[tasks + 1], kinds[tasks + 1] = start + half, n - half, 0
            starts[tasks + 2], lengths[tasks + 2], kinds[tasks + 2] = start, half, 0
            tasks += 3
    return sums[0]


@jit()
def _median_byte(lab: np.ndarray, field: np.ndarray, channel: int) -> float:
    """``np.median(lab.reshape(-1, 3)[field, channel])``, from the values' histogram."""
    counts = np.zeros(256, np.int64)
    for i in field:
        counts[lab[3 * i + channel]] += 1
    first, second = (field.size - 1) // 2, field.size // 2
    below = 0
    low = -1
    for value in range(256):
        below += counts[value]
        if low < 0 and below > first:
            low = value
        if below > second:
            return (low + value) / 2.0
    return 0.0  # not reached: the field is never empty


@jit()
def _add_standard(lab: np.ndarray, field: np.ndarray, channel: int, sign: float, weight: np.float32,
                  work: np.ndarray, total: np.ndarray) -> None:
    """``total += weight * standard`` with, for ``values = sign * lab.reshape(-1, 3)[field, channel]`` in float32,
    ``standard = (values - sign * median) / (float(values.std()) + 1e-6)``."""
    n = field.size
    values, squares = work[:n], work[n : 2 * n]
    s = np.float32(sign)
    for k in range(n):
        values[k] = s * np.float32(lab[3 * field[k] + channel])
    # np.std of float32: the mean and the mean square each a pairwise sum divided by the count in float64
    mean = np.float32(np.float64(_pairwise_sum(values)) / n)
    for k in range(n):
        d = values[k] - mean
        squares[k] = d * d
    std = np.sqrt(np.float32(np.float64(_pairwise_sum(squares)) / n))
    centre = np.float32(sign * _median_byte(lab, field, channel))
    spread = np.float32(np.float64(std) + 1e-6)
    for k in range(n):
        total[k] += weight * ((values[k] - centre) / spread)


@jit()
def _field_scores(lab: np.ndarray, field: np.ndarray, work: np.ndarray, scores: np.ndarray) -> bool:
    """Each field pixel's lesion score, darkness (L*) plus half its brownness (b*), each standardised over the
    field, rescaled to 0-255 (``np.clip((total - low) * (255 / (high - low)), 0, 255).astype(np.uint8)``) into
    ``scores``; False where the score is flat (no lesion stands out). ``lab`` is the flat L*a*b* image."""
    n = field.size
    total = np.zeros(n, np.float32)
    # lesions are darker and browner (more yellow in b*) than skin; a vignette is only darker
    _add_standard(lab, field, 0, -1.0, np.float32(1.0), work, total)
    _add_standard(lab, field, 2, 1.0, np.float32(0.5), work, total)
    low, high = total[0], total[0]
    for k in range(n):
        low = min(low, total[k])
        high = max(high, total[k])
    if np.float64(high) - np.float64(low) < 1e-3:
        return False
    factor = np.float32(255.0 / (np.float64(high) - np.float64(low)))
    for k in range(n):
        v = (total[k] - low) * factor
        scores[k] = np.uint8(min(max(v, np.float32(0.0)), np.float32(255.0)))
    return True


@jit()
def _mark_above(scores: np.ndarray, field: np.ndarray, threshold: int, dark: np.ndarray) -> None:
    """``dark[field] = scores > threshold``."""
    for k in range(field.size):
        dark[field[k]] = 1 if scores[k] > threshold else 0


@jit()
def _nearest_resize(region: np.ndarray, out: np.ndarray) -> None:
    """``cv2.resize(region, out.shape[::-1], interpolation=cv2.INTER_NEAREST)`` of a 0/1 uint8 image into the
    bool ``out``, to the last bit: output pixel (y, x) takes source pixel (floor(y / (H / h)), floor(x / (W / w))),
    in OpenCV's doubles, clamped to the source. In the calling thread: OpenCV resizes a large output (over 2^16
    pixels) in parallel, waking its thread pool."""
    height, width = region.shape
    rows, cols = out.shape
    x_scale, y_scale = 1.0 / (cols / width), 1.0 / (rows / height)
    source_x = np.empty(cols, np.int64)
    for x in range(cols):
        source_x[x] = min(np.int64(np.floor(x * x_scale)), width - 1)
    for y in range(rows):
        line, target = region[min(np.int64(np.floor(y * y_scale)), height - 1)], out[y]
        for x in range(cols):
            target[x] = line[source_x[x]] != 0


def _gaussian_blur_5x5(image: np.ndarray) -> np.ndarray:
    """``cv2.GaussianBlur(image, (5, 5), 0)`` of a C-contiguous uint8 RGB image of at least 3 x 3, to the last bit,
    in the calling thread (`_blur_rows_columns()`)."""
    out = np.empty_like(image)
    height, width = image.shape[:2]
    _blur_rows_columns(image.reshape(height, 3 * width), np.empty((height, 3 * width), np.uint16),
                       out.reshape(height, 3 * width))
    return out


@jit()
def _reflect_101(i: int, n: int) -> int:
    """OpenCV's default border: ``dcb|abcd|cba``."""
    if i < 0:
        return -i
    if i >= n:
        return 2 * n - 2 - i
    return i


@jit()
def _blur_rows_columns(image: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    """``cv2.GaussianBlur(image, (5, 5), 0)`` of an RGB image given as (H, 3 W) rows: OpenCV's bit-exact 8-bit
    Gaussian of 5 taps, (1 4 6 4 1) / 16 along rows, then columns, in exact integers (at most 256 x 255: uint16
    holds them), rounded half up once at the end; borders reflected (101).

    OpenCV blurs in parallel wherever it may use more than one thread, even an image 64 pixels high, so it
    woke its thread pool for every image, whose waiting took CPU from the batch's own workers
    (docs/hair-removal.md)."""
    height, flat = image.shape
    width = flat // 3
    for y in range(height):
        src, row = image[y], rows[y]
        # the interior: neighbours of a channel are 3 bytes apart. Indexed from j >= 0 up: an index numba cannot
        # prove non-negative (i - 6) is checked for wrapping around, which kept LLVM from vectorising (20x slower).
        for j in range(flat - 12):
            row[j + 6] = (np.uint16(src[j]) + np.uint16(src[j + 12]) + np.uint16(4) * (np.uint16(src[j + 3])
                          + np.uint16(src[j + 9])) + np.uint16(6) * np.uint16(src[j + 6]))
        for x in (0, 1, width - 2, width - 1):  # two columns at each side, neighbours reflected
            if x < 0 or (x >= 2 and x < width - 2):
                continue
            a, b = _reflect_101(x - 2, width), _reflect_101(x - 1, width)
            d, e = _reflect_101(x + 1, width), _reflect_101(x + 2, width)
            for c in range(3):
                row[3 * x + c] = (np.uint16(src[3 * a + c]) + np.uint16(src[3 * e + c])
                                  + np.uint16(4) * (np.uint16(src[3 * b + c]) + np.uint16(src[3 * d + c]))
                                  + np.uint16(6) * np.uint16(src[3 * x + c]))
    for y in range(height):
        ra, rb = rows[_reflect_101(y - 2, height)], rows[_reflect_101(y - 1, height)]
        rd, re = rows[_reflect_101(y + 1, height)], rows[_reflect_101(y + 2, height)]
        rc, dst = rows[y], out[y]
        for i in range(flat):
            dst[i] = np.uint8((ra[i] + re[i] + np.uint16(4) * (rb[i] + rd[i]) + np.uint16(6) * rc[i]
                               + np.uint16(128)) >> np.uint16(8))


@jit()
def _label_components(dark: np.ndarray, height: int, width: int, labels: np.ndarray) -> np.ndarray:
    """The 8-connected components of the flat 0/1 image ``dark`` (``height`` x ``width``), labelled 1, 2, ... in
    the raster order of their first pixels into ``labels`` (0: the background); returns each label's area, the
    background's first. The components and areas of ``cv2.connectedComponentsWithStats(dark, connectivity=8)``
    (which may number them otherwise; `_kept_components()` does not depend on the numbers): OpenCV labels in
    parallel wherever it may use more than one thread, and so woke its thread pool for every image, whose
    waiting took CPU from the batch's own workers (docs/hair-removal.md)."""
    n = height * width
    unvisited = _padded_unvisited(dark.reshape(height, width).view(np.bool_), np.zeros(0, np.uint8))
    rows, cols = np.empty(n + 1, np.int32), np.empty(n + 1, np.int32)
    areas = np.zeros(n + 1, np.int32)
    count = 1
    for start in range(n):
        labels[start] = 0
    for start in range(n):
        if dark[start] == 0:
            areas[0] += 1
        elif labels[start] == 0:
            areas[count] = _take_component(unvisited, width, start // width, start % width, rows, cols)
            for i in range(areas[count]):
                labels[rows[i] * width + cols[i]] = count
            count += 1
    return areas[:count]


@jit()
def _kept_components(labels: np.ndarray, areas: np.ndarray, rim: np.ndarray, field_size: int) -> np.ndarray:
    """The dark components kept, as a 0/1 image: the largest and any over 2 % of the field, not counting those
    lying mostly (over 60 %) on the field's rim (a vignette's crescent) unless every component does."""
    count = areas.size
    on_rim = np.zeros(count, np.int64)
    for i in rim:
        on_rim[labels[i]] += 1
    central = np.zeros(count, np.bool_)
    any_central = False
    for c in range(1, count):
        central[c] = on_rim[c] / np.float64(areas[c]) <= 0.6
        any_central |= central[c]
    largest = 0
    for c in range(1, count):
        if central[c] or not any_central:
            largest = max(largest, areas[c])
    kept = np.zeros(count, np.uint8)
    for c in range(1, count):
        area = areas[c] if central[c] or not any_central else 0
        kept[c] = area >= 0.02 * field_size or area == largest
    image = np.empty(labels.size, np.uint8)
    for i in range(labels.size):
        image[i] = kept[labels[i]]
    return image
