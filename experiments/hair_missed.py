"""Where the error inside the hair comes from: true hair pixels a method leaves unchanged, by kind.

Usage (from the repository root; the simulated images from ``hair_simulated.py --cache``)::

    .venv/bin/python experiments/hair_missed.py --cache experiments/out/hair-simulated-cache \\
        [--simulator simulate_hair] [--gallery experiments/out/hair-missed.png]

For each base of ``experiments/results/hair_simulated.json`` (real hair-free real600 images) and its simulated
hair (the cached ``<simulator>_84.npz``: hairy image and true half-maximum hair mask), dermprep and the OpenCV
recipe remove hair; a true hair pixel the output leaves unchanged is *missed*. Missed pixels are split into:

- ``lesion``: within 15 px of the official lesion mask (lesion safety keeps structures there);
- ``whole strand``: their true hair component has no replaced pixel at all (a strand never detected);
- ``partial``: the rest (a detected strand's tip, a stretch over a darker background, a crossing).

Reported per method: the share of true hair pixels missed, PSNR inside the hair on replaced and on missed
pixels, and each kind's share of the squared error inside the hair (missed pixels keep the hair, so they
dominate it). ``--gallery`` writes, for the images with the most missed pixels, crops of the hairy image,
dermprep's output, the clean image and an overlay (green: true hair replaced, red: missed, blue: replaced
but not true hair).

HAM10000: Tschandl et al., Sci. Data 5, 180161 (2018); segmentations Tschandl et al. 2020. CC BY-NC 4.0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

KINDS = ("lesion", "whole strand", "partial")


def _psnr(error: np.ndarray) -> float:
    mse = float(np.mean(error)) if error.size else float("nan")
    return 10 * np.log10(255.0**2 / mse) if mse else float("inf")


def _kinds(truth: np.ndarray, changed: np.ndarray, lesion: np.ndarray) -> dict[str, np.ndarray]:
    missed = truth & ~changed
    near_lesion = cv2.dilate(lesion.astype(np.uint8), np.ones((31, 31), np.uint8)) > 0
    count, labels = cv2.connectedComponents(truth.astype(np.uint8), connectivity=8)
    touched = np.zeros(count, bool)
    touched[np.unique(labels[truth & changed])] = True
    return {"lesion": missed & near_lesion, "whole strand": missed & ~near_lesion & ~touched[labels],
            "partial": missed & ~near_lesion & touched[labels]}


def _panel(hairy: np.ndarray, out: np.ndarray, clean: np.ndarray, truth: np.ndarray, changed: np.ndarray) -> np.ndarray:
    missed = truth & ~changed
    density = cv2.boxFilter(missed.astype(np.float32), -1, (150, 150))
    y, x = np.unravel_index(int(density.argmax()), density.shape)
    y0, x0 = int(np.clip(y - 75, 0, hairy.shape[0] - 150)), int(np.clip(x - 75, 0, hairy.shape[1] - 150))
    crop = (slice(y0, y0 + 150), slice(x0, x0 + 150))
    overlay = clean.copy()
    overlay[truth & changed] = (0, 200, 0)
    overlay[missed] = (255, 0, 0)
    overlay[changed & ~truth] = (0, 0, 255)
    row = np.concatenate([hairy[crop], out[crop], clean[crop], overlay[crop]], axis=1)
    return cv2.resize(row, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared")
    parser.add_argument("--cache", required=True, help="hair_simulated.py's --cache folder")
    parser.add_argument("--simulator", default="simulate_hair")
    parser.add_argument("--bases-from", default="experiments/results/hair_simulated.json")
    parser.add_argument("--out", default="experiments/results/hair_missed.json")
    parser.add_argument("--gallery", default=None, help="PNG of the images with the most missed pixels")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).parent))
    from hair_simulated import _base

    from dermprep import remove_hair
    from dermprep.io import atomic_write_json

    names = json.loads(Path(args.bases_from).read_text())["bases"]
    stored = np.load(Path(args.cache) / f"{args.simulator.replace(' ', '_')}_{len(names)}.npz")
    methods = {"dermprep": lambda image: remove_hair(image),
               "opencv recipe": lambda image: remove_hair(image, method="opencv")}
    totals = {m: {"truth": 0, "missed": 0, "error_hit": 0.0, "hit": 0, "error_missed": 0.0,
                  **{f"error {k}": 0.0 for k in KINDS}, **{f"pixels {k}": 0 for k in KINDS}} for m in methods}
    worst: list[tuple[int, np.ndarray]] = []
    for index, name in enumerate(names):
        _, clean, lesion = _base(Path(args.shared), name)
        hairy, truth = stored["hairy"][index], stored["truth"][index]
        for method, run in methods.items():
            out = run(hairy)
            changed = np.abs(out.astype(np.int16) - hairy).max(axis=-1) > 0
            error = ((out.astype(np.float64) - clean) ** 2).mean(axis=-1)
            total = totals[method]
            total["truth"] += int(truth.sum())
            total["missed"] += int((truth & ~changed).sum())
            total["hit"] += int((truth & changed).sum())
            total["error_hit"] += float(error[truth & changed].sum())
            total["error_missed"] += float(error[truth & ~changed].sum())
            for kind, where in _kinds(truth, changed, lesion).items():
                total[f"error {kind}"] += float(error[where].sum())
                total[f"pixels {kind}"] += int(where.sum())
            if method == "dermprep" and args.gallery:
                worst.append((int((truth & ~changed).sum()), _panel(hairy, out, clean, truth, changed)))
    summary = {}
    for method, t in totals.items():
        error_all = t["error_hit"] + t["error_missed"]
        summary[method] = {
            "true_hair_pixels": t["truth"], "missed_share": t["missed"] / t["truth"],
            "psnr_hair_pooled": _psnr(np.array([error_all / t["truth"]])),
            "psnr_on_replaced": _psnr(np.array([t["error_hit"] / max(t["hit"], 1)])),
            "psnr_on_missed": _psnr(np.array([t["error_missed"] / max(t["missed"], 1)])),
            "share_of_hair_error_missed": t["error_missed"] / error_all,
            "missed_by_kind": {k: {"pixels_share_of_hair": t[f"pixels {k}"] / t["truth"],
                                   "share_of_hair_error": t[f"error {k}"] / error_all} for k in KINDS}}
        print(method, json.dumps(summary[method]), flush=True)
    atomic_write_json(args.out, {"command": "experiments/hair_missed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                                 "simulator": args.simulator, "bases": len(names), "summary": summary})
    if args.gallery:
        rows = [panel for _, panel in sorted(worst, key=lambda item: -item[0])[:6]]
        Path(args.gallery).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(args.gallery, cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))
        print(f"written {args.gallery}")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
