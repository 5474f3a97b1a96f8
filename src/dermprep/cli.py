"""The ``dermprep`` command line: ``remove-hair``, ``bench`` and ``demo``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .argtypes import positive_int as _positive_int
from .argtypes import shard as _shard
from .argtypes import size as _size
from .io import MAX_PIXELS

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from . import __version__  # noqa: PLC0415

    formatter = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(prog="dermprep", description="Preprocessing for dermoscopic images. "
                                     "Exit codes: 0 success, 1 failure, 2 wrong usage.", formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"dermprep {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    rh = sub.add_parser(
        "remove-hair", formatter_class=formatter,
        help="remove hair from every image in a folder tree",
        description="Remove hair (Dull Razor) from every image below INPUT_DIR into OUTPUT_DIR, keeping "
        "the folder structure and file names. Inputs are never modified; outputs are written atomically; "
        "existing outputs are skipped, so rerunning resumes an interrupted run. Exits 1 if any file failed.",
    )
    rh.add_argument("input_dir")
    rh.add_argument("output_dir")
    rh.add_argument("--masks", metavar="DIR", help="also write hair masks (PNG, 255 = hair) here")
    rh.add_argument("--workers", type=_positive_int, default=None,
                    help="processes (default: all cores; never more than the cores or the files)")
    rh.add_argument("--shard", type=_shard, default=None, metavar="I/N",
                    help="process only shard I of N (0-based; stable hash of the relative path), "
                    "to split one archive over N machines or jobs")
    rh.add_argument("--method", choices=("dullrazor", "opencv"), default="dullrazor")
    rh.add_argument("--threshold", type=int, default=None, help="Dull Razor closing-residue threshold (grey levels)")
    rh.add_argument("--no-light", action="store_true", help="do not look for light (blond/grey/white) hair")
    rh.add_argument("--no-lesion-safety", action="store_true",
                    help="also remove hair-like structures inside the lesion (network, streaks, white lines)")
    rh.add_argument("--max-pixels", type=_positive_int, default=MAX_PIXELS,
                    help="refuse larger images before decoding them")
    rh.add_argument("--quiet", action="store_true", help="no progress bar (it is only drawn on a terminal anyway)")

    bench = sub.add_parser("bench", formatter_class=formatter, help="throughput of Dull Razor vs the OpenCV recipe on synthetic images")
    bench.add_argument("--images", type=_positive_int, default=32, help="number of synthetic images")
    bench.add_argument("--size", type=_size, default="600x450", help="WIDTHxHEIGHT")
    bench.add_argument("--workers", type=_positive_int, default=None, help="processes for the OpenCV pool (None: all cores)")
    bench.add_argument("--seed", type=int, default=0)

    demo = sub.add_parser(
        "demo", formatter_class=formatter,
        help="hair removal on synthetic images with known hair (and optionally a folder of real ones): "
        "Dull Razor vs the OpenCV recipe, timed and scored, with before/after panels",
        description="Time and score Dull Razor against the OpenCV recipe on synthetic images with known "
        "hair, and draw before/after/mask panels (no TensorFlow needed). The whole training job "
        "(data, split, augmentation, balancing, training, evaluation, export) is `dermmodels demo`.",
    )
    demo.add_argument("--out", default="demo-output", help="output folder")
    demo.add_argument("--images", type=_positive_int, default=16, help="synthetic images")
    demo.add_argument("--size", type=_size, default="600x450", help="WIDTHxHEIGHT")
    demo.add_argument("--real", metavar="DIR", help="also show panels for up to 6 real images in DIR")
    demo.add_argument("--workers", type=_positive_int, default=None,
                      help="processes for the OpenCV baseline (None: all cores)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the synthetic images")
    demo.add_argument("--hair-only", action="store_true", help=argparse.SUPPRESS)  # the old flag: now the default
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dermprep`` command; returns the exit code (0 ok, 1 failure, 2 usage or a missing
    optional dependency)."""
    from .runtime import run_command  # noqa: PLC0415

    args = _parser().parse_args(argv)
    commands = {"remove-hair": _remove_hair, "bench": _bench, "demo": _demo}
    return run_command("dermprep", args.command, lambda: commands[args.command](args))


def _bench(args: argparse.Namespace) -> int:
    from .hair.bench import compare_methods, format_comparison  # noqa: PLC0415
    from .runtime import available  # noqa: PLC0415
    from .synthetic import make_batch  # noqa: PLC0415

    print(f"generating {args.images} synthetic {args.size[1]}x{args.size[0]} images ...", flush=True)
    images, clean, masks, _ = make_batch(args.images, args.size, seed=args.seed)
    scored = available("skimage")
    rows, quality, _ = compare_methods(images, clean if scored else None, masks, workers=args.workers)
    print(f"{os.cpu_count()} cores; best of 3 runs for dermprep, 1 run for OpenCV")
    print(format_comparison(rows, quality))
    if not scored:
        print('note: quality (PSNR, SSIM) not scored: it needs scikit-image: pip install "dermprep[quality]"')
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import hair_removal_demo  # noqa: PLC0415
    from .runtime import require  # noqa: PLC0415

    if args.real is not None and not Path(args.real).is_dir():
        print(f"dermprep demo: error: --real must be an existing folder; got {args.real!r}", file=sys.stderr)
        return 2
    require("matplotlib", "dermprep demo (its before/after panels)")  # before any work
    hair_removal_demo(args.out, n_images=args.images, shape=args.size, seed=args.seed,
                      images_dir=args.real, workers=args.workers)
    return 0


def _remove_hair(args: argparse.Namespace) -> int:
    from .batch import remove_hair_folder  # noqa: PLC0415

    options: dict[str, object] = {}
    if args.method != "dullrazor":
        options["method"] = args.method
    if args.threshold is not None:
        options["threshold"] = args.threshold
    if args.no_light:
        options["detect_light"] = False
    if args.no_lesion_safety:
        options["lesion_safety"] = False
    try:
        report = remove_hair_folder(
            args.input_dir, args.output_dir, masks_dir=args.masks, workers=args.workers,
            shard=args.shard, progress=False if args.quiet else None, max_pixels=args.max_pixels, **options,
        )
    except (FileNotFoundError, ValueError, TypeError) as exc:  # the arguments, checked before any work
        print(f"dermprep remove-hair: error: {exc}", file=sys.stderr)
        return 2
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    print(
        f"processed {len(report.processed)}, skipped {len(report.skipped)} (already done), "
        f"failed {len(report.failed)}"
    )
    if report.failed:
        print("failed files (left out, inputs untouched):", file=sys.stderr)
        for relative, reason in sorted(report.failed.items()):
            print(f"  {relative}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
