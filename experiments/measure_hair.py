"""Measure real hair on real dermoscopic images: the numbers the second hair simulator draws from.

Usage (from the repository root)::

    .venv/bin/python experiments/measure_hair.py [--shared ../shared] [--out experiments/results/hair_measurements.json]

Images: the five hairy ``samples`` and the ``real600`` images whose skin dermprep changes most (hair), all
600x450. Hair is found with :func:`dermprep.hair_mask` and only hair on skin is measured (outside the
official lesion mask grown by 10 px): along the skeleton of each hair component,

- width: twice the distance to the nearest non-hair pixel (pixels at 600x450);
- transmittance: the hair's value on its centre line over the mean skin value 5-9 px beside it, per
  channel (1 = invisible; dark hair well below 1, light hair above);
- length: skeleton pixels per component; straightness: end-to-end distance over skeleton length.

The percentiles go to ``hair_measurements.json``; ``dermprep.synthetic.simulate_hair`` draws its widths,
transmittances and straightness from ranges set by them (the file names which).

``--what coverage`` measures how much of the image dense hair covers, for ``simulate_hair(density="dense")``:
on the hairiest ``real600`` images (ranked by :func:`dermprep.hair.evaluation.hairiness`, a black-hat score)
and the two dense-hair samples, the fraction of pixels in dermprep's hair mask (lesion safety off; its mask
follows the hair's half-maximum width, as the simulator's) and in the OpenCV recipe's (wider), over the whole
image, its densest quarter and its densest 101x101 window -> ``hair_coverage.json``.

HAM10000: Tschandl et al., Sci. Data 5, 180161 (2018), CC BY-NC 4.0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np


def _images(shared: Path, count: int) -> list[tuple[Path, Path]]:
    from dermprep import remove_hair
    from dermprep.io import read_rgb

    pairs = [(p, shared / "samples" / "masks" / f"{p.stem}.png") for p in sorted((shared / "samples").glob("*.jpg"))
             if p.stem in ("ISIC_0024320", "ISIC_0030589", "ISIC_0024368", "ISIC_0025606", "ISIC_0031841")]
    scored = []
    for path in sorted((shared / "real600" / "images").glob("*.jpg")):
        image = read_rgb(path)
        lesion = cv2.imread(str(shared / "real600" / "masks" / f"{path.stem}.png"), cv2.IMREAD_GRAYSCALE) > 0
        changed = np.abs(remove_hair(image).astype(int) - image).max(axis=-1) > 8
        scored.append((float(changed[~lesion].mean()), path))
    scored.sort(reverse=True)
    pairs += [(path, shared / "real600" / "masks" / f"{path.stem}.png") for _, path in scored[:count]]
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared")
    parser.add_argument("--real600-images", type=int, default=15, help="the hairiest real600 images to add")
    parser.add_argument("--out", default=None, help="default: experiments/results/hair_measurements.json, or "
                        "hair_coverage.json with --what coverage")
    parser.add_argument("--what", choices=("strands", "coverage"), default="strands")
    parser.add_argument("--hairiest", type=int, default=10, help="real600 images to measure coverage on")
    args = parser.parse_args(argv)
    command = "experiments/measure_hair.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.what == "coverage":
        result = _coverage(Path(args.shared), args.hairiest)
        out = Path(args.out or "experiments/results/hair_coverage.json")
    else:
        result = _strands(Path(args.shared), args.real600_images)
        out = Path(args.out or "experiments/results/hair_measurements.json")
    result["command"] = command
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


def _coverage(shared: Path, hairiest: int) -> dict[str, object]:
    from dermprep import hair_mask
    from dermprep.hair.evaluation import hairiness
    from dermprep.io import read_rgb

    def lesion_of(path: Path, folder: Path) -> np.ndarray:
        return cv2.imread(str(folder / f"{path.stem}.png"), cv2.IMREAD_GRAYSCALE) > 0

    real = sorted((shared / "real600" / "images").glob("*.jpg"))
    ranked = sorted(real, key=lambda p: -hairiness(read_rgb(p), lesion_of(p, shared / "real600" / "masks")))
    paths = ranked[:hairiest] + [shared / "samples" / f"{name}.jpg" for name in ("ISIC_0024320", "ISIC_0030589")]
    rows = []
    for path in paths:
        image = read_rgb(path)
        row: dict[str, object] = {"image": path.stem}
        masks = {"dermprep": hair_mask(image, lesion_safety=False), "opencv recipe": hair_mask(image, method="opencv")}
        for name, mask in masks.items():
            h, w = mask.shape
            quarters = [mask[y : y + h // 2, x : x + w // 2].mean() for y in (0, h // 2) for x in (0, w // 2)]
            window = cv2.blur(mask.astype(np.float32), (101, 101))[50:-50, 50:-50]
            row[name] = {"whole": round(float(mask.mean()), 3), "densest_quarter": round(float(max(quarters)), 3),
                         "densest_101px_window": round(float(window.max()), 3)}
        rows.append(row)
        print(row, flush=True)
    return {"images": rows}


def _strands(shared: Path, real600_images: int) -> dict[str, object]:

    from skimage.morphology import skeletonize

    from dermprep import hair_mask
    from dermprep.io import read_rgb

    widths, ratios, lengths, straightness = [], [], [], []
    pairs = _images(shared, real600_images)
    for image_path, mask_path in pairs:
        image = read_rgb(image_path).astype(np.float32)
        lesion = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE) > 0
        lesion = cv2.dilate(lesion.astype(np.uint8), np.ones((21, 21), np.uint8)) > 0
        hair = hair_mask(image.astype(np.uint8), lesion_safety=False) & ~lesion
        if hair.sum() < 200:
            continue
        distance = cv2.distanceTransform(hair.astype(np.uint8), cv2.DIST_L2, 5)
        skeleton = skeletonize(hair)
        near = cv2.dilate(hair.astype(np.uint8), np.ones((19, 19), np.uint8)) > 0
        ring = near & ~(cv2.dilate(hair.astype(np.uint8), np.ones((11, 11), np.uint8)) > 0) & ~lesion
        # the mean skin value 5-9 px beside the hair (normalised convolution over the ring)
        weight = cv2.blur(ring.astype(np.float32), (21, 21))
        background = np.stack([cv2.blur(np.where(ring, image[..., c], 0).astype(np.float32), (21, 21))
                               for c in range(3)], axis=-1) / np.maximum(weight, 1e-6)[..., None]
        background[weight < 0.05] = 0
        ys, xs = np.nonzero(skeleton)
        widths += (2.0 * distance[ys, xs]).tolist()
        valid = background[ys, xs].min(axis=1) > 30
        ratios += (image[ys, xs][valid] / background[ys, xs][valid]).tolist()
        count, labels = cv2.connectedComponents(skeleton.astype(np.uint8), connectivity=8)
        for c in range(1, count):
            py, px = np.nonzero(labels == c)
            if py.size < 10:
                continue
            lengths.append(int(py.size))
            straightness.append(float(np.hypot(np.ptp(py), np.ptp(px)) / py.size))
    widths_a, ratios_a = np.array(widths), np.clip(np.array(ratios), 0, 3)
    quantiles = [5, 10, 25, 50, 75, 90, 95]
    dark = ratios_a[ratios_a.mean(axis=1) < 1.0]
    light = ratios_a[ratios_a.mean(axis=1) >= 1.0]
    result = {
        "images": [p.stem for p, _ in pairs],
        "skeleton_pixels": int(widths_a.size),
        "width_px_at_600x450": dict(zip(map(str, quantiles), np.percentile(widths_a, quantiles).round(2).tolist(),
                                        strict=True)),
        "dark_transmittance_rgb": {q: np.percentile(dark, int(q), axis=0).round(3).tolist() for q in map(str, quantiles)},
        "light_fraction": float(len(light) / max(1, len(ratios_a))),
        "light_transmittance_rgb_median": np.median(light, axis=0).round(3).tolist() if len(light) else None,
        "component_length_px": dict(zip(map(str, quantiles), np.percentile(lengths, quantiles).round(1).tolist(),
                                        strict=True)),
        "straightness": dict(zip(map(str, quantiles), np.percentile(straightness, quantiles).round(3).tolist(),
                                 strict=True)),
    }
    return result


if __name__ == "__main__":
    sys.exit(main())
