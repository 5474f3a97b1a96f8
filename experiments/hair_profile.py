"""Time each stage of dermprep's hair removal, one image at a time, on one thread.

Usage (from the repository root)::

    nice -n 10 .venv/bin/python experiments/hair_profile.py [--images 32] [--repeats 5] [--real DIR]
        [--out experiments/results/hair_profile.json]

Calls the stages of ``_kernels._process_one`` one by one from Python (each is a compiled numba function; the
call overhead is a few microseconds), on the benchmark's 32 seeded 600x450 synthetic images
(``make_batch(32, (450, 600), seed=0)``) or on the PNG/JPEG images of ``--real``, and prints the best of
``--repeats`` per stage (thread CPU time), summed over the images, in milliseconds per image, and writes them
to ``--out``. Only indicative on a shared machine: the stages run serially, without the batch's parallel
driver (which, in a batch, overlaps the lesion estimate of the next chunk with the kernel).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np


def _load(args: argparse.Namespace) -> np.ndarray:
    if args.real:  # the first ``images`` readable images of the first one's size, in name order
        paths = sorted(p for p in Path(args.real).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
        images: list[np.ndarray] = []
        for path in paths:
            image = cv2.imread(str(path))
            if image is not None and (not images or image.shape == images[0].shape):
                images.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            if len(images) == args.images:
                break
        if not images:
            raise SystemExit(f"no readable PNG or JPEG image in {args.real}")
        return np.stack(images)
    from dermprep.synthetic import make_batch

    return make_batch(args.images, (450, 600), seed=0)[0]


# The stages' working arrays come from one workspace, as in `remove_hair` (`dermprep.hair._workspace`); 32 MB
# holds a 600x450 image's (8.7 MB) with room to spare.
_WORK = np.zeros(32 << 20, np.uint8)


def _stages(image: np.ndarray, times: dict[str, float]) -> None:
    """One image through every stage, adding each stage's seconds to ``times``."""
    from dermprep import dull_razor_params
    from dermprep.hair import _kernels as kern
    from dermprep.hair import _pushpull as pp
    from dermprep.hair._dullrazor import kernel_params, lesion_grids, line_offsets, orientations
    from dermprep.hair._workspace import start_image

    def timed(name, fn, *args):  # type: ignore[no-untyped-def]
        start = time.thread_time()
        result = fn(*args)
        times[name] += time.thread_time() - start
        return result

    params = dull_razor_params(image.shape)
    p = kernel_params(params, replace_hair=True, rounding=0.5)
    start_image(_WORK)
    lesion = timed("lesion estimate (Python)", lesion_grids, image[None], params, None)[0]
    offsets = line_offsets(orientations(params), max(params.min_length, params.max_width) + 2)
    height, width = image.shape[:2]
    hc, wc = (height + 1) // 2, (width + 1) // 2
    closed, opened = np.empty((3, hc, wc), np.uint8), np.empty((3, hc, wc), np.uint8)
    thicket, mask = np.empty((hc, wc), np.uint8), np.zeros((height, width), bool)
    k = kern._half_length(p)
    min_length, max_width = kern._pooled_min_length(p), kern._pooled_max_width(p)
    dark, bright, minpooled = (np.empty((hc, wc), np.uint8), np.empty((hc, wc), np.uint8),
                               np.empty((3, hc, wc), np.uint8))
    timed("residues (pool + closings + openings)", kern._residues, image, p.pool, k, p.detect_light, closed,
          opened, dark, bright, minpooled, _WORK)
    candidate, weak, keep = (np.empty((hc, wc), np.bool_) for _ in range(3))
    timed("threshold", kern._threshold_residues, dark, bright, lesion, p, candidate, weak)
    along = np.full((hc, wc), np.int8(-1), np.int8)
    timed("verify", kern._verify, candidate, offsets, min_length, kern._pooled_edge_min_length(p), max_width, closed,
          minpooled, p.threshold, keep, along, _WORK)
    kern.fill_array(thicket, np.uint8(0))
    if timed("thickets", kern._thickets, candidate, lesion, min_length, p.thicket_density, thicket, _WORK):
        timed("lift thickets", kern._lift_thickets, closed, minpooled, thicket, k, p, dark, keep, weak, _WORK)
    timed("grow", kern._grow, keep, weak, p.grow, _WORK)
    timed("filter components", kern._filter_components, keep, dark, bright, p.light_threshold,
          p.thick_hair_threshold, lesion, min_length, max_width, _WORK)
    timed("extend along", kern._extend_along, keep, weak, along, offsets, min_length, _WORK)
    dark_peak, light_peak = np.empty((hc, wc), np.uint8), np.empty((hc, wc), np.uint8)
    timed("local peaks", kern._local_peaks, dark, bright, keep, dark_peak, light_peak, _WORK)
    timed("full-resolution mask", kern._full_resolution_mask, image, p, closed, opened, thicket, lesion,
          dark_peak, light_peak, mask, _WORK)
    region = np.empty_like(mask)
    timed("dilate", kern._dilate, mask, p.dilation, region, _WORK)
    timed("faint edges", kern._grow_faint, region, image, closed, opened, p.pool, p.detect_light,
          p.edge_threshold, p.edge_radius, lesion, thicket, _WORK)
    timed("thicket region", kern._thicket_region, region, image, closed, thicket, p.pool, p.edge_threshold)
    timed("enclosed pixels", kern._fill_enclosed, region, thicket, p.pool, kern._ENCLOSED_STEPS, _WORK)
    out = np.empty_like(image)
    timed("copy", kern.copy_array, image, out)
    timed("push-pull fill (with block sums)", pp.push_pull_fill, image, region, p.rounding, out, _WORK)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--real", help="a folder of images of one size instead of the synthetic batch")
    parser.add_argument("--out", default="experiments/results/hair_profile.json")
    args = parser.parse_args()
    images = _load(args)
    from dermprep import remove_hair

    remove_hair(images[0])  # compile or load the kernels
    _stages(images[0], defaultdict(float))
    best: dict[str, float] = {}
    for _ in range(args.repeats):
        times: dict[str, float] = defaultdict(float)
        for image in images:
            _stages(image, times)
        for name, seconds in times.items():
            best[name] = min(best.get(name, np.inf), seconds)
    start = time.thread_time()
    for image in images:
        remove_hair(image)
    whole = time.thread_time() - start
    n = len(images)
    for name, seconds in best.items():
        print(f"{name:40s} {1000 * seconds / n:7.3f} ms")
    print(f"{'sum of stages':40s} {1000 * sum(best.values()) / n:7.3f} ms")
    print(f"{'remove_hair, one image at a time':40s} {1000 * whole / n:7.3f} ms")
    stages = {name: 1000 * seconds / n for name, seconds in best.items()}
    Path(args.out).write_text(json.dumps({
        "images": args.real or f"make_batch({args.images}, (450, 600), seed=0)",
        "count": n, "repeats": args.repeats, "load_average": os.getloadavg()[0],
        "ms_per_image": stages, "sum_of_stages_ms": sum(stages.values()),
        "remove_hair_one_at_a_time_ms": 1000 * whole / n}, indent=1) + "\n")


if __name__ == "__main__":
    main()
