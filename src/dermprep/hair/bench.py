"""Throughput and quality of Dull Razor vs the OpenCV recipe, side by side.

Used by ``dermprep bench`` and ``dermprep demo``; the pytest-benchmark suite
in ``benchmarks/`` measures the same things with statistics.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._dullrazor import remove_hair
from ._opencv import opencv_remove_hair
from .quality import HairRemovalQuality, hair_removal_quality

__all__ = ["ThroughputResult", "compare_methods", "format_comparison", "opencv_pool_throughput"]


@dataclass(frozen=True)
class ThroughputResult:
    """Images per second of one way of running a method."""

    name: str
    images_per_second: float
    seconds: float
    images: int


def _opencv_chunk(images: np.ndarray) -> list[np.ndarray]:
    import cv2  # noqa: PLC0415 - each spawned worker configures its own cv2

    cv2.setNumThreads(1)
    return [opencv_remove_hair(image)[0] for image in images]


def _timed(fn, images: np.ndarray, repeats: int) -> tuple[float, Any]:  # type: ignore[no-untyped-def]
    """Best wall time of ``repeats`` calls of ``fn(images)``, and the last call's result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(images)
        best = min(best, time.perf_counter() - start)
    return best, result


#: Set in each pool worker when it starts: the barrier every worker's warm-up waits at.
_WARM_UP_BARRIER: Any = None


def _keep_barrier(barrier: Any) -> None:
    global _WARM_UP_BARRIER
    _WARM_UP_BARRIER = barrier


def _warm_up(images: np.ndarray) -> None:
    """One image through the recipe, once every worker has got this far: so each worker starts and warms up
    before the timing (a pool that spawns its workers on demand may otherwise hand both warm-up chunks to the
    first worker up, and time the others' start-up)."""
    _WARM_UP_BARRIER.wait(timeout=300)
    _opencv_chunk(images)


def opencv_pool_throughput(images: np.ndarray, workers: int, repeats: int = 1) -> ThroughputResult:
    """The OpenCV recipe in a pool of ``workers`` spawned processes (pool start-up not timed: every worker has
    started and run one image before the clock starts)."""
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_keep_barrier,
                                initargs=(context.Barrier(workers),)) as pool:
        list(pool.map(_warm_up, [images[:1]] * workers))  # returns when every worker has run its image
        chunks = np.array_split(images, workers * 4)

        def run(_: np.ndarray) -> None:
            list(pool.map(_opencv_chunk, chunks))

        seconds, _ = _timed(run, images, repeats)
    return ThroughputResult(f"opencv, {workers} processes", len(images) / seconds, seconds, len(images))


def compare_methods(
    images: np.ndarray,
    clean: np.ndarray | None = None,
    true_masks: np.ndarray | None = None,
    *,
    workers: int | None = None,
    repeats: int = 3,
) -> tuple[list[ThroughputResult], dict[str, HairRemovalQuality], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Time Dull Razor (one batch call, all cores) and the OpenCV recipe (1 process and a pool).

    Returns
    -------
    rows : list of ThroughputResult
    quality : dict
        Per method, when ``clean`` and ``true_masks`` are given (else empty).
    outputs : dict
        Per method, the ``(restored, masks)`` of the timed runs.
    """
    workers = workers or os.cpu_count() or 1
    remove_hair(images[:1])  # compile (or load from cache) before timing
    ours, ours_out = _timed(lambda b: remove_hair(b, return_mask=True), images, repeats)
    single, cv_out = _timed(lambda b: remove_hair(b, method="opencv", return_mask=True), images, 1)
    rows = [
        ThroughputResult("dermprep dullrazor, batch", len(images) / ours, ours, len(images)),
        ThroughputResult("opencv, 1 process", len(images) / single, single, len(images)),
    ]
    if workers > 1:
        rows.append(opencv_pool_throughput(images, workers))
    outputs = {"dullrazor": ours_out, "opencv": cv_out}
    quality: dict[str, HairRemovalQuality] = {}
    if clean is not None and true_masks is not None:
        for name, (restored, masks) in outputs.items():
            quality[name] = hair_removal_quality(images, restored, clean, masks, true_masks)
    return rows, quality, outputs


def format_comparison(rows: list[ThroughputResult], quality: dict[str, HairRemovalQuality]) -> str:
    """A plain-text table of `compare_methods()`' results."""
    best_opencv = max((r.images_per_second for r in rows if r.name.startswith("opencv")), default=float("nan"))
    lines = [f"{'method':32s} {'images/s':>10s} {'vs best opencv':>15s}"]
    for r in rows:
        lines.append(f"{r.name:32s} {r.images_per_second:10.1f} {r.images_per_second / best_opencv:14.1f}x")
    if quality:
        lines.append("")
        lines.append(f"{'quality':12s} {'PSNR dB':>8s} {'SSIM':>7s} {'PSNR hair':>10s} {'mask Dice':>10s}")
        for name, q in quality.items():
            lines.append(f"{name:12s} {q.psnr:8.2f} {q.ssim:7.4f} {q.psnr_hair:10.2f} {q.dice:10.3f}")
    return "\n".join(lines)
