"""Hair removal on the hairiest real images, without ground truth: hair left and dark texture drawn on skin.

Usage (from the repository root)::

    .venv/bin/python experiments/hair_dense.py [--shared ../shared] [--hairiest 20] [--gallery 10]
        [--out experiments/results/hair_dense.json] [--pictures experiments/out/hair-dense]

Images: the ``real600`` images ranked by :func:`dermprep.hair.evaluation.hairiness` (the fraction of skin
pixels whose oriented black-hat, :func:`~dermprep.hair.evaluation.line_black_hat`, exceeds 20 grey levels:
long, thin, dark structures, hair mostly), the ``--hairiest`` first. For dermprep (default settings) and the
OpenCV recipe, on skin (over 15 px outside the official lesion mask), :func:`~dermprep.hair.evaluation.
dark_texture`:

- ``residual``: of the input's hair pixels (oriented black-hat > 20), the fraction still hair in the output;
- ``new_dark``: the fraction of skin pixels whose black-hat (11 px disc) the output raises by more than 12
  grey levels over the input's: strokes, hatching, dashes, blotches the remover drew.

Writes the per-image rows and the means to ``--out`` and a gallery to ``--pictures``: one PNG per image
(input | dermprep | recipe, full size, and below it the densest 150x200 region of the input at 2x) for the
``--gallery`` hairiest images, the named examples and every image of ``samples`` (dense hair, pen dots under
hair, rulers, bubbles).

HAM10000: Tschandl et al., Sci. Data 5, 180161 (2018); segmentations Tschandl et al. 2020. CC BY-NC 4.0.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

NAMED = ("ISIC_0024832", "ISIC_0032071", "ISIC_0033539")


def _lesion(path: Path) -> np.ndarray:
    masks = path.parent.parent / "masks" if path.parent.name == "images" else path.parent / "masks"
    return cv2.imread(str(masks / f"{path.stem}.png"), cv2.IMREAD_GRAYSCALE) > 0


def _methods() -> dict[str, object]:
    from dermprep import remove_hair

    return {"dermprep": lambda image: remove_hair(image),
            "opencv recipe": lambda image: remove_hair(image, method="opencv")}


def _densest_window(image: np.ndarray, size: tuple[int, int] = (150, 200)) -> tuple[slice, slice]:
    from dermprep.hair.evaluation import line_black_hat

    hair = (line_black_hat(image) > 20).astype(np.float32)
    h, w = size
    density = cv2.boxFilter(hair, -1, (w, h), normalize=True, borderType=cv2.BORDER_CONSTANT)
    inner = density[h // 2 : image.shape[0] - h // 2 + 1, w // 2 : image.shape[1] - w // 2 + 1]
    y, x = np.unravel_index(int(np.argmax(inner)), inner.shape)
    return slice(int(y), int(y) + h), slice(int(x), int(x) + w)


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = np.ascontiguousarray(image).copy()
    cv2.putText(out, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def _gallery_row(path: Path, image: np.ndarray, outputs: dict[str, np.ndarray], target: Path) -> None:
    top = np.concatenate([_label(image, path.stem)] + [_label(v, k) for k, v in outputs.items()], axis=1)
    window = _densest_window(image)
    crops = [image[window]] + [v[window] for v in outputs.values()]
    zoom = cv2.resize(np.concatenate(crops, axis=1), None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    zoom = zoom[:, : top.shape[1]] if zoom.shape[1] >= top.shape[1] else np.pad(
        zoom, ((0, 0), (0, top.shape[1] - zoom.shape[1]), (0, 0)))
    where = f"densest region x2: rows {window[0].start}-{window[0].stop}, columns {window[1].start}-{window[1].stop}"
    cv2.imwrite(str(target), np.concatenate([top, _label(zoom, where)], axis=0)[..., ::-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared")
    parser.add_argument("--hairiest", type=int, default=20, help="real600 images measured")
    parser.add_argument("--gallery", type=int, default=10, help="of them, the hairiest drawn")
    parser.add_argument("--out", default="experiments/results/hair_dense.json")
    parser.add_argument("--pictures", default="experiments/out/hair-dense")
    args = parser.parse_args(argv)

    from dermprep.hair.evaluation import dark_texture, hairiness
    from dermprep.io import atomic_write_json, read_rgb

    shared = Path(args.shared)
    started = time.perf_counter()
    real = sorted((shared / "real600" / "images").glob("*.jpg"))
    scored = sorted(((hairiness(read_rgb(p), _lesion(p)), p) for p in real), key=lambda t: -t[0])
    chosen = scored[: args.hairiest]
    print(f"ranked {len(real)} images in {time.perf_counter() - started:.1f} s", flush=True)
    methods = _methods()
    rows = []
    for score, path in chosen:
        image, lesion = read_rgb(path), _lesion(path)
        row: dict[str, object] = {"image": path.stem, "hairiness": round(score, 4)}
        for name, run in methods.items():
            row[name] = dark_texture(image, run(image), lesion).as_dict()
        rows.append(row)
        print(row, flush=True)
    summary = {}
    for name in methods:
        residual = np.array([r[name]["residual"] for r in rows])  # type: ignore[index]
        new_dark = np.array([r[name]["new_dark"] for r in rows])  # type: ignore[index]
        summary[name] = {"residual_mean": float(residual.mean()), "new_dark_mean": float(new_dark.mean()),
                         "new_dark_median": float(np.median(new_dark)), "new_dark_worst": float(new_dark.max())}
        print(f"{name:15s} hair left {residual.mean():7.1%}   new dark texture: mean {new_dark.mean():.4%}  "
              f"median {np.median(new_dark):.4%}  worst {new_dark.max():.4%}")
    hairy = [r for r in rows if r["hairiness"] >= 0.01]  # type: ignore[operator]
    atomic_write_json(args.out, {
        "command": "experiments/hair_dense.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "skin": "over 15 px outside the official lesion mask", "hair_threshold": 20, "new_dark_threshold": 12,
        "images": rows, "summary": summary, "images_with_hairiness_at_least_1_percent": len(hairy)})

    pictures = Path(args.pictures)
    pictures.mkdir(parents=True, exist_ok=True)
    drawn = [p for _, p in chosen[: args.gallery]]
    drawn += [p for p in real if p.stem in NAMED and p not in drawn]
    drawn += sorted((shared / "samples").glob("*.jpg"))
    for rank, path in enumerate(drawn):
        image = read_rgb(path)
        outputs = {name: run(image) for name, run in methods.items()}
        _gallery_row(path, image, outputs, pictures / f"{rank:02d}_{path.stem}.png")
    print(f"gallery: {len(drawn)} images in {pictures.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
