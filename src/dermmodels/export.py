"""Mobile export: TFLite (float, float16, dynamic-range, int8) and SavedModel, checked against the Keras model,
with the metadata an app needs (classes, input, preprocessing, calibration) in a sidecar JSON.

int8 here means int8 weights and activations with float input and output: the
model takes RGB pixels in [0, 255] as float32 and returns the softmax in
float32; the app (or `TFLiteModel`) applies the run's calibration (prior
correction, temperature) in float after the model, as the sidecar describes.
Measured on the ``cpu`` preset model (docs/models.md, "Shipping a model"):
quantizing the whole graph changed the calibrated top-1 class on about one
image in eighteen, and keeping the layers with the largest rounding error (the
depthwise convolutions) in float did not fix it; what changes the diagnosis is
the int8 error at the input end of the network. So int8 export calibrates
once, keeps the softmax (`INT8_FLOAT_OPS`) and the first ``float_layers``
layers in float (``"auto"``: the fewest that keep the diagnosis on held-out
images, the run's validation split in ``dermmodels export``), and can correct
each int8 layer's bias for its mean error (`quantize_int8()`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dermprep.io import atomic_write_bytes, atomic_write_json
from dermprep.validation import check_number, check_positive_int

from .calibration import Calibration, balanced_accuracy

__all__ = ["AGREEMENT_THRESHOLD", "BALANCED_ACCURACY_LOSS_LIMIT", "BIAS_CORRECTION_IMAGES", "INT8_FLOAT_LAYER_STEPS",
           "INT8_FLOAT_OPS", "QUANTIZE_MODES", "ExportReport", "TFLiteModel", "agreement_lower_bound",
           "export_saved_model", "export_tflite", "int8_layer_errors", "quantize_int8", "read_sidecar", "run_tflite",
           "sidecar_path", "write_sidecar"]

#: Accepted values of ``quantize``.
QUANTIZE_MODES = (None, "float16", "dynamic", "int8")
#: An export whose top-1 class differs from the Keras model's on more than 2% of the check images is not fine.
AGREEMENT_THRESHOLD = 0.98
#: Nor one that loses more than this much balanced accuracy against the Keras model.
BALANCED_ACCURACY_LOSS_LIMIT = 0.01
#: TFLite op types int8 export keeps in float: the softmax, whose output the prior correction divides.
INT8_FLOAT_OPS = ("SOFTMAX",)
#: How many layers from the input end ``float_layers="auto"`` tries keeping in float, in this order.
INT8_FLOAT_LAYER_STEPS = (0, 2, 4, 6, 8, 12, 16, 24, 32)
#: Representative images bias correction averages each layer's error over (every k-th, so every class).
BIAS_CORRECTION_IMAGES = 256
_TFLITE_INT32 = 2  # tflite::TensorType_INT32
#: Format of the sidecar JSON.
SIDECAR_FORMAT = 1


@dataclass
class ExportReport:
    """What an export produced and how closely it agrees with the Keras model.

    ``top1_agreement`` compares the classes the app shows: after the run's
    calibration when the export was given one (``calibrated``).
    ``seconds_per_image`` is single-threaded TFLite inference on this machine.
    For "int8": ``float_layers`` layers from the input end stayed in float,
    ``bias_corrected`` says whether the int8 layers' biases were corrected,
    ``selection`` lists the ``float_layers="auto"`` candidates tried on
    the selection (validation) images (the search may go past the one
    chosen), and ``float_layers_margin`` says whether the choice passed with
    the margin (`agreement_lower_bound()`); ``False`` where no candidate could
    show it (a small selection set) and the fewest passing without it were taken.
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
    float_layers: int = 0
    bias_corrected: bool = False
    selection: list[dict[str, Any]] = field(default_factory=list)
    float_layers_margin: bool = False
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
    float_layers: int | str = 0,
    bias_correction: bool = True,
    selection_images: np.ndarray | None = None,
    selection_labels: np.ndarray | None = None,
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
        activations, calibrated on ``representative_data``, with float input
        and output, the ops in ``float_ops`` and the first ``float_layers``
        layers kept in float.
    representative_data : ndarray [N, H, W, 3], optional
        Calibration images for "int8" (required there), through the same
        preprocessing as the model's inputs: several hundred training images
        of every class (``dermmodels export`` takes up to 400 per class). All are used.
    parity_images, parity_labels : ndarray [N, H, W, 3] and [N], optional
        Held-out images for the check (default: the first 64 of
        ``representative_data``, else 16 random images) and their labels:
        the report then gives the balanced accuracy with and without quantization.
    calibration : Calibration, optional
        The run's calibration: agreement is then counted on the calibrated classes, the ones an app shows.
    float_ops : sequence of str
        TFLite op types "int8" keeps in float (`INT8_FLOAT_OPS`; empty: every op type in int8).
    float_layers : int or "auto"
        "int8": how many quantized layers, from the input end, stay in float
        (0: none). "auto": the fewest of `INT8_FLOAT_LAYER_STEPS` with which
        the export agrees with the model on ``selection_images`` (and
        ``selection_labels``) as `ExportReport.acceptable` asks, with a
        margin: the agreement's lower bound (`agreement_lower_bound()`)
        reaches `AGREEMENT_THRESHOLD`. Where none does (a small selection
        set cannot show it), the fewest that pass without the margin, else
        the most.
    bias_correction : bool
        "int8": shift each int8 layer's bias by minus its mean output error
        per channel on up to `BIAS_CORRECTION_IMAGES` representative images.
    selection_images, selection_labels : ndarray [M, H, W, 3] and [M], optional
        Held-out images (the run's validation split, never the test split)
        and labels ``float_layers="auto"`` chooses on.

    Returns
    -------
    ExportReport
        Size, top-1 agreement, balanced accuracy with and without
        quantization (with ``parity_labels``), single-thread latency, the
        int8 choices, and the problems if the export does not agree closely enough.
    """
    shape = _check_export_arguments(model, quantize, representative_data, float_ops, float_layers)
    representative_data = _check_images("representative_data", representative_data, shape)
    parity_images = _check_images("parity_images", parity_images, shape)
    _check_labels("parity_labels", parity_labels, parity_images)
    selection_images = _check_images("selection_images", selection_images, shape)
    _check_labels("selection_labels", selection_labels, selection_images)
    if quantize == "int8" and float_layers == "auto" and selection_images is None:
        raise ValueError("float_layers='auto' needs selection_images (held-out images: the validation split)")
    int8 = {}
    if quantize == "int8":
        flatbuffer, int8 = _int8(model, representative_data, list(float_ops), float_layers, bias_correction,
                                 (selection_images, selection_labels, calibration))
    else:
        flatbuffer = _convert(model, quantize, representative_data)
    target = Path(path)
    atomic_write_bytes(target, flatbuffer)  # an unpredictable temporary name: a planted link is never followed
    if parity_images is None:
        parity_images = (representative_data[:64] if representative_data is not None
                         else np.random.default_rng(0).uniform(0, 255, (16, *shape)).astype(np.float32))
    report = _parity(model, target, parity_images, parity_labels, calibration)
    report.quantize, report.float_ops = quantize, list(float_ops) if quantize == "int8" else []
    for key, value in int8.items():
        setattr(report, key, value)
    return report


def _check_export_arguments(model: Any, quantize: str | None, representative_data: Any, float_ops: Sequence[str],
                            float_layers: int | str) -> tuple[int, ...]:
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be None, 'float16', 'dynamic' or 'int8'; got {quantize!r}")
    if len(model.inputs) != 1:
        raise ValueError("export_tflite supports single-input (image) models; this model has "
                         f"{len(model.inputs)} inputs")
    if quantize == "int8" and representative_data is None:
        raise ValueError("quantize='int8' needs representative_data (a few hundred typical images)")
    unknown = [op for op in float_ops if not isinstance(op, str) or op != op.upper()]
    if unknown:
        raise ValueError(f"float_ops must be TFLite op names such as 'DEPTHWISE_CONV_2D'; got {unknown}")
    if float_layers != "auto" and (isinstance(float_layers, bool) or not isinstance(float_layers, int)
                                   or float_layers < 0):
        raise ValueError(f"float_layers must be an int >= 0 or 'auto'; got {float_layers!r}")
    return tuple(int(v) for v in model.inputs[0].shape[1:])


def _check_labels(name: str, labels: Any, images: np.ndarray | None) -> None:
    if labels is not None and (images is None or len(labels) != len(images)):
        what = name.replace("_labels", "")
        raise ValueError(f"{name} must have one label per {what} image "
                         f"({0 if images is None else len(images)}); got {len(labels)}")


def _int8(model: Any, data: np.ndarray, float_ops: list[str], float_layers: int | str, bias_correction: bool,
          selection: tuple[np.ndarray | None, np.ndarray | None, Calibration | None]) -> tuple[bytes, dict[str, Any]]:
    """The int8 flatbuffer and the report's int8 fields: calibrate once, then quantize with the first N layers
    in float, N given or chosen on the selection images."""
    import tempfile  # noqa: PLC0415

    calibrated = _convert(model, "int8", data)
    step = max(1, len(data) // BIAS_CORRECTION_IMAGES)
    layers = int8_layer_errors(calibrated, data[::step], float_ops=float_ops)
    bias = layers if bias_correction else []
    names = [layer["name"] for layer in layers]
    fields = {"bias_corrected": bool(bias_correction), "float_layers": 0, "selection": []}
    if float_layers != "auto":
        fields["float_layers"] = min(int(float_layers), len(names))
        return quantize_int8(calibrated, float_ops=float_ops, float_layers=names[:float_layers],
                             bias_errors=bias), fields
    images, labels, calibration = selection
    expected = model.predict(images, verbose=0)
    tried: dict[int, bytes] = {}
    passed: list[int] = []
    sure: int | None = None  # the first that passes with the margin
    with tempfile.TemporaryDirectory(prefix="dermmodels-int8-") as folder:
        candidate = Path(folder) / "candidate.tflite"
        for n in [k for k in INT8_FLOAT_LAYER_STEPS if k <= len(names)]:
            tried[n] = quantize_int8(calibrated, float_ops=float_ops, float_layers=names[:n], bias_errors=bias)
            candidate.write_bytes(tried[n])
            scores = _agreement(expected, run_tflite(candidate, images), labels, calibration)
            bound = agreement_lower_bound(scores["top1_agreement"], len(images))
            fields["selection"].append({"float_layers": n, "size_bytes": len(tried[n]),
                                        "top1_agreement_lower_bound": bound, **scores})
            if not _problems(scores, len(images)):
                passed.append(n)
                if bound >= AGREEMENT_THRESHOLD:
                    sure = n
                    break
    # The first with a margin; else (a small selection set cannot show one) the first that passes; else the most.
    fields["float_layers"] = sure if sure is not None else passed[0] if passed else max(tried)
    fields["float_layers_margin"] = sure is not None
    return tried[fields["float_layers"]], fields


def agreement_lower_bound(agreement: float, samples: int, z: float = 1.645) -> float:
    """One-sided 95% Wilson lower bound of an agreement rate measured on ``samples`` images.

    ``float_layers="auto"`` takes a setting only when this bound reaches `AGREEMENT_THRESHOLD`: trying
    several settings and taking the first that reaches 98% on the validation split favours one that got
    there by luck (on the cpu preset model: 98.07% on validation, 97.9% on the test split).

    Parameters
    ----------
    agreement : float
        The measured rate, in [0, 1].
    samples : int
        How many images it was measured on (>= 1).
    z : float
        The normal quantile (1.645: one-sided 95%).

    Returns
    -------
    float
        The lower bound, in [0, 1]. A selection set needs about 133 images for a perfect agreement to
        reach 0.98, about 1,500 for 0.986 to.

    Examples
    --------
    >>> round(agreement_lower_bound(0.99, 1500), 4)
    0.9848
    >>> agreement_lower_bound(1.0, 16) < 0.98
    True
    """
    check_number(agreement, "agreement", lower=0.0, upper=1.0)
    check_positive_int(samples, "samples")
    check_number(z, "z", lower=0.0, upper=10.0, lower_open=True)
    z2 = z * z
    centre = agreement + z2 / (2 * samples)
    spread = z * math.sqrt(agreement * (1 - agreement) / samples + z2 / (4 * samples * samples))
    return float((centre - spread) / (1 + z2 / samples))


def _convert(model: Any, quantize: str | None, data: np.ndarray | None) -> bytes:
    """The float, float16 or dynamic-range flatbuffer, or for "int8" the calibrated (not yet quantized) one."""
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
        converter.representative_dataset = lambda: ([image[None]] for image in data)  # type: ignore[union-attr]
        # Calibrate only (what TensorFlow's quantization debugger does): quantized later, with layers in float.
        converter.experimental_mlir_quantizer = True
        converter._experimental_calibrate_only = True  # noqa: SLF001
        with warnings.catch_warnings():
            # The converter asks for input statistics it then derives from representative_data itself.
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected", category=UserWarning)
            return converter.convert()
    finally:
        shutil.rmtree(saved, ignore_errors=True)


def _debug_interpreter(calibrated: bytes, float_ops: Sequence[str]) -> Any:
    """The calibrated model quantized with the debugger's NumericVerify ops, in TensorFlow's own interpreter
    (it runs them), keeping every tensor."""
    import tensorflow as tf  # noqa: PLC0415
    from tensorflow.lite.python import convert  # noqa: PLC0415

    debug = convert.mlir_quantize(calibrated, enable_numeric_verify=True, denylisted_ops=list(float_ops) or None)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*Warning: tf.lite.Interpreter is deprecated", category=UserWarning)
        warnings.filterwarnings("ignore", message="Warning: Enabling `experimental_preserve_all_tensors`",
                                category=UserWarning)
        interpreter = tf.lite.Interpreter(  # no XNNPACK delegate: it would hide the layers' outputs
            model_content=debug, experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    return interpreter


def _verified_layers(interpreter: Any) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(op type, int8 output tensor, float reference tensor) of each quantized layer, in execution order."""
    ops = interpreter._get_ops_details()  # noqa: SLF001
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    defining = {index: op["op_name"] for op in ops for index in op["outputs"]}
    return [(defining[op["inputs"][0]], tensors[op["inputs"][0]], tensors[op["inputs"][1]])
            for op in ops if op["op_name"] == "NumericVerify"]


def _layer_name(debug_name: str) -> str:
    """A layer's output tensor name in the quantized model: the debug model's adds one digit (as the debugger
    strips it)."""
    return debug_name[:-1] if debug_name[-1:].isdigit() else debug_name


def int8_layer_errors(calibrated: bytes, images: np.ndarray, *,
                      float_ops: Sequence[str] = INT8_FLOAT_OPS) -> list[dict[str, Any]]:
    """Each int8 layer's output error against the float layer fed the same int8 input (the TFLite quantization
    debugger's comparison) over ``images``, in execution order: ``op``, ``name`` (output tensor),
    ``mean`` (per channel) and ``rmse_in_steps`` (in units of the output's quantization step)."""
    interpreter = _debug_interpreter(calibrated, float_ops)
    layers = _verified_layers(interpreter)
    means = [0.0] * len(layers)
    squares = [0.0] * len(layers)
    for image in np.asarray(images, dtype=np.float32):
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image[None])
        interpreter.invoke()
        for i, (_, quantized, reference) in enumerate(layers):
            scale, zero = quantized["quantization"]
            error = ((interpreter.get_tensor(quantized["index"]).astype(np.float32) - zero) * scale
                     - interpreter.get_tensor(reference["index"]))
            means[i] = means[i] + error.reshape(-1, error.shape[-1]).mean(axis=0) / len(images)
            squares[i] += float(np.mean(error.astype(np.float64) ** 2)) / len(images)
    return [{"op": op, "name": _layer_name(quantized["name"]), "mean": np.asarray(mean, dtype=np.float64),
             "rmse_in_steps": float(np.sqrt(square) / quantized["quantization"][0])}
            for (op, quantized, _), mean, square in zip(layers, means, squares, strict=True)]


def quantize_int8(calibrated: bytes, *, float_ops: Sequence[str] = INT8_FLOAT_OPS, float_layers: Sequence[str] = (),
                  bias_errors: Sequence[Mapping[str, Any]] = ()) -> bytes:
    """The int8 model of a calibrated TFLite flatbuffer, with the ``float_ops`` op types and the ``float_layers``
    (output tensor names) in float and, given `int8_layer_errors()`, empirical bias correction: each int8
    conv, depthwise conv and dense layer's int32 bias shifted by minus its mean output error per channel."""
    from tensorflow.lite.python import convert  # noqa: PLC0415
    from tensorflow.lite.tools import flatbuffer_utils  # noqa: PLC0415

    quantized = convert.mlir_quantize(calibrated, denylisted_ops=list(float_ops) or None,
                                      denylisted_nodes=list(float_layers) or None)
    errors = {layer["name"]: layer["mean"] for layer in bias_errors}
    if not errors:
        return quantized
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(quantized))
    graph = model.subgraphs[0]
    sharing = Counter(tensor.buffer for tensor in graph.tensors)
    for op in graph.operators:
        name = graph.tensors[op.outputs[0]].name.decode()
        if name not in errors or len(op.inputs) < 3 or op.inputs[2] < 0:
            continue
        bias = graph.tensors[op.inputs[2]]
        buffer = model.buffers[bias.buffer]
        if bias.type != _TFLITE_INT32 or buffer.data is None:  # a float layer, or an int8 one without bias
            continue
        values = np.frombuffer(bytes(buffer.data), dtype="<i4").astype(np.int64)
        shift = np.round(errors[name] / np.asarray(bias.quantization.scale, dtype=np.float64)).astype(np.int64)
        corrected = np.frombuffer(np.clip(values - shift, -(2**31), 2**31 - 1).astype("<i4").tobytes(), np.uint8)
        if sharing[bias.buffer] > 1:  # equal biases (zeros, say) share one buffer: this one gets its own
            sharing[bias.buffer] -= 1
            model.buffers.append(flatbuffer_utils.schema_fb.BufferT())
            bias.buffer = len(model.buffers) - 1
        model.buffers[bias.buffer].data = corrected
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _agreement(expected: np.ndarray, got: np.ndarray, labels: np.ndarray | None,
               calibration: Calibration | None) -> dict[str, Any]:
    """Top-1 agreement of the classes shown (calibrated when given a calibration) and, with labels, the balanced
    accuracy of both models."""
    if calibration is not None:
        expected, got = calibration.apply(expected), calibration.apply(got)
    scores: dict[str, Any] = {"top1_agreement": float(np.mean(expected.argmax(axis=1) == got.argmax(axis=1))),
                              "max_probability_difference": float(np.abs(expected - got).max()),
                              "balanced_accuracy_keras": None, "balanced_accuracy_tflite": None}
    if labels is not None:
        labels, classes = np.asarray(labels), expected.shape[1]
        scores["balanced_accuracy_keras"] = balanced_accuracy(labels, expected.argmax(axis=1), classes)
        scores["balanced_accuracy_tflite"] = balanced_accuracy(labels, got.argmax(axis=1), classes)
    return scores


def _problems(scores: Mapping[str, Any], samples: int) -> list[str]:
    problems = []
    agreement = scores["top1_agreement"]
    if agreement < AGREEMENT_THRESHOLD:
        problems.append(f"it gives a different top-1 class than the Keras model on {1 - agreement:.1%} of "
                        f"{samples} check images (more than {1 - AGREEMENT_THRESHOLD:.0%})")
    if scores["balanced_accuracy_keras"] is not None:
        keras, tflite = scores["balanced_accuracy_keras"], scores["balanced_accuracy_tflite"]
        if keras - tflite > BALANCED_ACCURACY_LOSS_LIMIT:
            problems.append(f"it loses {keras - tflite:.3f} balanced accuracy against the Keras model "
                            f"({tflite:.3f} vs {keras:.3f}; limit {BALANCED_ACCURACY_LOSS_LIMIT})")
    return problems


def _parity(model: Any, target: Path, images: np.ndarray, labels: np.ndarray | None,
            calibration: Calibration | None) -> ExportReport:
    expected = model.predict(images, verbose=0)
    start = time.perf_counter()
    got = run_tflite(target, images, num_threads=1)
    seconds = (time.perf_counter() - start) / len(images)
    scores = _agreement(expected, got, labels, calibration)
    return ExportReport(path=str(target), size_bytes=target.stat().st_size, quantize=None, samples=len(images),
                        seconds_per_image=seconds, calibrated=calibration is not None, **scores,
                        problems=_problems(scores, len(images)))


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
