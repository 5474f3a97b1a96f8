"""int8 agreement with the Keras model on EVERY image of a labelled folder, not only the test lesions' images.

Usage (from the repository root; RUN is a copy of a run, MODEL the int8 file ``dermmodels export`` wrote)::

    nice -n 10 .venv/bin/python experiments/int8_agreement_folder.py RUN MODEL.tflite [MODEL2.tflite ...] \\
        --folder ../shared/real600 --out experiments/results/int8_agreement_real600.json

Why: ``mobile_export.py`` scores the external folder only on the images of the run's TEST lesions (26 of
real600's 177), so one image is 3.8 points of agreement. Agreement and the balanced-accuracy LOSS measure what
quantization changes, not how well the model generalises, so they can be measured on every image: the folder's
images of training and validation lesions too (their absolute balanced accuracy is optimistic and is reported
only next to the test-lesion subset's). The images are the folder's own files (real600: the 600x450
originals, where the run trained on 200x150 copies) through the run's own preprocessing; the class shown is
the calibrated one (temperature and prior correction), as ``dermmodels predict`` shows it.

HAM10000: Tschandl et al., Sci. Data 5, 180161 (2018). CC BY-NC 4.0.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _scores(run, keras, tflite, labels) -> dict:  # noqa: ANN001

    from dermmodels.calibration import balanced_accuracy

    shown_k, shown_t = run.calibration.apply(keras).argmax(1), run.calibration.apply(tflite).argmax(1)
    classes = len(run.class_names)
    agree = shown_k == shown_t
    return {"images": int(len(labels)), "top1_agreement": float(agree.mean()),
            "disagreements": int((~agree).sum()),
            "balanced_accuracy_keras": balanced_accuracy(labels, shown_k, classes),
            "balanced_accuracy_tflite": balanced_accuracy(labels, shown_t, classes)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("models", nargs="+", help="TFLite files of this run")
    parser.add_argument("--folder", required=True, help="a folder with images/ and labels.csv (image_id,lesion_id,dx)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd

    from dermmodels.export import run_tflite
    from dermmodels.runs import Run

    run = Run(args.run_dir)
    folder = Path(args.folder)
    table = pd.read_csv(folder / "labels.csv")
    images = run.load_images([folder / "images" / f"{i}.jpg" for i in table["image_id"]], progress=False)
    labels = np.array([run.class_names.index(d) for d in table["dx"]])
    part = {}
    for name in ("train", "val", "test"):
        for lesion in run.split(name)["group"].astype(str):
            part[lesion] = name
    parts = np.array([part.get(str(lesion), "none") for lesion in table["lesion_id"]])
    keras = run.model.predict(images.astype(np.float32), verbose=0)
    results = {"command": "experiments/int8_agreement_folder.py " + " ".join(argv if argv is not None else sys.argv[1:]),
               "run": str(run.path), "folder": str(folder),
               "images_by_part": {name: int((parts == name).sum()) for name in ("train", "val", "test", "none")},
               "models": []}
    for path in args.models:
        tflite = run_tflite(path, images.astype(np.float32))
        entry = {"model": str(path), "size_bytes": Path(path).stat().st_size,
                 "all_images": _scores(run, keras, tflite, labels),
                 "test_lesions_only": _scores(run, keras[parts == "test"], tflite[parts == "test"],
                                              labels[parts == "test"])}
        results["models"].append(entry)
        print(json.dumps(entry), flush=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
