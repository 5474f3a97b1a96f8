"""Slow, plain NumPy/Python reference of the Dull Razor kernels (the test oracle).

Written independently of `._kernels` from the same description, so that
the two can be compared pixel for pixel on small images. Not for production:
it is orders of magnitude slower.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._dullrazor import DullRazorParams, line_offsets, orientations

__all__ = ["reference_hair_mask", "reference_remove_hair"]

_ORIENTATIONS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _along_line(plane: np.ndarray, dy: int, dx: int, reach: int) -> np.ndarray:
    """Stack of ``plane`` at each pixel + u (dy, dx), u = -reach..reach; beyond the border each line
    continues as its last pixel inside (u clamped to the steps that stay inside)."""
    h, w = plane.shape
    yy, xx = np.mgrid[0:h, 0:w]
    big = 2 * (h + w)

    def steps_inside(sy: int, sx: int) -> np.ndarray:
        """How many steps of (sy, sx) from each pixel stay inside the plane."""
        by = (h - 1 - yy if sy > 0 else yy) if sy else np.full_like(yy, big)
        bx = (w - 1 - xx if sx > 0 else xx) if sx else np.full_like(xx, big)
        return np.minimum(by, bx)

    forward, backward = steps_inside(dy, dx), steps_inside(-dy, -dx)
    steps = [np.clip(u, -backward, forward) for u in range(-reach, reach + 1)]
    return np.stack([plane[yy + t * dy, xx + t * dx] for t in steps])


def _generalized(plane: np.ndarray, k: int, closing: bool) -> np.ndarray:
    """The closing (opening) of the image extended along each line: min over s of max over t of the
    extended image at s + t, |s|, |t| <= k."""
    results = []
    for dy, dx in _ORIENTATIONS:
        line = _along_line(plane, dy, dx, 2 * k)  # index u + 2k
        first = np.stack([(line[s + k : s + 3 * k + 1].max(axis=0) if closing else
                           line[s + k : s + 3 * k + 1].min(axis=0)) for s in range(-k, k + 1)])
        results.append(first.min(axis=0) if closing else first.max(axis=0))
    stack = np.stack(results)
    return stack.max(axis=0) if closing else stack.min(axis=0)


def _pool(channel: np.ndarray, pool: int, reducer: str) -> np.ndarray:
    h, w = channel.shape
    hc, wc = -(-h // pool), -(-w // pool)
    fill = 255 if reducer == "min" else 0
    padded = np.full((hc * pool, wc * pool), fill, np.uint8)
    padded[:h, :w] = channel
    blocks = padded.reshape(hc, pool, wc, pool)
    return blocks.min(axis=(1, 3)) if reducer == "min" else blocks.max(axis=(1, 3))


def _run(mask: np.ndarray, y: int, x: int, offsets: np.ndarray, j: int, sign: int, limit: int) -> int:
    h, w = mask.shape
    n = 0
    for t in range(1, min(limit, offsets.shape[1] - 1) + 1):
        yy, xx = y + sign * offsets[j, t, 0], x + sign * offsets[j, t, 1]
        if not (0 <= yy < h and 0 <= xx < w) or not mask[yy, xx]:
            break
        n += 1
    return n


def _shortest_extent(offsets: np.ndarray, length: int) -> int:
    """The smallest bounding-box side of a straight run of ``length`` steps in any orientation."""
    sides = [max(abs(offsets[j, f, 0] + offsets[j, length - 1 - f, 0]), abs(offsets[j, f, 1] + offsets[j, length - 1 - f, 1])) + 1
             for j in range(offsets.shape[0]) for f in range(length)]
    return min(length, *sides)


def _stubs(candidate: np.ndarray, offsets: np.ndarray, min_length: int, edge_min_length: int, max_width: int,
           closed: np.ndarray, low: np.ndarray, least: int) -> tuple[np.ndarray, np.ndarray]:
    """Components of at most min_length x max_width pixels that touch the border and are stubs of hair cut
    by it: in the orientation (of offsets') in which they are narrowest for their length, at least
    edge_min_length long and at most half that (and max_width) wide, at least 11.25 degrees off each edge
    they touch; darkening the background (closed, per
    channel) by least grey levels on average in the most darkened channel, and in proportion as hair does,
    their min-pooled values (low) summed."""
    h, w = candidate.shape
    ndir = offsets.shape[0]
    keep = np.zeros((h, w), bool)
    kept_dir = np.full((h, w), -1, np.int64)
    count, labels = cv2.connectedComponents(candidate.astype(np.uint8), connectivity=8)
    for label in range(1, count):
        ys, xs = np.nonzero(labels == label)
        side = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1
        horizontal, vertical = ys.min() == 0 or ys.max() == h - 1, xs.min() == 0 or xs.max() == w - 1
        border = horizontal or vertical
        if (edge_min_length >= min_length or side < _shortest_extent(offsets, edge_min_length)
                or ys.size > min_length * max_width or not border):
            continue
        best, best_ratio = -1, np.inf
        for j in range(ndir):  # the orientation in which it is narrowest for its length
            angle = j * np.pi / ndir
            sine, cosine = np.sin(angle), np.cos(angle)
            along, across = ys * sine + xs * cosine, ys * cosine - xs * sine
            length, thickness = along.max() - along.min() + 1, across.max() - across.min() + 1
            if length >= edge_min_length and thickness <= min(max_width, length / 2) and thickness / length < best_ratio:
                best, best_ratio = j, thickness / length
        angle = best * 180 / ndir  # at least 11.25 degrees off each edge it touches, not lying along it
        if best >= 0 and ((horizontal and min(angle, 180 - angle) < 11.25) or (vertical and abs(90 - angle) < 11.25)):
            best = -1
        background = closed[:, ys, xs].astype(np.int64).sum(axis=1)
        darkening = background - np.minimum(low[:, ys, xs], closed[:, ys, xs]).astype(np.int64).sum(axis=1)
        f = darkening / np.maximum(background, 1)
        if best >= 0 and darkening.max() >= least * ys.size and f[0] >= 0.25 * f.max() and f[2] >= 0.45 * f.max():
            keep[ys, xs] = True
            kept_dir[ys, xs] = best
    return keep, kept_dir


def _verify(candidate: np.ndarray, offsets: np.ndarray, min_length: int, edge_min_length: int,
            max_width: int, closed: np.ndarray, low: np.ndarray, least: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = candidate.shape
    ndir = offsets.shape[0]
    keep, kept_dir = _stubs(candidate, offsets, min_length, edge_min_length, max_width, closed, low, least)
    stubs = keep.copy()
    along = np.full((h, w), -1, np.int64)
    last = 0
    for y in range(h):
        for x in range(w):
            if not candidate[y, x] or stubs[y, x]:
                continue
            found = along[y, x]
            if found >= 0:
                start = found
            elif x > 0 and keep[y, x - 1]:
                start = kept_dir[y, x - 1]
            else:
                start = last
                if y > 0:
                    for xx in (x, x - 1, x + 1):
                        if 0 <= xx < w and keep[y - 1, xx]:
                            start = kept_dir[y - 1, xx]
                            break
            for jj in range(ndir):
                j = (start + jj) % ndir
                if not (found >= 0 and jj == 0):
                    fwd = _run(candidate, y, x, offsets, j, 1, min_length)
                    bwd = 0
                    if 1 + fwd < min_length:
                        bwd = _run(candidate, y, x, offsets, j, -1, min_length - 1 - fwd)
                    if 1 + fwd + bwd < min_length:
                        continue
                    for t in range(1, fwd + 1):
                        along[y + offsets[j, t, 0], x + offsets[j, t, 1]] = j
                thin = False
                for dj in (0, -(ndir // 8), ndir // 8):  # across, and 22.5 degrees either side
                    p = (j + ndir // 2 + dj) % ndir
                    across = 1 + _run(candidate, y, x, offsets, p, 1, max_width)
                    if across <= max_width:
                        across += _run(candidate, y, x, offsets, p, -1, max_width)
                    if across <= max_width:
                        thin = True
                        break
                if thin:
                    keep[y, x] = True
                    kept_dir[y, x] = j
                    last = j
                    break
    return keep, kept_dir


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    h, w = mask.shape
    padded = np.zeros((h + 2 * radius, w + 2 * radius), bool)
    padded[radius : radius + h, radius : radius + w] = mask
    out = np.zeros_like(mask)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            out |= padded[radius + dy : radius + dy + h, radius + dx : radius + dx + w]
    return out


def _local_peak(residue: np.ndarray, keep: np.ndarray) -> np.ndarray:
    values = np.where(keep, residue, 0).astype(np.int64)
    h, w = values.shape
    padded = np.zeros((h + 2, w + 2), np.int64)
    padded[1:-1, 1:-1] = values
    return np.max([padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)


def _filter_components(keep: np.ndarray, dark: np.ndarray, bright: np.ndarray, light_threshold: int,
                       thick_threshold: int, lesion: np.ndarray, min_length: int, max_width: int) -> np.ndarray:
    """The lesion-safety rule on OpenCV's connected components (the kernel labels its own)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(keep.astype(np.uint8), connectivity=8)
    out = keep.copy()
    for c in range(1, count):
        member = labels == c
        area = int(stats[c, cv2.CC_STAT_AREA])
        inside = int((member & lesion).sum())
        if inside == 0:
            continue
        light = int((member & (bright > light_threshold)).sum())
        if 2 * light >= area:
            out[member & lesion] = False
            continue
        outside = member & ~lesion
        if outside.any():
            ys, xs = np.nonzero(outside)
            extent = np.sqrt(float((np.ptp(ys) + 1) ** 2 + (np.ptp(xs) + 1) ** 2))
            if extent >= min_length and area - inside >= min_length:
                continue
        diagonal = np.sqrt(float(stats[c, cv2.CC_STAT_HEIGHT] ** 2 + stats[c, cv2.CC_STAT_WIDTH] ** 2))
        thin = area <= 0.6 * max_width * diagonal
        thick_and_dark = area <= max_width * diagonal and int(dark[member].sum()) >= thick_threshold * area
        if diagonal >= 2 * min_length and (thin or thick_and_dark):
            continue
        out[member] = False
    return out


def _background(image: np.ndarray, params: DullRazorParams) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                      np.ndarray, np.ndarray]:
    """Pooled closings and openings (3, h, w) of each channel, the dark and light residues, the min-pooled planes."""
    pool = params.pool
    k = -(-(params.line_length // 2) // pool)
    low = np.stack([_pool(image[..., c], pool, "min") for c in range(3)])
    high = [_pool(image[..., c], pool, "max") for c in range(3)]
    closed = np.stack([_generalized(low[c], k, True) for c in range(3)])
    dark = np.maximum((closed.astype(np.int64) - low).max(axis=0), 0)
    lifted = [np.maximum(high[c], closed[c]) for c in range(3)]
    if params.detect_light:
        opened = np.stack([_generalized(lifted[c], k, False) for c in range(3)])
        bright = np.maximum(np.max([lifted[c].astype(np.int64) - opened[c] for c in range(3)], axis=0), 0)
    else:
        opened = np.zeros_like(closed)
        bright = np.zeros_like(dark)
    return closed, opened, dark, bright, low


_INK, _MAT = 2, 3
#: A pixel with at least this many of its 8 neighbours replaced is replaced too, in this many rounds.
_ENCLOSED, _ENCLOSED_STEPS = 5, 2


def _neutral(background: np.ndarray, values: np.ndarray, ink: np.ndarray | bool = True) -> np.ndarray:
    """Hair's darkening, channel last: red by a quarter of the most at least (not blood), blue by 0.45 (not ink)."""
    b = background.astype(np.int64)
    f = (b - values).astype(np.float32) / np.maximum(b, 1).astype(np.float32)
    most = f.max(axis=-1)
    return (f[..., 0] >= np.float32(0.25) * most) & (~np.asarray(ink) | (f[..., 2] >= np.float32(0.45) * most))


def _thickets(candidate: np.ndarray, lesion: np.ndarray, radius: int, density: float) -> np.ndarray:
    h, w = candidate.shape
    integral = np.zeros((h + 1, w + 1), np.int64)
    integral[1:, 1:] = candidate.astype(np.int64).cumsum(0).cumsum(1)
    y0, y1 = np.clip(np.arange(h) - radius, 0, h), np.clip(np.arange(h) + radius + 1, 0, h)
    x0, x1 = np.clip(np.arange(w) - radius, 0, w), np.clip(np.arange(w) + radius + 1, 0, w)
    inside = (integral[y1][:, x1] - integral[y0][:, x1] - integral[y1][:, x0] + integral[y0][:, x0])
    area = (y1 - y0)[:, None] * (x1 - x0)[None, :]
    dense = (inside >= density * area) & ~lesion
    return np.where(dense & (inside >= 1.5 * density * area), _MAT, dense.astype(np.int64))


def _lift_thickets(closed: np.ndarray, low: np.ndarray, codes: np.ndarray, k: int, params: DullRazorParams,
                   dark: np.ndarray, keep: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """Raise the background in thickets (in place) to a generalised closing of its 2x2 means; the hair it shows."""
    thicket = codes != 0
    h, w = thicket.shape
    for c in range(3):
        padded = np.zeros((-(-h // 2) * 2, -(-w // 2) * 2), np.int64)
        counts = np.zeros_like(padded)
        padded[:h, :w], counts[:h, :w] = closed[c], 1
        total = padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2).sum(axis=(1, 3))
        n = counts.reshape(counts.shape[0] // 2, 2, counts.shape[1] // 2, 2).sum(axis=(1, 3))
        coarse = _generalized(((total + n // 2) // n).astype(np.uint8), k, True)
        up = coarse[np.arange(h)[:, None] // 2, np.arange(w)[None, :] // 2]
        closed[c] = np.where(thicket, np.maximum(closed[c], up), closed[c])
    most = np.maximum((closed.astype(np.int64) - low).max(axis=0), 0)
    neutral = _neutral(np.moveaxis(closed, 0, -1), np.moveaxis(low, 0, -1).astype(np.int64))
    dark[thicket] = most[thicket]
    keep |= thicket & (most > params.threshold) & neutral
    weak |= thicket & (most > params.low_threshold) & neutral
    return np.where(thicket & (most > params.threshold) & ~neutral, _INK, codes)


def _extend_along(keep: np.ndarray, weak: np.ndarray, kept_dir: np.ndarray, offsets: np.ndarray,
                  steps: int) -> np.ndarray:
    h, w = keep.shape
    verified = keep & (kept_dir >= 0)
    extended = np.zeros_like(keep)
    for y, x in zip(*np.nonzero(verified), strict=True):
        j = kept_dir[y, x]
        for sign in (1, -1):
            ny, nx = y + sign * offsets[j, 1, 0], x + sign * offsets[j, 1, 1]
            if 0 <= ny < h and 0 <= nx < w and verified[ny, nx]:
                continue
            for t in range(1, min(steps, offsets.shape[1] - 1) + 1):
                yy, xx = y + sign * offsets[j, t, 0], x + sign * offsets[j, t, 1]
                if not (0 <= yy < h and 0 <= xx < w) or not weak[yy, xx]:
                    break
                extended[yy, xx] = True
    return keep | extended


def _detect(image: np.ndarray, params: DullRazorParams, lesion: np.ndarray) -> tuple[np.ndarray, ...]:
    """Pooled detection: kept cells, backgrounds (closings raised in thickets), residues, thicket codes."""
    pool = params.pool
    min_length = max(2, -(-params.min_length // pool))
    max_width = max(1, -(-params.max_width // pool))
    k = -(-(params.line_length // 2) // pool)
    offsets = line_offsets(orientations(params), max(params.min_length, params.max_width) + 2)
    closed, opened, dark, bright, low = _background(image, params)
    threshold = np.where(lesion, params.lesion_threshold, params.threshold)
    candidate = (dark > threshold) | (bright > params.light_threshold)
    weak = (dark > np.where(lesion, params.lesion_low_threshold, params.low_threshold)) | (bright > params.low_threshold)
    edge_min_length = min(min_length, max(2, -(-params.edge_min_length // pool)))
    keep, kept_dir = _verify(candidate, offsets, min_length, edge_min_length, max_width, closed, low,
                             params.threshold)
    thicket = np.zeros(dark.shape, np.int64)
    if params.detect_thickets:
        codes = _thickets(candidate, lesion, min_length, params.thicket_density)
        if codes.any():
            thicket = _lift_thickets(closed, low, codes, k, params, dark, keep, weak)
    for _ in range(params.grow):
        keep = keep | (_dilate(keep, 1) & weak)
    keep = _filter_components(keep, dark, bright, params.light_threshold, params.thick_hair_threshold, lesion,
                              min_length, max_width)
    keep = _extend_along(keep, weak, kept_dir, offsets, min_length)
    return keep, closed, opened, dark, bright, thicket


def _full(plane: np.ndarray, shape: tuple[int, int], pool: int) -> np.ndarray:
    """A pooled (3, h, w) or (h, w) array at full resolution, channel last."""
    h, w = shape
    block = (np.arange(h)[:, None] // pool, np.arange(w)[None, :] // pool)
    return np.moveaxis(plane[:, block[0], block[1]], 0, -1) if plane.ndim == 3 else plane[block]


def reference_hair_mask(image: np.ndarray, params: DullRazorParams, lesion: np.ndarray | None = None) -> np.ndarray:
    """Hair mask of one uint8 RGB image, computed the slow way (``lesion``: the protected pooled cells)."""
    mask, _, _ = _mask_and_backgrounds(image, params, lesion)
    return mask


def _mask_and_backgrounds(image: np.ndarray, params: DullRazorParams,
                          lesion: np.ndarray | None) -> tuple[np.ndarray, tuple[np.ndarray, ...], np.ndarray]:
    pool = params.pool
    hc, wc = -(-image.shape[0] // pool), -(-image.shape[1] // pool)
    lesion = np.zeros((hc, wc), bool) if lesion is None else lesion
    keep, closed, opened, dark, bright, thicket = _detect(image, params, lesion)
    dark_peak = _local_peak(dark, keep)
    light_peak = _local_peak(bright, keep) if params.detect_light else np.zeros_like(dark_peak)
    img = image.astype(np.int64)
    closed_full, opened_full = _full(closed, image.shape[:2], pool), _full(opened, image.shape[:2], pool)
    dp, lp = _full(dark_peak, image.shape[:2], pool), _full(light_peak, image.shape[:2], pool)
    thicket_full, lesion_full = _full(thicket, image.shape[:2], pool), _full(lesion, image.shape[:2], pool)
    r_dark = np.maximum((closed_full.astype(np.int64) - img).max(axis=-1), 0)
    r_light = np.maximum((img - opened_full).max(axis=-1), 0)
    low_t = params.low_threshold
    dark_hit = (dp > low_t) & (2 * r_dark >= dp) & (r_dark > low_t)
    colour = _neutral(closed_full, img, thicket_full != 0)  # not ink (thickets), not blood (there and in the lesion)
    dark_hit &= ~((thicket_full != 0) | lesion_full) | colour
    light_hit = (lp > low_t) & (2 * r_light >= lp) & (r_light > low_t) & (thicket_full == 0)
    return dark_hit | light_hit, (closed_full, opened_full, thicket_full, lesion_full), lesion


def _region(detect: np.ndarray, mask: np.ndarray, params: DullRazorParams,
            backgrounds: tuple[np.ndarray, ...]) -> np.ndarray:
    """The replaced pixels."""
    closed_full, opened_full, thicket_full, lesion_full = backgrounds
    img = detect.astype(np.int64)
    region = _dilate(mask, params.dilation) if params.dilation > 0 else mask.copy()
    darkening = closed_full.astype(np.int64) - img
    if params.edge_radius > 0:  # faint edges, shadow and tips: a constrained dilation, one step at a time
        faint = darkening.max(axis=-1) > params.edge_threshold
        if params.detect_light:
            faint |= (img - opened_full).max(axis=-1) > params.edge_threshold
        faint &= (thicket_full == 0) | _neutral(closed_full, img)
        faint &= ~lesion_full
        for _ in range(params.edge_radius):
            region = region | (_dilate(region, 1) & faint)
    if params.detect_thickets:
        most, least = darkening.max(axis=-1), darkening.min(axis=-1)
        darker = most > params.edge_threshold
        joins = darker & ((thicket_full != _INK) | _neutral(closed_full, img))
        joins |= ~darker & (most < 0) & (least < -params.edge_threshold)
        region = region | (thicket_full == _MAT) | ((thicket_full != 0) & joins)
        for _ in range(_ENCLOSED_STEPS):  # in thickets, holes of a few pixels and inner corners: all at once
            neighbours = np.zeros(region.shape, np.int64)
            padded = np.pad(region, 1)
            for dy in range(3):
                for dx in range(3):
                    neighbours += padded[dy : dy + region.shape[0], dx : dx + region.shape[1]]
            region = region | ((neighbours >= _ENCLOSED) & (thicket_full != 0))
    return region


def _taps(n_fine: int, n_coarse: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i = np.arange(n_fine)
    m = i >> 1
    odd = (i & 1) == 1
    a = np.where(odd, m, np.maximum(m - 1, 0))
    b = np.where(odd, np.minimum(m + 1, n_coarse - 1), m)
    return a, b, np.where(odd, np.float32(0.75), np.float32(0.25)).astype(np.float32)


def _upsample(field: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling by 2 of a (h, w, 3) field to ``shape`` (3/4-1/4 taps, edges clamped)."""
    ya, yb, wy = _taps(shape[0], field.shape[0])
    xa, xb, wx = _taps(shape[1], field.shape[1])
    wy, wx = wy[:, None, None], wx[None, :, None]
    one = np.float32(1.0)
    top = wx * field[ya][:, xa] + (one - wx) * field[ya][:, xb]
    bottom = wx * field[yb][:, xa] + (one - wx) * field[yb][:, xb]
    return (wy * top + (one - wy) * bottom).astype(np.float32)


def _push_pull(values: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Push-pull fill (h, w, 3) float32 of every pixel from the ``source`` pixels (Gortler et al. 1996)."""
    h, w = source.shape
    padded = np.zeros((-(-h // 2) * 2, -(-w // 2) * 2, 3), np.float32)
    padded[:h, :w] = values
    block = padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2, 3)
    every = (block[:, 0, :, 0] + block[:, 1, :, 0]) + (block[:, 0, :, 1] + block[:, 1, :, 1])  # the kernel's order
    weight = np.zeros(padded.shape[:2], np.float32)
    weight[:h, :w] = 1.0
    removed = np.where(source[..., None], 0.0, padded[:h, :w]).astype(np.float32)
    gone = np.zeros(padded.shape, np.float32)
    gone[:h, :w] = removed
    counts_all = weight.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2).sum(axis=(1, 3))
    missing = np.zeros(padded.shape[:2], np.float32)
    missing[:h, :w] = ~source
    counts = [counts_all - missing.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2).sum(axis=(1, 3))]
    sums = [np.where(counts[0][..., None] == 0, np.float32(0.0), every - gone.reshape(block.shape).sum(axis=(1, 3)))]
    while sums[-1].shape[0] > 1 or sums[-1].shape[1] > 1:
        s, c = sums[-1], counts[-1]
        ph, pw = -(-s.shape[0] // 2) * 2, -(-s.shape[1] // 2) * 2
        s2 = np.zeros((ph, pw, 3), np.float32)
        c2 = np.zeros((ph, pw), np.float32)
        s2[: s.shape[0], : s.shape[1]], c2[: c.shape[0], : c.shape[1]] = s, c
        sums.append(s2.reshape(ph // 2, 2, pw // 2, 2, 3).sum(axis=(1, 3)))
        counts.append(c2.reshape(ph // 2, 2, pw // 2, 2).sum(axis=(1, 3)))
    if counts[-1][0, 0] == 0:  # no source anywhere: nothing changes
        return values
    field = sums[-1] / counts[-1][..., None]
    for level in range(len(sums) - 2, -1, -1):
        up = _upsample(field, counts[level].shape)
        weight_l = np.float32(4.0**level)
        field = ((sums[level] + weight_l * up) * (np.float32(1.0) / (counts[level] + weight_l))[..., None])
    return _upsample(field, (h, w))


def reference_remove_hair(image: np.ndarray, params: DullRazorParams,
                          lesion: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Restored image and hair mask of one RGB image (uint8 or float32), the slow way."""
    detect = image if image.dtype == np.uint8 else np.clip(np.rint(image * np.float32(255)), 0, 255).astype(np.uint8)
    mask, backgrounds, _ = _mask_and_backgrounds(detect, params, lesion)
    region = _region(detect, mask, params, backgrounds)
    values = image.astype(np.float32)
    filled = np.where(region[..., None], _push_pull(values, ~region), values)
    if image.dtype == np.uint8:
        filled = np.floor(filled + np.float32(0.5))
    if params.smooth:
        padded = np.pad(filled, ((1, 1), (1, 1), (0, 0)), mode="constant")
        ones = np.pad(np.ones(region.shape, np.float32), 1)
        total = sum(padded[1 + dy : 1 + dy + region.shape[0], 1 + dx : 1 + dx + region.shape[1]]
                    for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        n = sum(ones[1 + dy : 1 + dy + region.shape[0], 1 + dx : 1 + dx + region.shape[1]]
                for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        smoothed = total / n[..., None]
        filled = np.where(region[..., None], smoothed, filled)
        if image.dtype == np.uint8:
            filled = np.floor(filled + np.float32(0.5))
    if image.dtype == np.uint8:
        return np.clip(filled, 0, 255).astype(np.uint8), mask
    return filled.astype(np.float32), mask
