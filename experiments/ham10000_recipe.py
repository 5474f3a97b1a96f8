"""One training configuration on real HAM10000, scored once on the held-out test split; one row of the results table.

Usage (from the repository root, after ``make test`` installed everything)::

    .venv/bin/python experiments/ham10000_recipe.py --name cpu-seed0 --preset cpu \\
        --images ../shared/ham10000/images_200x150 --metadata ../shared/ham10000/HAM10000_metadata.csv \\
        --weights-dir ../shared/weights [--set sampling=oversample --set epochs=12 ...] [--seed 1]

What it does:

1. reads the metadata and splits it by lesion, stratified by class (70/15/15, split seed 0 whatever
   ``--seed`` is, so every configuration sees the same test images);
2. trains the configuration with :func:`dermmodels.runs.fit` (every image decoded once, hair removal
   cached, the model selected and the prior correction chosen on the validation part only);
3. scores the test part once: balanced accuracy with a 95% bootstrap interval resampling lesions
   (2,000 resamples), accuracy, macro F1, per-class recall; also the same predictions without
   test-time augmentation and without the prior correction (no retraining: they come from the same
   model), so those two components are ablated for free;
4. appends one JSON line to ``experiments/results/ham10000.jsonl`` (the table the docs render, with
   ``experiments/render_results.py``): the settings, the metrics, the wall time split into loading
   images (decoding and hair removal, with the cache cold or warm) and training, the machine, the
   commit.

HAM10000: Tschandl P., Rosendahl C., Kittler H., Sci. Data 5, 180161 (2018), doi:10.1038/sdata.2018.161;
licence CC BY-NC 4.0. The images are read from where they are; nothing is copied into the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "ham10000.jsonl"


def _value(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _settings(pairs: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set takes key=value; got {pair!r}")
        out[key.strip().replace("-", "_")] = _value(value.strip())
    return out


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def test_scores(labels, groups, averaged, plain, calibration):  # type: ignore[no-untyped-def]
    """The results row's ``test`` part, and the report it comes from: the final (TTA-averaged, prior-corrected,
    temperature-scaled) scores with a lesion bootstrap interval, melanoma as a screening test, the expected
    calibration error with and without the temperature, and balanced accuracy without TTA and without the prior
    correction (the same predictions, so those two components are ablated without retraining)."""
    import numpy as np

    from dermmodels.calibration import balanced_accuracy, correct, expected_calibration_error
    from dermmodels.evaluation import report_from_predictions
    from dermprep import CLASS_NAMES

    prior, tau = np.asarray(calibration.prior), calibration.tau
    report = report_from_predictions(labels, calibration.apply(averaged), CLASS_NAMES, groups=groups)
    return report, {
        "balanced_accuracy": report.balanced_accuracy,
        "balanced_accuracy_ci95": report.balanced_accuracy_interval,
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "recall": {name: report.per_class[name]["recall"] for name in CLASS_NAMES},
        "precision": {name: report.per_class[name]["precision"] for name in CLASS_NAMES},
        "mel_screening": (report.operating_points or {}).get("mel"),
        "ece15": expected_calibration_error(calibration.apply(averaged), labels),
        "ece15_without_temperature": expected_calibration_error(correct(averaged, prior, tau), labels),
        "balanced_accuracy_without_tta": balanced_accuracy(
            labels, correct(plain, prior, tau).argmax(axis=1), len(CLASS_NAMES)),
        "balanced_accuracy_without_prior_correction": balanced_accuracy(
            labels, averaged.argmax(axis=1), len(CLASS_NAMES)),
        "images": int(labels.size),
        "lesions": int(np.unique(groups).size),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--name", required=True, help="row name in the results table")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one recipe setting (JSON values: 12, 0.5, true, null, \"crop\")")
    parser.add_argument("--seed", type=int, default=0, help="training seed (the split always uses seed 0)")
    parser.add_argument("--images", default="../shared/ham10000/images_200x150")
    parser.add_argument("--metadata", default="../shared/ham10000/HAM10000_metadata.csv")
    parser.add_argument("--weights-dir", default="../shared/weights",
                        help="folder with the Keras no-top MobileNetV2 files; 'imagenet' downloads")
    parser.add_argument("--out", default=None, help="run folder (default experiments/out/NAME)")
    parser.add_argument("--hair-cache", default=None, help="shared hair-removal cache folder (default: in the run)")
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args(argv)


    from dermmodels.model import imagenet_weights_filename
    from dermmodels.recipe import recipe_from
    from dermmodels.runs import fit
    from dermprep import CLASS_NAMES
    from dermprep.ham10000 import lesion_split, read_metadata

    started = time.perf_counter()
    overrides = _settings(args.set)
    overrides["seed"] = args.seed
    recipe = recipe_from(args.preset, **overrides)
    if args.weights_dir != "imagenet" and recipe.weights == "imagenet":
        name = imagenet_weights_filename(recipe.alpha)
        recipe = recipe_from(args.preset, **{**overrides, "weights": str(Path(args.weights_dir).resolve() / name)})
    metadata = read_metadata(args.metadata, images_dir=args.images)
    split = lesion_split(metadata, val=0.15, test=0.15, seed=0)
    out = Path(args.out or HERE / "out" / args.name)
    print(f"{args.name}: {json.dumps(recipe.to_dict())}", flush=True)
    run = fit(recipe, split.train, split.val, out, class_names=CLASS_NAMES, test=split.test, preset=args.preset,
              data={"images": str(Path(args.images).resolve()), "metadata": str(Path(args.metadata).resolve()),
                    "split": "lesion_split(val=0.15, test=0.15, seed=0)"},
              hair_cache=args.hair_cache, progress=False)

    # The test split, scored once -----------------------------------------------------------
    scoring = time.perf_counter()
    test_images = run.load_images(split.test["path"].tolist())
    labels = split.test["label"].to_numpy()
    groups = split.test["lesion_id"].to_numpy()
    features = split.test if recipe.metadata else None
    plain = run.probabilities(test_images, tta=False, metadata=features)
    averaged = run.probabilities(test_images, tta=True, metadata=features) if recipe.tta else plain
    report, scores = test_scores(labels, groups, averaged, plain, run.calibration)
    scoring = time.perf_counter() - scoring
    timings, history, state = run.folder.timings(), run.folder.history() or {}, run.folder.state() or {}
    row = {
        "name": args.name,
        "preset": args.preset,
        "overrides": {k: v for k, v in overrides.items() if k != "seed"},
        "seed": args.seed,
        "recipe": {k: v for k, v in recipe.to_dict().items() if k != "weights"},
        "test": scores,
        "validation": {"tau": run.calibration.tau, "temperature": run.calibration.temperature,
                       **dict(run.calibration.validation or {})},
        "best_epoch": state.get("best_epoch"),
        "epochs_run": state.get("epoch"),
        "train_accuracy_last_epoch": (history.get("accuracy") or [None])[-1],
        "seconds": {
            "loading_images_and_hair_cache": timings.get("images"),
            "training": timings.get("training"),
            "calibration": timings.get("calibration"),
            "test_scoring": scoring,
            # The sum of the parts, so that a run resumed after an interruption reports the whole cost.
            "total": sum(v or 0.0 for v in (timings.get("images"), timings.get("training"),
                                             timings.get("calibration"), scoring)),
            "this_process": time.perf_counter() - started,
        },
        "hair_cache": "shared" if args.hair_cache else "cold (built in this run)",
        "machine": {"cores": os.cpu_count(), "cpu": _cpu(), "python": sys.version.split()[0]},
        "commit": _commit(),
        "command": "experiments/ham10000_recipe.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    with results.open("a") as handle:
        handle.write(json.dumps(row) + "\n")
    print(report.summary(), flush=True)
    print(json.dumps({k: row[k] for k in ("name", "test", "seconds")}, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
