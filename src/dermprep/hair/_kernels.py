"""Private numba kernels of the Dull Razor hair-removal algorithm.

No checks happen here: callers pass C-contiguous arrays of the documented
dtypes (see `dermprep.hair._dullrazor`). Every kernel is ``nogil`` and serial:
a batch runs one image per worker thread (`dermprep.hair._dullrazor._run_batch`).

The stages follow Lee et al. (1997), on a pyramid level of factor ``pool``
(2 at HAM10000's 600x450, 1 below 300 px):

1. pooling: 2x2 minimum (dark hair survives it) and maximum (light hair
   survives it) of every channel;
2. per-channel generalised grey closing ``max_theta closing_theta`` with
   linear structuring elements at 0, 45, 90 and 135 degrees; its residue is
   large on thin dark structures. Light hair: the generalised opening of
   ``max(max-pooled, closed)`` (dark hair already filled, so the skin between
   two close dark hairs is not mistaken for light hair);
3. thresholding and verification that a candidate is long and thin, by
   walking digital lines in 16 or 32 orientations; hysteresis growth into weaker
   residues next to verified hair; lesion safety: structures touching the
   (estimated or given) lesion region are kept only if they continue
   outside it or are long, thin and dark (hair), never if they look like
   pigment network, dots, streaks or white lines;
4. thickets: where candidates fill a large share of a neighbourhood (outside
   the lesion), the closing cannot bridge the hair; there the background is
   raised to a generalised closing one level up (twice as long), and every
   cell over the threshold against it is hair;
5. full-resolution mask: a pixel near kept hair is hair when its own
   residue against the pooled background reaches half the local hair
   contrast (so the mask follows the hair's real width);
6. replacement: the mask, dilated and grown through the hair's faint edges,
   is filled from the hair-free pixels around it by pyramid push-pull
   (`._pushpull`: no preferred direction, so no strokes); optionally
   smoothed with a 3x3 mean.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit
from ._bits import copy_array, dilate_once, fill_array, set_coords, tail_word, trailing_zeros
from ._pushpull import push_pull_fill, smooth_region
from ._workspace import mark, release, start_image, take_bool, take_i8, take_i32, take_u8

# ----------------------------------------------------------------------------
# Morphology on padded, flattened uint8 planes. A plane of an (h, w) image is
# stored as (h + 2 pad) x (w + 2 pad) flat array; a linear structuring element
# in orientation ``o`` is a flat-index step. Working on slices lets LLVM
# vectorise the inner loops (about 20x faster than indexed loops here).
# ----------------------------------------------------------------------------


@jit()
def _pairwise(a: np.ndarray, b: np.ndarray, out: np.ndarray, take_max: bool) -> None:
    """``out = max(a, b)`` (or min) of three equal-length slices (a separate loop each: LLVM vectorises it)."""
    if take_max:
        for j in range(out.size):
            x = a[j]
            y = b[j]
            out[j] = x if x > y else y
    else:
        for j in range(out.size):
            x = a[j]
            y = b[j]
            out[j] = x if x < y else y


@jit()
def _triple(a: np.ndarray, b: np.ndarray, c: np.ndarray, out: np.ndarray, take_max: bool) -> None:
    """``out = max(a, b, c)`` (or min) of four equal-length slices (one loop each way: LLVM vectorises it)."""
    if take_max:
        for j in range(out.size):
            x = a[j]
            y = b[j]
            z = c[j]
            x = x if x > y else y
            out[j] = x if x > z else z
    else:
        for j in range(out.size):
            x = a[j]
            y = b[j]
            z = c[j]
            x = x if x < y else y
            out[j] = x if x < z else z


@jit()
def _line_extreme(src: np.ndarray, dst: np.ndarray, scratch: np.ndarray, start: int, stop: int, step: int, k: int,
                  take_max: bool) -> None:
    """``dst[i] = max(src[i - k step], ..., src[i + k step])`` (or min) for i in [start, stop).

    By tripling: windows of 3, 9, ... M <= 2 k + 1 samples (one pass each, over three windows of the last
    size), then the two or three windows of M that cover [i - k, i + k]: for k = 3 (600x450 images), two
    passes instead of the three of doubling, or the seven of one sample at a time. ``step`` > 0;
    ``scratch`` is (2, len(src)).
    """
    lo, hi = start - k * step, stop + k * step
    m = 1
    current = src
    which = 0
    while 3 * m <= 2 * k + 1:
        end = hi - (3 * m - 1) * step  # the window of 3m from j must lie in [lo, hi)
        target = scratch[which]
        _triple(current[lo:end], current[lo + m * step: end + m * step], current[lo + 2 * m * step: end + 2 * m * step],
                target[lo:end], take_max)
        current, which, m = target, 1 - which, 3 * m
    # windows of m (m <= 2k + 1 < 3m) from i - k and ending at i + k; a third between them if two leave a gap
    first, last = start - k * step, start + (k - m + 1) * step
    if m == 2 * k + 1:
        copy_array(current[first: first + (stop - start)], dst[start:stop])
    elif 2 * m >= 2 * k + 1:
        _pairwise(current[first: first + (stop - start)], current[last: last + (stop - start)], dst[start:stop],
                  take_max)
    else:
        middle = first + m * step
        _triple(current[first: first + (stop - start)], current[middle: middle + (stop - start)],
                current[last: last + (stop - start)], dst[start:stop], take_max)


@jit()
def _extend_along_lines(buf: np.ndarray, hp: int, wp: int, pad: int, dy: int, dx: int) -> None:
    """Fill a padded plane's padding along the lines of direction (dy, dx): every padding element on a line
    through the interior, up to ``pad`` beyond it, takes the value of the line's last interior element. Elements on
    no such line are left as they are: what is computed from them lands only outside the interior, which no
    result reads.

    A line leaves the interior through a side row (every element of it, when the line is not horizontal) or
    a side column (when it is not vertical); each element beyond is on one line only, so the order of the
    copies does not matter. A row's elements go out together: one contiguous copy per step, which LLVM
    vectorises.
    """
    top, bottom, left, right = pad, hp - pad - 1, pad, wp - pad - 1
    width = right - left + 1
    # Through slices: an index that is a sum of variables (target + x) is checked for wrapping around below 0,
    # which kept LLVM from vectorising the copies (this function took longer than the closing's passes).
    for sign in (1, -1):
        sy, sx = sign * dy, sign * dx
        if sy != 0:  # the whole top or bottom row leaves through it
            row = top if sy < 0 else bottom
            source = buf[row * wp + left: row * wp + left + width]
            for s in range(1, pad + 1):
                target = (row + s * sy) * wp + s * sx + left
                copy_array(source, buf[target: target + width])
        if sx != 0:  # the left or right column, but for the corner the row above already took
            column = left if sx < 0 else right
            first = top + 1 if sy < 0 else top
            last = bottom - 1 if sy > 0 else bottom
            step = sy * wp + sx  # from a pixel to the next along the line, outwards
            for y in range(first, last + 1):
                start = y * wp + column
                v = buf[start]
                # the line's pad elements beyond the column, lowest index first (all take one value)
                nearest_low = start + step if step > 0 else start + pad * step
                stride = abs(step)
                beyond = buf[nearest_low: nearest_low + pad * stride: stride]
                for s in range(pad):
                    beyond[s] = v


@jit()
def _generalized(
    plane: np.ndarray,
    hp: int,
    wp: int,
    pad: int,
    k: int,
    closing: bool,
    first: np.ndarray,
    second: np.ndarray,
    out: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """Generalised closing (max over orientations) or opening (min) of a padded plane.

    Each line is taken to continue beyond the border as its last pixel
    inside, and the closing is that of the image so extended (its first
    pass also runs over the ``k`` elements beyond the border, so ``pad``
    must be at least ``2 k + 1``): hair running along the border or leaving
    the image is seen against the skin beside it, while a dark band
    touching the border, such as the corner of a dermoscope's field of
    view, continues dark and is not a "thin dark structure". (Padding each
    pass separately, as ``cv2.morphologyEx`` does, would put the first
    pass's maximum, skin, beyond a band that darkens towards the border.)
    ``plane``'s padding is overwritten; ``out``'s interior receives the
    result (its padding is left undefined). ``scratch`` is (2, len(plane))
    working space.
    """
    start, stop = pad * wp, (hp - pad) * wp
    o = out[start:stop]
    fill_array(o, np.uint8(0) if closing else np.uint8(255))
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        step = dy * wp + dx
        _extend_along_lines(plane, hp, wp, pad, dy, dx)
        # beyond the border only across rows: a horizontal line's padding lies in its own row
        _line_extreme(plane, first, scratch, start - k * dy * wp, stop + k * dy * wp, step, k, closing)
        _line_extreme(first, second, scratch, start, stop, step, k, not closing)
        s = second[start:stop]
        n = stop - start
        if closing:
            for j in range(n):
                v = s[j]
                if v > o[j]:
                    o[j] = v
        else:
            for j in range(n):
                v = s[j]
                if v < o[j]:
                    o[j] = v


@jit()
def _pool(image: np.ndarray, pool: int, hp: int, wp: int, pad: int, low: np.ndarray, high: np.ndarray) -> None:
    """Min- and max-pool each channel over pool x pool blocks into padded planes.

    ``low`` and ``high`` are (3, hp * wp); their borders are not touched.
    A partial block at the bottom or right edge pools the pixels it has.
    """
    if pool == 2:
        _pool_by_2(image, hp, wp, pad, low, high)
        return
    height, width = image.shape[0], image.shape[1]
    hc, wc = hp - 2 * pad, wp - 2 * pad
    flat_width = width * 3
    row_lo = np.empty(flat_width, np.uint8)
    row_hi = np.empty(flat_width, np.uint8)
    pair_lo = np.empty(flat_width, np.uint8)
    pair_hi = np.empty(flat_width, np.uint8)
    for cy in range(hc):
        y0 = cy * pool
        first_row = image[y0].reshape(flat_width)
        copy_array(first_row, row_lo)
        copy_array(first_row, row_hi)
        for y in range(y0 + 1, min(y0 + pool, height)):
            r = image[y].reshape(flat_width)
            for i in range(flat_width):
                v = r[i]
                a = row_lo[i]
                row_lo[i] = v if v < a else a
                a = row_hi[i]
                row_hi[i] = v if v > a else a
        # Horizontal neighbours of the same channel are 3 apart in an RGB row.
        # Accumulated into separate arrays: in place, the overlapping slices
        # stop LLVM from vectorising (12x slower, measured).
        src_lo, src_hi = row_lo, row_hi
        if pool > 1:
            copy_array(row_lo, pair_lo)
            copy_array(row_hi, pair_hi)
            for s in range(1, pool):
                n = flat_width - 3 * s
                lo_a = pair_lo[:n]
                lo_b = row_lo[3 * s : 3 * s + n]
                hi_a = pair_hi[:n]
                hi_b = row_hi[3 * s : 3 * s + n]
                for i in range(n):
                    v = lo_b[i]
                    a = lo_a[i]
                    lo_a[i] = v if v < a else a
                    v = hi_b[i]
                    a = hi_a[i]
                    hi_a[i] = v if v > a else a
            src_lo, src_hi = pair_lo, pair_hi
        _deinterleave(src_lo, src_hi, (cy + pad) * wp + pad, wc, pool * 3, low, high)


@jit()
def _pool_by_2(image: np.ndarray, hp: int, wp: int, pad: int, low: np.ndarray, high: np.ndarray) -> None:
    """`_pool()` with ``pool`` 2 (600x450 and larger), 5x faster: with the blocks' stride a constant (6 bytes of
    an RGB row), LLVM vectorises the horizontal step and the split into channels, which `_deinterleave()`'s
    variable stride leaves scalar."""
    height, width = image.shape[0], image.shape[1]
    hc, wc = hp - 2 * pad, wp - 2 * pad
    flat_width = width * 3
    # 6 more: an odd width's last block has one pixel, which stands in for its missing neighbour
    row_lo = np.empty(flat_width + 6, np.uint8)
    row_hi = np.empty(flat_width + 6, np.uint8)
    for cy in range(hc):
        top = image[2 * cy].reshape(flat_width)
        if 2 * cy + 1 < height:
            bottom = image[2 * cy + 1].reshape(flat_width)
            for i in range(flat_width):
                a = top[i]
                b = bottom[i]
                row_lo[i] = a if a < b else b
                row_hi[i] = a if a > b else b
        else:
            copy_array(top, row_lo[:flat_width])
            copy_array(top, row_hi[:flat_width])
        for i in range(flat_width, flat_width + 6):
            row_lo[i] = row_lo[i - 3]
            row_hi[i] = row_hi[i - 3]
        base = (cy + pad) * wp + pad
        lo0, lo1, lo2 = low[0, base : base + wc], low[1, base : base + wc], low[2, base : base + wc]
        hi0, hi1, hi2 = high[0, base : base + wc], high[1, base : base + wc], high[2, base : base + wc]
        for cx in range(wc):
            j = 6 * cx
            a, b = row_lo[j], row_lo[j + 3]
            lo0[cx] = a if a < b else b
            a, b = row_lo[j + 1], row_lo[j + 4]
            lo1[cx] = a if a < b else b
            a, b = row_lo[j + 2], row_lo[j + 5]
            lo2[cx] = a if a < b else b
            a, b = row_hi[j], row_hi[j + 3]
            hi0[cx] = a if a > b else b
            a, b = row_hi[j + 1], row_hi[j + 4]
            hi1[cx] = a if a > b else b
            a, b = row_hi[j + 2], row_hi[j + 5]
            hi2[cx] = a if a > b else b


@jit()
def _deinterleave(src_lo: np.ndarray, src_hi: np.ndarray, base: int, count: int, step: int, low: np.ndarray,
                  high: np.ndarray) -> None:
    """Every ``step``-th RGB triple of two pooled rows into the three planes (one read of each row)."""
    lo0, lo1, lo2 = low[0], low[1], low[2]
    hi0, hi1, hi2 = high[0], high[1], high[2]
    j = 0
    for o in range(base, base + count):
        lo0[o] = src_lo[j]
        lo1[o] = src_lo[j + 1]
        lo2[o] = src_lo[j + 2]
        hi0[o] = src_hi[j]
        hi1[o] = src_hi[j + 1]
        hi2[o] = src_hi[j + 2]
        j += step


@jit()
def _residues(
    image: np.ndarray,
    pool: int,
    k: int,
    light: bool,
    closed: np.ndarray,
    opened: np.ndarray,
    dark_res: np.ndarray,
    light_res: np.ndarray,
    minpooled: np.ndarray,
    work: np.ndarray,
) -> None:
    """Pooled backgrounds and residues of one uint8 RGB image (working arrays from ``work``, `._workspace`).

    ``closed``, ``opened`` and ``minpooled`` are (3, hc, wc) uint8 (the per-channel
    generalised closing of the min-pooled image, the generalised opening of
    the light-detection image, and the min-pooled image); ``dark_res`` /
    ``light_res`` (hc, wc) uint8 the maximum over channels of
    ``closed - minpool`` and ``lightimage - opened``.
    """
    hc, wc = dark_res.shape
    pad = 2 * k + 1  # `_generalized()`'s first pass runs k cells beyond the border
    hp, wp = hc + 2 * pad, wc + 2 * pad
    low = take_u8(work, 3 * hp * wp).reshape(3, hp * wp)
    high = take_u8(work, 3 * hp * wp).reshape(3, hp * wp)
    first = take_u8(work, hp * wp)
    second = take_u8(work, hp * wp)
    best = take_u8(work, hp * wp)
    scratch = take_u8(work, 2 * hp * wp).reshape(2, hp * wp)
    _pool(image, pool, hp, wp, pad, low, high)
    fill_array(dark_res, np.uint8(0))
    fill_array(light_res, np.uint8(0))
    for c in range(3):
        _generalized(low[c], hp, wp, pad, k, True, first, second, best, scratch)
        _dark_channel(best, low[c], high[c], pad, wp, closed[c], minpooled[c], dark_res)
        if light:
            _generalized(high[c], hp, wp, pad, k, False, first, second, best, scratch)
            _light_channel(best, high[c], pad, wp, opened[c], light_res)


@jit()
def _dark_channel(best: np.ndarray, lo: np.ndarray, hi: np.ndarray, pad: int, wp: int, closed: np.ndarray,
                  minpooled: np.ndarray, dark_res: np.ndarray) -> None:
    """One channel's closing ``best`` (padded) into ``closed``, ``lo`` into ``minpooled``, its residue into the
    running maximum ``dark_res``; ``hi`` (padded) is lifted to the closing, so light hair is looked for where
    dark hair has been filled in."""
    hc, wc = dark_res.shape
    for cy in range(hc):
        base = (cy + pad) * wp + pad
        b = best[base : base + wc]
        m = lo[base : base + wc]
        h = hi[base : base + wc]
        res = dark_res[cy]
        cl = closed[cy]
        mp = minpooled[cy]
        for cx in range(wc):  # stores without branches: LLVM vectorises it
            v = b[cx]
            cl[cx] = v
            mp[cx] = m[cx]
            # Signed, as an int32 difference (a closing is never below the image, so never negative).
            r = np.int32(v) - np.int32(m[cx])
            res[cx] = np.uint8(max(r, np.int32(res[cx])))
            h[cx] = max(h[cx], v)


@jit()
def _light_channel(best: np.ndarray, hi: np.ndarray, pad: int, wp: int, opened: np.ndarray,
                   light_res: np.ndarray) -> None:
    """One channel's opening ``best`` (padded) into ``opened``, its residue into the running maximum ``light_res``."""
    hc, wc = light_res.shape
    for cy in range(hc):
        base = (cy + pad) * wp + pad
        b = best[base : base + wc]
        h = hi[base : base + wc]
        res = light_res[cy]
        op = opened[cy]
        for cx in range(wc):  # stores without branches: LLVM vectorises it
            v = b[cx]
            op[cx] = v
            r = np.int32(h[cx]) - np.int32(v)
            res[cx] = np.uint8(max(r, np.int32(res[cx])))


# ----------------------------------------------------------------------------
# Verification: long and thin.
# ----------------------------------------------------------------------------


@jit()
def _flat_run_length(padded: np.ndarray, i: int, steps: np.ndarray, j: int, sign: int, limit: int) -> int:
    """Consecutive set cells from flat index ``i``, excluded, along direction ``j`` (flat steps ``steps[j]``, from
    `_padded_flat()`) times ``sign``, at most ``limit``. The mask's padding of unset cells ends every run, as
    the image border does, so no bounds are checked."""
    n = 0
    for t in range(1, min(limit, steps.shape[1] - 1) + 1):
        if not padded[i + sign * steps[j, t]]:
            break
        n += 1
    return n


@jit()
def _padded_flat(mask: np.ndarray, offsets: np.ndarray, work: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """``mask`` in a flat array with ``offsets.shape[1]`` unset cells of padding on every side, the flat steps of
    ``offsets`` in it, its row length and its padding."""
    height, width = mask.shape
    pad = offsets.shape[1]
    wp = width + 2 * pad
    padded = take_bool(work, (height + 2 * pad) * wp)
    fill_array(padded, False)
    for y in range(height):  # into a slice: an index base + x would be checked for wrapping around, not vectorised
        base = (y + pad) * wp + pad
        copy_array(mask[y], padded[base: base + width])
    steps = np.empty((offsets.shape[0], offsets.shape[1]), np.int64)
    for j in range(offsets.shape[0]):
        for t in range(offsets.shape[1]):
            steps[j, t] = offsets[j, t, 0] * wp + offsets[j, t, 1]
    return padded, steps, wp, pad


@jit()
def _first_steps(offsets: np.ndarray, first: int) -> np.ndarray:
    """(orientations, 2) int64: the bits (of `_neighbourhood()`'s 7x7 window) of the first ``first`` (<= 3) steps
    of each orientation, forward and backward.

    A straight run of at least ``min_length`` cells through a pixel has at least ``min_length // 2`` of them
    ahead of it or behind it (else it has at most ``2 (min_length // 2 - 1) + 1 < min_length``), so with
    ``first`` at most ``min_length // 2``, a pixel whose window lacks a step of each set has no such run in that
    orientation, and its walks can be skipped: the same result, for a few operations.
    """
    needs = np.zeros((offsets.shape[0], 2), np.int64)
    for j in range(offsets.shape[0]):
        for t in range(1, first + 1):
            for side in range(2):
                sign = 1 - 2 * side
                bit = (sign * offsets[j, t, 0] + 3) * 7 + sign * offsets[j, t, 1] + 3
                needs[j, side] |= np.int64(1) << bit
    return needs


@jit()
def _neighbourhood(padded: np.ndarray, i: int, wp: int) -> np.int64:
    """The 7x7 window around flat index ``i`` of a padded flat mask (`_padded_flat()`) as 49 bits, row by row."""
    bits = np.int64(0)
    for dy in range(-3, 4):
        row = i + dy * wp
        for dx in range(-3, 4):  # no branch on the cell (hair edges are what no branch predictor guesses)
            bits |= np.int64(padded[row + dx]) << ((dy + 3) * 7 + dx + 3)
    return bits


@jit()
def _neighbour_direction(keep: np.ndarray, along_kept: np.ndarray, y: int, x: int, last: int) -> int:
    """Orientation to try first: that of an already kept neighbour (left, then the row above), else ``last``."""
    width = keep.shape[1]
    if x > 0 and keep[y, x - 1]:
        return np.int64(along_kept[y, x - 1])
    if y > 0:
        for xx in (x, x - 1, x + 1):
            if 0 <= xx < width and keep[y - 1, xx]:
                return np.int64(along_kept[y - 1, xx])
    return last


@jit()
def _shortest_run_extent(offsets: np.ndarray, min_length: int) -> int:
    """The smallest bounding-box side (the larger of height and width) that any straight run of ``min_length``
    pixels along ``offsets`` can have: the pixel, ``f`` steps forward and ``min_length - 1 - f`` back."""
    best = min_length
    for j in range(offsets.shape[0]):
        for f in range(min_length):
            b = min_length - 1 - f
            dy = abs(offsets[j, f, 0] + offsets[j, b, 0])
            dx = abs(offsets[j, f, 1] + offsets[j, b, 1])
            best = min(best, max(dy, dx) + 1)
    return best


@jit()
def _off_the_edges(j: int, ndir: int, horizontal: bool, vertical: bool) -> bool:
    """Whether orientation ``j`` (of ``ndir`` over 180 degrees) is at least 11.25 degrees off the horizontal
    edges (if ``horizontal``) and off the vertical edges (if ``vertical``): on the orientations' grid, in
    integers, so that the left and right edges are treated alike."""
    off_horizontal = 16 * min(j, ndir - j) >= ndir  # j * 180 / ndir at least 11.25 from 0 and 180 degrees
    off_vertical = 8 * abs(ndir - 2 * j) >= ndir  # at least 11.25 degrees from 90
    return (off_horizontal or not horizontal) and (off_vertical or not vertical)


@jit()
def _stub_orientation(rows: np.ndarray, cols: np.ndarray, box: tuple[int, int, int, int], shape: tuple[int, int],
                      min_length: int, max_width: int, ndir: int) -> int:
    """The orientation (of ``ndir`` over 180 degrees) in which a component touching the image border is the
    stub of a hair cut by it, or -1. Its orientation is the one in which it is narrowest for its length
    (projected along and across); there it must be at least ``min_length`` long, at most half that (and
    ``max_width``) wide, and at least 11.25 degrees off each edge it touches (`_off_the_edges()`: it leaves
    the image, rather than lies along it as the rim of a bubble cut by the border does). ``rows`` and ``cols``
    are its cells'."""
    y0, y1, x0, x1 = box
    best, best_ratio = -1, np.inf
    for j in range(ndir):
        angle = j * np.pi / ndir
        sine, cosine = np.sin(angle), np.cos(angle)  # the direction (dy, dx)
        along_low = across_low = np.inf
        along_high = across_high = -np.inf
        for i in range(rows.size):
            y, x = rows[i], cols[i]
            along, across = y * sine + x * cosine, y * cosine - x * sine
            along_low, along_high = min(along_low, along), max(along_high, along)
            across_low, across_high = min(across_low, across), max(across_high, across)
        length, thickness = along_high - along_low + 1, across_high - across_low + 1
        if length >= min_length and thickness <= min(np.float64(max_width), length / 2) \
                and thickness / length < best_ratio:
            best, best_ratio = j, thickness / length
    if best >= 0 and _off_the_edges(best, ndir, y0 == 0 or y1 == shape[0] - 1, x0 == 0 or x1 == shape[1] - 1):
        return best
    return -1


@jit()
def _darkens_as_hair(rows: np.ndarray, cols: np.ndarray, closed: np.ndarray, minpooled: np.ndarray,
                     least: int) -> bool:
    """Whether cells (``rows``, ``cols``), taken together, darken their background ``closed`` as dark
    hair does: by ``least`` grey levels or more on average in the most darkened channel, and in proportion
    as hair does (the proportions `_neutral()` asks of one pixel, here in float64 on the channels' sums: not a
    red vessel, not blood, not ink; the reference's `_stubs()` computes them the same way)."""
    background = np.zeros(3, np.int64)
    value = np.zeros(3, np.int64)
    for i in range(rows.size):
        y, x = rows[i], cols[i]
        for c in range(3):
            background[c] += np.int64(closed[c, y, x])
            value[c] += min(np.int64(minpooled[c, y, x]), np.int64(closed[c, y, x]))
    deepest = max(background[0] - value[0], max(background[1] - value[1], background[2] - value[2]))
    if deepest < least * rows.size:
        return False
    f = np.empty(3, np.float64)
    for c in range(3):
        f[c] = (background[c] - value[c]) / max(background[c], 1)
    most = max(f[0], max(f[1], f[2]))
    return f[0] >= 0.25 * most and f[2] >= 0.45 * most


@jit()
def _padded_unvisited(mask: np.ndarray, work: np.ndarray) -> np.ndarray:
    """A flat uint8 copy of the (H, W) bool ``mask`` with one unset cell of padding on every side, rows of
    W + 2 (`_take_component()`'s record of the pixels not yet visited)."""
    height, width = mask.shape
    wp = width + 2
    unvisited = take_u8(work, (height + 2) * wp)
    fill_array(unvisited, np.uint8(0))
    for y in range(height):  # into slices: LLVM vectorises the copies
        copy_array(mask[y].view(np.uint8), unvisited[(y + 1) * wp + 1: (y + 1) * wp + 1 + width])
    return unvisited


@jit()
def _take_component(unvisited: np.ndarray, width: int, sy: int, sx: int, member_rows: np.ndarray,
                    member_cols: np.ndarray) -> int:
    """The 8-connected component of unvisited pixel (``sy``, ``sx``) of a `_padded_unvisited()` mask (of an
    image ``width`` wide), breadth-first, neighbours in raster order: its rows and columns into ``member_rows``
    and ``member_cols`` (int32, one more than the pixels: the last neighbour written may follow the last
    member); returns its size, and marks it visited.

    Each neighbour is written there and counted only if it is unvisited: no branch per neighbour (a hair's
    edges are what no branch predictor guesses), no bounds (the padding), no division per member."""
    wp = width + 2
    unvisited[(sy + 1) * wp + sx + 1] = 0
    member_rows[0], member_cols[0] = sy, sx
    count, head = 1, 0
    while head < count:
        y, x = np.int64(member_rows[head]), np.int64(member_cols[head])
        head += 1
        centre = (y + 1) * wp + x + 1
        for dy in range(-1, 2):
            for dx in range(-1, 2):
                q = centre + dy * wp + dx
                new = np.int64(unvisited[q])
                unvisited[q] = 0
                member_rows[count] = y + dy
                member_cols[count] = x + dx
                count += new
    return count


@jit()
def _long_enough(candidate: np.ndarray, extent: int, out: np.ndarray, edge_extent: int, stub_length: int,
                 max_width: int, limit: int, ndir: int, closed: np.ndarray, minpooled: np.ndarray,
                 least: int, keep: np.ndarray, along_kept: np.ndarray, work: np.ndarray) -> None:
    """``out``: the candidate pixels whose 8-connected component's bounding box has a side of at least
    ``extent``. A straight run of candidates lies in one component (its steps are 8-adjacent), so a pixel
    of a smaller component has no long run: most of the skin's texture is small blobs, tried in every
    orientation for nothing.

    A component that touches the image border, with a side of at least ``edge_extent`` and at most
    ``limit`` pixels, may be the stub of a hair cut by the border (`_stub_orientation()` with
    ``stub_length``; 0: never), if it darkens the background ``closed`` (per channel) as hair does, its
    ``minpooled`` values against it, by ``least`` grey levels on average (`_darkens_as_hair()`): its pixels are then set in ``keep``, with that
    orientation in ``along_kept``, and not tried."""
    height, width = candidate.shape
    copy_array(candidate, out)  # True: a candidate not yet visited, or one of a long-enough component
    unvisited = _padded_unvisited(candidate, work)
    member_rows, member_cols = take_i32(work, height * width + 1), take_i32(work, height * width + 1)
    starts_y, starts_x = set_coords(candidate, work)  # the candidates, in raster order, found 8 at a time
    for s in range(starts_y.size):
        sy, sx = np.int64(starts_y[s]), np.int64(starts_x[s])
        if not unvisited[(sy + 1) * (width + 2) + sx + 1]:
            continue
        count = _take_component(unvisited, width, sy, sx, member_rows, member_cols)
        y0, y1, x0, x1 = sy, sy, sx, sx
        for i in range(count):
            y, x = member_rows[i], member_cols[i]
            y0, y1, x0, x1 = min(y0, y), max(y1, y), min(x0, x), max(x1, x)
        side = max(y1 - y0, x1 - x0) + 1
        stub = -1
        if stub_length > 0 and side >= edge_extent and count <= limit and (
                y0 == 0 or x0 == 0 or y1 == height - 1 or x1 == width - 1):
            rows, cols = member_rows[:count], member_cols[:count]
            stub = _stub_orientation(rows, cols, (y0, y1, x0, x1), (height, width), stub_length, max_width, ndir)
            if stub >= 0 and not _darkens_as_hair(rows, cols, closed, minpooled, least):
                stub = -1
        if stub >= 0:
            for i in range(count):
                out[member_rows[i], member_cols[i]] = False
                keep[member_rows[i], member_cols[i]] = True
                along_kept[member_rows[i], member_cols[i]] = stub
        elif side < extent:
            for i in range(count):
                out[member_rows[i], member_cols[i]] = False


@jit()
def _verify(candidate: np.ndarray, offsets: np.ndarray, min_length: int, edge_min_length: int, max_width: int,
            closed: np.ndarray, minpooled: np.ndarray, least: int, keep: np.ndarray, along_kept: np.ndarray,
            work: np.ndarray) -> None:
    """Keep candidate pixels on long, thin structures.

    A pixel is kept when, for one of the orientations in ``offsets``, the
    straight run of candidates through it is at least ``min_length`` long and
    a run across it (perpendicular, or 22.5 degrees off) is at most
    ``max_width``. Orientations are tried starting from that of a kept
    neighbour (else the last one that succeeded), as pixels of one hair share it.
    ``along_kept`` receives the orientation that kept each kept pixel. Pixels of
    components too small to hold such a run (`_long_enough()`) are not tried;
    a component that touches the image border is kept whole, and not tried,
    when it is the stub of a hair cut by the border: small, at least
    ``edge_min_length`` long and at most half as wide (`_stub_orientation()`),
    and darker than the background ``closed`` in its ``minpooled`` values as
    dark hair is, by ``least`` grey levels on average (`_darkens_as_hair()`:
    light hair, red vessels, blood and ink are not).
    With ``edge_min_length`` at ``min_length`` the border is an end of a run
    like any other (no stubs).
    """
    height, width = candidate.shape
    ndir = offsets.shape[0]
    half, eighth = ndir // 2, ndir // 8
    last = 0
    fill_array(keep, False)
    tried = take_bool(work, height * width).reshape(height, width)
    _long_enough(candidate, _shortest_run_extent(offsets, min_length), tried,
                 _shortest_run_extent(offsets, edge_min_length), edge_min_length if edge_min_length < min_length else 0,
                 max_width, min_length * max_width, ndir, closed, minpooled, least, keep, along_kept, work)
    # A long run found through one pixel is long for every pixel on it: remember
    # its orientation so those pixels only need the (short) thinness test.
    along = take_i8(work, height * width).reshape(height, width)
    fill_array(along, np.int8(-1))
    # Runs are walked on a padded flat copy: no bounds to check at each step (the padding ends a run as the
    # border does).
    padded, steps, wp, pad = _padded_flat(candidate, offsets, work)
    needs = _first_steps(offsets, min(3, min_length // 2))
    ys, xs = set_coords(tried, work)  # the pixels to try, in raster order, found 8 at a time
    for k in range(ys.size):
        y, x = np.int64(ys[k]), np.int64(xs[k])
        i = (y + pad) * wp + x + pad
        around = _neighbourhood(padded, i, wp)
        found = np.int64(along[y, x])
        start = found if found >= 0 else _neighbour_direction(keep, along_kept, y, x, last)
        for jj in range(ndir):
            j = start + jj  # (start + jj) % ndir, without a division per orientation
            j = j - ndir if j >= ndir else j
            if not (found >= 0 and jj == 0):
                ahead, behind = needs[j, 0], needs[j, 1]
                if around & ahead != ahead and around & behind != behind:
                    continue  # fewer than `first` steps either way: the run cannot be long (see _first_steps)
                forward = _flat_run_length(padded, i, steps, j, 1, min_length)
                backward = 0
                if 1 + forward < min_length:
                    backward = _flat_run_length(padded, i, steps, j, -1, min_length - 1 - forward)
                if 1 + forward + backward < min_length:
                    continue
                for t in range(1, forward + 1):
                    along[y + offsets[j, t, 0], x + offsets[j, t, 1]] = j
            thin = False
            for dj in (0, -eighth, eighth):  # across, and 22.5 degrees either side
                p = j + half + dj  # in [0, 2 ndir): modulo ndir without a division
                p = p - ndir if p >= ndir else p
                across = 1 + _flat_run_length(padded, i, steps, p, 1, max_width)
                if across <= max_width:
                    across += _flat_run_length(padded, i, steps, p, -1, max_width)
                if across <= max_width:
                    thin = True
                    break
            if thin:
                keep[y, x] = True
                along_kept[y, x] = j
                last = j
                break


@jit()
def _extend_along(keep: np.ndarray, weak: np.ndarray, along_kept: np.ndarray, offsets: np.ndarray,
                  steps: int, work: np.ndarray) -> None:
    """Continue each kept structure straight on, through weak pixels, up to ``steps`` cells past its ends.

    Hair runs on where its contrast drops (a tapering tip, a dark lesion under semi-transparent hair);
    a verified pixel (``along_kept`` >= 0) whose next pixel along its own orientation is not a verified
    one is an end, and the walk goes on from it while the pixels are weak (hysteresis along the hair, not around
    it). Run after the lesion-safety filter, so only structures that passed it walk.
    """
    height, width = keep.shape
    extended = take_bool(work, height * width).reshape(height, width)
    fill_array(extended, False)
    ys, xs = set_coords(keep, work)  # the kept pixels, found 8 at a time
    for k in range(ys.size):
        y, x = np.int64(ys[k]), np.int64(xs[k])
        j = along_kept[y, x]
        if j < 0:
            continue
        for sign in (1, -1):
            ny, nx = y + sign * offsets[j, 1, 0], x + sign * offsets[j, 1, 1]
            if 0 <= ny < height and 0 <= nx < width and keep[ny, nx] and along_kept[ny, nx] >= 0:
                continue  # not an end in this direction
            for t in range(1, min(steps, offsets.shape[1] - 1) + 1):
                yy, xx = y + sign * offsets[j, t, 0], x + sign * offsets[j, t, 1]
                if yy < 0 or yy >= height or xx < 0 or xx >= width or not weak[yy, xx]:
                    break
                extended[yy, xx] = True
    flat_keep = keep.reshape(keep.size)
    flat_extended = extended.reshape(extended.size)
    for i in range(flat_keep.size):
        flat_keep[i] = flat_keep[i] | flat_extended[i]


@jit()
def _grow(mask: np.ndarray, weak: np.ndarray, iterations: int, work: np.ndarray) -> None:
    """Add ``weak`` pixels 8-adjacent to ``mask``, ``iterations`` times (in place)."""
    grown = take_bool(work, mask.size).reshape(mask.shape)
    rows = take_u8(work, mask.size).reshape(mask.shape)
    flat_mask = mask.reshape(mask.size)
    flat_grown = grown.reshape(grown.size)
    flat_weak = weak.reshape(weak.size)
    for _ in range(iterations):
        dilate_once(mask, grown, rows)
        for i in range(flat_mask.size):
            flat_mask[i] = flat_mask[i] | (flat_grown[i] & flat_weak[i])


@jit()
def _dilate(mask: np.ndarray, radius: int, out: np.ndarray, work: np.ndarray) -> None:
    """Binary dilation with a (2 radius + 1)^2 square: ``radius`` 3x3 dilations (working rows from ``work``)."""
    rows = take_u8(work, mask.size).reshape(mask.shape)
    copy_array(mask, out)
    for _ in range(radius):
        dilate_once(out, out, rows)


@jit()
def _filter_components(
    keep: np.ndarray, dark: np.ndarray, bright: np.ndarray, light_threshold: int, thick_threshold: int,
    lesion: np.ndarray, min_length: int, max_width: int, work: np.ndarray,
) -> None:
    """Drop verified structures that look like the lesion's own texture, not hair (in place).

    8-connected components of ``keep`` that touch the ``lesion`` region:
    dark ones are kept when they continue outside it over a stretch at least
    ``min_length`` long, as hair crossing a lesion does, or when they are
    long (bounding-box diagonal >= 2 ``min_length``) and thin (area <= 0.6
    ``max_width`` x diagonal: a line, not a mesh of pigment network or a
    cluster of dots), or long, no wider than ``max_width`` on average and
    dark (mean ``dark`` residue >= ``thick_threshold``: thick hair); light
    ones (mostly above the light threshold) lose their pixels inside the
    lesion, where white lines, scale and crust are the lesion's own.
    Everything else inside the lesion is left alone.
    """
    height, width = keep.shape
    unvisited = _padded_unvisited(keep, work)  # the kept pixels as they were (a dropped one was visited)
    member_rows, member_cols = take_i32(work, height * width + 1), take_i32(work, height * width + 1)
    lt = np.uint8(light_threshold)
    starts_y, starts_x = set_coords(keep, work)  # the kept pixels, in raster order
    for s in range(starts_y.size):
        sy, sx = np.int64(starts_y[s]), np.int64(starts_x[s])
        if not unvisited[(sy + 1) * (width + 2) + sx + 1]:
            continue
        count = _take_component(unvisited, width, sy, sx, member_rows, member_cols)
        inside, light, depth = 0, 0, 0
        y0, y1, x0, x1 = sy, sy, sx, sx
        oy0, oy1, ox0, ox1 = height, -1, width, -1  # the part outside the lesion
        for i in range(count):
            y, x = np.int64(member_rows[i]), np.int64(member_cols[i])
            if lesion[y, x]:
                inside += 1
            else:
                oy0, oy1, ox0, ox1 = min(oy0, y), max(oy1, y), min(ox0, x), max(ox1, x)
            if bright[y, x] > lt:
                light += 1
            depth += np.int64(dark[y, x])
            y0, y1, x0, x1 = min(y0, y), max(y1, y), min(x0, x), max(x1, x)
        if inside == 0:
            continue
        if 2 * light >= count:  # white lines, scale and crust sit at and in lesions: light structures never cross
            for i in range(count):
                if lesion[member_rows[i], member_cols[i]]:
                    keep[member_rows[i], member_cols[i]] = False
        elif not _crosses_or_is_a_line(count, inside, depth, thick_threshold, (oy0, oy1, ox0, ox1),
                                       (y0, y1, x0, x1), min_length, max_width):
            for i in range(count):
                keep[member_rows[i], member_cols[i]] = False


@jit()
def _crosses_or_is_a_line(count: int, inside: int, depth: int, thick_threshold: int,
                          outside_box: tuple[int, int, int, int], box: tuple[int, int, int, int], min_length: int,
                          max_width: int) -> bool:
    """A dark structure touching the lesion is hair if a long stretch of it lies outside (hair crosses the
    border), or if it is long (bounding-box diagonal >= 2 ``min_length``) and thin (a line, not a mesh), or
    long, at most ``max_width`` wide on average and dark (residues summing to ``depth`` over its ``count``
    pixels, a mean of at least ``thick_threshold``: thick hair, not network)."""
    oy0, oy1, ox0, ox1 = outside_box
    if oy1 >= 0:
        outside_extent = np.sqrt(np.float64((oy1 - oy0 + 1) ** 2 + (ox1 - ox0 + 1) ** 2))
        if outside_extent >= min_length and count - inside >= min_length:
            return True
    y0, y1, x0, x1 = box
    diagonal = np.sqrt(np.float64((y1 - y0 + 1) ** 2 + (x1 - x0 + 1) ** 2))
    if diagonal < 2 * min_length:
        return False
    return count <= 0.6 * max_width * diagonal or (count <= max_width * diagonal and depth >= thick_threshold * count)


@jit()
def _local_peaks(
    dark: np.ndarray, bright: np.ndarray, keep: np.ndarray, dark_peak: np.ndarray, light_peak: np.ndarray,
    work: np.ndarray,
) -> None:
    """3x3 maxima of ``dark`` and ``bright`` over kept pixels (0 where none is kept): the 3x3 maximum filter
    of each with its unkept pixels at 0 (residues are never below 0), over every cell in vectorised passes
    rather than a scatter from each kept pixel."""
    rows = take_u8(work, dark.size).reshape(dark.shape)
    _masked_maximum_3x3(dark, keep, rows, dark_peak)
    _masked_maximum_3x3(bright, keep, rows, light_peak)


@jit()
def _masked_maximum_3x3(values: np.ndarray, keep: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    """``out`` = the 3x3 maximum (clipped at the borders) of ``values`` where ``keep``, 0 elsewhere; ``rows`` is
    (H, W) uint8 working space. Rows first, then columns, each through slices (LLVM vectorises them)."""
    height, width = values.shape
    for y in range(height):
        v, k, r = values[y], keep[y], rows[y]
        if width == 1:
            r[0] = v[0] if k[0] else np.uint8(0)
            continue
        a = v[0] if k[0] else np.uint8(0)
        b = v[1] if k[1] else np.uint8(0)
        r[0] = max(a, b)
        a = v[width - 2] if k[width - 2] else np.uint8(0)
        b = v[width - 1] if k[width - 1] else np.uint8(0)
        r[width - 1] = max(a, b)
        left, centre, right = v[: width - 2], v[1: width - 1], v[2:]
        kept_left, kept_centre, kept_right = k[: width - 2], k[1: width - 1], k[2:]
        inner = r[1: width - 1]
        for x in range(width - 2):
            a = left[x] if kept_left[x] else np.uint8(0)
            b = centre[x] if kept_centre[x] else np.uint8(0)
            c = right[x] if kept_right[x] else np.uint8(0)
            a = a if a > b else b
            inner[x] = a if a > c else c
    for y in range(height):
        b = rows[y]
        a = rows[y - 1] if y > 0 else b
        c = rows[y + 1] if y + 1 < height else b
        o = out[y]
        for x in range(width):
            m = a[x] if a[x] > b[x] else b[x]
            o[x] = m if m > c[x] else c[x]


@jit()
def _half_length(p) -> int:  # type: ignore[no-untyped-def]
    """Half-length of the linear structuring elements on the pooled level, rounded up."""
    return -(-(p.line_length // 2) // p.pool)


@jit()
def _pooled_min_length(p) -> int:  # type: ignore[no-untyped-def]
    """``min_length`` on the pooled level (rounded up, at least 2)."""
    return max(2, -(-p.min_length // p.pool))


@jit()
def _pooled_edge_min_length(p) -> int:  # type: ignore[no-untyped-def]
    """``edge_min_length`` on the pooled level (rounded up, at least 2, at most the pooled ``min_length``)."""
    return min(_pooled_min_length(p), max(2, -(-p.edge_min_length // p.pool)))


@jit()
def _pooled_max_width(p) -> int:  # type: ignore[no-untyped-def]
    """``max_width`` on the pooled level (rounded up, at least 1)."""
    return max(1, -(-p.max_width // p.pool))


@jit()
def _threshold_residues(dark: np.ndarray, bright: np.ndarray, lesion: np.ndarray, p,  # type: ignore[no-untyped-def]
                        candidate: np.ndarray, weak: np.ndarray) -> None:
    """Candidates (residue over the dark or light threshold) and weak pixels (over the low threshold).

    In the lesion the dark thresholds are ``lesion_threshold`` and ``lesion_low_threshold``. ``bright`` is
    all zero without light detection, so it never passes a threshold.
    """
    n = dark.size
    d_flat = dark.reshape(n)
    b_flat = bright.reshape(n)
    l_flat = lesion.reshape(n)
    c_flat = candidate.reshape(n)
    w_flat = weak.reshape(n)
    t, tl = np.uint8(p.threshold), np.uint8(p.lesion_threshold)
    lt, wt, wtl = np.uint8(p.light_threshold), np.uint8(p.low_threshold), np.uint8(p.lesion_low_threshold)
    for i in range(n):
        d = d_flat[i]
        b = b_flat[i]
        inside = l_flat[i]
        c_flat[i] = (d > (tl if inside else t)) | (b > lt)
        w_flat[i] = (d > (wtl if inside else wt)) | (b > wt)


# ----------------------------------------------------------------------------
# Thickets: where hair is denser than the structuring elements are long.
# ----------------------------------------------------------------------------


_INK = np.uint8(2)  # a thicket cell whose darkening is not hair's (`_neutral()`): ink under the hair
# A thicket cell at 1.5 times the thicket density: a mat, with only slivers of skin between its hairs. (At
# twice the density, the slivers left in ISIC_0024832's mat stood out as dashes: 0.33% of its skin darkened.)
_MAT = np.uint8(3)


@jit()
def _thickets(candidate: np.ndarray, lesion: np.ndarray, radius: int, density: float, thicket: np.ndarray,
              work: np.ndarray) -> bool:
    """Cells whose (2 radius + 1)^2 neighbourhood is at least ``density`` candidates, outside the lesion.

    ``thicket`` receives 1 there, `_MAT` where the neighbourhood is at least 1.5 times as dense, else 0.

    Hair-free skin stays under half the default density at any scale measured; a thicket is well over it.
    Returns whether there is any.
    """
    height, width = candidate.shape
    # Per row: the candidates of each column inside the window's rows (updated as the window moves down), their
    # running sums along the row, and each cell's window from two of those.
    columns = take_i32(work, width)
    fill_array(columns, np.int32(0))
    running = take_i32(work, width + 1)
    running[0] = 0
    for y in range(min(radius, height)):
        _add_row(columns, candidate[y], np.int32(1))
    found = np.uint8(0)
    for y in range(height):
        if y + radius < height:
            _add_row(columns, candidate[y + radius], np.int32(1))
        if y - radius - 1 >= 0:
            _add_row(columns, candidate[y - radius - 1], np.int32(-1))
        total = np.int32(0)
        for x in range(width):
            total += columns[x]
            running[x + 1] = total
        rows = min(y + radius + 1, height) - max(y - radius, 0)
        cells, protected = thicket[y], lesion[y]
        # The cells whose window lies inside the row (radius .. width - radius - 1) have one area, so one least
        # whole count reaching each density (count >= density * area, a float, exactly when count >= its
        # ceiling). Read through slices, so that no index is a sum numba must check for wrapping around: a loop
        # without branches, which LLVM vectorises (`_thicket_cell()` for every cell took 2 ns a cell).
        span = 2 * radius + 1
        inner = max(width - span + 1, 0)
        whole = rows * span
        at_least, at_least_mat = np.int32(np.ceil(density * whole)), np.int32(np.ceil(1.5 * density * whole))
        ends, starts = running[span: span + inner], running[:inner]
        free, out = protected[radius: radius + inner].view(np.uint8), cells[radius: radius + inner]
        found_inner = np.uint8(0)
        for j in range(inner):
            inside = ends[j] - starts[j]
            dense = np.uint8(inside >= at_least) & (np.uint8(1) - free[j])
            out[j] = dense * (np.uint8(1) + np.uint8(inside >= at_least_mat) * (_MAT - np.uint8(1)))
            found_inner |= dense
        found |= found_inner
        left_end = radius if inner > 0 else width  # the cells whose window a row end cuts, on either side
        for x in range(left_end):
            found |= _thicket_cell(running, protected, rows, radius, density, x, cells)
        for x in range(radius + inner if inner > 0 else width, width):
            found |= _thicket_cell(running, protected, rows, radius, density, x, cells)
    return found != 0


@jit()
def _thicket_cell(running: np.ndarray, protected: np.ndarray, rows: int, radius: int, density: float, x: int,
                  cells: np.ndarray) -> np.uint8:
    """`_thickets()` of one cell of a row, whose window the row's ends may cut; returns 1 where it is dense."""
    width = cells.size
    x0, x1 = max(x - radius, 0), min(x + radius + 1, width)
    inside = running[x1] - running[x0]
    area = rows * (x1 - x0)
    dense = inside >= density * area and not protected[x]
    cells[x] = (_MAT if inside >= 1.5 * density * area else np.uint8(1)) if dense else np.uint8(0)
    return np.uint8(dense)


@jit()
def _add_row(columns: np.ndarray, row: np.ndarray, sign: np.int32) -> None:
    """``columns += sign * row`` (a bool row into int32 counts)."""
    for x in range(columns.size):
        columns[x] += sign * np.int32(row[x])


@jit()
def _neutral(b0: np.int32, b1: np.int32, b2: np.int32, v0: np.int32, v1: np.int32, v2: np.int32,
             ink: bool = True) -> bool:
    """Whether values ``v`` darken background ``b`` as hair does: red by a quarter of the most at least
    (not blood) and, with ``ink``, blue by nearly half (not ink).

    Hair's transmittance is below 1 in R, G and B (real hair: relative darkening 0.17, 0.27, 0.28 at the
    median, `experiments/results/hair_measurements.json`). Purple and blue ink darken R and G and leave B
    nearly as bright as the skin (B 0.3 of the most in ISIC_0030589); blood leaves R bright.
    """
    f0 = np.float32(b0 - v0) / np.float32(max(b0, 1))
    f1 = np.float32(b1 - v1) / np.float32(max(b1, 1))
    f2 = np.float32(b2 - v2) / np.float32(max(b2, 1))
    most = max(f0, max(f1, f2))
    return f0 >= np.float32(0.25) * most and (not ink or f2 >= np.float32(0.45) * most)


@jit()
def _neutral_pixel(closed: np.ndarray, cy: int, cx: int, image: np.ndarray, y: int, x: int, ink: bool = True) -> bool:
    """`_neutral()` of full-resolution pixel (y, x) against the background of its cell."""
    return _neutral(np.int32(closed[0, cy, cx]), np.int32(closed[1, cy, cx]), np.int32(closed[2, cy, cx]),
                    np.int32(image[y, x, 0]), np.int32(image[y, x, 1]), np.int32(image[y, x, 2]), ink)


@jit()
def _lift_thickets(closed: np.ndarray, minpooled: np.ndarray, thicket: np.ndarray, k: int,  # type: ignore[no-untyped-def]
                   p, dark: np.ndarray, keep: np.ndarray, weak: np.ndarray, work: np.ndarray) -> None:
    """In thicket cells, raise the background to the skin seen between the hairs; add the hair it shows.

    The closing cannot bridge hair denser than its elements are long. One level up (2x2 means of the
    closing), a generalised closing with elements of the same number of cells (twice as long) bridges
    clumps; the background becomes the higher of the two. A thicket cell darker than it by over the
    threshold, in every channel alike (`_neutral()`), is hair: no long-and-thin test there; one darker
    otherwise is ink (``thicket`` = `_INK`).
    """
    hc, wc = thicket.shape
    # Only the window of the thickets one level up, with a margin of 2k + 1 cells (all a closing at a
    # thicket cell can see), so the result is the same as over the whole image.
    ys, xs = np.nonzero(thicket)
    y0, x0 = max(ys.min() // 2 - 2 * k - 1, 0), max(xs.min() // 2 - 2 * k - 1, 0)
    y1, x1 = min(ys.max() // 2 + 2 * k + 2, (hc + 1) // 2), min(xs.max() // 2 + 2 * k + 2, (wc + 1) // 2)
    pad = 2 * k + 1
    hp, wp = y1 - y0 + 2 * pad, x1 - x0 + 2 * pad
    plane = take_u8(work, hp * wp)
    first = take_u8(work, hp * wp)
    second = take_u8(work, hp * wp)
    best = take_u8(work, hp * wp)
    scratch = take_u8(work, 2 * hp * wp).reshape(2, hp * wp)
    for c in range(3):
        for cy in range(y0, y1):
            for cx in range(x0, x1):
                total, n = np.int32(0), np.int32(0)
                for y in range(2 * cy, min(2 * cy + 2, hc)):
                    for x in range(2 * cx, min(2 * cx + 2, wc)):
                        total += np.int32(closed[c, y, x])
                        n += 1
                # (total + n // 2) // n for n of 1, 2 or 4 cells, by a shift rather than a division
                plane[(cy - y0 + pad) * wp + cx - x0 + pad] = np.uint8((total + (n >> 1)) >> (n >> 1))
        _generalized(plane, hp, wp, pad, k, True, first, second, best, scratch)
        for i in range(ys.size):
            y, x = ys[i], xs[i]
            closed[c, y, x] = max(closed[c, y, x], best[(y // 2 - y0 + pad) * wp + x // 2 - x0 + pad])
    t, wt = np.int32(p.threshold), np.int32(p.low_threshold)
    for y in range(hc):
        for x in range(wc):
            if thicket[y, x]:
                most = np.int32(0)
                for c in range(3):
                    most = max(most, np.int32(closed[c, y, x]) - np.int32(minpooled[c, y, x]))
                dark[y, x] = most
                neutral = _neutral(np.int32(closed[0, y, x]), np.int32(closed[1, y, x]), np.int32(closed[2, y, x]),
                                   np.int32(minpooled[0, y, x]), np.int32(minpooled[1, y, x]),
                                   np.int32(minpooled[2, y, x]))
                keep[y, x] = keep[y, x] or (most > t and neutral)
                weak[y, x] = weak[y, x] or (most > wt and neutral)
                if most > t and not neutral:
                    thicket[y, x] = _INK


@jit()
def _detect(  # type: ignore[no-untyped-def]
    image: np.ndarray, p, offsets: np.ndarray, lesion: np.ndarray, mask: np.ndarray, closed: np.ndarray,
    opened: np.ndarray, thicket: np.ndarray, work: np.ndarray,
) -> bool:
    """Hair mask of one uint8 RGB image into ``mask`` (H, W) bool; ``lesion`` (pooled size) is protected.
    Returns whether it has thickets.

    ``p`` is the parameter record (`dermprep.hair._dullrazor.KernelParams`). ``closed`` and ``opened``
    (3, pooled H, pooled W) receive the background estimates (the per-channel generalised closing, raised
    in thickets, and opening) for `_grow_faint()`; ``thicket`` (pooled H, pooled W, uint8) the thicket cells
    (1, or `_INK` where ink lies under the hair).
    """
    hc, wc = thicket.shape
    min_length, max_width, k = _pooled_min_length(p), _pooled_max_width(p), _half_length(p)
    edge_min_length = _pooled_edge_min_length(p)
    start = mark(work)  # every array taken here is freed at the end
    dark = take_u8(work, hc * wc).reshape(hc, wc)
    bright = take_u8(work, hc * wc).reshape(hc, wc)
    minpooled = take_u8(work, 3 * hc * wc).reshape(3, hc, wc)
    candidate = take_bool(work, hc * wc).reshape(hc, wc)
    weak = take_bool(work, hc * wc).reshape(hc, wc)
    keep = take_bool(work, hc * wc).reshape(hc, wc)
    along_kept = take_i8(work, hc * wc).reshape(hc, wc)  # orientation that kept a pixel
    dark_peak = take_u8(work, hc * wc).reshape(hc, wc)
    light_peak = take_u8(work, hc * wc).reshape(hc, wc)
    stage = mark(work)  # each stage's own working arrays are freed after it, so the next reuses them (in cache)
    _residues(image, p.pool, k, p.detect_light, closed, opened, dark, bright, minpooled, work)
    release(work, stage)
    _threshold_residues(dark, bright, lesion, p, candidate, weak)
    fill_array(along_kept, np.int8(-1))
    _verify(candidate, offsets, min_length, edge_min_length, max_width, closed, minpooled, p.threshold, keep,
            along_kept, work)
    release(work, stage)
    fill_array(thicket, np.uint8(0))
    thickets = p.detect_thickets and _thickets(candidate, lesion, min_length, p.thicket_density, thicket, work)
    release(work, stage)
    if thickets:
        _lift_thickets(closed, minpooled, thicket, k, p, dark, keep, weak, work)
        release(work, stage)
    if p.grow > 0:
        _grow(keep, weak, p.grow, work)
        release(work, stage)
    _filter_components(keep, dark, bright, p.light_threshold, p.thick_hair_threshold, lesion, min_length, max_width,
                       work)
    release(work, stage)
    _extend_along(keep, weak, along_kept, offsets, min_length, work)
    release(work, stage)
    _local_peaks(dark, bright, keep, dark_peak, light_peak, work)
    release(work, stage)
    _full_resolution_mask(image, p, closed, opened, thicket, lesion, dark_peak, light_peak, mask, work)
    release(work, start)
    return thickets


@jit()
def _full_resolution_mask(image: np.ndarray, p, closed: np.ndarray, opened: np.ndarray,  # type: ignore[no-untyped-def]
                          thicket: np.ndarray, lesion: np.ndarray, dark_peak: np.ndarray, light_peak: np.ndarray,
                          mask: np.ndarray, work: np.ndarray) -> None:
    """A pixel near kept hair is hair when its residue against the pooled background reaches half the
    local hair contrast (and the low threshold): the mask follows the hair's real width. Dark hair must
    also darken the channels as hair does (`_neutral()`: not ink, not blood)."""
    height, width = mask.shape
    hc, wc = dark_peak.shape
    pool, low = p.pool, np.int32(p.low_threshold)
    fill_array(mask, False)
    # The cells near kept hair, found 8 at a time (`set_coords()`), rather than a branch per cell.
    active = take_bool(work, hc * wc).reshape(hc, wc)
    for cy in range(hc):
        dark_row, light_row, out = dark_peak[cy], light_peak[cy], active[cy]
        for cx in range(wc):
            out[cx] = (np.int32(dark_row[cx]) > low) | (p.detect_light & (np.int32(light_row[cx]) > low))
    cell_rows, cell_cols = set_coords(active, work)
    for k in range(cell_rows.size):
        cy, cx = cell_rows[k], cell_cols[k]
        dp = np.int32(dark_peak[cy, cx])
        lp = np.int32(light_peak[cy, cx]) if p.detect_light else np.int32(0)
        for y in range(cy * pool, min(cy * pool + pool, height)):
            for x in range(cx * pool, min(cx * pool + pool, width)):
                hit = False
                if dp > low:
                    r = np.int32(0)
                    for c in range(3):
                        r = max(r, np.int32(closed[c, cy, cx]) - np.int32(image[y, x, c]))
                    hit = 2 * r >= dp and r > low
                    if hit and (thicket[cy, cx] or lesion[cy, cx]):  # not ink (thickets), not blood
                        hit = _neutral_pixel(closed, cy, cx, image, y, x, thicket[cy, cx] != 0)
                if not hit and lp > low and not thicket[cy, cx]:  # thickets: light pixels are `_thicket_region`'s
                    r = np.int32(0)
                    for c in range(3):
                        r = max(r, np.int32(image[y, x, c]) - np.int32(opened[c, cy, cx]))
                    hit = 2 * r >= lp and r > low
                mask[y, x] = hit


@jit()
def _grow_faint(
    region: np.ndarray, image: np.ndarray, closed: np.ndarray, opened: np.ndarray, pool: int, light: bool,
    edge_threshold: int, steps: int, lesion: np.ndarray, thicket: np.ndarray, work: np.ndarray,
) -> None:
    """Grow ``region`` (in place) into the hair's faint parts: soft edges, shadow, tapering tips.

    ``steps`` times, the region takes its 8-neighbours that hair still darkens (or, for light hair,
    lightens) by more than ``edge_threshold`` grey levels against the background (the closing or
    opening of their cell), never in the protected ``lesion`` cells, and in a thicket only where the pixel
    darkens the channels as hair does (`_neutral_pixel()`: not ink). The pixels a step's 3x3 dilation
    reaches are found 8 at a time (a 64-bit word of bools) and visited by their set bytes' positions, with no
    branch on each byte (testing every byte of the changed words branched on the hair's edges, which no
    branch predictor guesses).
    """
    height, width = region.shape
    grown = take_bool(work, region.size).reshape(height, width)
    rows = take_u8(work, region.size).reshape(height, width)
    edge = np.int32(edge_threshold)
    flat_region = region.reshape(region.size).view(np.uint8)
    flat_grown = grown.reshape(grown.size).view(np.uint8)
    n_words = flat_region.size // 8
    words_r = flat_region[: n_words * 8].view(np.uint64)
    words_g = flat_grown[: n_words * 8].view(np.uint64)
    cell_of = np.arange(max(height, width)) // pool  # pixel row or column -> cell (no division per pixel)
    for _ in range(steps):
        dilate_once(region, grown, rows)
        y, row_start = 0, 0  # the scan moves forward: the row is carried along
        for w in range(n_words + 1):
            if w < n_words:
                new = words_g[w] & ~words_r[w]  # a byte 1 where the dilation reached a pixel outside the region
            else:  # the last few pixels
                new = tail_word(flat_grown, n_words * 8) & ~tail_word(flat_region, n_words * 8)
            while new:
                i = w * 8 + np.int64(trailing_zeros(new) >> np.uint64(3))
                new &= new - np.uint64(1)
                while i >= row_start + width:
                    row_start += width
                    y += 1
                x = i - row_start
                cy, cx = cell_of[y], cell_of[x]
                if lesion[cy, cx]:
                    continue
                v0, v1, v2 = np.int32(image[y, x, 0]), np.int32(image[y, x, 1]), np.int32(image[y, x, 2])
                darker = max(np.int32(closed[0, cy, cx]) - v0,
                             max(np.int32(closed[1, cy, cx]) - v1, np.int32(closed[2, cy, cx]) - v2))
                lighter = max(v0 - np.int32(opened[0, cy, cx]),
                              max(v1 - np.int32(opened[1, cy, cx]), v2 - np.int32(opened[2, cy, cx])))
                faint = darker > edge or (light and lighter > edge)
                if faint and thicket[cy, cx]:  # a thicket's pixel: hair, or ink?
                    faint = _neutral_pixel(closed, cy, cx, image, y, x)
                flat_region[i] = faint


#: A pixel with this many of its 8 neighbours in the region is enclosed by it (a hole of a few pixels, an inner
#: corner): it joins the region whatever its contrast.
_ENCLOSED = 5
#: How many times the region takes its enclosed pixels (`_fill_enclosed()`): holes up to about 4 pixels across.
_ENCLOSED_STEPS = 2


@jit()
def _enclosed(before: np.ndarray, y: int, x: int) -> bool:
    """Whether at least `_ENCLOSED` of pixel (y, x)'s 8 neighbours are set in ``before`` (H, W; 0/1 bytes; the
    pixel itself is not counted)."""
    height, width = before.shape
    if 0 < y < height - 1 and 0 < x < width - 1:  # inside: the nine bytes, no bounds
        above, row, below = before[y - 1], before[y], before[y + 1]
        count = (np.int32(above[x - 1]) + np.int32(above[x]) + np.int32(above[x + 1]) + np.int32(row[x - 1])
                 + np.int32(row[x + 1]) + np.int32(below[x - 1]) + np.int32(below[x]) + np.int32(below[x + 1]))
        return count >= _ENCLOSED
    count = -np.int32(before[y, x])  # at the border: the window's bytes but the pixel's own
    for yy in range(max(y - 1, 0), min(y + 2, height)):
        line = before[yy]
        for xx in range(max(x - 1, 0), min(x + 2, width)):
            count += np.int32(line[xx])
    return count >= _ENCLOSED


@jit()
def _thicket_region(region: np.ndarray, image: np.ndarray, closed: np.ndarray, thicket: np.ndarray, pool: int,
                    edge_threshold: int) -> None:
    """In thickets, the pixels the fill replaces besides ``region``: all but the skin itself and ink.

    A pixel darker than the raised background by over ``edge_threshold`` (hair the mask missed, shadowed
    skin between hairs) or brighter than it in every channel (light hair, glints) joins ``region``; in a
    mat (`_MAT`) every pixel does, for between its hairs lie only slivers of shadowed skin, which kept, or
    copied into the fill, stand out as dark dashes and blotches. In a cell of ink (`_INK`), a darker pixel
    that does not darken the channels as hair does (`_neutral()`) stays, and is copied into the hair over
    it, so a pen dot under hair stays whole.
    """
    height, width = region.shape
    edge = np.int32(edge_threshold)
    first, stop = _thicket_rows(thicket)
    for cy in range(first, stop):
        for cx in range(thicket.shape[1]):
            code = thicket[cy, cx]
            if not code:
                continue
            for y in range(cy * pool, min(cy * pool + pool, height)):
                for x in range(cx * pool, min(cx * pool + pool, width)):
                    if region[y, x] or code == _MAT:
                        region[y, x] = True
                        continue
                    most, least = np.int32(-255), np.int32(255)
                    for c in range(3):
                        v = np.int32(closed[c, cy, cx]) - np.int32(image[y, x, c])
                        most, least = max(most, v), min(least, v)
                    if most > edge:  # darker: hair or shadow, unless ink in an ink cell
                        region[y, x] = code != _INK or _neutral_pixel(closed, cy, cx, image, y, x)
                    else:  # brighter in every channel: light hair, glints
                        region[y, x] = most < 0 and least < -edge


@jit()
def _thicket_rows(thicket: np.ndarray) -> tuple[int, int]:
    """The first row of cells with a thicket and the row after the last (equal where there is none)."""
    first, stop = thicket.shape[0], 0
    for cy in range(thicket.shape[0]):
        row = thicket[cy]
        found = False
        for cx in range(row.size):
            found |= row[cx] != 0
        if found:
            first, stop = min(first, cy), cy + 1
    return min(first, stop), stop


@jit()
def _fill_enclosed(region: np.ndarray, thicket: np.ndarray, pool: int, steps: int, work: np.ndarray) -> None:
    """In thickets, ``steps`` times, every pixel with at least `_ENCLOSED` of its 8 neighbours in ``region`` joins
    it (all at once): specks of hair left between the hairs of a thicket (brown hair that `_neutral()` takes
    for ink, tips), which the fill would also spread as sources, and inner corners. Thickets lie outside the
    lesion. A pen dot under hair keeps all but such pixels, and their fill comes from the ink around them."""
    height, width = region.shape
    wc = thicket.shape[1]
    first, stop = _thicket_rows(thicket)
    if first == stop:
        return
    start = mark(work)  # `before` is freed at the end: the fill after this needs more, so the peak is the same
    before = take_u8(work, region.size).reshape(height, width)
    # the rows of the thickets and one on either side: all that the test reads
    top, bottom = max(first * pool - 1, 0), min(stop * pool + 1, height)
    flat_before = before.reshape(before.size)[top * width : bottom * width]
    flat_region = region.reshape(region.size).view(np.uint8)[top * width : bottom * width]
    for _ in range(steps):
        copy_array(flat_region, flat_before)
        for cy in range(first, stop):
            codes = thicket[cy]
            for cx in range(wc):
                if not codes[cx]:
                    continue
                for y in range(cy * pool, min(cy * pool + pool, height)):
                    for x in range(cx * pool, min(cx * pool + pool, width)):
                        if not region[y, x] and _enclosed(before, y, x):
                            region[y, x] = True
    release(work, start)


@jit()
def _process_one(  # type: ignore[no-untyped-def]
    n: int, p, detect_images: np.ndarray, images: np.ndarray, offsets: np.ndarray, lesions: np.ndarray,
    masks: np.ndarray, out: np.ndarray, work: np.ndarray,
) -> None:
    """Detect (and, with ``p.replace``, replace) hair in image ``n`` of the batch (working arrays from ``work``).

    ``p`` is the parameter record (`dermprep.hair._dullrazor.KernelParams`); ``detect_images`` the uint8
    view used for detection; ``images`` the data whose hair pixels are replaced into ``out`` (same dtype).
    """
    height, width = detect_images.shape[1], detect_images.shape[2]
    pool = p.pool
    hc, wc = (height + pool - 1) // pool, (width + pool - 1) // pool
    start_image(work)
    closed = take_u8(work, 3 * hc * wc).reshape(3, hc, wc)
    opened = take_u8(work, 3 * hc * wc).reshape(3, hc, wc)
    thicket = take_u8(work, hc * wc).reshape(hc, wc)
    thickets = _detect(detect_images[n], p, offsets, lesions[n], masks[n], closed, opened, thicket, work)
    if not p.replace:
        return
    region = take_bool(work, height * width).reshape(height, width)
    stage = mark(work)  # each stage's working arrays are freed after it, as in `_detect()`
    if p.dilation > 0:
        _dilate(masks[n], p.dilation, region, work)
        release(work, stage)
    else:
        copy_array(masks[n], region)
    if p.edge_radius > 0:  # the hair's soft edges, shadow and tips: replaced too
        _grow_faint(region, detect_images[n], closed, opened, pool, p.detect_light, p.edge_threshold,
                    p.edge_radius, lesions[n], thicket, work)
        release(work, stage)
    if thickets:
        _thicket_region(region, detect_images[n], closed, thicket, pool, p.edge_threshold)
        _fill_enclosed(region, thicket, pool, _ENCLOSED_STEPS, work)
    copy_array(images[n], out[n])
    push_pull_fill(images[n], region, p.rounding, out[n], work)
    if p.smooth:
        smooth_region(region, out[n], p.rounding)


# The entry point: tf.data calls it from several threads at once, and a batch's worker threads each call it on
# one image (`dermprep.hair._dullrazor._run_batch`).
@jit()
def process_serial(  # type: ignore[no-untyped-def]
    p, detect_images: np.ndarray, images: np.ndarray, offsets: np.ndarray, lesions: np.ndarray,
    masks: np.ndarray, out: np.ndarray, work: np.ndarray,
) -> None:
    """Every image of the batch, one after the other in the calling thread (arguments as `_process_one()`)."""
    for n in range(detect_images.shape[0]):
        _process_one(n, p, detect_images, images, offsets, lesions, masks, out, work)
