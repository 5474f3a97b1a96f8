"""The augmentation engine: NumPy + OpenCV, one fused pass per image, batched.

Why not TensorFlow ops: on CPU, TF runs each elementwise op as a separate
pass over the batch and ``ImageProjectiveTransformV3`` resamples at about
1 ms per 224x224 image here, so a ten-op pipeline costs several ms per
image. Here all geometry is one ``cv2.warpAffine`` and all linear colour
operations one ``cv2.transform`` (a 3x4 matrix), gamma a lookup table; OpenCV
releases the GIL, so tf.data runs groups in parallel.

Randomness: image ``index`` of epoch ``epoch`` reads row ``index % GROUP`` of
a table of uniforms drawn by NumPy's Philox keyed on ``(seed, epoch,
index // GROUP)``. An image's augmentation depends only on (seed, epoch,
index): not on batching, threads or ``num_parallel_calls``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import cv2
import numpy as np

from ._ops import (
    Brightness,
    Contrast,
    Hue,
    Op,
    Saturation,
    ShadesOfGray,
)
from ._pipeline import Pipeline

GROUP = 32  # images sharing one random table (part of the seed contract)
NDRAWS = 48
_COLUMNS: dict[str, int] = {
    "flip": 0, "dihedral": 2, "rotate": 4, "zoom": 6, "shift": 8, "random_resized_crop": 11,
    "brightness": 16, "contrast": 18, "saturation": 20, "hue": 22, "gamma": 24, "vignette": 26,
    "cutout": 29, "hair": 33, "shades_of_gray": 35,
}
_LUMA = np.array([0.299, 0.587, 0.114])
_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_FROM_YIQ = np.linalg.inv(_TO_YIQ)
_QUARTER = np.array([[0.0, -1.0], [1.0, 0.0]])
_TRANSPOSE = np.array([[0.0, 1.0], [1.0, 0.0]])
_DIHEDRAL = [np.linalg.matrix_power(_QUARTER, k) for k in range(4)]
_DIHEDRAL += [m @ _TRANSPOSE for m in _DIHEDRAL]


def draws(seed: int, epoch: int, indices: np.ndarray) -> np.ndarray:
    """Uniform numbers [n, NDRAWS] for images of the given indices."""
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    out = np.empty((indices.size, NDRAWS))
    for group in np.unique(indices // GROUP):
        table = np.random.Generator(np.random.Philox(key=[int(seed), int(epoch) * 2**32 + int(group)])).random(
            (GROUP, NDRAWS)
        )
        where = indices // GROUP == group
        out[where] = table[indices[where] % GROUP]
    return out


def _lerp(value: float, bounds: tuple[float, float]) -> float:
    return bounds[0] + (bounds[1] - bounds[0]) * value


def lesion_boxes(images: np.ndarray, masks: np.ndarray | None) -> np.ndarray:
    """Lesion bounding boxes [n, 4] (x0, y0, x1, y1) in pixels.

    From the masks where given (an empty mask gives the centre point: no
    constraint). Otherwise estimated cheaply on a ~32x32 subsample: luminance,
    a 3x3 box blur, Otsu's threshold per image; the box of the darker pixels.
    A box covering the frame (no dark blob, or dark vignette corners) only
    lets through geometry that maps the frame onto itself.
    """
    n, height, width = images.shape[:3]
    if masks is not None:
        m = masks > 0
        sy = sx = 1.0
    else:
        step_y, step_x = max(1, height // 32), max(1, width // 32)
        small = images[:, ::step_y, ::step_x].astype(np.float32)
        lum = small @ _LUMA.astype(np.float32)  # [n, h, w]
        padded = np.pad(lum, ((0, 0), (1, 1), (1, 1)), mode="edge")
        h, w = lum.shape[1:]
        lum = sum(padded[:, dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)) / 9.0
        lo = lum.min(axis=(1, 2), keepdims=True)
        hi = lum.max(axis=(1, 2), keepdims=True)
        span = hi - lo
        bins = np.minimum((64.0 * (lum - lo) / np.maximum(span, 1e-6)).astype(np.int64), 63)
        hist = np.zeros((n, 64))
        np.add.at(hist, (np.repeat(np.arange(n), h * w), bins.reshape(-1)), 1.0)
        prob = hist / (h * w)
        omega = np.cumsum(prob, axis=1)
        mu = np.cumsum(prob * np.arange(64), axis=1)
        between = (mu[:, -1:] * omega - mu) ** 2 / np.maximum(omega * (1.0 - omega), 1e-12)
        threshold = np.argmax(between, axis=1)
        flat = span[:, 0, 0] < (8.0 if images.dtype == np.uint8 else 8.0 / 255.0)  # nothing to protect
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


def _symmetry(image: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Apply a flip/90-degree map exactly, by reindexing (what the warp would give, without resampling)."""
    (a, b), (c, d) = m[:, :2]
    if b != 0:  # in_x = b y, in_y = c x: a transpose, then flips
        image = cv2.transpose(image)
        a, d = c, b
    if a < 0 and d < 0:
        return cv2.flip(image, -1)
    if a < 0:
        return cv2.flip(image, 1)  # mirror left-right
    if d < 0:
        return cv2.flip(image, 0)  # mirror top-bottom
    return image.copy()


@lru_cache(maxsize=16)
def _radius(height: int, width: int) -> np.ndarray:
    yy = (np.arange(height) - (height - 1) / 2.0) / (height / 2.0)
    xx = (np.arange(width) - (width - 1) / 2.0) / (width / 2.0)
    r = np.sqrt(yy[:, None] ** 2 + xx[None, :] ** 2) / math.sqrt(2.0)
    r.setflags(write=False)
    return r.astype(np.float32)


_LINEAR = (Brightness, Contrast, Saturation, Hue, ShadesOfGray)


def _colour_matrices(ops: list[Op], u: np.ndarray, images: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Composed affine colour maps [n, 3, 4] (in the images' value scale) and which fired [n].

    Linear operations compose in pipeline order. Contrast scales about the
    image mean and shades of grey estimates the illuminant, both measured on
    a 1-in-8 subsample of the input image (before geometry).
    """
    n = u.shape[0]
    a = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
    b = np.zeros((n, 3))
    fired = np.zeros(n, bool)
    sample = None
    for op in ops:
        j = _COLUMNS[op.name]
        on = u[:, j] < op.p
        if not on.any():
            continue
        fired |= on
        if isinstance(op, Brightness):
            f = np.where(on, _lerp(u[:, j + 1], op.factor_range), 1.0)
            a, b = f[:, None, None] * a, f[:, None] * b
            continue
        if sample is None:
            sample = images[:, ::8, ::8].reshape(n, -1, 3).astype(np.float64) / scale
        if isinstance(op, Contrast):
            f = np.where(on, _lerp(u[:, j + 1], op.factor_range), 1.0)
            mean = sample.mean(axis=1)  # [n, 3]
            m = np.mean(np.einsum("nij,nj->ni", a, mean) + b, axis=1)
            a, b = f[:, None, None] * a, f[:, None] * b + ((1.0 - f) * m)[:, None]
            continue
        if isinstance(op, Saturation):
            f = np.where(on, _lerp(u[:, j + 1], op.factor_range), 1.0)
            t = f[:, None, None] * np.eye(3) + (1.0 - f)[:, None, None] * np.outer(np.ones(3), _LUMA)
        elif isinstance(op, Hue):
            theta = np.where(on, _lerp(u[:, j + 1], op.shift_range), 0.0) * 2.0 * math.pi
            c, s_ = np.cos(theta), np.sin(theta)
            rot = np.zeros((n, 3, 3))
            rot[:, 0, 0] = 1.0
            rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = c, -s_, s_, c
            t = _FROM_YIQ @ rot @ _TO_YIQ
        else:  # ShadesOfGray
            e = np.mean(np.maximum(sample, 1e-6) ** op.power, axis=1) ** (1.0 / op.power)  # type: ignore[attr-defined]
            e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
            g = 1.0 / (e * math.sqrt(3.0))
            t = np.zeros((n, 3, 3))
            t[:, [0, 1, 2], [0, 1, 2]] = np.where(on[:, None], g, 1.0)
        a, b = t @ a, np.einsum("nij,nj->ni", t, b)
    return np.concatenate([a, scale * b[:, :, None]], axis=2), fired


def _geometry_batch(ops: dict[str, Op], u: np.ndarray, images: np.ndarray, masks: np.ndarray | None,
                    height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affine maps [n, 2, 3] (output -> input), which images any geometric op fired on, and which need resampling.

    Geometry is ``input = D R S (output - c) + c + t``: D flips and
    symmetries, R rotation, S scale (zoom, random resized crop), t shift.
    If the lesion box (8 points of its inscribed ellipse) would leave the
    frame, the shift, then the zoom, then the rotation are dropped.
    """
    n = u.shape[0]
    fired = np.zeros(n, bool)
    d = np.broadcast_to(np.eye(2), (n, 2, 2)).copy()
    if "dihedral" in ops and height == width:
        j = _COLUMNS["dihedral"]
        k = np.where(u[:, j] < ops["dihedral"].p, np.minimum((u[:, j + 1] * 8).astype(int), 7), 0)
        d = np.stack(_DIHEDRAL)[k] @ d
        fired |= k > 0
    if "flip" in ops:
        op = ops["flip"]
        j = _COLUMNS["flip"]
        fh = (u[:, j] < op.p) & op.horizontal  # type: ignore[attr-defined]
        fv = (u[:, j + 1] < op.p) & op.vertical  # type: ignore[attr-defined]
        flips = np.zeros((n, 2, 2))
        flips[:, 0, 0] = np.where(fh, -1.0, 1.0)
        flips[:, 1, 1] = np.where(fv, -1.0, 1.0)
        d = flips @ d
        fired |= fh | fv
    moving = np.zeros(n, bool)  # rotation, zoom or shift: the lesion could leave the frame
    r = np.broadcast_to(np.eye(2), (n, 2, 2)).copy()
    if "rotate" in ops:
        j = _COLUMNS["rotate"]
        on = u[:, j] < ops["rotate"].p
        lo, hi = ops["rotate"].angle_range  # type: ignore[attr-defined]
        angle = np.where(on, np.radians(lo + (hi - lo) * u[:, j + 1]), 0.0)
        c, s_ = np.cos(angle), np.sin(angle)
        r = np.stack([np.stack([c, -s_], -1), np.stack([s_, c], -1)], 1)
        moving |= on
    sx = np.ones(n)
    sy = np.ones(n)
    tx = np.zeros(n)
    ty = np.zeros(n)
    if "zoom" in ops:
        j = _COLUMNS["zoom"]
        on = u[:, j] < ops["zoom"].p
        lo, hi = ops["zoom"].zoom_range  # type: ignore[attr-defined]
        z = np.where(on, lo + (hi - lo) * u[:, j + 1], 1.0)
        sx, sy = sx / z, sy / z
        moving |= on
    if "random_resized_crop" in ops:
        op = ops["random_resized_crop"]
        j = _COLUMNS["random_resized_crop"]
        on = u[:, j] < op.p
        area = op.scale[0] + (op.scale[1] - op.scale[0]) * u[:, j + 1]  # type: ignore[attr-defined]
        lr = np.log(op.ratio)  # type: ignore[attr-defined]
        ratio = np.exp(lr[0] + (lr[1] - lr[0]) * u[:, j + 2])
        bw, bh = np.minimum(np.sqrt(area * ratio), 1.0), np.minimum(np.sqrt(area / ratio), 1.0)
        sx, sy = np.where(on, sx * bw, sx), np.where(on, sy * bh, sy)
        tx = np.where(on, tx + (u[:, j + 3] - 0.5) * (1.0 - bw) * width, tx)
        ty = np.where(on, ty + (u[:, j + 4] - 0.5) * (1.0 - bh) * height, ty)
        moving |= on
    if "shift" in ops:
        j = _COLUMNS["shift"]
        on = u[:, j] < ops["shift"].p
        fraction = ops["shift"].fraction  # type: ignore[attr-defined]
        tx = np.where(on, tx + (2.0 * u[:, j + 1] - 1.0) * fraction * width, tx)
        ty = np.where(on, ty + (2.0 * u[:, j + 2] - 1.0) * fraction * height, ty)
        moving |= on
    fired |= moving
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    scale = np.zeros((n, 2, 2))
    scale[:, 0, 0], scale[:, 1, 1] = sx, sy
    m = d @ r @ scale
    shift = np.stack([tx, ty], -1)
    moved = np.flatnonzero(moving)  # keep-in-frame: only images that moved need a lesion box
    if moved.size:
        boxes = lesion_boxes(images[moved], None if masks is None else masks[moved])
        x0, y0, x1, y1 = boxes.T
        angles = np.arange(8) * (math.pi / 4.0)
        points = np.stack([((x0 + x1) / 2)[:, None] + ((x1 - x0) / 2)[:, None] * np.cos(angles) - cx,
                           ((y0 + y1) / 2)[:, None] + ((y1 - y0) / 2)[:, None] * np.sin(angles) - cy], axis=1)
        zero = np.zeros((moved.size, 2))
        dm, rm = d[moved], r[moved]
        # candidates, most to least augmented: all; without shift; without zoom; symmetries only
        options = [(m[moved], shift[moved]), (m[moved], zero), (dm @ rm, zero), (dm, zero)]
        chosen_m, chosen_t = options[-1]
        chosen_m, chosen_t = chosen_m.copy(), chosen_t.copy()
        decided = np.zeros(moved.size, bool)
        for mi, ti in options[:-1]:
            out = np.linalg.solve(mi, points - ti[:, :, None]) + np.array([[cx], [cy]])
            inside = ((out[:, 0] >= -0.5) & (out[:, 0] <= width - 0.5)
                      & (out[:, 1] >= -0.5) & (out[:, 1] <= height - 0.5)).all(axis=1)
            take = inside & ~decided
            chosen_m[take], chosen_t[take] = mi[take], ti[take]
            decided |= inside
        m[moved], shift[moved] = chosen_m, chosen_t
        # an image whose geometry fell back to a pure symmetry needs no resampling
        moving[moved] = decided
    offset = np.array([cx, cy]) + shift - m @ np.array([cx, cy])
    return np.concatenate([m, offset[:, :, None]], axis=2), fired, moving


@lru_cache(maxsize=64)
def _plan(pipeline: Pipeline) -> tuple[dict[str, Op], dict[str, Op], list[Op]]:
    """The enabled operations of a pipeline: all, geometric, linear colour (computed once)."""
    ops = {op.name: op for op in pipeline.ops if op.p > 0}
    geometric = {k: v for k, v in ops.items() if v.kind == "geometry"}
    linear = [op for op in pipeline.ops if op.p > 0 and isinstance(op, _LINEAR)]
    return ops, geometric, linear


def augment_batch(
    pipeline: Pipeline, images: np.ndarray, masks: np.ndarray | None, seed: int, epoch: int, indices: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Augment images [n, H, W, 3] (uint8 or float32 in [0, 1]) of the given dataset indices.

    Parameters of the whole group are computed at once (vectorised); then
    each image gets at most one pass per stage: geometry (one warp, or an
    exact flip/transpose when that is all) -> linear colour (one 3x4
    matrix) -> gamma (a lookup table for uint8) -> vignette -> cutout ->
    hair. An image no operation fired on comes back unchanged.
    """
    u = draws(seed, epoch, indices)
    n, height, width = images.shape[:3]
    ops, geometric, linear = _plan(pipeline)
    is_uint8 = images.dtype == np.uint8
    scale = 255.0 if is_uint8 else 1.0
    none = np.zeros(n, bool)
    maps, fired, resample = (_geometry_batch(geometric, u, images, masks, height, width) if geometric
                             else (None, none, none))
    colours, coloured = (_colour_matrices(linear, u, images, scale) if linear else (None, np.zeros(n, bool)))
    out = np.empty_like(images)
    out_masks = None if masks is None else np.empty_like(masks)
    with _single_threaded_opencv():
        _augment_each(images, masks, u, ops, maps, fired, resample, colours, coloured, is_uint8, out, out_masks)
    return out, out_masks


_OPENCV_LOCK = threading.Lock()
_OPENCV_STATE = {"active": 0, "saved": 0}


@contextmanager
def _single_threaded_opencv() -> Iterator[None]:
    """Run OpenCV single-threaded while any group is being augmented, then restore its setting.

    tf.data already runs groups in parallel; OpenCV's own thread pool on top
    oversubscribes the cores and, measured here, slowed a MobileNetV2
    training step sharing the CPU by ~10 % instead of ~2 %.
    """
    with _OPENCV_LOCK:
        if _OPENCV_STATE["active"] == 0:
            _OPENCV_STATE["saved"] = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _OPENCV_STATE["active"] += 1
    try:
        yield
    finally:
        with _OPENCV_LOCK:
            _OPENCV_STATE["active"] -= 1
            if _OPENCV_STATE["active"] == 0:
                cv2.setNumThreads(_OPENCV_STATE["saved"])


def _augment_each(images, masks, u, ops, maps, fired, resample, colours, coloured, is_uint8,  # type: ignore[no-untyped-def]
                  out, out_masks) -> None:
    """The per-image passes of :func:`augment_batch`."""
    n, height, width = images.shape[:3]
    for i in range(n):
        image = images[i]
        mask = None if masks is None else masks[i]
        if fired[i]:
            m = maps[i]  # type: ignore[index]
            if not resample[i]:  # flips / 90-degree symmetries: exact reindexing
                image = _symmetry(image, m)
                mask = None if mask is None else _symmetry(mask, m)
            else:
                image = _warp_reflect(image, m, width, height)
                if mask is not None:
                    mask = cv2.warpAffine(mask, m, (width, height), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_NEAREST,
                                          borderMode=cv2.BORDER_REFLECT_101)
        if coloured[i]:
            image = cv2.transform(image, colours[i])  # type: ignore[index]  # saturates uint8
            if not is_uint8:
                image = np.clip(image, 0.0, 1.0)
        image = _nonlinear(ops, u[i], image, is_uint8, height, width)
        out[i] = image
        if out_masks is not None:
            out_masks[i] = mask


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


def _nonlinear(ops: dict[str, Op], u: np.ndarray, image: np.ndarray, is_uint8: bool, height: int, width: int) -> np.ndarray:
    """Gamma, vignette, cutout and hair on one image (each only if it fired)."""
    if "gamma" in ops and u[_COLUMNS["gamma"]] < ops["gamma"].p:
        g = _lerp(u[_COLUMNS["gamma"] + 1], ops["gamma"].gamma_range)  # type: ignore[attr-defined]
        if is_uint8:
            image = cv2.LUT(image, _gamma_lut(round(g, 4)))
        else:
            image = np.power(np.maximum(image, 0.0), np.float32(g)).astype(np.float32)
    if "vignette" in ops and u[_COLUMNS["vignette"]] < ops["vignette"].p:
        op = ops["vignette"]
        radius = _lerp(u[_COLUMNS["vignette"] + 1], op.radius_range) * 0.75  # type: ignore[attr-defined]
        strength = _lerp(u[_COLUMNS["vignette"] + 2], op.strength_range)  # type: ignore[attr-defined]
        falloff = (1.0 - strength * np.clip((_radius(height, width) - radius) / 0.1, 0.0, 1.0)).astype(np.float32)
        image = cv2.multiply(image, cv2.merge([falloff] * 3), dtype=cv2.CV_8U if is_uint8 else cv2.CV_32F)
    if "cutout" in ops and u[_COLUMNS["cutout"]] < ops["cutout"].p:
        j = _COLUMNS["cutout"]
        side = _lerp(u[j + 1], ops["cutout"].size_range) * min(height, width)  # type: ignore[attr-defined]
        cy, cx = u[j + 2] * height, u[j + 3] * width
        y0, y1 = int(max(cy - side / 2, 0)), int(min(cy + side / 2, height))
        x0, x1 = int(max(cx - side / 2, 0)), int(min(cx + side / 2, width))
        image = image.copy()
        image[y0:y1, x0:x1] = np.array(cv2.mean(image)[:3], dtype=np.float64).astype(image.dtype)
    if "hair" in ops and u[_COLUMNS["hair"]] < ops["hair"].p:
        from ..synthetic import add_hair  # noqa: PLC0415

        op = ops["hair"]
        image, _ = add_hair(image, rng=int(u[_COLUMNS["hair"] + 1] * 2**31), num_hairs=op.num_hairs,  # type: ignore[attr-defined]
                            width_range=op.width_range)  # type: ignore[attr-defined]
    return image


@lru_cache(maxsize=512)
def _gamma_lut(gamma: float) -> np.ndarray:
    lut = np.clip(np.round(((np.arange(256) / 255.0) ** gamma) * 255.0), 0, 255).astype(np.uint8)
    lut.setflags(write=False)
    return lut
