"""The ``dermmodels`` command line: ``train``, ``evaluate``, ``predict``, ``export``, ``explain`` and ``demo``.

``train`` reads labelled images in any layout `dermprep.datasets.read_records()`
knows (HAM10000, ISIC one-hot, ISIC 2020, a class-per-subfolder tree, a generic
CSV), splits them by lesion or patient, and fits a recipe (``--preset``, with
explicit options overriding single settings) into a run folder that holds
everything ``evaluate``, ``predict`` and ``export`` need later.

Exit codes: 0 success, 1 failure (including files that could not be
processed), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dermprep.argtypes import count as _count
from dermprep.argtypes import count_or_auto as _count_or_auto
from dermprep.argtypes import fraction as _fraction
from dermprep.argtypes import positive_int as _positive_int
from dermprep.argtypes import size as _size

__all__ = ["main"]

class UsageError(ValueError):
    """Arguments that cannot work together (exit code 2)."""


def _recipe_options(parser: argparse.ArgumentParser) -> None:
    """One option per `Recipe` field, built from the field's metadata (help, parsing, choices, the word for
    None): a new recipe setting appears here by itself. Defaults are None (absent: the preset's)."""
    from dermprep.argtypes import checked  # noqa: PLC0415

    from .recipe import setting_fields  # noqa: PLC0415

    group = parser.add_argument_group("recipe settings (default: the preset's; dermmodels.Recipe documents each)")
    for spec in setting_fields():
        meta = spec.metadata
        flag = meta["flag"] or spec.name.replace("_", "-")
        if meta["parse"] is None:  # a bool
            group.add_argument(f"--{flag}", dest=spec.name, action="store_true", default=None, help=meta["help"])
            group.add_argument(f"--no-{flag}", dest=spec.name, action="store_false", help=argparse.SUPPRESS)
            continue
        metavar = "|".join(map(str, meta["choices"])) if meta["choices"] else spec.name.upper()
        group.add_argument(f"--{flag}", dest=spec.name, default=argparse.SUPPRESS,
                           metavar=metavar + (f"|{meta['none']}" if meta["none"] else ""), help=meta["help"],
                           type=checked(meta["parse"], meta["check"], f"--{flag}", none=meta["none"]))


def _parser() -> argparse.ArgumentParser:
    from dermprep import __version__  # noqa: PLC0415

    from .recipe import DEFAULT_PRESET, PRESETS  # noqa: PLC0415

    formatter = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(prog="dermmodels", description="Train, evaluate, apply and export skin-lesion "
                                     "classifiers (MobileNetV2) built on dermprep.", formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"dermmodels {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    tr = sub.add_parser("train", help="train a classifier into a run folder (resumes an unfinished one)",
                        formatter_class=formatter,
                        description="Train a MobileNetV2 classifier. --preset picks every setting (cpu: the measured "
                        "recipe for a 2-core CPU, gpu: its full-scale version, paper: the paper's frozen-base setup); "
                        "explicit options override single settings. An existing --out folder with the same settings "
                        "is resumed; one with other settings is refused.")
    tr.add_argument("--data", required=True, metavar="DIR",
                    help="folder of images (a class-per-subfolder tree when no --labels is given)")
    tr.add_argument("--labels", "--metadata", dest="labels", metavar="CSV", default=None,
                    help="label file: HAM10000 metadata, ISIC one-hot ground truth, ISIC 2020 train.csv or a CSV of "
                    "path/image and label (recognised by its columns)")
    tr.add_argument("--groups-from", metavar="CSV", default=None,
                    help="ISIC 2019 metadata CSV with lesion_id, to split by lesion")
    tr.add_argument("--out", required=True, help="run folder")
    tr.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET)
    _recipe_options(tr)
    tr.add_argument("--val-data", metavar="DIR", default=None,
                    help="a validation set of its own (a class-per-subfolder tree, or with --val-labels), instead of "
                    "splitting one off --data")
    tr.add_argument("--val-labels", metavar="CSV", default=None, help="the label file of --val-data")
    tr.add_argument("--val", type=_fraction, default=0.15,
                    help="validation fraction (by lesion/patient), when no --val-data is given")
    tr.add_argument("--test", type=_fraction, default=0.15, help="test fraction (by lesion/patient)")
    tr.add_argument("--split-seed", type=_count, default=0)
    tr.add_argument("--hair-cache", metavar="DIR", default=None, help="shared hair-removal cache (default: in the run)")
    tr.add_argument("--balance", choices=("oversample", "undersample", "class-weight", "none"), default=None,
                    help=argparse.SUPPRESS)  # deprecated: --sampling
    tr.add_argument("--no-augment", action="store_true", help=argparse.SUPPRESS)  # deprecated: --augment none
    tr.add_argument("--fine-tune-epochs", type=_count, default=None, help=argparse.SUPPRESS)  # deprecated
    tr.add_argument("--quiet", action="store_true", help="only errors")

    _use_parsers(sub, formatter)

    _demo_parser(sub, formatter)
    return parser


def _demo_parser(sub: Any, formatter: Any) -> None:
    demo = sub.add_parser("demo", help="the whole job end to end on synthetic (or real) data, one HTML report",
                          formatter_class=formatter)
    demo.add_argument("--out", default="demo-output", help="output folder")
    demo.add_argument("--data", metavar="DIR", help="HAM10000 images folder tree (with --metadata)")
    demo.add_argument("--metadata", metavar="CSV", help="HAM10000_metadata.csv (with --data)")
    demo.add_argument("--images", type=_positive_int, default=1000, help="synthetic data set size")
    demo.add_argument("--image-size", type=_positive_int, default=96, help="training resolution")
    demo.add_argument("--alpha", type=float, default=0.35, help="MobileNetV2 width")
    demo.add_argument("--weights", default="auto",
                      help='"auto" (ImageNet if Keras has it cached, else from scratch), "imagenet", "none" '
                      "or a MobileNetV2 no-top .h5 file")
    demo.add_argument("--epochs", type=_positive_int, default=12, help="training epochs")
    demo.add_argument("--batch-size", type=_positive_int, default=32)
    demo.add_argument("--hair-images", type=_positive_int, default=16, help="synthetic images for the hair timing")
    demo.add_argument("--size", type=_size, default=(450, 600), help="WIDTHxHEIGHT of those images (default 600x450)")
    demo.add_argument("--tflite", default="float32,float16,int8",
                      help='comma-separated TFLite exports among float32, float16, dynamic, int8, or "none"')
    demo.add_argument("--workers", type=_positive_int, default=None, help="processes for the OpenCV baseline")
    demo.add_argument("--seed", type=_count, default=0)
    demo.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")


def _use_parsers(sub: Any, formatter: Any) -> None:
    """The commands that use a finished run: evaluate, predict, export, explain."""
    ev = sub.add_parser("evaluate", help="score a run on its own test split or on an external labelled set",
                        formatter_class=formatter)
    ev.add_argument("run_dir")
    ev.add_argument("--images", metavar="DIR", help="external images: a class-per-subfolder tree, or with --labels")
    ev.add_argument("--labels", metavar="CSV", help="their labels: HAM10000 (image_id,dx), ISIC one-hot, generic")
    ev.add_argument("--out", metavar="DIR", help="report folder (default: RUN/report or RUN/report-NAME)")
    ev.add_argument("--tta", dest="tta", action="store_true", default=None, help="test-time augmentation (default: the recipe's)")
    ev.add_argument("--no-tta", dest="tta", action="store_false")
    ev.add_argument("--tflite", action="store_true", help="evaluate the exported RUN/model.tflite (dermmodels export) "
                    "instead of the Keras model")
    ev.add_argument("--quiet", action="store_true")

    pr = sub.add_parser("predict", help="class probabilities for new images, with the run's own preprocessing",
                        formatter_class=formatter)
    pr.add_argument("run_dir", metavar="RUN", help="a run folder, or an exported MODEL.tflite with its sidecar JSON")
    pr.add_argument("input", help="a folder of images, a CSV with a path/image column, or one image")
    pr.add_argument("--out", required=True, metavar="FILE.csv")
    pr.add_argument("--format", choices=("dermprep", "isic"), default="dermprep",
                    help="isic: the ISIC challenge submission columns (image, MEL, NV, ...)")
    pr.add_argument("--tta", dest="tta", action="store_true", default=None, help="test-time augmentation (default: the recipe's)")
    pr.add_argument("--no-tta", dest="tta", action="store_false")
    pr.add_argument("--tflite", action="store_true", help="predict with the exported RUN/model.tflite (the shipped "
                    "file) instead of the Keras model")
    pr.add_argument("--quiet", action="store_true")

    ex = sub.add_parser("export", help="export a run's model for mobile (TFLite) or serving (SavedModel)",
                        formatter_class=formatter)
    ex.add_argument("run_dir")
    ex.add_argument("--tflite", action="store_true", help="write model.tflite")
    ex.add_argument("--quantize", choices=("float16", "dynamic", "int8"), default=None)
    ex.add_argument("--float-layers", type=_count_or_auto, default="auto", metavar="N|auto",
                    help="int8: how many layers from the input end stay in float; auto: the fewest that keep the "
                         "diagnosis on the run's validation split with a margin (the agreement's 95%% lower bound "
                         "reaches 98%%; docs/models.md, 'Shipping a model')")
    ex.add_argument("--no-bias-correction", action="store_true",
                    help="int8: do not correct the int8 layers' biases for their mean error")
    ex.add_argument("--saved-model", action="store_true", help="write a SavedModel folder")
    ex.add_argument("--quiet", action="store_true")

    xp = sub.add_parser("explain", help="where the model looked: a Grad-CAM map of one image as a PNG",
                        formatter_class=formatter)
    xp.add_argument("run_dir", metavar="RUN")
    xp.add_argument("image", help="an image file (the run's own preprocessing is applied)")
    xp.add_argument("--out", required=True, metavar="FILE.png")
    xp.add_argument("--class", dest="class_name", default=None, help="the class to explain (default: the predicted one)")
    xp.add_argument("--quiet", action="store_true")


def _recipe_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The recipe settings given on the command line (deprecated flags mapped, contradictions refused)."""
    from .recipe import AUGMENTATIONS, Recipe, setting_fields  # noqa: PLC0415

    given = vars(args)  # typed options are absent unless given; flags are None unless given
    overrides = {f.name: given[f.name] for f in setting_fields()
                 if f.name in given and not (f.metadata["parse"] is None and given[f.name] is None)}
    if args.balance is not None:
        if "sampling" in overrides:
            raise UsageError("--balance is the old name of --sampling; give one of them")
        overrides["sampling"] = args.balance
    if args.no_augment:
        if overrides.get("augment", ()) != ():
            named = [n for n in AUGMENTATIONS if Recipe(augment=n).augment == overrides["augment"]]
            raise UsageError(f"--no-augment contradicts --augment {named[0] if named else '(a pipeline file)'}")
        overrides["augment"] = "none"
    if args.fine_tune_epochs is not None:  # the old two-phase form: head first, then fine-tuning
        if "head_epochs" in overrides:
            raise UsageError("--fine-tune-epochs (old) and --head-epochs (new) describe the same phases; give the new "
                             "form: --head-epochs E --epochs F --fine-tune-layers N")
        overrides["head_epochs"] = overrides.get("epochs", 30)
        overrides["epochs"] = args.fine_tune_epochs
        if overrides.get("fine_tune_layers") == 0:
            raise UsageError("--fine-tune-epochs needs --fine-tune-layers N (N > 0)")
    return overrides


def _split(args: argparse.Namespace, log: Any) -> tuple[Any, Any, Any, Any]:
    """The records and their train / val / test parts: split by group, or with --val-data a given validation set."""
    from dermprep.datasets import group_split, read_records  # noqa: PLC0415

    records = read_records(args.data, args.labels, metadata=args.groups_from)
    own = float(records.frame["group"].astype(str).str.startswith("image:").mean())
    if args.val_data is not None:
        val = read_records(args.val_data, args.val_labels, class_names=records.class_names).frame
        train, _, test = group_split(records, val=0.0, test=args.test, seed=args.split_seed)
        how = f"validation from {args.val_data}"
    else:
        if args.val_labels is not None:
            raise UsageError("--val-labels goes with --val-data")
        train, val, test = group_split(records, val=args.val, test=args.test, seed=args.split_seed)
        how = "validation split off --data"
    if own == 1.0:
        how += ("; split by image: this layout has no lesion or patient ids, so images of one lesion may sit on "
                "both sides (give a CSV with a lesion_id column to keep them together)")
    elif own > 0:
        how += f"; split by lesion/patient ({own:.0%} of the images have no group and count as their own)"
    else:
        how += "; split by lesion/patient"
    if len(train) == 0 or len(val) == 0:
        raise UsageError(f"the split left {len(train)} training and {len(val)} validation images; more data or other "
                         "--val/--test fractions are needed")
    log(f"{len(records)} images ({records.layout} layout), classes {list(records.class_names)}: "
        f"{len(train)} train / {len(val)} val / {len(test)} test ({how})")
    return records, train, val, test


def _train(args: argparse.Namespace, log: Any) -> int:
    from .recipe import recipe_from  # noqa: PLC0415
    from .runs import fit  # noqa: PLC0415

    if args.val + args.test >= 1:
        raise UsageError(f"--val + --test must be < 1 to leave images for training; got {args.val} + {args.test}")
    try:
        recipe = recipe_from(args.preset, **_recipe_overrides(args))
    except (TypeError, ValueError) as exc:  # settings that do not go together
        raise UsageError(str(exc)) from None
    records, train, val, test = _split(args, log)
    resolved = {key: str(Path(value).resolve()) if value else None for key, value in
                (("images", args.data), ("labels", args.labels), ("groups_from", args.groups_from),
                 ("val_images", args.val_data), ("val_labels", args.val_labels))}
    data = {**resolved, "layout": records.layout, "val": args.val, "test": args.test, "split_seed": args.split_seed}
    run = fit(recipe, train, val, args.out, class_names=records.class_names, test=test, preset=args.preset,
              data=data, hair_cache=args.hair_cache, log=log, progress=None if not args.quiet else False)
    log(f"run written to {run.path.resolve()}")
    return 0


def _evaluate(args: argparse.Namespace, log: Any) -> int:
    from dermprep.datasets import read_records  # noqa: PLC0415

    from .evaluation import (  # noqa: PLC0415
        explain_examples,
        report_from_predictions,
        with_and_without_temperature,
        write_report,
    )
    from .runs import Run  # noqa: PLC0415

    if args.labels is not None and args.images is None:
        raise UsageError("--labels needs --images (the external images they label)")
    if Path(args.run_dir).suffix.lower() == ".tflite":
        raise UsageError("evaluate takes a run folder; for its exported model add --tflite")
    predictor = _predictor(args.run_dir, args.tflite, "evaluate")
    run = predictor if isinstance(predictor, Run) else Run(args.run_dir)  # the Keras model for Grad-CAM
    suffix = "-tflite" if args.tflite else ""
    if args.images is None:
        frame = run.split("test")
        if frame.empty:
            raise UsageError("the run's test split is empty (trained with --test 0); give --images (and --labels)")
        name, out = "test split", Path(args.out) if args.out else run.folder.file(f"report{suffix}")
    else:
        records = read_records(args.images, args.labels, class_names=run.class_names)
        frame = records.frame
        layout = "class-per-subfolder" if args.labels is None else f"{records.layout} labels"
        name = f"{args.images} ({layout})"
        out = Path(args.out) if args.out else run.folder.file(f"report{suffix}-{Path(args.images).name}")
    log(f"evaluating {predictor.path if args.tflite else run.path} on {len(frame)} images of the {name}")
    images = run.load_images(frame["path"].tolist(), progress=None if not args.quiet else False)
    probabilities, before = with_and_without_temperature(predictor.calibration,
                                                         predictor.probabilities(images, tta=args.tta))
    labels = frame["label"].to_numpy()
    report = report_from_predictions(labels, probabilities, run.class_names, groups=frame["group"].to_numpy(),
                                     before_temperature=before)
    examples = list(images[:16])
    write_report(report, out, history=run.folder.history(), examples=examples, example_labels=labels[:16],
                 example_probabilities=probabilities[:16], example_heatmaps=explain_examples(run.model, examples))
    print(report.summary())
    log(f"report: {(out / 'report.html').resolve()}")
    return 0


def _inputs(source: str) -> list[str]:
    """The image files named by INPUT: a folder (recursively), a CSV with a path column, or one image."""
    import pandas as pd  # noqa: PLC0415

    from dermprep.io import IMAGE_SUFFIXES, find_images  # noqa: PLC0415

    path = Path(source)
    if path.is_dir():
        found = [str(path / relative) for relative in find_images(path)]
        if not found:
            raise UsageError(f"{source!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        return found
    if not path.is_file():
        raise FileNotFoundError(f"input not found: {source!r} (a folder, a CSV of paths, or an image)")
    if path.suffix.lower() == ".csv":
        frame = pd.read_csv(path, dtype=str)
        column = next((c for c in frame.columns if c.strip().lower() in ("path", "file", "filename", "image_path")), None)
        if column is None:
            raise UsageError(f"{source!r} needs a 'path' column with the image files; found {list(frame.columns)}")
        return [str(p if Path(p).is_absolute() else path.parent / p) for p in frame[column].astype(str)]
    return [str(path)]


def _predictor(source: str, tflite: bool, command: str) -> Any:
    """What predicts: the run (its Keras model), its exported ``model.tflite`` (``--tflite``), or a ``.tflite``
    file named directly (with the sidecar `dermmodels export` wrote beside it)."""
    from .export import TFLiteModel  # noqa: PLC0415
    from .runs import Run  # noqa: PLC0415

    if Path(source).suffix.lower() == ".tflite":
        return TFLiteModel(source)
    run = Run(source)
    if run.recipe.metadata:
        raise UsageError(f"this run uses the metadata branch, which dermmodels {command} does not feed yet; use "
                         "Run.predict(images, metadata=...) in Python")
    if tflite:
        path = run.folder.file("model.tflite")
        if not path.is_file():
            raise FileNotFoundError(f"{str(path)!r} not found: run 'dermmodels export {source} --tflite' first")
        return TFLiteModel(path)
    return run


def _predict(args: argparse.Namespace, log: Any) -> int:
    import numpy as np  # noqa: PLC0415

    from dermprep.datasets import ISIC_CLASSES  # noqa: PLC0415
    from dermprep.io import atomic_write_text  # noqa: PLC0415
    from dermprep.progress import progress_bar  # noqa: PLC0415

    run = _predictor(args.run_dir, args.tflite, "predict")
    files = _inputs(args.input)
    names = run.class_names
    if args.format == "isic":  # the challenge's column order, whatever the run's class order
        to_isic = {v: k for k, v in ISIC_CLASSES.items() if k not in ("AK",)}
        missing = [n for n in names if n not in to_isic]
        if missing:
            raise UsageError(f"--format isic needs ISIC class names; this run's classes {missing} have no ISIC column")
        columns = [names.index(v) for k, v in ISIC_CLASSES.items() if k != "AK" and v in names]
        header = ["image", *(to_isic[names[c]] for c in columns)]
    else:
        header = ["image", "path", *(f"p_{n}" for n in names), "predicted"]
    rows: list[list[Any]] = []
    failed: dict[str, str] = {}
    bar = progress_bar(total=len(files), desc="predict", unit="img", enabled=False if args.quiet else None)
    chunk = 64
    try:
        for start in range(0, len(files), chunk):
            batch, kept = [], []
            for file in files[start : start + chunk]:
                try:
                    batch.append(run.preprocessing.load(file))
                    kept.append(file)
                except (OSError, ValueError) as exc:
                    failed[file] = str(exc)
                bar.update(1)
            if not batch:
                continue
            probabilities = run.predict(np.stack(batch), tta=args.tta)
            for file, p in zip(kept, probabilities, strict=True):
                stem = Path(file).stem
                if args.format == "isic":
                    rows.append([stem, *(f"{p[c]:.6f}" for c in columns)])
                else:
                    rows.append([stem, file, *(f"{v:.6f}" for v in p), names[int(np.argmax(p))]])
    finally:
        bar.close()
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(args.out, text.getvalue())
    log(f"{len(rows)} predictions written to {Path(args.out).resolve()}")
    if failed:
        print(f"{len(failed)} file(s) could not be read and were left out:", file=sys.stderr)
        for file, reason in sorted(failed.items()):
            print(f"  {file}: {reason}", file=sys.stderr)
        return 1
    return 0


def _export_images(run: Any) -> tuple[Any, Any, Any]:
    """Calibration images (up to `EXPORT_CALIBRATION_PER_CLASS` training images of every class, seeded) and the
    test split's images and labels, all through the run's own preprocessing."""
    import numpy as np  # noqa: PLC0415

    train, test = (run.split(part) if run.folder.has_split() else None for part in ("train", "test"))
    if train is None or train.empty or test.empty:
        raise FileNotFoundError(f"the run's split with training and test images is needed to calibrate and check "
                                f"the export; {run.path} has none")
    rng = np.random.default_rng(0)
    labels = train["label"].to_numpy()
    chosen = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:EXPORT_CALIBRATION_PER_CLASS]
                             for c in np.unique(labels)])
    calibration = run.load_images(train["path"].iloc[np.sort(chosen)].tolist(), progress=False)
    return calibration, run.load_images(test["path"].tolist(), progress=False), test["label"].to_numpy()


#: Training images per class int8 export calibrates on.
EXPORT_CALIBRATION_PER_CLASS = 400


def _export(args: argparse.Namespace, log: Any) -> int:
    import json  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    from .export import export_saved_model, export_tflite, write_sidecar  # noqa: PLC0415
    from .runs import Run  # noqa: PLC0415

    if not (args.tflite or args.saved_model):
        raise UsageError("nothing to do; pass --tflite and/or --saved-model")
    if args.quantize and not args.tflite:
        raise UsageError("--quantize goes with --tflite")
    run = Run(args.run_dir)
    if run.members:  # evaluate and predict average them; a phone runs one model
        which = "the last snapshot" if run.recipe.restarts > 1 else "the first member"
        log(f"note: this run averages {len(run.members) + 1} models; the export holds one of them ({which}), so "
            "its checks below are that model's, with the ensemble's calibration")
    if args.saved_model:
        log(f"SavedModel: {export_saved_model(run.model, run.path / 'saved_model')}")
    if not args.tflite:
        return 0
    float_layers = args.float_layers
    calibration, test, labels = _export_images(run)
    int8 = {}
    if args.quantize == "int8":
        validation = run.split("val")
        if float_layers == "auto" and validation.empty:
            raise UsageError("--float-layers auto chooses on the run's validation split, and this run has none; "
                             "pass a number")
        int8 = {"float_layers": float_layers, "bias_correction": not args.no_bias_correction}
        if float_layers == "auto":
            int8["selection_images"] = run.load_images(validation["path"].tolist(), progress=False).astype(np.float32)
            int8["selection_labels"] = validation["label"].to_numpy()
    target = run.folder.file("model.tflite")
    log(f"converting ({args.quantize or 'float32'}; {len(calibration)} calibration images) and checking on "
        f"{len(test)} test images")
    result = export_tflite(run.model, target, quantize=args.quantize, representative_data=calibration.astype(np.float32),
                           parity_images=test.astype(np.float32), parity_labels=labels, calibration=run.calibration,
                           **int8)
    sidecar = write_sidecar(target, class_names=run.class_names, preprocessing=run.config["preprocessing"],
                            calibration=run.calibration, tta=run.recipe.tta, report=result)
    run.folder.write_json("export.json", result.as_dict())
    print(json.dumps(result.as_dict(), indent=2))
    log(f"model: {target} ({result.size_bytes / 1e6:.2f} MB); metadata: {sidecar}")
    if args.quantize == "int8" and float_layers == "auto" and not result.float_layers_margin:
        log(f"note: {len(int8['selection_images'])} validation images cannot show 98% agreement with a margin; "
            f"--float-layers auto took the fewest layers ({result.float_layers}) that pass without it")
    if not result.acceptable:
        print(f"dermmodels export: NOT FINE: the {args.quantize or 'float32'} model is not a faithful copy of the "
              f"Keras model: {'; '.join(result.problems)}. It was written for inspection only; do not ship it "
              "(docs/models.md, 'Mobile export', says which export keeps the diagnosis)", file=sys.stderr)
        return 1
    return 0


def _explain(args: argparse.Namespace, log: Any) -> int:
    from .explain import grad_cam, save_explanation  # noqa: PLC0415
    from .runs import Run  # noqa: PLC0415

    run = Run(args.run_dir)
    if run.recipe.metadata:
        raise UsageError("this run uses the metadata branch, which dermmodels explain does not support")
    if args.class_name is not None and args.class_name not in run.class_names:
        raise UsageError(f"--class must be one of {run.class_names}; got {args.class_name!r}")
    image = run.preprocessing.load(args.image)
    probabilities = run.predict(image[None])[0]
    predicted = int(probabilities.argmax())
    wanted = predicted if args.class_name is None else run.class_names.index(args.class_name)
    heatmap, _ = grad_cam(run.model, image, wanted)
    title = f"{run.class_names[predicted]} {probabilities[predicted]:.2f}; Grad-CAM for {run.class_names[wanted]}"
    save_explanation(image, heatmap, title, args.out)
    log(f"{Path(args.image).name}: {title}; written to {Path(args.out).resolve()}")
    return 0


def _demo(args: argparse.Namespace, log: Any) -> int:
    from .demo import run_demo  # noqa: PLC0415

    tflite = [] if args.tflite == "none" else [v.strip() for v in args.tflite.split(",") if v.strip()]
    unknown = sorted(set(tflite) - {"float32", "float16", "dynamic", "int8"})
    if unknown:
        raise UsageError(f"--tflite takes float32, float16, dynamic, int8 or none; got {', '.join(unknown)}")
    if (args.data is None) != (args.metadata is None):
        raise UsageError("--data and --metadata go together (a HAM10000 folder and its CSV); give both or neither")
    run_demo(args.out, data=args.data, metadata=args.metadata, n_images=args.images, image_size=args.image_size,
             alpha=args.alpha, weights=args.weights, epochs=args.epochs, batch_size=args.batch_size,
             hair_images=args.hair_images, hair_shape=args.size, quantize=[None if q == "float32" else q for q in tflite],
             workers=args.workers, seed=args.seed, progress=not args.quiet, log=log)
    return 0


#: What each command needs beyond dermprep's core, checked before any work starts. The demo's hair-removal
#: quality table (PSNR, SSIM: scikit-image) is optional: without it the report says how to add it.
_NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "train": (("tensorflow", "training"),),
    "evaluate": (("tensorflow", "evaluation"), ("sklearn", "evaluation metrics"), ("matplotlib", "the report's figures")),
    "predict": (("tensorflow", "prediction"),),
    "export": (("tensorflow", "export"),),
    "explain": (("tensorflow", "explain"), ("matplotlib", "the explanation's figure")),
    "demo": (("tensorflow", "the demo"), ("sklearn", "the demo's evaluation"), ("matplotlib", "the demo's figures")),
}


def _missing_requirement(command: str) -> str | None:
    """The message for the first optional dependency ``command`` needs that is not installed, else ``None``."""
    from dermprep.runtime import MissingDependencyError, available  # noqa: PLC0415

    for module, purpose in _NEEDS.get(command, ()):
        if not available(module):
            return str(MissingDependencyError(f"dermmodels {command} ({purpose})", module))
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dermmodels`` command; returns the exit code (0 ok, 1 failure, 2 usage or a missing
    optional dependency)."""
    from dermprep.runtime import run_command  # noqa: PLC0415

    args = _parser().parse_args(argv)
    missing = _missing_requirement(args.command)
    if missing is not None:
        print(f"dermmodels {args.command}: error: {missing}", file=sys.stderr)
        return 2
    from dermprep.runtime import import_tensorflow_quietly  # noqa: PLC0415

    import_tensorflow_quietly()  # TensorFlow's C++ notices would drown the progress
    quiet = getattr(args, "quiet", False)

    def log(message: str) -> None:
        if not quiet:
            print(message, flush=True)

    commands = {"train": _train, "evaluate": _evaluate, "predict": _predict, "export": _export, "explain": _explain,
                "demo": _demo}
    return run_command("dermmodels", args.command, lambda: commands[args.command](args, log),
                       usage_errors=(UsageError,))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
