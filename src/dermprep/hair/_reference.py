"""Slow, plain NumPy/Python reference of the Dull Razor kernels (the test oracle).

Written independently of `._kernels` from the same description, so that
the two can be compared pixel for pixel on small images. Not for production:
it is orders of magnitude slower.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._dullrazor import DullRazorParams, line_offsets

__all__ = ["reference_hair_mask", "reference_remove_hair"]

_ORIENTATIONS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _shift_stack(plane: np.ndarray, dy: int, dx: int, k: int, outside: int) -> np.ndarray:
    """Stack of ``plane`` shifted by t*(dy, dx), t = -k..k, with ``outside`` beyond the border."""
    h, w = plane.shape
    padded = np.full((h + 2 * k, w + 2 * k), outside, dtype=plane.dtype)
    padded[k : k + h, k : k + w] = plane
    return np.stack(
        [padded[k + t * dy : k + t * dy + h, k + t * dx : k + t * dx + w] for t in range(-k, k + 1)]
    )


def _generalized(plane: np.ndarray, k: int, closing: bool) -> np.ndarray:
    outside = 0 if closing else 255
    results = []
    for dy, dx in _ORIENTATIONS:
        if closing:
            first = _shift_stack(plane, dy, dx, k, outside).max(axis=0)
            results.append(_shift_stack(first, dy, dx, k, outside).min(axis=0))
        else:
            first = _shift_stack(plane, dy, dx, k, outside).min(axis=0)
            results.append(_shift_stack(first, dy, dx, k, outside).max(axis=0))
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


def _verify(candidate: np.ndarray, offsets: np.ndarray, min_length: int, max_width: int) -> np.ndarray:
    h, w = candidate.shape
    ndir = offsets.shape[0]
    keep = np.zeros_like(candidate)
    along = np.full((h, w), -1, np.int64)
    kept_dir = np.zeros((h, w), np.int64)
    last = 0
    for y in range(h):
        for x in range(w):
            if not candidate[y, x]:
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
                for dj in (0, -2, 2):
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
    return keep


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


def _filter_components(keep: np.ndarray, bright: np.ndarray, light_threshold: int, lesion: np.ndarray,
                       min_length: int, max_width: int) -> np.ndarray:
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
        if diagonal >= 2 * min_length and area <= 0.6 * max_width * diagonal:
            continue
        out[member] = False
    return out


def _background(image: np.ndarray, params: DullRazorParams) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray,
                                                                      np.ndarray]:
    """Pooled closings and openings of each channel, and the dark and light residues."""
    pool = params.pool
    k = -(-(params.line_length // 2) // pool)
    low = [_pool(image[..., c], pool, "min") for c in range(3)]
    high = [_pool(image[..., c], pool, "max") for c in range(3)]
    closed = [_generalized(low[c], k, True) for c in range(3)]
    dark = np.maximum(np.max([closed[c].astype(np.int64) - low[c] for c in range(3)], axis=0), 0)
    lifted = [np.maximum(high[c], closed[c]) for c in range(3)]
    if params.detect_light:
        opened = [_generalized(lifted[c], k, False) for c in range(3)]
        bright = np.maximum(np.max([lifted[c].astype(np.int64) - opened[c] for c in range(3)], axis=0), 0)
    else:
        opened = [np.zeros_like(closed[c]) for c in range(3)]
        bright = np.zeros_like(dark)
    return closed, opened, dark, bright


def reference_hair_mask(image: np.ndarray, params: DullRazorParams, lesion: np.ndarray | None = None) -> np.ndarray:
    """Hair mask of one uint8 RGB image, computed the slow way (``lesion``: the protected pooled cells)."""
    pool = params.pool
    min_length = max(2, -(-params.min_length // pool))
    max_width = max(1, -(-params.max_width // pool))
    offsets = line_offsets(16, max(params.min_length, params.max_width, params.max_distance) + 2)
    img = image.astype(np.int64)
    closed, opened, dark, bright = _background(image, params)
    candidate = (dark > params.threshold) | (bright > params.light_threshold)
    weak = (dark > params.low_threshold) | (bright > params.low_threshold)
    keep = _verify(candidate, offsets, min_length, max_width)
    for _ in range(params.grow):
        keep = keep | (_dilate(keep, 1) & weak)
    if lesion is not None:
        keep = _filter_components(keep, bright, params.light_threshold, lesion, min_length, max_width)
    dark_peak = _local_peak(dark, keep)
    light_peak = _local_peak(bright, keep) if params.detect_light else np.zeros_like(dark_peak)
    h, w = image.shape[:2]
    ys, xs = np.arange(h) // pool, np.arange(w) // pool
    block = (ys[:, None], xs[None, :])
    closed_full = np.stack([closed[c][block] for c in range(3)], axis=-1).astype(np.int64)
    opened_full = np.stack([opened[c][block] for c in range(3)], axis=-1).astype(np.int64)
    dp, lp = dark_peak[block], light_peak[block]
    r_dark = np.maximum((closed_full - img).max(axis=-1), 0)
    r_light = np.maximum((img - opened_full).max(axis=-1), 0)
    low_t = params.low_threshold
    dark_hit = (dp > low_t) & (2 * r_dark >= dp) & (r_dark > low_t)
    light_hit = (lp > low_t) & (2 * r_light >= lp) & (r_light > low_t)
    return dark_hit | light_hit


def reference_remove_hair(image: np.ndarray, params: DullRazorParams,
                          lesion: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Restored image and hair mask of one RGB image (uint8 or float32), the slow way."""
    detect = image if image.dtype == np.uint8 else np.clip(np.rint(image * np.float32(255)), 0, 255).astype(np.uint8)
    mask = reference_hair_mask(detect, params, lesion)
    region = _dilate(mask, params.dilation) if params.dilation > 0 else mask.copy()
    if params.edge_radius > 0:  # faint edges, shadow and tips: a constrained dilation, one step at a time
        closed, opened, _, _ = _background(detect, params)
        h0, w0 = detect.shape[:2]
        block = (np.arange(h0)[:, None] // params.pool, np.arange(w0)[None, :] // params.pool)
        closed_full = np.stack([closed[c][block] for c in range(3)], axis=-1).astype(np.int64)
        faint = (closed_full - detect).max(axis=-1) > params.edge_threshold
        if params.detect_light:
            opened_full = np.stack([opened[c][block] for c in range(3)], axis=-1).astype(np.int64)
            faint |= (detect - opened_full).max(axis=-1) > params.edge_threshold
        if lesion is not None:
            faint &= ~lesion[block]
        for _ in range(params.edge_radius):
            region = region | (_dilate(region, 1) & faint)
    h, w = region.shape
    values = image.astype(np.float32)
    best: dict[tuple[int, int], list[tuple[float, np.ndarray]]] = {}
    for dy, dx in _ORIENTATIONS:
        unit = np.float32(np.sqrt(2.0)) if dy and dx else np.float32(1.0)
        for y in range(h):
            for x in range(w):
                if not region[y, x]:
                    continue
                qy, qx = y - dy, x - dx
                if 0 <= qy < h and 0 <= qx < w and region[qy, qx]:
                    continue
                n = 1
                while 0 <= y + n * dy < h and 0 <= x + n * dx < w and region[y + n * dy, x + n * dx]:
                    n += 1
                ey, ex = y + n * dy, x + n * dx
                if not (0 <= qy < h and 0 <= qx < w and 0 <= ey < h and 0 <= ex < w):
                    continue
                if n + 1 > params.max_distance:
                    continue
                total = np.float32(n + 1)
                length = total * unit
                for i in range(n):
                    wq, we = np.float32(n - i) / total, np.float32(i + 1) / total
                    value = wq * values[qy, qx] + we * values[ey, ex]
                    entries = best.setdefault((y + i * dy, x + i * dx), [])
                    entries.append((float(length), value))
                    # keep the two shortest, earliest first among equals (as the kernel's strict <)
                    entries.sort(key=lambda item: item[0])
                    del entries[2:]
    filled = values.copy()
    for (y, x), entries in best.items():
        if len(entries) == 1:
            filled[y, x] = entries[0][1]
        else:
            (l1, a1), (l2, a2) = entries
            w1, w2 = np.float32(1.0) / np.float32(l1 * l1), np.float32(1.0) / np.float32(l2 * l2)
            filled[y, x] = (w1 * a1 + w2 * a2) / (w1 + w2)
    out = values.copy()
    ys, xs = np.nonzero(region)
    for y, x in zip(ys, xs, strict=True):
        if params.smooth:
            window = filled[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2]
            out[y, x] = window.reshape(-1, 3).mean(axis=0)
        else:
            out[y, x] = filled[y, x]
    if image.dtype == np.uint8:
        return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8), mask
    return out.astype(np.float32), mask
