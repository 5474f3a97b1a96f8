"""Give a run trained by an older dermmodels what the current one stores: its split and a temperature.

Usage (from the repository root; works on a COPY of the run, never on the original)::

    cp -r /work/runs/cpu-seed0 experiments/out/cpu-seed0
    nice -n 10 .venv/bin/python experiments/refit_temperature.py experiments/out/cpu-seed0 \\
        --metadata ../shared/ham10000/HAM10000_metadata.csv --images ../shared/ham10000/images_200x150

What it does:

1. if the run has no ``split.csv`` (``experiments/ham10000_recipe.py`` before dermprep 0.3 did not record
   one), rebuilds it with the split its ``config.json`` names (``lesion_split(val=0.15, test=0.15, seed=0)``
   on the HAM10000 metadata) and checks the counts against ``--expect-test`` when given;
2. predicts the validation part exactly as ``fit()`` calibrates (the recipe's test-time augmentation),
   keeps the stored prior correction (``tau``) and fits the temperature on it
   (`dermmodels.calibration.fit_temperature`), as ``fit()`` now does at the end of training;
3. writes ``calibration.json`` with the temperature and the validation ECE before and after it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _rebuild_split(run_dir: Path, metadata: str, images: str, expect_test: int | None) -> None:
    from dermmodels.run_folder import RunFolder
    from dermprep.ham10000 import lesion_split, read_metadata

    folder = RunFolder(run_dir)
    named = folder.config()["data"].get("split")
    if named != "lesion_split(val=0.15, test=0.15, seed=0)":
        raise SystemExit(f"{run_dir} has no split.csv and its config names no split this script knows: {named!r}")
    split = lesion_split(read_metadata(metadata, images_dir=images), val=0.15, test=0.15, seed=0)
    if expect_test is not None and len(split.test) != expect_test:
        raise SystemExit(f"the rebuilt test part has {len(split.test)} images; the run's log says {expect_test}")
    folder.write_split({"train": split.train, "val": split.val, "test": split.test})
    print(f"split.csv rebuilt: {len(split.train)} train / {len(split.val)} val / {len(split.test)} test")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--metadata", help="HAM10000_metadata.csv (to rebuild a missing split)")
    parser.add_argument("--images", help="the HAM10000 images folder the run trained on")
    parser.add_argument("--expect-test", type=int, default=None, help="test images the run's own log reports")
    args = parser.parse_args(argv)

    import numpy as np

    from dermmodels.calibration import Calibration, correct, expected_calibration_error, fit_temperature
    from dermmodels.run_folder import RunFolder
    from dermmodels.runs import Run

    run_dir = Path(args.run_dir)
    if not RunFolder(run_dir).has_split():
        if not (args.metadata and args.images):
            raise SystemExit("the run has no split.csv: give --metadata and --images to rebuild it")
        _rebuild_split(run_dir, args.metadata, args.images, args.expect_test)
    run = Run(run_dir)
    val = run.split("val")
    labels = val["label"].to_numpy()
    probabilities = run.probabilities(run.load_images(val["path"].tolist(), progress=False))
    corrected = correct(probabilities, run.prior, run.tau)
    temperature = fit_temperature(corrected, labels)
    old = run.calibration
    calibration = Calibration(prior=old.prior, tau=old.tau, temperature=temperature, validation={
        **dict(old.validation or {}),
        "ece_before_temperature": expected_calibration_error(corrected, labels),
        "ece": expected_calibration_error(Calibration(old.prior, old.tau, temperature).apply(probabilities), labels),
        "temperature_fitted_by": "experiments/refit_temperature.py",
    })
    run.folder.write_calibration(calibration.to_dict())
    print(json.dumps(calibration.to_dict(), indent=2))
    print(f"validation images {labels.size}; top-1 unchanged: "
          f"{bool(np.array_equal(corrected.argmax(1), calibration.apply(probabilities).argmax(1)))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
