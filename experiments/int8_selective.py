"""int8 with the worst layers kept in float, chosen on the VALIDATION split: the quantization debugger's ranking.

Usage (from the repository root; on a COPY of a run with its split and calibration)::

    nice -n 10 .venv/bin/python experiments/int8_selective.py experiments/out/cpu-seed0 \\
        --external ../shared/real600 --out experiments/results/int8_selective.json

1. Calibrate once: the run's int8 representative set (`dermmodels.cli._export_images`: up to 150 training
   images of every class through the run's own preprocessing), or ``--per-class`` of them.
2. Rank every quantized layer by the TFLite quantization debugger's per-layer error on validation images
   (``--debug-images``, every k-th of the validation split): RMSE of the int8 op against the float op fed the
   same input, in units of the layer's output quantization step (0.29 is pure rounding).
3. For N in ``--sweep``: keep the worst N layers in float (and the softmax, as ``dermmodels export`` does),
   quantize the rest from the same calibration, and score on the whole validation split: top-1 agreement of
   the calibrated class with the Keras model and balanced accuracy with and without quantization, size and
   single-thread latency. The chosen N is the smallest whose VALIDATION agreement reaches 98% with at most
   0.01 balanced accuracy lost; the test split and the external folder (images of test lesions, as in
   ``mobile_export.py``) are scored for every N but never used to choose.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

AGREEMENT, BA_LOSS = 0.98, 0.01


def _load(run, external: Path, per_class: int, cache: Path):  # noqa: ANN001, ANN202
    import numpy as np
    from mobile_export import _external

    from dermmodels import cli

    if cache.is_file():
        data = np.load(cache)
        return {k: data[k] for k in data.files}
    cli.EXPORT_CALIBRATION_PER_CLASS = per_class
    calibration, test, test_labels = cli._export_images(run)
    val = run.split("val")
    ext, ext_labels, _ = _external(run, external)
    data = {"calibration": calibration, "val": run.load_images(val["path"].tolist(), progress=False),
            "val_labels": val["label"].to_numpy(), "test": test, "test_labels": test_labels,
            "external": ext, "external_labels": ext_labels}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **data)
    return data


def _score(run, path: Path, images, labels, keras) -> dict:  # noqa: ANN001
    import numpy as np

    from dermmodels.calibration import balanced_accuracy
    from dermmodels.export import run_tflite

    started = time.perf_counter()
    got = run_tflite(path, images.astype(np.float32), num_threads=1)
    ms = 1e3 * (time.perf_counter() - started) / len(images)
    shown_k, shown_t = run.calibration.apply(keras).argmax(1), run.calibration.apply(got).argmax(1)
    classes = len(run.class_names)
    return {"images": len(labels), "ms_per_image": round(ms, 2),
            "top1_agreement_raw": float(np.mean(keras.argmax(1) == got.argmax(1))),
            "top1_agreement": float(np.mean(shown_k == shown_t)),
            "balanced_accuracy_keras": balanced_accuracy(labels, shown_k, classes),
            "balanced_accuracy_tflite": balanced_accuracy(labels, shown_t, classes)}


def _fine(score: dict) -> bool:
    loss = score["balanced_accuracy_keras"] - score["balanced_accuracy_tflite"]
    return score["top1_agreement"] >= AGREEMENT and loss <= BA_LOSS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--external", required=True)
    parser.add_argument("--out", default="experiments/results/int8_selective.json")
    parser.add_argument("--per-class", type=int, default=150, help="training images of every class to calibrate on")
    parser.add_argument("--debug-every", type=int, default=10, help="rank layers on every k-th validation image")
    parser.add_argument("--order", choices=("debugger", "execution"), default="debugger",
                        help="which layers go to float first: the debugger's worst, or the input end's")
    parser.add_argument("--bias-correction", action="store_true",
                        help="shift each int8 layer's bias by its mean error on 256 representative images")
    parser.add_argument("--sweep", default="0,1,2,3,4,6,8,12,16,24,32")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).parent))

    import numpy as np

    from dermmodels.export import _convert, int8_layer_errors, quantize_int8
    from dermmodels.runs import Run

    run = Run(args.run_dir)
    data = _load(run, Path(args.external), args.per_class,
                 Path(f"experiments/out/int8_cache/{Path(args.run_dir).name}-{args.per_class}.npz"))
    keras = {part: run.model.predict(data[part].astype(np.float32), verbose=0) for part in ("val", "test", "external")}
    started = time.perf_counter()
    calibrated = _convert(run.model, "int8", data["calibration"].astype(np.float32))
    layers = int8_layer_errors(calibrated, data["val"][::args.debug_every])
    ranked = sorted(layers, key=lambda layer: -layer["rmse_in_steps"]) if args.order == "debugger" else layers
    step = max(1, len(data["calibration"]) // 256)
    bias_errors = int8_layer_errors(calibrated, data["calibration"][::step]) if args.bias_correction else []
    results = {"command": "experiments/int8_selective.py " + " ".join(argv if argv is not None else sys.argv[1:]),
               "run": str(run.path), "calibration_images": len(data["calibration"]),
               "debug_images": len(data["val"][::args.debug_every]), "order": args.order,
               "bias_correction_images": len(data["calibration"][::step]) if args.bias_correction else 0,
               "calibrate_and_rank_seconds": round(time.perf_counter() - started, 1),
               "ranking": [{"op": layer["op"], "layer": layer["name"].split(";")[0],
                            "rmse_in_steps": round(layer["rmse_in_steps"], 3)} for layer in ranked],
               "sweep": [], "chosen": None}
    out_dir = Path("experiments/out/int8_selective")
    out_dir.mkdir(parents=True, exist_ok=True)
    for n in (int(v) for v in args.sweep.split(",")):
        path = out_dir / f"model_{args.order}{n}{'_bc' if args.bias_correction else ''}.tflite"
        path.write_bytes(quantize_int8(calibrated, float_layers=[layer["name"] for layer in ranked[:n]],
                                       bias_errors=bias_errors))
        ops: dict[str, int] = {}
        for layer in ranked[:n]:
            ops[layer["op"]] = ops.get(layer["op"], 0) + 1
        entry = {"float_layers": n, "float_ops": ops, "size_bytes": path.stat().st_size,
                 **{part: _score(run, path, data[part], data[f"{part}_labels"], keras[part])
                    for part in ("val", "test", "external")}}
        results["sweep"].append(entry)
        print(json.dumps(entry), flush=True)
        if results["chosen"] is None and _fine(entry["val"]):
            results["chosen"] = n
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {args.out}; chosen on validation: {results['chosen']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
