"""Score an ensemble of finished runs (e.g. two seeds of one preset) on the lesion-grouped split.

Usage (from the repository root, after the member runs finished)::

    .venv/bin/python experiments/ham10000_ensemble.py --name "ensemble: cpu preset, seeds 0 + 1" \\
        experiments/out/cpu_preset-0 experiments/out/cpu_preset-1

The members' test-time-augmented probabilities are averaged; the prior correction's power is chosen again
on the validation part for the average, and the test part is scored once. The row goes into the same
results table as `ham10000_recipe.py`'s, with the members' training time summed into its cost.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ham10000_recipe import RESULTS, _commit, _cpu, test_scores  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("runs", nargs="+", help="finished run folders (written by ham10000_recipe.py)")
    parser.add_argument("--name", required=True, help="row name in the results table")
    parser.add_argument("--images", default="../shared/ham10000/images_200x150")
    parser.add_argument("--metadata", default="../shared/ham10000/HAM10000_metadata.csv")
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--fixed", action="store_true",
                        help="use the members' own fixed tau and temperature (final fits, which trained on the "
                        "validation part: nothing can be chosen on it)")
    args = parser.parse_args(argv)

    import numpy as np

    from dermmodels.calibration import Calibration, balanced_accuracy, choose_tau, correct, fit_temperature
    from dermmodels.runs import Run
    from dermprep import CLASS_NAMES
    from dermprep.ham10000 import lesion_split, read_metadata

    started = time.perf_counter()
    runs = [Run(path) for path in args.runs]
    recipes = {json.dumps({k: v for k, v in r.recipe.to_dict().items() if k != "seed"}, sort_keys=True)
               for r in runs}
    if len(recipes) != 1:
        raise SystemExit("the runs must share one recipe (apart from the seed)")
    if any(r.recipe.metadata for r in runs):
        raise SystemExit("ensembles of metadata-branch runs are not supported here")
    metadata = read_metadata(args.metadata, images_dir=args.images)
    split = lesion_split(metadata, val=0.15, test=0.15, seed=0)
    prior = runs[0].prior
    scored = {}
    for part, records in (("test", split.test),) if args.fixed else (("val", split.val), ("test", split.test)):
        images = runs[0].load_images(records["path"].tolist(), progress=False)
        tta = [r.probabilities(images, tta=True) for r in runs]
        # without TTA: only the test part's score uses it
        plain = [r.probabilities(images, tta=False) for r in runs] if part == "test" else tta
        scored[part] = (np.mean(tta, axis=0), np.mean(plain, axis=0), records)
    if args.fixed:
        tau, temperature = runs[0].calibration.tau, runs[0].calibration.temperature
        validation: dict[str, object] = {"tau": tau, "temperature": temperature, "fixed": True}
    else:
        val_probabilities, _, val_records = scored["val"]
        val_labels = val_records["label"].to_numpy()
        tau, val_corrected = choose_tau(val_probabilities, val_labels, prior)
        temperature = fit_temperature(correct(val_probabilities, prior, tau), val_labels)
        validation = {"tau": tau, "temperature": temperature, "val_balanced_accuracy_corrected": val_corrected,
                      "val_balanced_accuracy": balanced_accuracy(val_labels, val_probabilities.argmax(axis=1),
                                                                 len(CLASS_NAMES)), "tta": True}
    calibration = Calibration(prior=tuple(prior.tolist()), tau=tau, temperature=temperature)
    averaged, plain, test_records = scored["test"]
    labels = test_records["label"].to_numpy()
    groups = test_records["lesion_id"].to_numpy()
    report, scores = test_scores(labels, groups, averaged, plain, calibration)
    scoring = time.perf_counter() - started
    members = [r.folder.timings() for r in runs]

    def summed(key: str) -> float:
        return float(sum(m.get(key) or 0.0 for m in members))

    row = {
        "name": args.name,
        "preset": runs[0].config.get("preset"),
        "overrides": {},
        "seed": 0,
        "members": [{"run": str(r.path), "seed": r.recipe.seed} for r in runs],
        "recipe": {k: v for k, v in runs[0].recipe.to_dict().items() if k not in ("weights", "seed")},
        "test": scores,
        "validation": validation,
        "seconds": {
            "loading_images_and_hair_cache": summed("images"),
            "training": summed("training"),
            "calibration": summed("calibration"),
            "test_scoring": scoring,
            # the members' whole cost (they are trained one after the other) plus this scoring
            "total": summed("images") + summed("training") + summed("calibration") + scoring,
        },
        "machine": {"cores": os.cpu_count(), "cpu": _cpu(), "python": sys.version.split()[0]},
        "commit": _commit(),
        "command": "experiments/ham10000_ensemble.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    with results.open("a") as handle:
        handle.write(json.dumps(row) + "\n")
    print(report.summary(), flush=True)
    print(json.dumps({k: row[k] for k in ("name", "test", "validation", "seconds")}, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
