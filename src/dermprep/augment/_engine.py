"""The augmentation engine: samples an element's parameters, then runs them on a batch, fusing what can be fused.

It knows no operation by name, only by kind (`_interface`), so the
operations can run themselves through it. From the ops' own matrices it builds, per
image, one affine resampling for all geometry and one 3x4 matrix for all
linear colour changes; the other ("pixel") ops then run in pipeline order
through their own ``apply``. An image no operation fired on comes back
unchanged.

Why NumPy/OpenCV and not TensorFlow ops: on CPU, TF runs each elementwise
op as a separate pass over the batch and ``ImageProjectiveTransformV3``
resamples at about 1 ms per 224x224 image, so a ten-op pipeline costs
several ms per image. Here the geometry is one warp and the colour one
``cv2.transform``; OpenCV releases the GIL, so tf.data runs batches in parallel.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import cv2
import numpy as np

from .._pixels import pixel_scale
from ..validation import check_image, check_label_mask, check_seed
from . import functional as F
from ._frame import compose, fit_geometry
from ._interface import BatchParams, Colour, Operation, colour_statistics, stages
from ._random import uniforms

__all__ = ["augment_image", "run", "sample"]


def sample(ops: Sequence[Operation], *, seed: int, epoch: int, indices: Sequence[int] | np.ndarray,
           images: np.ndarray | None = None, masks: np.ndarray | None = None) -> dict[str, BatchParams]:
    """The parameters of elements ``indices`` of epoch ``epoch``: each op samples its own columns of the draws.

    With ``images`` (and optional ``masks``), geometry each image cannot take
    is switched off (`_frame.fit_geometry()`).
    """
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    offsets = np.cumsum([0] + [op.draws for op in ops])
    u = uniforms(seed, epoch, indices, int(offsets[-1]))
    params = {op.name: op.sample(u[:, a:b]) for op, a, b in zip(ops, offsets[:-1], offsets[1:], strict=True)}
    geometry = stages(ops)[0]
    if images is not None and geometry:
        params = fit_geometry(geometry, params, images, masks)
    return params


def augment_image(ops: Sequence[Operation], image: np.ndarray, *, seed: int, index: int, epoch: int,
                  mask: np.ndarray | None) -> Any:
    """One NumPy image (and mask) as element ``index`` of epoch ``epoch`` under ``seed`` gets it (checked)."""
    seed, index, epoch = (check_seed(v, name) for v, name in ((seed, "seed"), (index, "index"), (epoch, "epoch")))
    images = check_image(image, "image", allow_batch=False, min_size=8)[None]
    masks = None if mask is None else check_label_mask(mask, images.shape[1:3])[None]
    params = sample(ops, seed=seed, epoch=epoch, indices=[index], images=images, masks=masks)
    out, out_masks = run(ops, images, masks, params)
    return out[0] if out_masks is None else (out[0], out_masks[0])


def _colour_matrices(ops: list[Colour], params: dict[str, BatchParams],
                     images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Composed colour maps [n, 3, 4] (offsets in the images' value scale) and which images they change."""
    n = images.shape[0]
    matrix = np.zeros((n, 3, 4))
    matrix[:, :, :3] = np.eye(3)
    fired = np.any([params[op.name]["applied"] for op in ops], axis=0)
    if fired.any():
        mean0, sample = colour_statistics(images)
        for op in ops:
            mean = np.einsum("nij,nj->ni", matrix[:, :, :3], mean0) + matrix[:, :, 3]
            step = op.colour_matrix(params[op.name], mean, sample)
            linear = step[:, :, :3] @ matrix[:, :, :3]
            offset = np.einsum("nij,nj->ni", step[:, :, :3], matrix[:, :, 3]) + step[:, :, 3]
            matrix[:, :, :3], matrix[:, :, 3] = linear, offset
    matrix[:, :, 3] *= pixel_scale(images.dtype)
    return matrix, fired


def run(
    ops: Sequence[Operation],
    images: np.ndarray,
    masks: np.ndarray | None,
    params: dict[str, BatchParams],
) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply each image's parameters to images [n, H, W, 3] (uint8 or float32) and masks [n, H, W].

    Order: all geometry (one warp, or an exact flip/transpose when no op
    that moves pixels fired), then all linear colour ops (one matrix, with
    image statistics such as the mean measured after the geometry), then
    the pixel ops in pipeline order.
    """
    n, height, width = images.shape[:3]
    geometry, colour, pixel = stages(ops)
    none = np.zeros(n, bool)
    if geometry:
        maps = compose(geometry, params, height, width)
        fired = np.any([params[op.name]["applied"] for op in geometry], axis=0)
        resample = np.any([params[op.name]["applied"] for op in geometry if op.moves] or [none], axis=0)
    else:
        maps, fired, resample = None, none, none
    is_uint8 = images.dtype == np.uint8
    out = np.empty_like(images)
    out_masks = None if masks is None else np.empty_like(masks)
    with _single_threaded_opencv():
        for i in range(n):  # 1. geometry: one resampling, or exact reindexing, or nothing
            mask = None if masks is None else masks[i]
            if not fired[i]:
                out[i] = images[i]
            elif resample[i]:
                out[i] = F.warp_affine(images[i], maps[i])  # type: ignore[index]
                mask = None if mask is None else F.warp_labels(mask, maps[i])  # type: ignore[index]
            else:  # flips / quarter turns
                out[i] = F.apply_symmetry(images[i], maps[i])  # type: ignore[index]
                mask = None if mask is None else F.apply_symmetry(mask, maps[i])  # type: ignore[index]
            if out_masks is not None:
                out_masks[i] = mask
        # 2. linear colour, measured on the images as geometry left them; 3. the pixel ops, in order
        colours, coloured = _colour_matrices(colour, params, out) if colour else (None, none)
        for i in range(n):
            image = out[i]
            if coloured[i]:
                image = cv2.transform(image, colours[i])  # type: ignore[index]  # saturates uint8
                if not is_uint8:
                    image = np.clip(image, 0.0, 1.0)
            for op in pixel:
                values = params[op.name]
                if values["applied"][i]:
                    image = op.apply(image, {k: v[i] for k, v in values.items()})
            out[i] = image
    return out, out_masks


_OPENCV_LOCK = threading.Lock()
_OPENCV_STATE = {"active": 0, "saved": 0, "forked": False}


def _after_fork_in_child() -> None:
    """A forked process (a DataLoader or multiprocessing worker) leaves OpenCV's thread setting alone: OpenCV's
    thread pool, started in the parent, cannot be reconfigured in the child (``cv2.setNumThreads`` never
    returns there). The lock is new, in case a parent thread held it at the fork."""
    global _OPENCV_LOCK  # noqa: PLW0603 - a new lock object for the child process
    _OPENCV_LOCK = threading.Lock()
    _OPENCV_STATE.update(active=0, forked=True)


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


@contextmanager
def _single_threaded_opencv() -> Iterator[None]:
    """Run OpenCV single-threaded while any batch is being augmented, then restore its setting.

    tf.data already runs batches in parallel; OpenCV's own thread pool on top
    oversubscribes the cores and, measured here, slowed a MobileNetV2
    training step sharing the CPU by ~10 % instead of ~2 %. In a forked
    process the setting is left as it is (see `_after_fork_in_child()`).
    """
    if _OPENCV_STATE["forked"]:
        yield
        return
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
