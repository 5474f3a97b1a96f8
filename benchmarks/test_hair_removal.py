"""Throughput of Dull Razor vs the OpenCV recipe at 600x450, in one run.

Run with ``make bench``. numba is warmed up before timing; OpenCV is timed in
one process and in a pool of spawned processes (one per core), its best use
on a CPU machine.
"""

from __future__ import annotations

import os

from conftest import RESULTS
from dermprep import remove_hair
from dermprep.hair._opencv import opencv_remove_hair
from dermprep.hair.bench import opencv_pool_throughput
from dermprep.hair.quality import hair_removal_quality


def test_dullrazor_batch(benchmark, hairy_600x450):
    images = hairy_600x450[0]
    remove_hair(images[:2])  # JIT warm-up (or cache load) outside the timing
    benchmark.pedantic(remove_hair, args=(images,), rounds=10, warmup_rounds=2)
    if benchmark.stats is not None:  # None under --benchmark-disable
        RESULTS["dullrazor batch images/s"] = len(images) / benchmark.stats.stats.min


def test_opencv_single_process(benchmark, hairy_600x450):
    images = hairy_600x450[0][:8]
    benchmark.pedantic(lambda: [opencv_remove_hair(i) for i in images], rounds=2, warmup_rounds=0)
    if benchmark.stats is not None:
        RESULTS["opencv 1 process images/s"] = len(images) / benchmark.stats.stats.min


def test_opencv_process_pool(benchmark, hairy_600x450):
    images = hairy_600x450[0]
    workers = os.cpu_count() or 1
    result = benchmark.pedantic(opencv_pool_throughput, args=(images, workers), rounds=1, warmup_rounds=0)
    RESULTS[f"opencv {workers}-process pool images/s"] = result.images_per_second


def test_quality_side_by_side(benchmark, hairy_600x450):
    images, clean, masks, _ = hairy_600x450
    ours, ours_masks = benchmark.pedantic(remove_hair, args=(images,), kwargs={"return_mask": True}, rounds=1)
    opencv, opencv_masks = remove_hair(images, method="opencv", return_mask=True)
    q_ours = hair_removal_quality(images, ours, clean, ours_masks, masks)
    q_cv = hair_removal_quality(images, opencv, clean, opencv_masks, masks)
    for name, q in (("dullrazor", q_ours), ("opencv", q_cv)):
        RESULTS[f"{name} PSNR dB"] = q.psnr
        RESULTS[f"{name} SSIM"] = q.ssim
        RESULTS[f"{name} PSNR in hair"] = q.psnr_hair
        RESULTS[f"{name} mask Dice"] = q.dice
