"""Draw the documentation figures into docs/img/ (run by `make docs`; those PNGs are not committed).

``python docs/make_figures.py --readme`` redraws ``docs/assets/overview.png``, the one picture the README
shows (committed, so that GitHub and PyPI can display it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from matplotlib.figure import Figure  # drawn without pyplot: no backend is chosen or changed

from dermprep import remove_hair
from dermprep.augment import OPS, Pipeline, default_pipeline
from dermprep.synthetic import make_sample


def augmentation_grid(path: Path) -> None:
    sample = make_sample((224, 224), rng=12, hair=False, label=4)
    pipeline = default_pipeline()
    fig = Figure(figsize=(12, 6.4))
    axes = fig.subplots(3, 6)
    for k, ax in enumerate(axes.flat):
        image = sample.image if k == 0 else pipeline(sample.image, seed=0, index=k)
        ax.imshow(image)
        ax.set_title("input" if k == 0 else f"index {k}", fontsize=8)
        ax.axis("off")
    fig.suptitle("default_pipeline(), seed 0")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def op_catalogue(path: Path) -> None:
    sample = make_sample((160, 160), rng=3, hair=False, label=5)
    names = sorted(OPS)
    fig = Figure(figsize=(16, 4.6))
    axes = fig.subplots(2, (len(names) + 2) // 2)
    axes = axes.flat
    axes[0].imshow(sample.image)
    axes[0].set_title("input", fontsize=8)
    for ax, name in zip(axes[1:], names, strict=False):  # spare axes stay empty
        ax.imshow(Pipeline([OPS[name](p=1.0)])(sample.image, seed=1, index=2))
        ax.set_title(name, fontsize=8)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def hair_panel(path: Path) -> None:
    sample = make_sample((450, 600), rng=21)
    restored, mask = remove_hair(sample.image, return_mask=True)
    _row(path, [("hairy input", sample.image), ("Dull Razor", restored), ("predicted mask", mask),
                ("true mask", sample.hair_mask)], width=14)


def _row(path: Path, panels: list, width: float) -> None:
    """One row of titled images (2-D ones in grey) saved as PNG."""
    fig = Figure(figsize=(width, 2.9))
    axes = fig.subplots(1, len(panels))
    for ax, (title, image) in zip(axes, panels, strict=True):
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def readme_overview(path: Path) -> None:
    """Hair removal and augmentation on one synthetic naevus-like lesion, for the README."""
    sample = make_sample((300, 400), rng=7, label=5, num_hairs=(14, 18))
    restored, mask = remove_hair(sample.image, return_mask=True)
    pipeline = default_pipeline()
    square = restored[:, 50:350]  # the augmentations on a square crop, as a classifier would see it
    panels = [("hairy input", sample.image), ("dermprep.remove_hair", restored), ("hair mask", mask)]
    panels += [(f"augment, epoch {e}", pipeline(square, seed=0, index=3, epoch=e)) for e in range(3)]
    _row(path, panels, width=15)


if __name__ == "__main__":
    if sys.argv[1:] == ["--readme"]:
        Path("docs/assets").mkdir(parents=True, exist_ok=True)
        readme_overview(Path("docs/assets/overview.png"))
        sys.exit(0)
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")
    out.mkdir(parents=True, exist_ok=True)
    augmentation_grid(out / "augmentation_grid.png")
    op_catalogue(out / "augmentation_ops.png")
    hair_panel(out / "hair_removal.png")
    print(f"figures written to {out}")
