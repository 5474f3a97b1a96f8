"""Keep the lesion in frame: a cheap lesion box, and geometry switched off where it would push the lesion out.

This decides *which* sampled geometric operations an image keeps, so it
works on parameters (``"applied"`` flags), before anything is applied: the
decision is visible in `Pipeline.sample(image=...)`
and replayed exactly by `apply_params()`.
"""

from __future__ import annotations

import math

import numpy as np

from .._pixels import pixel_scale
from ._interface import BatchParams, Geometry
from .functional import LUMA

__all__ = ["fit_geometry", "lesion_boxes"]


def lesion_boxes(images: np.ndarray, masks: np.ndarray | None) -> np.ndarray:
    """Lesion bounding boxes [n, 4] (x0, y0, x1, y1) in pixels.

    From the masks where given (an empty mask gives the centre point: no
    constraint). Otherwise estimated cheaply on a ~32x32 subsample: luminance,
    a 3x3 box blur, Otsu's threshold per image; the box of the darker pixels.
    A box covering the frame (no dark blob, or dark vignette corners) only
    lets through geometry that maps the frame onto itself.

    Why not hair removal's `dermprep.hair.estimate_lesion()`: the two answer
    different questions at different costs. This one is a tight box that
    decides which sampled geometry an image keeps, so it is part of every
    augmented image (changing it changes what each ``(seed, index, epoch)``
    gives), and it runs per image inside tf.data: vectorised over the batch
    it costs about 1/50 of ``estimate_lesion`` (a generous, margin-grown mask
    from morphology and Lab colour on a 64-pixel copy, made to protect lesion
    structures from hair removal; `benchmarks/test_augment.py`,
    ``test_lesion_box_estimators``).
    """
    n, height, width = images.shape[:3]
    if masks is not None:
        m = masks > 0
        sy = sx = 1.0
    else:
        step_y, step_x = max(1, height // 32), max(1, width // 32)
        small = images[:, ::step_y, ::step_x].astype(np.float32)
        lum = small @ LUMA.astype(np.float32)  # [n, h, w]
        padded = np.pad(lum, ((0, 0), (1, 1), (1, 1)), mode="edge")
        h, w = lum.shape[1:]
        lum = sum(padded[:, dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)) / 9.0
        lo = lum.min(axis=(1, 2), keepdims=True)
        hi = lum.max(axis=(1, 2), keepdims=True)
        span = hi - lo
        bins = np.minimum((64.0 * (lum - lo) / np.maximum(span, 1e-6)).astype(np.int64), 63)
        hist = np.bincount((np.arange(n)[:, None] * 64 + bins.reshape(n, -1)).reshape(-1),
                           minlength=n * 64).reshape(n, 64).astype(np.float64)
        prob = hist / (h * w)
        omega = np.cumsum(prob, axis=1)
        mu = np.cumsum(prob * np.arange(64), axis=1)
        between = (mu[:, -1:] * omega - mu) ** 2 / np.maximum(omega * (1.0 - omega), 1e-12)
        threshold = np.argmax(between, axis=1)
        flat = span[:, 0, 0] < 8.0 / (255.0 / pixel_scale(images.dtype))  # under 8 grey levels: nothing to protect
        m = (bins <= threshold[:, None, None]) & ~flat[:, None, None]
        sy, sx = float(step_y), float(step_x)
    rows = m.any(axis=2)
    cols = m.any(axis=1)
    empty = ~rows.any(axis=1)
    y0 = np.argmax(rows, axis=1) * sy
    y1 = (rows.shape[1] - np.argmax(rows[:, ::-1], axis=1)) * sy - 1.0
    x0 = np.argmax(cols, axis=1) * sx
    x1 = (cols.shape[1] - np.argmax(cols[:, ::-1], axis=1)) * sx - 1.0
    boxes = np.stack([x0, y0, np.minimum(x1, width - 1.0), np.minimum(y1, height - 1.0)], axis=1)
    centre = np.array([(width - 1) / 2.0, (height - 1) / 2.0] * 2)
    boxes[empty] = centre
    return boxes


def compose(ops: list[Geometry], params: dict[str, BatchParams], height: int, width: int) -> np.ndarray:
    """The fused inverse maps [n, 3, 3] of the geometric ops, in pipeline order."""
    n = len(next(iter(params.values()))["applied"])
    matrix = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
    for op in ops:
        matrix = matrix @ op.matrix(params[op.name], height, width)
    return matrix


def fit_geometry(
    ops: list[Geometry],
    params: dict[str, BatchParams],
    images: np.ndarray,
    masks: np.ndarray | None,
) -> dict[str, BatchParams]:
    """Switch off the geometry an image cannot take; return new parameters (the input is not changed).

    An op that does not apply to the image size (a quarter turn of a
    rectangle) is switched off. Where the lesion box (8 points of its
    inscribed ellipse) would leave the frame, the ops that move it (rotate,
    zoom, shift, crops) are switched off one at a time from the last in the
    pipeline to the first, until it stays; symmetries always stay.
    """
    height, width = images.shape[1:3]
    fitted = {name: dict(values) for name, values in params.items()}
    for op in ops:
        if not op.applies_to(height, width):
            fitted[op.name]["applied"] = np.zeros_like(fitted[op.name]["applied"])
    moving = [op for op in ops if op.moves]
    if not moving:
        return fitted
    moved = np.flatnonzero(np.any([fitted[op.name]["applied"] for op in moving], axis=0))
    if moved.size == 0:
        return fitted
    subset = {name: {k: v[moved] for k, v in values.items()} for name, values in fitted.items()}
    boxes = lesion_boxes(images[moved], None if masks is None else masks[moved])
    x0, y0, x1, y1 = boxes.T
    angles = np.arange(8) * (math.pi / 4.0)
    points = np.stack([((x0 + x1) / 2)[:, None] + ((x1 - x0) / 2)[:, None] * np.cos(angles),
                       ((y0 + y1) / 2)[:, None] + ((y1 - y0) / 2)[:, None] * np.sin(angles),
                       np.ones((moved.size, 8))], axis=1)  # [m, 3, 8] input coordinates
    decided = np.zeros(moved.size, bool)
    keep = {op.name: subset[op.name]["applied"].copy() for op in moving}
    maps = [op.matrix(subset[op.name], height, width) for op in ops]  # each op's maps, computed once
    identity = np.eye(3)
    for dropped in range(len(moving) + 1):  # moving ops switched off, from the last
        off = {op.name for op in moving[len(moving) - dropped :]}
        matrix = np.broadcast_to(identity, (moved.size, 3, 3)).copy()
        for op, op_maps in zip(ops, maps, strict=True):
            if op.name not in off:
                matrix = matrix @ op_maps
        out = np.linalg.solve(matrix, points)
        inside = ((out[:, 0] >= -0.5) & (out[:, 0] <= width - 0.5)
                  & (out[:, 1] >= -0.5) & (out[:, 1] <= height - 0.5)).all(axis=1)
        take = (inside | (dropped == len(moving))) & ~decided
        for op in moving:
            if op.name in off:
                keep[op.name][take] = False
        decided |= take
        if decided.all():
            break
    for op in moving:
        applied = fitted[op.name]["applied"].copy()
        applied[moved] = keep[op.name]
        fitted[op.name]["applied"] = applied
    return fitted
