"""The ``dermmodels`` command line: ``train``, ``evaluate`` and ``export`` a HAM10000 classifier.

``train`` reads the metadata and images, splits by lesion, builds the
dermprep pipeline (optional cached hair removal, augmentation, exact
balancing) and trains; everything it needs later is in the run folder's
``config.json``, so ``evaluate RUN_DIR`` and ``export RUN_DIR`` need nothing else.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dermmodels", description="Train, evaluate and export HAM10000 classifiers.")
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train a MobileNetV2 classifier on a HAM10000-style folder")
    tr.add_argument("--data", required=True, help="folder tree holding <image_id>.jpg files")
    tr.add_argument("--metadata", required=True, help="HAM10000_metadata.csv")
    tr.add_argument("--out", required=True, help="run folder (created; an existing run is resumed)")
    tr.add_argument("--epochs", type=int, default=30)
    tr.add_argument("--batch-size", type=int, default=32)
    tr.add_argument("--image-size", type=int, default=224)
    tr.add_argument("--alpha", type=float, default=1.0)
    tr.add_argument("--weights", default="imagenet", help='"imagenet", "none" or a no-top .h5 file')
    tr.add_argument("--learning-rate", type=float, default=1e-3)
    tr.add_argument("--balance", choices=("oversample", "undersample", "class-weight", "none"), default="oversample")
    tr.add_argument("--no-augment", action="store_true")
    tr.add_argument("--remove-hair", action="store_true", help="Dull Razor before resizing, cached in RUN/hair-cache")
    tr.add_argument("--fine-tune-layers", type=int, default=0, help="second phase: unfreeze this many top layers")
    tr.add_argument("--fine-tune-epochs", type=int, default=10)
    tr.add_argument("--val", type=float, default=0.15)
    tr.add_argument("--test", type=float, default=0.15)
    tr.add_argument("--seed", type=int, default=0)
    ev = sub.add_parser("evaluate", help="evaluate a run on its test split and write the report")
    ev.add_argument("run_dir")
    ev.add_argument("--tta", action="store_true", help="average over flips and a quarter turn")
    ex = sub.add_parser("export", help="export a run's best model")
    ex.add_argument("run_dir")
    ex.add_argument("--tflite", action="store_true", help="write model.tflite")
    ex.add_argument("--quantize", choices=("float16", "dynamic", "int8"), default=None)
    ex.add_argument("--saved-model", action="store_true", help="write a SavedModel folder")
    return parser


def _records(config: dict[str, Any]) -> Any:
    from dermprep.ham10000 import lesion_split, read_metadata  # noqa: PLC0415

    metadata = read_metadata(config["metadata"], images_dir=config["data"])
    return lesion_split(metadata, val=config["val"], test=config["test"], seed=config["seed"])


def _dataset(part: Any, config: dict[str, Any], *, training: bool) -> Any:
    import dermprep.tfdata as T  # noqa: PLC0415

    size = config["image_size"]
    balance = None
    if training and config["balance"] in ("oversample", "undersample"):
        balance = T.balance(strategy=config["balance"], seed=config["seed"], num_classes=7)
    ds = T.from_records(
        part["path"].tolist(), part["label"].to_numpy(), image_size=(size, size),
        remove_hair=config["remove_hair"], cache_dir=config.get("hair_cache"), balance=balance,
        shuffle_seed=config["seed"] if training and balance is None else None,  # one-class batches otherwise
    )
    if training and config["augment"]:
        ds = ds.apply(T.augment(seed=config["seed"]))
    return ds.batch(config["batch_size"]).prefetch(2)


def _train(args: argparse.Namespace) -> int:
    from dermmodels import build_mobilenetv2_classifier, fine_tune, train  # noqa: PLC0415
    from dermprep.sampling import class_weights  # noqa: PLC0415

    run = Path(args.out)
    run.mkdir(parents=True, exist_ok=True)
    config = {
        "data": str(Path(args.data).resolve()), "metadata": str(Path(args.metadata).resolve()),
        "epochs": args.epochs, "batch_size": args.batch_size, "image_size": args.image_size, "alpha": args.alpha,
        "weights": None if args.weights == "none" else args.weights, "learning_rate": args.learning_rate,
        "balance": args.balance, "augment": not args.no_augment, "remove_hair": args.remove_hair,
        "hair_cache": str(run / "hair-cache") if args.remove_hair else None, "val": args.val, "test": args.test,
        "seed": args.seed, "fine_tune_layers": args.fine_tune_layers, "fine_tune_epochs": args.fine_tune_epochs,
    }
    (run / "config.json").write_text(json.dumps(config, indent=2))
    split = _records(config)
    (run / "split.txt").write_text(split.summary() + "\n")
    print(split.summary(), flush=True)
    model = build_mobilenetv2_classifier(
        7, input_shape=(args.image_size, args.image_size, 3), weights=config["weights"], alpha=args.alpha
    )
    weights = class_weights(split.train["label"], 7) if args.balance == "class-weight" else None
    history = train(
        model, _dataset(split.train, config, training=True), _dataset(split.val, config, training=False),
        epochs=args.epochs, learning_rate=args.learning_rate, run_dir=run, class_weight=weights, verbose=2,
    )
    if args.fine_tune_layers > 0:
        fine = fine_tune(
            model, _dataset(split.train, config, training=True), _dataset(split.val, config, training=False),
            layers=args.fine_tune_layers, epochs=args.fine_tune_epochs, run_dir=run / "fine-tune",
            class_weight=weights, verbose=2,
        )
        history = {k: history.get(k, []) + fine.get(k, []) for k in set(history) | set(fine)}
        model.save(run / "best.keras")
    (run / "history.json").write_text(json.dumps(history, indent=2))
    print(f"run written to {run.resolve()}")
    return 0


def _load(run: Path) -> tuple[Any, dict[str, Any]]:
    import keras  # noqa: PLC0415

    config_file = run / "config.json"
    if not config_file.is_file() or not (run / "best.keras").is_file():
        raise FileNotFoundError(f"{run} is not a finished dermmodels run (config.json and best.keras needed)")
    return keras.models.load_model(run / "best.keras"), json.loads(config_file.read_text())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dermmodels`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    import importlib.util  # noqa: PLC0415

    if importlib.util.find_spec("tensorflow") is None:
        print(f"dermmodels {args.command}: error: TensorFlow is not installed; install it with "
              "`pip install 'dermprep[tf]'`", file=sys.stderr)
        return 2
    from dermprep._tensorflow import import_tensorflow_quietly  # noqa: PLC0415

    import_tensorflow_quietly()  # TensorFlow's C++ notices would drown the progress
    try:
        if args.command == "train":
            return _train(args)
        run = Path(args.run_dir)
        model, config = _load(run)
        if args.command == "evaluate":
            from dermmodels import evaluate  # noqa: PLC0415
            from dermprep import CLASS_NAMES  # noqa: PLC0415

            split = _records(config)
            history_file = run / "history.json"
            history = json.loads(history_file.read_text()) if history_file.is_file() else None
            report = evaluate(model, _dataset(split.test, config, training=False), class_names=CLASS_NAMES,
                              out_dir=run / "report", history=history, tta=args.tta)
            print(report.summary())
            print(f"report: {(run / 'report' / 'report.html').resolve()}")
            return 0
        from dermmodels import export as export_module  # noqa: PLC0415
        from dermmodels import export_saved_model, export_tflite  # noqa: PLC0415

        if not (args.tflite or args.saved_model):
            print("dermmodels export: nothing to do; pass --tflite and/or --saved-model", file=sys.stderr)
            return 2
        if args.saved_model:
            print(f"SavedModel: {export_saved_model(model, run / 'saved_model')}")
        if args.tflite:
            import numpy as np  # noqa: PLC0415

            split = _records(config)

            def images(part: Any) -> Any:  # up to 8 batches of the pipeline's (hair-free, resized) images
                return np.concatenate([x.numpy() for x, _ in _dataset(part, config, training=False).take(8)])

            # Calibrate on validation images, check agreement on held-out test images.
            result = export_tflite(model, run / "model.tflite", quantize=args.quantize,
                                   representative_data=images(split.val).astype(np.float32),
                                   parity_images=images(split.test).astype(np.float32))
            (run / "export.json").write_text(json.dumps(result.as_dict(), indent=2))
            print(json.dumps(result.as_dict(), indent=2))
            if result.top1_agreement < export_module._LOW_AGREEMENT:
                print(f"note: the {args.quantize or 'float32'} model gives a different top-1 class than Keras on "
                      f"{1 - result.top1_agreement:.1%} of {result.samples} test images; "
                      "--quantize float16 kept 98-100% in our measurements (docs/models.md, 'Mobile cost')",
                      file=sys.stderr)
        return 0
    except (FileNotFoundError, ValueError, TypeError, RuntimeError) as exc:
        print(f"dermmodels {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
