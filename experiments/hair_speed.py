"""dermprep's hair removal against the OpenCV recipe, timed in alternating rounds (for a shared machine).

Usage (from the repository root)::

    nice -n 10 .venv/bin/python experiments/hair_speed.py [--rounds 12] [--label NAME] [--out FILE] [--real DIR]

``make bench`` times each method once, one after the other: on a machine shared with other jobs the load
moves between them (the recipe's one-process figure varied 4x between runs there). Here the methods
alternate, round by round, on the benchmark's 32 seeded 600x450 images (``make_batch(32, (450, 600),
seed=0)``, or with ``--real`` the first 32 readable images of one size in a folder, such as
``../shared/real600/images``;
numba warmed up): dermprep's ``remove_hair(batch)`` (all cores), the recipe in one process,
and at the end the recipe in a pool of one process per core. For each, the best round's wall-clock
throughput and CPU time per image (this process's, all threads; not measured for the pool). The results
file (default ``experiments/results/hair_speed.json``, appended to, one entry per run) records the load
average too. Run it with ``PYTHONPATH`` at another checkout's ``src`` to time that version the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def _timed(fn: Any, n: int) -> tuple[float, float]:
    """(images/s, CPU ms per image of this process, all its threads) of one call of ``fn``."""
    wall, used = time.perf_counter(), time.process_time()
    fn()
    return n / (time.perf_counter() - wall), 1000.0 * (time.process_time() - used) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--pool-rounds", type=int, default=2)
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--out", default="experiments/results/hair_speed.json")
    parser.add_argument("--real", help="a folder of images of one size instead of the synthetic batch")
    args = parser.parse_args()
    from hair_profile import _load  # experiments/: the same 32 images as the stage profile

    import dermprep
    from dermprep import remove_hair
    from dermprep.hair._opencv import opencv_remove_hair
    from dermprep.hair.bench import opencv_pool_throughput

    args.images = 32
    images = _load(args)
    n, workers = len(images), os.cpu_count() or 1
    remove_hair(images[:2])  # compile or load the kernels
    remove_hair(images)
    opencv_remove_hair(images[0])
    load_before = os.getloadavg()
    rounds: dict[str, list[tuple[float, float | None]]] = {"dermprep batch": [], "opencv 1 process": []}
    for _ in range(args.rounds):
        rounds["dermprep batch"].append(_timed(lambda: remove_hair(images), n))
        rounds["opencv 1 process"].append(_timed(lambda: [opencv_remove_hair(i) for i in images], n))
    pool = f"opencv {workers}-process pool"
    # the pool's start-up is not timed (as in make bench); its CPU time, in other processes, is not measured
    rounds[pool] = [(opencv_pool_throughput(images, workers).images_per_second, None)
                    for _ in range(args.pool_rounds)]
    best = {name: {"images_per_s": max(r[0] for r in values),
                   "cpu_ms_per_image": min((r[1] for r in values if r[1] is not None), default=None)}
            for name, values in rounds.items()}
    recipe = max(best["opencv 1 process"]["images_per_s"], best[pool]["images_per_s"])
    entry = {
        "label": args.label, "dermprep": str(Path(dermprep.__file__).parent),
        "images": args.real or "make_batch(32, (450, 600), seed=0)",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cores": workers,
        "load_average_before_after": [load_before[0], os.getloadavg()[0]], "rounds": args.rounds,
        "best": best, "per_round": rounds,
        "ratio_wall_vs_recipe_best_form": best["dermprep batch"]["images_per_s"] / recipe,
        "ratio_cpu_per_image_vs_1_process": best["opencv 1 process"]["cpu_ms_per_image"]
        / best["dermprep batch"]["cpu_ms_per_image"],
    }
    out = Path(args.out)
    runs = json.loads(out.read_text()) if out.exists() else []
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([*runs, entry], indent=1) + "\n")
    for name, values in best.items():
        cpu = values["cpu_ms_per_image"]
        print(f"{name:28s} {values['images_per_s']:8.1f} images/s" + (f"  {cpu:6.2f} ms CPU/image" if cpu else ""))
    print(f"dermprep / the recipe's best form (wall): {entry['ratio_wall_vs_recipe_best_form']:.2f}x; "
          f"CPU per image, recipe 1 process / dermprep: {entry['ratio_cpu_per_image_vs_1_process']:.2f}x "
          f"(load {load_before[0]:.1f})")


if __name__ == "__main__":
    main()
