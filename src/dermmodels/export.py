"""Mobile export: TFLite (float, float16, dynamic-range, int8) and SavedModel, checked against the Keras model,
with the metadata an app needs (classes, input, preprocessing, calibration) in a sidecar JSON.

int8 here means int8 weights and activations with float input and output: the
model takes RGB pixels in [0, 255] as float32 and returns the softmax in
float32; the app (or `TFLiteModel`) applies the run's calibration (prior
correction, temperature) in float after the model, as the sidecar describes.
Why, measured on the ``cpu`` preset model (docs/models.md, "int8 that agrees"):
quantizing the whole graph, input and output included, changed the calibrated
top-1 class on about one test image in five; most of the error comes from the
depthwise convolutions (per-layer error up to 3x the rounding error of the
others in the TFLite quantization debugger) and from the int8 softmax output,
whose 1/256 steps the prior correction then multiplies by up to 8 for the rare
classes. The ops in `INT8_FLOAT_OPS` stay in float.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dermprep.io import atomic_write_bytes, atomic_write_json

from .calibration import Calibration, balanced_accuracy

__all__ = ["AGREEMENT_THRESHOLD", "BALANCED_ACCURACY_LOSS_LIMIT", "INT8_FLOAT_OPS", "QUANTIZE_MODES", "ExportReport",
           "TFLiteModel", "export_saved_model", "export_tflite", "read_sidecar", "run_tflite", "sidecar_path",
           "write_sidecar"]

#: Accepted values of ``quantize``.
QUANTIZE_MODES = (None, "float16", "dynamic", "int8")
#: An export whose top-1 class differs from the Keras model's on more than 2% of the check images is not fine.
AGREEMENT_THRESHOLD = 0.98
#: Nor one that loses more than this much balanced accuracy against the Keras model.
BALANCED_ACCURACY_LOSS_LIMIT = 0.01
#: TFLite ops int8 export keeps in float (chosen with the quantization debugger, see the module docstring).
INT8_FLOAT_OPS = ("DEPTHWISE_CONV_2D", "SOFTMAX")
#: Format of the sidecar JSON.
SIDECAR_FORMAT = 1


@dataclass
class ExportReport:
    """What an export produced and how closely it agrees with the Keras model.

    ``top1_agreement`` compares the classes the app shows: after the run's
    calibration when the export was given one (``calibrated``).
    ``seconds_per_image`` is single-threaded TFLite inference on this machine.
    ``problems`` says why the export is not fine (empty: it is).
    """

    path: str
    size_bytes: int
    quantize: str | None
    top1_agreement: float
    max_probability_difference: float
    samples: int
    seconds_per_image: float
    calibrated: bool = False
    balanced_accuracy_keras: float | None = None
    balanced_accuracy_tflite: float | None = None
    float_ops: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def acceptable(self) -> bool:
        """True when the export agrees with the Keras model within `AGREEMENT_THRESHOLD` and
        `BALANCED_ACCURACY_LOSS_LIMIT`."""
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {**asdict(self), "acceptable": self.acceptable}


def _interpreter(path: str, num_threads: int | None = None) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415 - the maintained runtime
    except ImportError:  # pragma: no cover - fallback where ai-edge-litert is not installed
        import tensorflow as tf  # noqa: PLC0415

        Interpreter = tf.lite.Interpreter  # noqa: N806
    return Interpreter(model_path=path, num_threads=num_threads)


def run_tflite(path: str | os.PathLike[str], images: np.ndarray, *, num_threads: int | None = None) -> np.ndarray:
    """Run a single-input TFLite classifier on images [N, H, W, 3]; returns its outputs [N, C] as float32
    (int8 outputs dequantized)."""
    interpreter = _interpreter(str(path), num_threads)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    images = np.asarray(images)
    expected = tuple(int(v) for v in inp["shape"][1:])
    if images.ndim != 4 or tuple(images.shape[1:]) != expected:
        raise ValueError(f"images must have shape (N, {', '.join(map(str, expected))}) for {path}; got {images.shape}")
    results = []
    for image in images:
        x = image[None].astype(inp["dtype"]) if inp["dtype"] != np.int8 else _quantize_input(image[None], inp)
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        y = interpreter.get_tensor(out["index"])
        if out["dtype"] == np.int8:
            scale, zero = out["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        results.append(np.asarray(y[0], dtype=np.float32))
    return np.stack(results)


def _quantize_input(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    scale, zero = detail["quantization"]
    return np.clip(np.round(x.astype(np.float32) / scale + zero), -128, 127).astype(np.int8)


def _check_images(name: str, images: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    if images is None:
        return None
    images = np.asarray(images)
    if images.ndim != 4 or tuple(images.shape[1:]) != shape or images.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, {', '.join(map(str, shape))}) with N >= 1; got {images.shape}")
    if not np.isfinite(images.astype(np.float32)).all():
        raise ValueError(f"{name} must be finite; got NaN or inf")
    return images.astype(np.float32)


def export_tflite(
    model: Any,
    path: str | os.PathLike[str],
    *,
    quantize: str | None = None,
    representative_data: np.ndarray | None = None,
    parity_images: np.ndarray | None = None,
    parity_labels: np.ndarray | None = None,
    calibration: Calibration | None = None,
    float_ops: Sequence[str] = INT8_FLOAT_OPS,
) -> ExportReport:
    """Convert a Keras image classifier to TFLite, write it, and check it against Keras.

    Parameters
    ----------
    model : keras.Model
        A single-input image classifier (see `dermmodels.build_mobilenetv2_classifier()`).
    path : path
        Output ``.tflite`` file (written atomically).
    quantize : {None, "float16", "dynamic", "int8"}
        None: float32. "float16": float16 weights. "dynamic": int8 weights,
        float activations. "int8": int8 weights (per channel) and
        activations, calibrated on ``representative_data``, with float
        input and output and the ops in ``float_ops`` kept in float.
    representative_data : ndarray [N, H, W, 3], optional
        Calibration images for "int8" (required there), through the same
        preprocessing as the model's inputs: several hundred training images
        of every class (``dermmodels export`` takes up to 150 per class). All are used.
    parity_images : ndarray [N, H, W, 3], optional
        Held-out images for the check (default: the first 64 of
        ``representative_data``, else 16 random images).
    parity_labels : ndarray [N], optional
        Their labels: the report then gives the balanced accuracy with and without quantization.
    calibration : Calibration, optional
        The run's calibration: agreement is then counted on the calibrated classes, the ones an app shows.
    float_ops : sequence of str
        TFLite op types "int8" keeps in float (`INT8_FLOAT_OPS`; empty: the whole graph in int8).

    Returns
    -------
    ExportReport
        Size, top-1 agreement, balanced accuracy with and without
        quantization (with ``parity_labels``), single-thread latency, and
        the problems if the export does not agree closely enough.
    """
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be None, 'float16', 'dynamic' or 'int8'; got {quantize!r}")
    if len(model.inputs) != 1:
        raise ValueError("export_tflite supports single-input (image) models; this model has "
                         f"{len(model.inputs)} inputs")
    shape = tuple(int(v) for v in model.inputs[0].shape[1:])
    if quantize == "int8" and representative_data is None:
        raise ValueError("quantize='int8' needs representative_data (a few hundred typical images)")
    representative_data = _check_images("representative_data", representative_data, shape)
    parity_images = _check_images("parity_images", parity_images, shape)
    if parity_labels is not None and (parity_images is None or len(parity_labels) != len(parity_images)):
        raise ValueError("parity_labels must have one label per parity image "
                         f"({0 if parity_images is None else len(parity_images)}); got {len(parity_labels)}")
    float_ops = list(float_ops) if quantize == "int8" else []
    unknown = [op for op in float_ops if not isinstance(op, str) or op != op.upper()]
    if unknown:
        raise ValueError(f"float_ops must be TFLite op names such as 'DEPTHWISE_CONV_2D'; got {unknown}")
    flatbuffer = _convert(model, quantize, representative_data, float_ops)
    target = Path(path)
    atomic_write_bytes(target, flatbuffer)  # an unpredictable temporary name: a planted link is never followed
    if parity_images is None:
        parity_images = (representative_data[:64] if representative_data is not None
                         else np.random.default_rng(0).uniform(0, 255, (16, *shape)).astype(np.float32))
    report = _parity(model, target, parity_images, parity_labels, calibration)
    report.quantize, report.float_ops = quantize, float_ops
    return report


def _convert(model: Any, quantize: str | None, data: np.ndarray | None, float_ops: list[str]) -> bytes:
    import tempfile  # noqa: PLC0415

    import tensorflow as tf  # noqa: PLC0415

    saved = tempfile.mkdtemp(prefix="dermmodels-export-")
    try:  # through a quiet SavedModel: from_keras_model prints every captured tensor
        model.export(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if quantize in ("float16", "dynamic", "int8"):
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize != "int8":
            return converter.convert()

        def representative() -> Any:
            for image in data:  # type: ignore[union-attr]
                yield [image[None]]

        converter.representative_dataset = representative
        with warnings.catch_warnings():
            # The converter asks for input statistics it then derives from representative_data itself.
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected", category=UserWarning)
            # The debugger (TensorFlow's own selective quantization) runs the old interpreter inside.
            warnings.filterwarnings("ignore", message=r"\s*Warning: tf.lite.Interpreter is deprecated", category=UserWarning)
            if not float_ops:
                return converter.convert()
            # Selective quantization: the quantization debugger's converter keeps the denylisted ops in float.
            options = tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=float_ops)
            debugger = tf.lite.experimental.QuantizationDebugger(
                converter=converter, debug_dataset=lambda: ([image[None]] for image in data[:1]),  # type: ignore[index]
                debug_options=options)
            return debugger.get_nondebug_quantized_model()
    finally:
        shutil.rmtree(saved, ignore_errors=True)


def _parity(model: Any, target: Path, images: np.ndarray, labels: np.ndarray | None,
            calibration: Calibration | None) -> ExportReport:
    expected = model.predict(images, verbose=0)
    start = time.perf_counter()
    got = run_tflite(target, images, num_threads=1)
    seconds = (time.perf_counter() - start) / len(images)
    shown_expected, shown_got = (expected, got) if calibration is None else (calibration.apply(expected),
                                                                             calibration.apply(got))
    agreement = float(np.mean(shown_expected.argmax(axis=1) == shown_got.argmax(axis=1)))
    report = ExportReport(path=str(target), size_bytes=target.stat().st_size, quantize=None, top1_agreement=agreement,
                          max_probability_difference=float(np.abs(shown_expected - shown_got).max()),
                          samples=len(images), seconds_per_image=seconds, calibrated=calibration is not None)
    if agreement < AGREEMENT_THRESHOLD:
        report.problems.append(f"it gives a different top-1 class than the Keras model on {1 - agreement:.1%} of "
                               f"{len(images)} check images (more than {1 - AGREEMENT_THRESHOLD:.0%})")
    if labels is not None:
        labels = np.asarray(labels)
        classes = expected.shape[1]
        report.balanced_accuracy_keras = balanced_accuracy(labels, shown_expected.argmax(axis=1), classes)
        report.balanced_accuracy_tflite = balanced_accuracy(labels, shown_got.argmax(axis=1), classes)
        loss = report.balanced_accuracy_keras - report.balanced_accuracy_tflite
        if loss > BALANCED_ACCURACY_LOSS_LIMIT:
            report.problems.append(f"it loses {loss:.3f} balanced accuracy against the Keras model "
                                   f"({report.balanced_accuracy_tflite:.3f} vs {report.balanced_accuracy_keras:.3f}; "
                                   f"limit {BALANCED_ACCURACY_LOSS_LIMIT})")
    return report


def sidecar_path(model_path: str | os.PathLike[str]) -> Path:
    """The metadata file beside a ``.tflite`` model: ``model.tflite`` -> ``model.tflite.json``."""
    path = Path(model_path)
    return path.with_name(path.name + ".json")


def write_sidecar(model_path: str | os.PathLike[str], *, class_names: Sequence[str],
                  preprocessing: Mapping[str, Any], calibration: Calibration, tta: bool,
                  report: ExportReport | None = None) -> Path:
    """Write what an app needs to use the model beside it (`sidecar_path()`); returns the JSON's path.

    The JSON gives the class names (output order), the input (shape, float32
    RGB pixels in [0, 255], scaled to [-1, 1] inside the model), the run's
    preprocessing (`dermprep.preprocess.Preprocessing.to_dict()`: resizing,
    framing, hair removal), the calibration (``p = softmax(log(q / prior **
    tau) / temperature)`` over the model's output ``q``, renormalised), and the export's check.
    """
    interpreter = _interpreter(str(model_path))
    detail = interpreter.get_input_details()[0]
    values = {
        "format": SIDECAR_FORMAT,
        "model": Path(model_path).name,
        "class_names": list(class_names),
        "input": {"shape": [int(v) for v in detail["shape"]], "dtype": np.dtype(detail["dtype"]).name,
                  "pixels": "RGB in [0, 255] (the model scales them to [-1, 1] itself)"},
        "preprocessing": dict(preprocessing),
        "calibration": {**calibration.to_dict(),
                        "formula": "p = softmax(log(q / prior ** tau) / temperature), q the model's output"},
        "tta": bool(tta),
        "export": report.as_dict() if report is not None else None,
    }
    target = sidecar_path(model_path)
    atomic_write_json(target, values)
    return target


def read_sidecar(model_path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata `write_sidecar()` wrote beside a ``.tflite`` model."""
    path = sidecar_path(model_path)
    if not path.is_file():
        raise FileNotFoundError(f"{str(path)!r} not found: a .tflite model is used with the metadata "
                                "'dermmodels export' writes beside it (classes, preprocessing, calibration)")
    try:
        values = json.loads(path.read_text())
        if values.get("format") != SIDECAR_FORMAT:
            raise ValueError(f"format {values.get('format')!r}, expected {SIDECAR_FORMAT}")
        for key in ("class_names", "preprocessing", "calibration", "input"):
            values[key]  # noqa: B018 - present
    except (ValueError, KeyError, AttributeError) as exc:
        raise ValueError(f"{str(path)!r} is not a dermmodels export sidecar: {exc}") from None
    return values


class TFLiteModel:
    """An exported ``.tflite`` classifier with its sidecar metadata, used like `dermmodels.runs.Run`.

    ``load_images`` applies the run's preprocessing, `predict()` the run's
    calibration in float after the model, so what this class predicts is
    what the shipped file gives.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from dermprep.preprocess import Preprocessing  # noqa: PLC0415

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"TFLite model not found: {str(self.path)!r}")
        self.metadata = read_sidecar(self.path)
        self.class_names: list[str] = list(self.metadata["class_names"])
        self.preprocessing = Preprocessing.from_dict(self.metadata["preprocessing"])
        self.calibration = Calibration.from_dict(self.metadata["calibration"])
        self.tta = bool(self.metadata.get("tta", False))

    def load_images(self, paths: Sequence[str | os.PathLike[str]], *, progress: bool | None = None) -> np.ndarray:
        """Files through the run's own preprocessing."""
        return self.preprocessing.load_many(paths, progress=progress)

    def probabilities(self, images: np.ndarray, *, tta: bool | None = None) -> np.ndarray:
        """The model's own outputs (N, classes), averaged over TTA views (default: as the run predicts)."""
        from .runs import tta_views  # noqa: PLC0415

        images = np.asarray(images)
        views = tta_views(images, tta=self.tta if tta is None else bool(tta))
        return np.mean([run_tflite(self.path, view) for view in views], axis=0).astype(np.float64)

    def predict(self, images: np.ndarray, *, tta: bool | None = None) -> np.ndarray:
        """Calibrated class probabilities (N, classes), as `dermmodels.runs.Run.predict()` gives them."""
        return self.calibration.apply(self.probabilities(images, tta=tta))


def export_saved_model(model: Any, path: str | os.PathLike[str]) -> Path:
    """Write a TensorFlow SavedModel (for TF Serving and converters); returns its folder.

    Written into a new temporary folder beside ``path`` and renamed into place, so an interrupted export
    never leaves half a SavedModel (an existing one is replaced only once the new one is complete).
    """
    import tempfile  # noqa: PLC0415

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.export(str(staging / "model"), verbose=False)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging / "model", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
