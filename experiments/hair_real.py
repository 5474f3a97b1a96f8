"""Hair removal on real images: lesion and skin pixels changed, per image, for dermprep and the OpenCV recipe.

Usage (from the repository root)::

    .venv/bin/python experiments/hair_real.py [--shared ../shared] [--out experiments/out/hair-real]
        [--ham-images 1000] [--gallery 8]

Data (read where it is, never copied): ``real600`` (177 full-resolution HAM10000 images with their
official lesion masks), ``samples`` (nine 600x450 images with hair, rulers, bubbles, pen marks) and a
seeded sample of ``ham10000/images_200x150`` with ``masks_200x150``. For each image: the fraction of
lesion pixels and of skin pixels changed by more than 8 grey levels (:func:`dermprep.hair.evaluation.
change_inside_and_outside`). Writes ``hair_real.json`` (every image, every method), prints the summary
table the docs quote, and draws a gallery of the images whose lesions changed most (input, output,
changed pixels, lesion outline) for each method.

HAM10000: Tschandl P., Rosendahl C., Kittler H., Sci. Data 5, 180161 (2018), doi:10.1038/sdata.2018.161;
segmentations: Tschandl et al. 2020. Licence CC BY-NC 4.0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np


def _sets(shared: Path, ham_images: int) -> dict[str, list[tuple[Path, Path]]]:
    sets: dict[str, list[tuple[Path, Path]]] = {}
    real = shared / "real600"
    if (real / "images").is_dir():
        sets["real600"] = [(p, real / "masks" / f"{p.stem}.png") for p in sorted((real / "images").glob("*.jpg"))]
    samples = shared / "samples"
    if samples.is_dir():
        sets["samples"] = [(p, samples / "masks" / f"{p.stem}.png") for p in sorted(samples.glob("*.jpg"))]
    ham = shared / "ham10000"
    if (ham / "images_200x150").is_dir() and ham_images:
        images = sorted((ham / "images_200x150").glob("*.jpg"))
        chosen = np.random.default_rng(0).choice(len(images), size=min(ham_images, len(images)), replace=False)
        sets["ham10000_200x150"] = [(images[i], ham / "masks_200x150" / f"{images[i].stem}.png")
                                    for i in sorted(chosen)]
    return sets


def _methods() -> dict[str, object]:
    from dermprep import remove_hair

    return {
        "dermprep": lambda image, mask: remove_hair(image),
        "dermprep, no thickets": lambda image, mask: remove_hair(image, detect_thickets=False),
        "opencv recipe": lambda image, mask: remove_hair(image, method="opencv"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared")
    parser.add_argument("--out", default="experiments/out/hair-real")
    parser.add_argument("--ham-images", type=int, default=1000, help="images of the 200x150 set (seeded sample)")
    parser.add_argument("--gallery", type=int, default=8, help="most-changed images to draw per method")
    parser.add_argument("--methods", nargs="*", default=None, help="only these methods")
    parser.add_argument("--summary", default="experiments/results/hair_real.json",
                        help="where the summary table goes (the per-image rows stay in --out)")
    args = parser.parse_args(argv)

    from dermprep.figures import save_panel
    from dermprep.hair.evaluation import change_inside_and_outside
    from dermprep.io import atomic_write_json, read_rgb

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    methods = {k: v for k, v in _methods().items() if args.methods is None or k in args.methods}
    rows: list[dict[str, object]] = []
    for set_name, pairs in _sets(Path(args.shared), args.ham_images).items():
        for method, run in methods.items():
            started = time.perf_counter()
            for image_path, mask_path in pairs:
                image = read_rgb(image_path)
                lesion = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
                restored = run(image, lesion)
                change = change_inside_and_outside(image, restored, lesion)
                rows.append({"set": set_name, "method": method, "image": image_path.stem, **change.as_dict()})
            print(f"{set_name:18s} {method:42s} {len(pairs)} images in {time.perf_counter() - started:.1f} s",
                  flush=True)
    (out / "hair_real.json").write_text(json.dumps(rows, indent=1))

    # "hair-free": images on which both methods change almost no skin (two independent detectors agree)
    by_image: dict[tuple[str, str], dict[str, dict]] = {}
    for r in rows:
        by_image.setdefault((r["set"], r["image"]), {})[r["method"]] = r
    hair_free = {key for key, found in by_image.items()
                 if found.get("dermprep", {}).get("skin", 1) < 0.003 and found.get("opencv recipe", {}).get("skin", 1) < 0.015}
    summary: dict[str, object] = {"command": "experiments/hair_real.py " + " ".join(argv if argv is not None
                                                                                     else sys.argv[1:]),
                                  "threshold_grey_levels": 8, "sets": {}}
    print(f"\n{'set':18s} {'method':42s} {'images':>6s} {'lesion mean':>11s} {'median':>8s} {'worst':>7s} "
          f"{'skin mean':>9s}   hair-free: {'images':>6s} {'lesion mean':>11s} {'worst':>7s}")
    for set_name in dict.fromkeys(r["set"] for r in rows):
        for method in methods:
            subset = [r for r in rows if r["set"] == set_name and r["method"] == method]
            clean = [r for r in subset if (set_name, r["image"]) in hair_free]
            lesion = np.array([r["lesion"] for r in subset], float)
            skin = np.array([r["skin"] for r in subset], float)
            clean_lesion = np.array([r["lesion"] for r in clean], float) if clean else None
            entry = {"images": len(subset), "lesion_mean": float(np.nanmean(lesion)),
                     "lesion_median": float(np.nanmedian(lesion)), "lesion_worst": float(np.nanmax(lesion)),
                     "skin_mean": float(np.nanmean(skin)), "hair_free_images": len(clean),
                     "hair_free_lesion_mean": float(np.nanmean(clean_lesion)) if clean else None,
                     "hair_free_lesion_worst": float(np.nanmax(clean_lesion)) if clean else None,
                     "most_changed": [r["image"] for r in sorted(subset, key=lambda r: -float(r["lesion"]))[:5]]}
            summary["sets"].setdefault(set_name, {})[method] = entry  # type: ignore[union-attr]
            print(f"{set_name:18s} {method:42s} {len(subset):6d} {entry['lesion_mean']:11.2%} "
                  f"{entry['lesion_median']:8.2%} {entry['lesion_worst']:7.1%} {entry['skin_mean']:9.2%}   "
                  f"           {len(clean):6d} " + (f"{entry['hair_free_lesion_mean']:11.2%} "
                                                     f"{entry['hair_free_lesion_worst']:7.1%}" if clean else ""))
    atomic_write_json(args.summary, summary)

    for method in methods:  # the images whose lesions changed most, to look at
        subset = sorted((r for r in rows if r["method"] == method and r["set"] != "ham10000_200x150"),
                        key=lambda r: -float(r["lesion"]))[: args.gallery]
        panel = []
        for r in subset:
            folder = Path(args.shared) / ("real600/images" if r["set"] == "real600" else "samples")
            image = read_rgb(folder / f"{r['image']}.jpg")
            mask_folder = Path(args.shared) / ("real600/masks" if r["set"] == "real600" else "samples/masks")
            lesion = cv2.imread(str(mask_folder / f"{r['image']}.png"), cv2.IMREAD_GRAYSCALE)
            restored = methods[method](image, lesion)
            changed = np.abs(restored.astype(int) - image).max(axis=-1) > 8
            outline = image.copy()
            contours, _ = cv2.findContours((lesion > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(outline, contours, -1, (0, 255, 0), 2)
            panel.append([(f"{r['image']} ({r['set']})", outline), (f"{method}", restored),
                          (f"changed: lesion {float(r['lesion']):.1%}", changed)])
        if panel:
            save_panel(out / f"most_changed_{''.join(c if c.isalnum() else '_' for c in method)}.png", panel,
                       f"{method}: the images whose lesion changed most (green: official lesion outline)")
    print(f"\nwritten to {out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
