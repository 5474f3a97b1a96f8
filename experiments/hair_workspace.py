"""How much working memory hair removal keeps per image: the largest workspace left in the process' pool
(`dermprep.hair._dullrazor._WORKSPACES`, each grown to what its images needed) after real images, one at a
time and then in a batch of 32, as bytes per pixel.

``--before-src DIR`` runs the same on another source tree (e.g. the last stop's ``src``) for a before/after in
the same run. Writes experiments/results/hair_workspace.json.

    python experiments/hair_workspace.py [--shared ../shared] [--before-src /tmp/main/src]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = {"real600 (600x450)": ("real600/images", 177), "HAM10000 200x150 (first 300)": ("ham10000/images_200x150", 300)}


def measure(folder: Path, count: int) -> dict[str, float]:
    """The largest kept workspace after ``count`` images of ``folder`` one at a time, then 32 in a batch."""
    import cv2
    import numpy as np

    from dermprep import remove_hair
    from dermprep.hair import _dullrazor

    _dullrazor._WORKSPACES.clear()
    paths = sorted(folder.glob("*.jpg"))[:count]
    images = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]
    for image in images:
        remove_hair(image)
    remove_hair(np.stack(images[:32]))
    if not _dullrazor._WORKSPACES:
        raise SystemExit(f"no workspace was kept for {folder} (images over the 64 MB limit?): nothing to measure")
    largest = max(work.size for work in _dullrazor._WORKSPACES)
    height, width = images[0].shape[:2]
    return {"images": len(images), "height": height, "width": width, "megabytes": largest / 1e6,
            "bytes_per_pixel": largest / (height * width)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--before-src", help="another source tree, measured the same way in a subprocess")
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "hair_workspace.json"))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one set, print JSON
    args = parser.parse_args()
    if args.one:
        folder, count = SETS[args.one]
        print(json.dumps(measure(Path(args.shared) / folder, count)))
        return
    trees = {"this checkout": str(ROOT / "src")}
    if args.before_src:
        trees = {"before": args.before_src, **trees}
    results: dict[str, dict[str, dict[str, float]]] = {}
    for label, src in trees.items():
        env = {**os.environ, "PYTHONPATH": src}
        for name in SETS:
            out = subprocess.run([sys.executable, __file__, "--shared", args.shared, "--one", name], env=env,
                                 capture_output=True, text=True, check=True, timeout=900).stdout
            results.setdefault(label, {})[name] = json.loads(out.strip().splitlines()[-1])
            row = results[label][name]
            print(f"{label:14s} {name:30s} {row['megabytes']:6.2f} MB  {row['bytes_per_pixel']:5.1f} bytes/pixel")
    command = "experiments/hair_workspace.py" + (f" --before-src {args.before_src}" if args.before_src else "")
    Path(args.out).write_text(json.dumps({"command": command, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
