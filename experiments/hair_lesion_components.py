"""What lesion safety weighs: the long dark structures touching the lesion region that are not thin lines.

Usage (from the repository root)::

    .venv/bin/python experiments/hair_lesion_components.py [--shared ../shared] [--ham-images 3000]
        [--thresholds 38 42 46 50 55 60] [--out experiments/results/hair_lesion_components.json]

Two measurements behind ``thick_hair_threshold`` (docs/hair-removal.md):

1. **Components.** On the 84 hair-free bases of ``experiments/hair_simulated.py`` (their names from
   ``experiments/results/hair_simulated.json``; real600 images without hair, so whatever lesion safety
   weighs there is the lesion's own texture) and on the real600 images named by ``--hairy`` (hair inside the
   lesion), the kernels' own stages are run up to lesion safety and every dark component touching the lesion
   region that is long (bounding-box diagonal >= 2 ``min_length``) but fails the crossing and thin-line tests
   (the rule before ``thick_hair_threshold``: all of them were dropped) is described: area, diagonal, area /
   diagonal, its width across and length along its principal axis, its mean dark residue, and whether the
   thick-hair test now keeps it.
2. **Threshold sweep.** For each threshold, the images (all of real600, the first ``--ham-images`` of the
   200x150 set) whose output differs from the output without the test (threshold 254), with the lesion
   pixels changed by more than 8 grey levels with and without it. Which of those changes are right is a
   question for the eye: the docs say what was seen.

HAM10000: Tschandl P., Rosendahl C., Kittler H., Sci. Data 5, 180161 (2018), doi:10.1038/sdata.2018.161;
segmentations: Tschandl et al. 2020. Licence CC BY-NC 4.0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
OFF = 254


def _long_thick_components(image: np.ndarray) -> list[dict[str, float]]:
    """The long dark components touching the estimated lesion that neither cross its border nor are thin."""
    from dermprep import dull_razor_params
    from dermprep.hair import _kernels as kern
    from dermprep.hair._dullrazor import kernel_params, lesion_grids, line_offsets, orientations
    from dermprep.hair._workspace import HEADER

    work = np.zeros(HEADER, np.uint8)  # a workspace with no room: every working array allocated afresh
    params = dull_razor_params(image.shape)
    p = kernel_params(params, replace_hair=True, rounding=0.5)
    lesion = lesion_grids(image[None], params, None)[0]
    offsets = line_offsets(orientations(params), max(params.min_length, params.max_width) + 2)
    hc, wc = lesion.shape
    closed, opened, minpooled = (np.empty((3, hc, wc), np.uint8) for _ in range(3))
    k, min_length, max_width = kern._half_length(p), kern._pooled_min_length(p), kern._pooled_max_width(p)
    dark, bright = np.empty((hc, wc), np.uint8), np.empty((hc, wc), np.uint8)
    kern._residues(image, p.pool, k, p.detect_light, closed, opened, dark, bright, minpooled, work)
    candidate, weak, keep = (np.empty((hc, wc), np.bool_) for _ in range(3))
    kern._threshold_residues(dark, bright, lesion, p, candidate, weak)
    along = np.full((hc, wc), np.int8(-1), np.int8)
    kern._verify(candidate, offsets, min_length, kern._pooled_edge_min_length(p), max_width, closed, minpooled, p.threshold,
                 keep, along, work)
    thicket = np.zeros((hc, wc), np.uint8)
    if p.detect_thickets and kern._thickets(candidate, lesion, min_length, p.thicket_density, thicket, work):
        kern._lift_thickets(closed, minpooled, thicket, k, p, dark, keep, weak, work)
    kern._grow(keep, weak, p.grow, work)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(keep.astype(np.uint8), connectivity=8)
    found = []
    for c in range(1, count):
        member = labels == c
        if not (member & lesion).any() or 2 * int((bright[member] > p.light_threshold).sum()) >= member.sum():
            continue
        ys, xs = np.nonzero(member)
        area = int(stats[c, cv2.CC_STAT_AREA])
        diagonal = float(np.hypot(stats[c, cv2.CC_STAT_WIDTH], stats[c, cv2.CC_STAT_HEIGHT]))
        outside = ~lesion[ys, xs]
        if outside.any():
            extent = np.hypot(np.ptp(ys[outside]) + 1, np.ptp(xs[outside]) + 1)
            if extent >= min_length and outside.sum() >= min_length:
                continue  # crosses the border
        if diagonal < 2 * min_length or area <= 0.6 * max_width * diagonal:
            continue  # too short to be judged as a line, or thin: kept
        small, large = np.sort(np.linalg.eigvalsh(np.cov(np.stack([ys, xs]).astype(float))))
        found.append({"y": int(p.pool * ys.min()), "x": int(p.pool * xs.min()), "area": area, "diagonal": round(diagonal, 1),
                      "area_per_diagonal": round(area / diagonal, 2), "max_width": max_width,
                      "principal_width": round(float(np.sqrt(12 * max(small, 0.0))), 1),
                      "principal_length": round(float(np.sqrt(12 * large)), 1),
                      "mean_dark_residue": round(float(dark[member].mean()), 1),
                      "kept_by_thick_hair_test": bool(area <= max_width * diagonal
                                                      and int(dark[member].sum()) >= p.thick_hair_threshold * area)})
    return found


def _mask(path: Path, masks: Path) -> np.ndarray | None:
    for candidate in (masks / f"{path.stem}.png", masks / f"{path.stem}_segmentation.png"):
        if candidate.is_file():
            return cv2.imread(str(candidate), cv2.IMREAD_GRAYSCALE) > 0
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared")
    parser.add_argument("--bases-from", default=str(HERE / "results" / "hair_simulated.json"))
    parser.add_argument("--hairy", nargs="*", default=["ISIC_0024323"], help="real600 images with hair in the lesion")
    parser.add_argument("--ham-images", type=int, default=3000)
    parser.add_argument("--thresholds", nargs="*", type=int, default=[38, 42, 46, 50, 55, 60])
    parser.add_argument("--out", default=str(HERE / "results" / "hair_lesion_components.json"))
    args = parser.parse_args(argv)
    from dermprep import remove_hair
    from dermprep.io import atomic_write_json, read_rgb

    shared = Path(args.shared)
    real = shared / "real600"
    if not (real / "images").is_dir():
        print(f"no {real / 'images'}: this experiment needs the shared data", file=sys.stderr)
        return 1
    bases = json.loads(Path(args.bases_from).read_text())["bases"]
    components: dict[str, dict[str, list[dict[str, object]]]] = {"hair-free bases": {}, "hairy": {}}
    for group, names in (("hair-free bases", bases), ("hairy", args.hairy)):
        for name in names:
            found = _long_thick_components(read_rgb(real / "images" / f"{name}.jpg"))
            if found:
                components[group][name] = found
    residues = [c["mean_dark_residue"] for found in components["hair-free bases"].values() for c in found]
    print(f"hair-free bases: {len(residues)} long components failing the thin test, mean dark residue "
          f"{min(residues, default=0):.1f}-{max(residues, default=0):.1f}")
    for name, found in components["hairy"].items():
        print(name, [(c["area_per_diagonal"], c["principal_width"], c["mean_dark_residue"]) for c in found])

    sets = {"real600": (sorted((real / "images").glob("*.jpg")), real / "masks"),
            "ham10000_200x150": (sorted((shared / "ham10000" / "images_200x150").glob("*.jpg"))[: args.ham_images],
                                 shared / "ham10000" / "masks_200x150")}
    sweep: dict[str, dict[str, dict[str, object]]] = {str(t): {} for t in args.thresholds}
    skipped: list[str] = []
    for set_name, (paths, masks) in sets.items():
        for path in paths:
            lesion = _mask(path, masks)
            image = read_rgb(path)
            if lesion is None or lesion.shape != image.shape[:2]:
                skipped.append(str(path))
                continue
            off = remove_hair(image, thick_hair_threshold=OFF)
            changed_off = float((np.abs(off.astype(int) - image).max(-1) > 8)[lesion].mean())
            for threshold in args.thresholds:
                out = remove_hair(image, thick_hair_threshold=threshold)
                pixels = int((out != off).any(-1).sum())
                if pixels:
                    changed = float((np.abs(out.astype(int) - image).max(-1) > 8)[lesion].mean())
                    sweep[str(threshold)][f"{set_name}/{path.stem}"] = {
                        "pixels_differing": pixels, "lesion_changed_without": round(changed_off, 5),
                        "lesion_changed_with": round(changed, 5)}
        print(set_name, {t: len([k for k in v if k.startswith(set_name)]) for t, v in sweep.items()}, flush=True)
    if skipped:
        print(f"skipped {len(skipped)} images without a lesion mask of their size: {skipped[:5]}", file=sys.stderr)
    atomic_write_json(args.out, {
        "command": "experiments/hair_lesion_components.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "long_components_failing_the_thin_test": components,
        "images_changed_by_threshold": sweep, "skipped_without_mask": skipped})
    print("written to", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
