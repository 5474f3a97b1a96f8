"""The ``dermprep`` command line: ``remove-hair``, ``bench`` and ``demo``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 600x450; got {text!r}") from None
    if width < 16 or height < 16:
        raise argparse.ArgumentTypeError(f"size must be at least 16x16; got {text!r}")
    return height, width


def _shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N such as 0/4; got {text!r}") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"shard I/N needs 0 <= I < N; got {text!r}")
    return index, count


def _parser() -> argparse.ArgumentParser:
    from . import __version__  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="dermprep", description="Preprocessing for dermoscopic images.")
    parser.add_argument("--version", action="version", version=f"dermprep {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    rh = sub.add_parser(
        "remove-hair",
        help="remove hair from every image in a folder tree",
        description="Remove hair (Dull Razor) from every image below INPUT_DIR into OUTPUT_DIR, keeping "
        "the folder structure and file names. Inputs are never modified; outputs are written atomically; "
        "existing outputs are skipped, so rerunning resumes an interrupted run. Exits 1 if any file failed.",
    )
    rh.add_argument("input_dir")
    rh.add_argument("output_dir")
    rh.add_argument("--masks", metavar="DIR", help="also write hair masks (PNG, 255 = hair) here")
    rh.add_argument("--workers", type=_positive_int, default=None, help="processes (default: all cores)")
    rh.add_argument("--shard", type=_shard, default=None, metavar="I/N",
                    help="process only shard I of N (0-based; stable hash of the relative path), "
                    "to split one archive over N machines or jobs")
    rh.add_argument("--method", choices=("dullrazor", "opencv"), default="dullrazor")
    rh.add_argument("--threshold", type=int, default=None, help="Dull Razor closing-residue threshold (grey levels)")
    rh.add_argument("--no-light", action="store_true", help="do not look for light (blond/grey/white) hair")
    rh.add_argument("--quiet", action="store_true", help="no progress bar")

    bench = sub.add_parser("bench", help="throughput of Dull Razor vs the OpenCV recipe on synthetic images")
    bench.add_argument("--images", type=_positive_int, default=32, help="number of synthetic images (default 32)")
    bench.add_argument("--size", type=_size, default=(450, 600), help="WIDTHxHEIGHT (default 600x450)")
    bench.add_argument("--workers", type=_positive_int, default=None, help="processes for the OpenCV pool")
    bench.add_argument("--seed", type=int, default=0)

    demo = sub.add_parser(
        "demo",
        help="the main job end to end (data, hair removal, split, augmentation, balancing, training, "
        "evaluation, TFLite export) with one HTML report",
        description="Run every part of dermprep and dermmodels together and write OUT/report.html. "
        "Without --data/--metadata it uses a synthetic HAM10000-like set with hair; point it at a "
        "HAM10000 folder and CSV to run the same job on real data (cite HAM10000, CC BY-NC 4.0). "
        "--hair-only runs only the hair-removal part (no TensorFlow needed).",
    )
    demo.add_argument("--out", default="demo-output", help="output folder (default demo-output)")
    demo.add_argument("--data", metavar="DIR", help="HAM10000 images folder tree (with --metadata)")
    demo.add_argument("--metadata", metavar="CSV", help="HAM10000_metadata.csv (with --data)")
    demo.add_argument("--images", type=_positive_int, default=None,
                      help="synthetic data set size (default 1000; 16 with --hair-only)")
    demo.add_argument("--image-size", type=_positive_int, default=96, help="training resolution (default 96)")
    demo.add_argument("--alpha", type=float, default=0.35, help="MobileNetV2 width (default 0.35)")
    demo.add_argument("--weights", default="auto",
                      help='"auto" (ImageNet if Keras has it cached, else from scratch), "imagenet", "none" '
                      "or a MobileNetV2 no-top .h5 file")
    demo.add_argument("--epochs", type=_positive_int, default=12, help="training epochs (default 12)")
    demo.add_argument("--batch-size", type=_positive_int, default=32)
    demo.add_argument("--hair-images", type=_positive_int, default=16,
                      help="synthetic images for the hair-removal timing (default 16)")
    demo.add_argument("--size", type=_size, default=(450, 600),
                      help="WIDTHxHEIGHT of those images (default 600x450)")
    demo.add_argument("--tflite", default="float32,float16,int8",
                      help='comma-separated TFLite exports among float32, float16, dynamic, int8, or "none"')
    demo.add_argument("--hair-only", action="store_true", help="only the hair-removal panels and timing")
    demo.add_argument("--real", metavar="DIR", help="with --hair-only: also show panels for real images in DIR")
    demo.add_argument("--workers", type=_positive_int, default=None, help="processes for the OpenCV baseline")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dermprep`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "remove-hair":
        return _remove_hair(args)
    if args.command == "bench":
        from .hair.bench import compare_methods, format_comparison  # noqa: PLC0415
        from .synthetic import make_batch  # noqa: PLC0415

        print(f"generating {args.images} synthetic {args.size[1]}x{args.size[0]} images ...", flush=True)
        images, clean, masks, _ = make_batch(args.images, args.size, seed=args.seed)
        rows, quality, _ = compare_methods(images, clean, masks, workers=args.workers)
        print(f"{os.cpu_count()} cores; best of 3 runs for dermprep, 1 run for OpenCV")
        print(format_comparison(rows, quality))
        return 0
    if args.command == "demo":
        return _demo(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


def _demo(args: argparse.Namespace) -> int:
    if args.hair_only:
        from .demo import hair_removal_demo  # noqa: PLC0415

        hair_removal_demo(args.out, n_images=args.images or 16, shape=args.size, seed=args.seed,
                          images_dir=args.real, workers=args.workers)
        return 0
    if args.real:
        print("dermprep demo: error: --real goes with --hair-only; use --data/--metadata for the full job",
              file=sys.stderr)
        return 2
    tflite = [] if args.tflite == "none" else [v.strip() for v in args.tflite.split(",") if v.strip()]
    unknown = sorted(set(tflite) - {"float32", "float16", "dynamic", "int8"})
    if unknown:
        print(f"dermprep demo: error: --tflite takes float32, float16, dynamic, int8 or none; "
              f"got {', '.join(unknown)}",
              file=sys.stderr)
        return 2
    import importlib.util  # noqa: PLC0415

    if importlib.util.find_spec("tensorflow") is None:
        print("dermprep demo: error: the full demo needs TensorFlow, which is not installed; install it with "
              "`pip install 'dermprep[tf]'`, or run `dermprep demo --hair-only`", file=sys.stderr)
        return 2
    from dermprep._tensorflow import import_tensorflow_quietly  # noqa: PLC0415

    import_tensorflow_quietly()  # TensorFlow's C++ notices would drown the progress
    from dermmodels.demo import run_demo  # noqa: PLC0415

    try:
        run_demo(
            args.out, data=args.data, metadata=args.metadata, n_images=args.images or 1000,
            image_size=args.image_size, alpha=args.alpha, weights=args.weights, epochs=args.epochs,
            batch_size=args.batch_size, hair_images=args.hair_images, hair_shape=args.size,
            quantize=[None if q == "float32" else q for q in tflite], workers=args.workers, seed=args.seed,
            progress=not args.quiet,
        )
    except (FileNotFoundError, ValueError, TypeError, RuntimeError) as exc:
        print(f"dermprep demo: error: {exc}", file=sys.stderr)
        return 2
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
    try:
        report = remove_hair_folder(
            args.input_dir, args.output_dir, masks_dir=args.masks, workers=args.workers,
            shard=args.shard, progress=not args.quiet, **options,
        )
    except (FileNotFoundError, ValueError, TypeError) as exc:
        print(f"dermprep remove-hair: error: {exc}", file=sys.stderr)
        return 2
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
