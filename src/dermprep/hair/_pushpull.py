"""Private numba kernels: fill the hair region from its hair-free surroundings by pyramid push-pull.

A fill that interpolates along a few fixed directions draws strokes where
its end pixels are undetected hair (criss-cross hatching in a thicket). This
one has no preferred direction (Gortler et al. 1996, "The Lumigraph", the
pull-push step):

- **pull**: level 1 holds, per 2x2 block of pixels, the sum of the *source*
  pixels' values (hair-free, outside the region) and their count; each
  coarser level sums 2x2 cells of the one below, up to a single cell;
- **push**: from the coarsest level down, a cell becomes the mean of its own
  sources blended with the bilinear upsampling of the level above,
  ``(sum + lam U) / (count + lam)`` with ``lam`` a quarter of a full cell;
  a region pixel takes the bilinear upsampling of level 1.

So a pixel next to skin takes that skin's colour, one deep inside a thicket
a smooth mean of the surroundings at the scale of the thicket; the value is
always a weighted mean of source pixels, never darker than the surroundings
that support it. Cost: one pass over the image, then a third of one.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit
from ._bits import dilate_once, fill_array, set_coords
from ._workspace import take_bool, take_f32, take_u8

# The prior weight of the upsampled coarser level: a quarter of a cell's pixels at every level (1 pixel of a
# level-1 cell's 4). On the first 20 bases of experiments/hair_simulated.py, a tenth lost 0.2-1.4 dB, a whole
# cell 0.4-1.6 dB (simulate_hair, add_hair) but won 0.7 dB on dense hair.
_PRIOR = np.float32(1.0)


@jit()
def _levels(height: int, width: int) -> np.ndarray:
    """(levels + 1, 3) int64: rows, columns and first cell index of levels 1.. (halving to 1x1), then the total."""
    count = 1
    h, w = (height + 1) // 2, (width + 1) // 2
    while h > 1 or w > 1:
        h, w = (h + 1) // 2, (w + 1) // 2
        count += 1
    shapes = np.zeros((count + 1, 3), np.int64)
    h, w = (height + 1) // 2, (width + 1) // 2
    start = 0
    for level in range(count):
        shapes[level, 0], shapes[level, 1], shapes[level, 2] = h, w, start
        start += h * w
        h, w = (h + 1) // 2, (w + 1) // 2
    shapes[count, 2] = start
    return shapes


@jit()
def block_sums(image: np.ndarray, out: np.ndarray, work: np.ndarray) -> None:
    """``out`` (3, rows * cols) float32, rows and columns ceil(H / 2), ceil(W / 2): each channel's sum over the
    2x2 blocks of ``image``, block (cy, cx) at ``cy * cols + cx`` (a working row from ``work``)."""
    height, width = image.shape[0], image.shape[1]
    rows, cols = (height + 1) // 2, (width + 1) // 2
    flat = width * 3
    pair = take_f32(work, flat)
    for cy in range(rows):
        first = image[2 * cy].reshape(flat)
        for i in range(flat):
            pair[i] = np.float32(first[i])
        if 2 * cy + 1 < height:
            second = image[2 * cy + 1].reshape(flat)
            for i in range(flat):
                pair[i] += np.float32(second[i])
        full = width // 2  # blocks with two columns; an odd width's last block has one
        base = cy * cols
        out0, out1, out2 = out[0, base: base + cols], out[1, base: base + cols], out[2, base: base + cols]
        for cx in range(full):  # no branch, a constant stride: LLVM vectorises it
            i = 6 * cx
            out0[cx] = pair[i] + pair[i + 3]
            out1[cx] = pair[i + 1] + pair[i + 4]
            out2[cx] = pair[i + 2] + pair[i + 5]
        for cx in range(full, cols):
            i = 6 * cx
            out0[cx] = pair[i]
            out1[cx] = pair[i + 1]
            out2[cx] = pair[i + 2]


@jit()
def _pull_pixels(image: np.ndarray, ys: np.ndarray, xs: np.ndarray, sums: np.ndarray, counts: np.ndarray,
                 work: np.ndarray) -> None:
    """Level 1: per 2x2 block, the sum (3 channels) and count of source pixels (all but the region's).

    Every pixel's sums per block are taken first (`block_sums()`); the region's pixels (rows ``ys``, columns
    ``xs``) are then subtracted, visiting only those.
    """
    height, width = image.shape[0], image.shape[1]
    rows, cols = (height + 1) // 2, (width + 1) // 2
    block_sums(image, sums, work)
    full_rows, full_cols = height // 2, width // 2  # blocks of two rows, of two columns
    for cy in range(rows):
        n_y = np.float32(2.0) if cy < full_rows else np.float32(1.0)
        line = counts[cy * cols: cy * cols + cols]
        for cx in range(full_cols):
            line[cx] = n_y * np.float32(2.0)
        for cx in range(full_cols, cols):
            line[cx] = n_y
    for k in range(ys.size):
        y, x = ys[k], xs[k]
        cell = (y >> 1) * cols + (x >> 1)
        counts[cell] -= np.float32(1.0)
        for c in range(3):
            sums[c, cell] -= np.float32(image[y, x, c])
    for k in range(ys.size):  # a block with no source left: exactly 0, not what float cancellation leaves
        cell = (ys[k] >> 1) * cols + (xs[k] >> 1)
        if counts[cell] == 0:
            for c in range(3):
                sums[c, cell] = 0.0


@jit()
def _pair_sums(upper: np.ndarray, lower: np.ndarray, out: np.ndarray) -> None:
    """``out[i] = (upper[2i] + upper[2i + 1]) + (lower[2i] + lower[2i + 1])``: a row of whole 2x2 cells."""
    for i in range(out.size):  # no branch: LLVM vectorises it
        out[i] = (upper[2 * i] + upper[2 * i + 1]) + (lower[2 * i] + lower[2 * i + 1])


@jit()
def _pull_cells(sums: np.ndarray, counts: np.ndarray, shapes: np.ndarray, level: int) -> None:
    """Level ``level + 1`` from ``level``: sums and counts of 2x2 cells (a missing row or column weighs 0)."""
    rows, cols, start = shapes[level, 0], shapes[level, 1], shapes[level, 2]
    rows2, cols2, start2 = shapes[level + 1, 0], shapes[level + 1, 1], shapes[level + 1, 2]
    for cy in range(rows2):
        y0 = 2 * cy
        y1 = min(y0 + 1, rows - 1)
        wy = np.float32(y0 + 1 < rows)
        first = 0
        if y0 + 1 < rows:  # whole cells, weights 1: the expression below, without its products by 1
            first = cols // 2
            upper, lower, target = start + y0 * cols, start + y1 * cols, start2 + cy * cols2
            _pair_sums(counts[upper: upper + 2 * first], counts[lower: lower + 2 * first],
                       counts[target: target + first])
            for c in range(3):
                _pair_sums(sums[c, upper: upper + 2 * first], sums[c, lower: lower + 2 * first],
                           sums[c, target: target + first])
        for cx in range(first, cols2):
            x0 = 2 * cx
            x1 = min(x0 + 1, cols - 1)
            wx = np.float32(x0 + 1 < cols)
            a, b = start + y0 * cols + x0, start + y0 * cols + x1
            d, e = start + y1 * cols + x0, start + y1 * cols + x1
            target = start2 + cy * cols2 + cx
            counts[target] = counts[a] + wx * counts[b] + wy * (counts[d] + wx * counts[e])
            for c in range(3):
                sums[c, target] = sums[c, a] + wx * sums[c, b] + wy * (sums[c, d] + wx * sums[c, e])


@jit()
def _taps(i: int, n: int) -> tuple[int, int, np.float32]:
    """Bilinear upsampling by 2: the two coarse indices around fine index ``i`` and the first one's weight."""
    m = i >> 1
    if i & 1:
        return m, min(m + 1, n - 1), np.float32(0.75)
    return max(m - 1, 0), m, np.float32(0.25)


@jit()
def _push_level(sums: np.ndarray, counts: np.ndarray, shapes: np.ndarray, field: np.ndarray, level: int,
                needed: np.ndarray) -> None:
    """Fill values of the ``needed`` cells (rows, cols) of ``level``: each cell's sources' mean blended with the
    bilinear upsampling of the level above, ``(sum + w U) / (count + w)``."""
    rows, cols, start = shapes[level, 0], shapes[level, 1], shapes[level, 2]
    rows2, cols2, start2 = shapes[level + 1, 0], shapes[level + 1, 1], shapes[level + 1, 2]
    weight = _PRIOR * np.float32(4.0**level)
    for y in range(rows):
        ya, yb, wy = _taps(y, rows2)
        wy1 = np.float32(1.0) - wy
        for x in range(cols):
            if not needed[y, x]:
                continue
            xa, xb, wx = _taps(x, cols2)
            wx1 = np.float32(1.0) - wx
            a, b = start2 + ya * cols2 + xa, start2 + ya * cols2 + xb
            d, e = start2 + yb * cols2 + xa, start2 + yb * cols2 + xb
            cell = start + y * cols + x
            norm = np.float32(1.0) / (counts[cell] + weight)
            for c in range(3):
                up = wy * (wx * field[c, a] + wx1 * field[c, b]) + wy1 * (wx * field[c, d] + wx1 * field[c, e])
                field[c, cell] = (sums[c, cell] + weight * up) * norm


@jit()
def push_pull_fill(image: np.ndarray, region: np.ndarray, rounding: float, out: np.ndarray,
                   work: np.ndarray) -> None:
    """Write into ``out`` (same dtype as ``image``) the push-pull fill of the ``region`` pixels.

    The sources are the pixels outside ``region`` (with none, nothing changes). ``out`` must already hold ``image``
    outside the region. ``rounding`` is 0.5 for integer outputs (fill values are convex combinations of
    inputs, so truncation after adding it rounds) and 0 for float. Working arrays come from ``work``
    (`._workspace`).
    """
    height, width = region.shape
    shapes = _levels(height, width)
    top = shapes.shape[0] - 2
    total = shapes[top + 1, 2]
    sums = take_f32(work, 3 * total).reshape(3, total)
    counts = take_f32(work, total)
    # A cell's fill value needs only its own sums (and the level above's values): it takes their place, so the
    # fill touches a third less memory. Cells the push skips keep their sums, which nothing reads.
    field = sums
    rows, cols = shapes[0, 0], shapes[0, 1]
    ys, xs = set_coords(region, work)
    if ys.size == 0:  # nothing to fill
        return
    _pull_pixels(image, ys, xs, sums, counts, work)
    for level in range(top):
        _pull_cells(sums, counts, shapes, level)
    cell = shapes[top, 2]
    if counts[cell] == 0:  # no source anywhere: nothing to fill from, the region stays as it is
        return
    needed = _needed_cells(ys, xs, shapes, work)
    for c in range(3):
        field[c, cell] = sums[c, cell] / counts[cell]
    for level in range(top - 1, -1, -1):
        rows_l, cols_l, start = shapes[level, 0], shapes[level, 1], shapes[level, 2]
        _push_level(sums, counts, shapes, field, level, needed[start: start + rows_l * cols_l].reshape(rows_l, cols_l))
    for k in range(ys.size):
        y, x = ys[k], xs[k]
        ya, yb, wy = _taps(y, rows)
        xa, xb, wx = _taps(x, cols)
        wy1, wx1 = np.float32(1.0) - wy, np.float32(1.0) - wx
        a, b, d, e = ya * cols + xa, ya * cols + xb, yb * cols + xa, yb * cols + xb
        for c in range(3):
            up = wy * (wx * field[c, a] + wx1 * field[c, b]) + wy1 * (wx * field[c, d] + wx1 * field[c, e])
            out[y, x, c] = up + rounding


@jit()
def _needed_cells(ys: np.ndarray, xs: np.ndarray, shapes: np.ndarray, work: np.ndarray) -> np.ndarray:
    """Per cell of every level below the top (flat, as ``sums``' cells), whether the push computes it: the cells
    that the upsampling of a region pixel (rows ``ys``, columns ``xs``) reads, and those that the push of a needed
    cell reads one level up. A superset is harmless (a cell's value does not depend on which others are computed),
    so: level 0, the region's blocks grown by one; each level above, the 2x2 cells holding the level below's
    blocks, grown by two. (The push read every cell above level 0; with the hair a few percent of the image, most
    of level 1's were never used.)"""
    total = shapes[shapes.shape[0] - 1, 2]
    needed = take_bool(work, total)
    rows, cols = shapes[0, 0], shapes[0, 1]
    # the marked cells of the level below and of the level being made, in two buffers used in turn
    below_flat, above_flat = take_u8(work, rows * cols), take_u8(work, rows * cols)
    across = take_u8(work, rows * cols)
    blocks = below_flat.reshape(rows, cols)
    fill_array(blocks, np.uint8(0))
    for k in range(ys.size):
        blocks[ys[k] >> 1, xs[k] >> 1] = 1
    dilate_once(blocks, needed[:rows * cols].reshape(rows, cols), across[:rows * cols].reshape(rows, cols))
    for level in range(1, shapes.shape[0] - 2):  # the top level is computed apart
        rows2, cols2, start = shapes[level, 0], shapes[level, 1], shapes[level, 2]
        upper = above_flat[:rows2 * cols2].reshape(rows2, cols2)
        whole = cols // 2  # 2x2 cells with two columns; an odd width's last has one
        for y in range(rows2):
            top, bottom = blocks[2 * y], blocks[min(2 * y + 1, rows - 1)]
            u = upper[y]
            for x in range(whole):
                u[x] = top[2 * x] | top[2 * x + 1] | bottom[2 * x] | bottom[2 * x + 1]
            for x in range(whole, cols2):
                u[x] = top[2 * x] | bottom[2 * x]
        blocks, rows, cols = upper, rows2, cols2
        below_flat, above_flat = above_flat, below_flat
        grown, scratch = needed[start: start + rows * cols].reshape(rows, cols), across[:rows * cols].reshape(rows, cols)
        dilate_once(blocks, grown, scratch)  # grown by two: two 3x3 dilations
        dilate_once(grown, grown, scratch)
    return needed


@jit()
def smooth_region(region: np.ndarray, out: np.ndarray, rounding: float) -> None:
    """Replace each region pixel of ``out`` by the 3x3 mean of ``out`` around it (values before smoothing)."""
    height, width = region.shape
    count = 0
    for y in range(height):
        for x in range(width):
            if region[y, x]:
                count += 1
    smoothed = np.empty((count, 3), np.float32)
    k = 0
    for y in range(height):
        for x in range(width):
            if not region[y, x]:
                continue
            n = 0
            for c in range(3):
                smoothed[k, c] = 0.0
            for yy in range(max(y - 1, 0), min(y + 2, height)):
                for xx in range(max(x - 1, 0), min(x + 2, width)):
                    for c in range(3):
                        smoothed[k, c] += np.float32(out[yy, xx, c])
                    n += 1
            for c in range(3):
                smoothed[k, c] /= np.float32(n)
            k += 1
    k = 0
    for y in range(height):
        for x in range(width):
            if region[y, x]:
                for c in range(3):
                    out[y, x, c] = smoothed[k, c] + rounding
                k += 1
