"""The hair-removal part of the demo: ``dermprep demo --hair-only``.

Synthetic dermoscopy images with known hair (and optionally a folder of
real images), Dull Razor vs the OpenCV recipe timed side by side and scored
against the clean images, before / after / mask panels as PNG, and a short
text and JSON summary. It needs no TensorFlow. The whole main job (data,
hair removal, split, augmentation, balancing, training, evaluation, export,
one HTML report) is `dermmodels.demo.run_demo()`, what ``make demo`` runs.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from .figures import save_panel
from .hair import remove_hair
from .hair.bench import compare_methods, format_comparison
from .io import atomic_write_json, atomic_write_text, find_images, read_rgb
from .runtime import available
from .synthetic import make_batch

__all__ = ["QUALITY_NOTE", "hair_removal_demo"]

#: What the demo says when scikit-image (the ``quality`` extra) is missing and PSNR/SSIM are left out.
QUALITY_NOTE = ('hair-removal quality (PSNR, SSIM against the clean images) not scored: it needs scikit-image: '
                'pip install "dermprep[quality]"')


def hair_removal_demo(
    out_dir: str | os.PathLike[str] = "demo-output",
    *,
    n_images: int = 16,
    shape: tuple[int, int] = (450, 600),
    seed: int = 0,
    images_dir: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    write_summary: bool = True,
    log: Any = print,
) -> dict[str, Any]:
    """Run the hair-removal demo and write its outputs to ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Folder for ``hair_removal_synthetic.png``, ``hair_removal_real.png``
        (with ``images_dir``), ``summary.txt`` and ``summary.json``.
    n_images : int
        Number of synthetic images to time and score.
    shape : (int, int)
        Synthetic image size (height, width); HAM10000 is (450, 600).
    seed : int
        Seed of the synthetic set.
    images_dir : path, optional
        A folder of real dermoscopic images to show before/after panels for
        (up to 6 images).
    workers : int, optional
        Processes for the OpenCV pool baseline (default: all cores).
    write_summary : bool
        Write ``summary.txt`` and ``summary.json`` (the full demo writes its own).
    log : callable
        Where progress lines go.

    Returns
    -------
    dict
        The summary written to ``summary.json``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    log(f"  generating {n_images} synthetic {shape[1]}x{shape[0]} images with hair (seed {seed})")
    images, clean, true_masks, _ = make_batch(n_images, shape, seed=seed)

    log("  timing Dull Razor vs the OpenCV recipe and scoring against the clean images")
    compile_start = time.perf_counter()
    remove_hair(images[:1])
    first_call = time.perf_counter() - compile_start
    scored = available("skimage")  # PSNR/SSIM are optional (the "quality" extra): without them, say so
    rows, quality, outputs = compare_methods(images, clean if scored else None, true_masks, workers=workers)
    table = format_comparison(rows, quality)
    log("\n".join("  " + line for line in table.splitlines()))
    quality_note = None if scored else QUALITY_NOTE
    if quality_note:
        log(f"  note: {quality_note}")

    log("  drawing before/after/mask panels")
    written = [_synthetic_panels(out, images, outputs, true_masks)]
    if images_dir is not None:
        written += _real_panels(out, Path(images_dir), log)

    summary = {
        "images": n_images,
        "shape": list(shape),
        "seed": seed,
        "first_call_seconds": first_call,
        "throughput_images_per_second": {r.name: r.images_per_second for r in rows},
        "quality": {name: q.as_dict() for name, q in quality.items()},
        "quality_note": quality_note,
        "outputs": written,
        "elapsed_seconds": time.perf_counter() - started,
        "table": table,
    }
    if write_summary:
        _write_summary(out, summary)
        log(f"done in {summary['elapsed_seconds']:.1f} s; outputs in {out.resolve()}")
    return summary


def _synthetic_panels(out: Path, images: Any, outputs: dict[str, Any], true_masks: Any) -> str:
    """Input | Dull Razor | OpenCV recipe | predicted mask | true mask for the first 4 images; the file's name."""
    restored, masks = outputs["dullrazor"]
    opencv_restored = outputs["opencv"][0]
    rows = [[("hairy input", images[i]), ("Dull Razor (dermprep)", restored[i]), ("OpenCV recipe", opencv_restored[i]),
             ("predicted hair mask", masks[i]), ("true hair mask", true_masks[i])] for i in range(min(4, len(images)))]
    save_panel(out / "hair_removal_synthetic.png", rows, "Hair removal on synthetic images with known hair")
    return "hair_removal_synthetic.png"


def _real_panels(out: Path, images_dir: Path, log: Any) -> list[str]:
    """Input | Dull Razor | mask for up to 6 readable images of ``images_dir`` (unreadable ones skipped, said)."""
    rows = []
    for relative in find_images(images_dir)[:6]:
        try:
            rgb = read_rgb(images_dir / relative)
        except ValueError:
            log(f"  skipped unreadable {relative}")
            continue
        restored, mask = remove_hair(rgb, return_mask=True)
        rows.append([(f"{relative.name}", rgb), ("Dull Razor", restored), ("hair mask", mask)])
    if not rows:
        return []
    save_panel(out / "hair_removal_real.png", rows, "Hair removal on real images")
    return ["hair_removal_real.png"]


def _write_summary(out: Path, summary: dict[str, Any]) -> None:
    atomic_write_json(out / "summary.json", summary)
    shape, note = summary["shape"], summary["quality_note"]
    atomic_write_text(out / "summary.txt",
        f"dermprep hair-removal demo: {summary['images']} synthetic {shape[1]}x{shape[0]} images, "
        f"seed {summary['seed']}\n"
        f"first call (JIT compile or cache load): {summary['first_call_seconds']:.2f} s\n\n{summary['table']}\n"
        + (f"\nnote: {note}\n" if note else "")
    )
