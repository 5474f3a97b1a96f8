"""Per-worker start cost of dermprep in a PyTorch DataLoader (issue 22 item 8): each worker's time for its first
image (decode, hair removal, augmentation), measured inside the worker, by examples/pytorch_dataloader.py.

Settings: fork without and with ``Preprocessing.warm_up()`` in the parent; spawn without and with a filled hair
cache. ``--before-src DIR`` also runs the fork case on another source tree (e.g. main's ``src``) for a
before/after in the same run. Writes experiments/results/worker_start.json.

    python experiments/worker_start.py --images ../shared/ham10000/images_200x150 [--before-src /tmp/main/src]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {
    "fork, no warm_up": ["--no-warm-up"],
    "fork, warm_up() in the parent": [],
    "spawn, empty hair cache": ["--start-method", "spawn", "--no-warm-up"],
    "spawn, filled hair cache": ["--start-method", "spawn", "--no-warm-up", "--cache-dir", "{cache}"],
}


def run(images: str, options: list[str], src: str | None = None) -> dict:
    env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
    command = [sys.executable, str(ROOT / "examples" / "pytorch_dataloader.py"), "--images", images, "--limit", "8",
               "--workers", "2", *options]
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True, timeout=900).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True)
    parser.add_argument("--before-src", default=None)
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "worker_start.json"))
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as cache:
        run(args.images, ["--no-warm-up", "--workers", "1", "--cache-dir", cache])  # fills the cache
        for name, options in SETTINGS.items():
            results[name] = run(args.images, [o.format(cache=cache) for o in options])["first_item_seconds_per_worker"]
        if args.before_src:
            results["before (--before-src), fork"] = run(args.images, ["--no-warm-up"], args.before_src)[
                "first_item_seconds_per_worker"]
    record = {"command": " ".join(["python", "experiments/worker_start.py", *sys.argv[1:]]),
              "note": "seconds for each worker's first image; 2 workers, 8 images, a shared 2-core machine",
              "results": results}
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
