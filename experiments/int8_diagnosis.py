"""Why the int8 export of a trained run disagrees with its Keras model: per-layer error and the variants tried.

Usage (from the repository root; on a COPY of a run with its split)::

    nice -n 10 .venv/bin/python experiments/int8_diagnosis.py experiments/out/cpu-seed0 \\
        --out experiments/results/int8_diagnosis.json

1. The TFLite quantization debugger on the whole-graph int8 model (100 test images): per layer, the RMSE of the
   quantized output against the float op fed the same input, in units of the layer's quantization step
   (0.29 is pure rounding), summarised by op type, with the worst layers.
2. Variants, each scored on the run's whole test split (one view, no TTA) by top-1 agreement with the Keras
   model (raw softmax and after the run's calibration) and balanced accuracy after calibration:
   the issue's export (int8 input and output, 200 validation images), the whole graph in int8 with float
   input/output and stratified training images, int16 activations (16x8), ops kept in float, dynamic range.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path


def _convert(saved: str, data, mode: str) -> bytes:  # noqa: ANN001
    import numpy as np
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(saved)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[None].astype(np.float32)] for x in data)
    if mode == "int8-io":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
    if mode == "int16-activations":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    return converter.convert()


def _layer_errors(saved: str, data, debug) -> dict:  # noqa: ANN001
    import numpy as np
    import pandas as pd
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(saved)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[None].astype(np.float32)] for x in data)
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=lambda: ([x[None].astype(np.float32)] for x in debug))
    debugger.run()
    buffer = io.StringIO()
    debugger.layer_statistics_dump(buffer)
    buffer.seek(0)
    layers = pd.read_csv(buffer)
    layers["rmse_in_steps"] = np.sqrt(layers["mean_squared_error"]) / layers["scale"]
    layers["layer"] = layers["tensor_name"].str.split(";").str[0].str.split("/").str[-2]
    by_op = layers.groupby("op_name")["rmse_in_steps"].agg(["count", "median", "max"]).round(3)
    worst = layers.nlargest(8, "rmse_in_steps")[["op_name", "layer", "rmse_in_steps"]].round(3)
    return {"by_op": by_op.reset_index().to_dict("records"), "worst": worst.to_dict("records")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--out", default="experiments/results/int8_diagnosis.json")
    args = parser.parse_args(argv)

    import numpy as np

    from dermmodels.calibration import balanced_accuracy
    from dermmodels.cli import _export_images
    from dermmodels.export import _convert, quantize_int8

    def convert_selective(model, quantize, data, float_ops):  # noqa: ANN001, ANN202 - ops in float, no correction
        converted = _convert(model, quantize, data)
        return quantize_int8(converted, float_ops=float_ops) if quantize == "int8" else converted
    from dermmodels.export import run_tflite
    from dermmodels.runs import Run

    run = Run(args.run_dir)
    train_images, test, labels = _export_images(run)
    validation = run.load_images(run.split("val")["path"].tolist()[:200], progress=False)
    keras = run.model.predict(test.astype(np.float32), verbose=0)
    shown_keras = run.calibration.apply(keras).argmax(1)
    saved = tempfile.mkdtemp()
    run.model.export(saved, verbose=False)
    results = {"command": "experiments/int8_diagnosis.py " + " ".join(argv if argv is not None else sys.argv[1:]),
               "run": str(run.path), "test_images": len(labels), "calibration_images": len(train_images),
               "layer_errors": _layer_errors(saved, train_images, test[::15]), "variants": []}
    print(json.dumps(results["layer_errors"]), flush=True)
    variants = [
        ("issue: int8 input/output, 200 validation images", lambda: _convert(saved, validation, "int8-io")),
        ("whole graph int8, float input/output", lambda: _convert(saved, train_images, "float-io")),
        ("int16 activations, int8 weights (16x8)", lambda: _convert(saved, train_images, "int16-activations")),
        ("int8, depthwise in float", lambda: convert_selective(run.model, "int8", train_images.astype(np.float32),
                                                               ["DEPTHWISE_CONV_2D"])),
        ("int8, depthwise + softmax in float (dermmodels 0.3's export)", lambda: convert_selective(
            run.model, "int8", train_images.astype(np.float32), ["DEPTHWISE_CONV_2D", "SOFTMAX"])),
        ("int8, depthwise + pooling + dense head + softmax in float", lambda: convert_selective(
            run.model, "int8", train_images.astype(np.float32), ["DEPTHWISE_CONV_2D", "MEAN", "FULLY_CONNECTED",
                                                                 "SOFTMAX"])),
        ("dynamic range (int8 weights, float activations)", lambda: convert_selective(run.model, "dynamic", None, [])),
    ]
    for name, make in variants:
        started = time.perf_counter()
        path = Path(tempfile.mkdtemp()) / "model.tflite"
        path.write_bytes(make())
        convert_seconds = time.perf_counter() - started
        started = time.perf_counter()
        got = run_tflite(path, test.astype(np.float32), num_threads=1)
        shown = run.calibration.apply(got).argmax(1)
        entry = {"variant": name, "size_bytes": path.stat().st_size, "convert_seconds": round(convert_seconds, 1),
                 "ms_per_image": 1e3 * (time.perf_counter() - started) / len(labels),
                 "top1_agreement_raw": float(np.mean(keras.argmax(1) == got.argmax(1))),
                 "top1_agreement_calibrated": float(np.mean(shown_keras == shown)),
                 "balanced_accuracy_keras": balanced_accuracy(labels, shown_keras, len(run.class_names)),
                 "balanced_accuracy_tflite": balanced_accuracy(labels, shown, len(run.class_names))}
        results["variants"].append(entry)
        print(json.dumps(entry), flush=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
