"""Mobile export of a trained run, measured: every TFLite variant against the Keras model, calibration, and
``predict --tflite`` against ``predict``.

Usage (from the repository root; on a COPY of a run, with a temperature: experiments/refit_temperature.py)::

    nice -n 10 .venv/bin/python experiments/mobile_export.py experiments/out/cpu-seed0 \\
        --external ../shared/real600 --out experiments/results/mobile_export.json

What it measures, on the run's test split and on the external folder:

- for each export (float32, float16, dynamic-range, int8 as ``dermmodels export`` makes it: the first layers
  in float, as many as the run's VALIDATION split asks, and bias correction; and int8 with the whole graph
  quantized, no correction): size, single-thread latency, top-1 agreement of the calibrated class with the
  Keras model, balanced accuracy with and without quantization (`dermmodels.export.export_tflite`);
- the expected calibration error (15 bins) of the run's predictions before and after temperature scaling;
- how often ``dermmodels predict --tflite`` (`dermmodels.export.TFLiteModel`, the shipped file with its
  sidecar, the recipe's test-time augmentation) gives the class ``dermmodels predict`` gives.

The external folder: the images of ``--external``/labels.csv (``image_id, lesion_id, dx``) whose lesion is in the
run's TEST part (never trained on), at their own resolution (real600: HAM10000 originals at 600x450, where the
run trained on 200x150 copies), through the run's own preprocessing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _external(run, folder: Path):  # noqa: ANN001, ANN202
    import numpy as np
    import pandas as pd

    labels = pd.read_csv(folder / "labels.csv")
    test_lesions = set(run.split("test")["group"].astype(str))
    chosen = labels[labels["lesion_id"].astype(str).isin(test_lesions)].reset_index(drop=True)
    images = run.load_images([folder / "images" / f"{i}.jpg" for i in chosen["image_id"]], progress=False)
    return images, np.array([run.class_names.index(d) for d in chosen["dx"]]), len(labels)


def _agreement(run, path: Path, images, labels, keras):  # noqa: ANN001, ANN202
    import numpy as np

    from dermmodels.calibration import balanced_accuracy
    from dermmodels.export import run_tflite

    shown_k, shown_t = run.calibration.apply(keras), run.calibration.apply(run_tflite(path, images.astype(np.float32)))
    return {"images": int(len(labels)), "top1_agreement": float(np.mean(shown_k.argmax(1) == shown_t.argmax(1))),
            "balanced_accuracy_keras": balanced_accuracy(labels, shown_k.argmax(1), len(run.class_names)),
            "balanced_accuracy_tflite": balanced_accuracy(labels, shown_t.argmax(1), len(run.class_names))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--external", required=True, help="a folder with images/ and labels.csv (image_id,lesion_id,dx)")
    parser.add_argument("--out", default="experiments/results/mobile_export.json")
    parser.add_argument("--variants", default="int8,dynamic,int8-whole-graph,float16,float32")
    parser.add_argument("--predict-variants", default="int8,dynamic",
                        help="exports whose predict --tflite classes are compared with predict's (with TTA)")
    args = parser.parse_args(argv)

    import numpy as np

    from dermmodels.calibration import Calibration, expected_calibration_error
    from dermmodels.cli import _export_images
    from dermmodels.export import TFLiteModel, export_tflite, write_sidecar
    from dermmodels.runs import Run

    run = Run(args.run_dir)
    out_dir = Path("experiments/out/mobile_export")
    out_dir.mkdir(parents=True, exist_ok=True)
    calibration_images, test, test_labels = _export_images(run)
    ext, ext_labels, ext_total = _external(run, Path(args.external))
    keras_single = {"test": run.model.predict(test.astype(np.float32), verbose=0),
                    "external": run.model.predict(ext.astype(np.float32), verbose=0)}
    results = {"command": "experiments/mobile_export.py " + " ".join(argv if argv is not None else sys.argv[1:]),
               "run": str(run.path), "calibration_images": len(calibration_images),
               "external": {"folder": args.external, "images_in_folder": ext_total,
                            "images_of_test_lesions": len(ext_labels)}, "exports": []}
    validation = run.split("val")
    int8 = {"float_layers": "auto", "selection_labels": validation["label"].to_numpy(),
            "selection_images": run.load_images(validation["path"].tolist(), progress=False).astype(np.float32)}
    for variant in args.variants.split(","):
        quantize = None if variant == "float32" else variant.removesuffix("-whole-graph")
        path = out_dir / f"model_{variant}.tflite"
        started = time.perf_counter()
        options = ({"float_ops": (), "bias_correction": False} if "whole" in variant
                   else int8 if quantize == "int8" else {})  # int8: as dermmodels export makes it
        report = export_tflite(run.model, path, quantize=quantize, representative_data=calibration_images.astype(np.float32),
                               parity_images=test.astype(np.float32), parity_labels=test_labels,
                               calibration=run.calibration, **options)
        entry = {"variant": variant, "seconds": time.perf_counter() - started, **report.as_dict(),
                 "external": _agreement(run, path, ext, ext_labels, keras_single["external"])}
        results["exports"].append(entry)
        print(json.dumps(entry), flush=True)
        write_sidecar(path, class_names=run.class_names, preprocessing=run.config["preprocessing"],
                      calibration=run.calibration, tta=run.recipe.tta, report=report)
    # calibration: ECE before and after temperature (the recipe's TTA), and predict --tflite vs predict
    shipped = {v: TFLiteModel(out_dir / f"model_{v}.tflite") for v in args.predict_variants.split(",") if v}
    for part, images, labels in (("test", test, test_labels), ("external", ext, ext_labels)):
        raw = run.probabilities(images)
        before = Calibration(run.calibration.prior, run.calibration.tau).apply(raw)
        after = run.calibration.apply(raw)
        entry = {"images": int(len(labels)), "temperature": run.calibration.temperature,
                 "ece_before_temperature": expected_calibration_error(before, labels),
                 "ece_after_temperature": expected_calibration_error(after, labels)}
        for variant, model in shipped.items():
            entry[f"predict_tflite_{variant}_same_class"] = float(np.mean(model.predict(images).argmax(1) == after.argmax(1)))
        results[f"calibration_{part}"] = entry
        print(json.dumps({part: entry}), flush=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
