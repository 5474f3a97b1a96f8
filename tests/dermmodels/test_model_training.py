"""dermmodels: factory, training (learns, checkpoints, resumes), report, TFLite parity, errors.

Small and offline: alpha 0.35, 64x64 or 96x96 inputs, weights=None or local files.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import dermmodels.export  # noqa: E402
from dermmodels import (  # noqa: E402
    build_mobilenetv2_classifier,
    evaluate,
    export_tflite,
    fine_tune,
    report_from_predictions,
    train,
)


def _toy(n=64, size=64, seed=0):
    """A learnable task: class 1 images are brighter than class 0 images."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    images = rng.integers(0, 100, (n, size, size, 3)) + labels[:, None, None, None] * 120
    return images.astype(np.uint8), labels


def _ds(images, labels, batch=16):
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch)


def test_factory_shapes_and_frozen_base():
    model = build_mobilenetv2_classifier(7, input_shape=(64, 64, 3), weights=None, alpha=0.35)
    assert model.output_shape == (None, 7)
    base = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    assert not base.trainable and len(model.trainable_weights) == 4  # the two dense layers of the head
    unfrozen = build_mobilenetv2_classifier(7, input_shape=(64, 64, 3), weights=None, alpha=0.35, freeze_base=False)
    assert len(unfrozen.trainable_weights) > 50
    probabilities = model.predict(np.zeros((2, 64, 64, 3), np.uint8), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_metadata_branch():
    model = build_mobilenetv2_classifier(3, input_shape=(64, 64, 3), weights=None, alpha=0.35, metadata_features=20)
    out = model.predict({"image": np.zeros((2, 64, 64, 3)), "metadata": np.zeros((2, 20))}, verbose=0)
    assert out.shape == (2, 3)


def test_local_weights_file_is_loaded(tmp_path):
    source = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None)
    path = tmp_path / "base.weights.h5"
    source.save_weights(path)
    model = build_mobilenetv2_classifier(7, input_shape=(96, 96, 3), weights=path, alpha=0.35)
    base = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    for a, b in zip(source.weights[:5], base.weights[:5], strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_shared_imagenet_weights_load(shared_dir):
    path = shared_dir / "weights" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    model = build_mobilenetv2_classifier(7, input_shape=(96, 96, 3), weights=path, alpha=0.35)
    assert model.output_shape == (None, 7)


@pytest.mark.parametrize("alpha", [0.35, 0.5, 0.75, 1.0, 1.3, 1.4])
@pytest.mark.parametrize("size", [96, 224, 200])
def test_weights_file_name_is_the_one_keras_downloads(alpha, size, monkeypatch):
    from keras.src.applications import mobilenet_v2 as keras_mobilenet_v2

    from dermmodels import imagenet_weights_filename

    asked = []

    def get_file(fname, origin, **kwargs):  # Keras' downloader: record the name, download nothing
        asked.append(fname)
        raise _Stop

    monkeypatch.setattr(keras_mobilenet_v2.file_utils, "get_file", get_file)
    with pytest.raises(_Stop), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras: "Weights for input shape (224, 224) will be loaded"
        keras.applications.MobileNetV2(input_shape=(size, size, 3), alpha=alpha, include_top=False,
                                       weights="imagenet")
    written = {0.35: "0.35", 0.5: "0.5", 0.75: "0.75", 1.0: "1.0", 1.3: "1.3", 1.4: "1.4"}[alpha]
    expected = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{written}_{224 if size == 200 else size}_no_top.h5"
    assert asked == [expected] == [imagenet_weights_filename(alpha, size)]


class _Stop(Exception):
    pass


def test_weights_file_name_errors():
    from dermmodels import imagenet_weights_filename

    with pytest.raises(ValueError, match="alpha must be one of"):
        imagenet_weights_filename(0.9)
    with pytest.raises(ValueError, match="image_size"):
        imagenet_weights_filename(0.5, 0)
    with pytest.raises(TypeError, match="image_size"):
        imagenet_weights_filename(0.5, "224")


def test_factory_errors(tmp_path):
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        build_mobilenetv2_classifier(1, weights=None)
    with pytest.raises(ValueError, match="input_shape must be"):
        build_mobilenetv2_classifier(7, input_shape=(64, 64, 1), weights=None)
    with pytest.raises(ValueError, match="alpha must be one of"):
        build_mobilenetv2_classifier(7, alpha=0.9, weights=None)
    with pytest.raises(FileNotFoundError, match="weights file not found.*imagenet"):
        build_mobilenetv2_classifier(7, weights=tmp_path / "missing.h5", alpha=0.35, input_shape=(64, 64, 3))
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"not an hdf5 file")
    with pytest.raises(ValueError, match="could not load weights"):
        build_mobilenetv2_classifier(7, weights=corrupt, alpha=0.35, input_shape=(64, 64, 3))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    images, labels = _toy()
    val_images, val_labels = _toy(32, seed=1)
    model = build_mobilenetv2_classifier(2, input_shape=(64, 64, 3), weights=None, alpha=0.35, dropout=0.0)
    run = tmp_path_factory.mktemp("run")
    history = train(model, _ds(images, labels), _ds(val_images, val_labels), epochs=4, learning_rate=3e-3,
                    run_dir=run, verbose=0)
    return model, history, run, (val_images, val_labels)


def test_training_reduces_loss_and_writes_the_run(trained):
    _, history, run, _ = trained
    assert history["loss"][-1] < history["loss"][0]
    for name in ("best.keras", "best.weights.h5", "history.json", "last.weights.h5", "state.json"):
        assert (run / name).is_file()
    assert json.loads((run / "state.json").read_text())["epoch"] == len(history["loss"])


def test_interrupted_run_resumes(tmp_path):
    images, labels = _toy(32)
    model = build_mobilenetv2_classifier(2, input_shape=(64, 64, 3), weights=None, alpha=0.35)
    first = train(model, _ds(images, labels), _ds(images, labels), epochs=2, run_dir=tmp_path, verbose=0,
                  patience=10)
    assert len(first["loss"]) == 2
    fresh = build_mobilenetv2_classifier(2, input_shape=(64, 64, 3), weights=None, alpha=0.35)
    resumed = train(fresh, _ds(images, labels), _ds(images, labels), epochs=3, run_dir=tmp_path, verbose=0,
                    patience=10)
    assert len(resumed["loss"]) == 3 and resumed["loss"][:2] == first["loss"]


def test_fine_tune_unfreezes_only_the_top_and_keeps_batchnorm_frozen(trained):
    model, _, _, (images, labels) = trained
    fine_tune(model, _ds(images, labels), _ds(images, labels), layers=10, epochs=1, verbose=0)
    base = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    trainable = [layer for layer in base.layers if layer.trainable and layer.weights]
    assert trainable and all(not isinstance(layer, keras.layers.BatchNormalization) for layer in trainable)
    assert all(not layer.trainable for layer in base.layers[:-10])


def test_training_errors_before_any_step():
    model = build_mobilenetv2_classifier(2, input_shape=(64, 64, 3), weights=None, alpha=0.35)
    images, labels = _toy(8)
    unbatched = tf.data.Dataset.from_tensor_slices((images, labels))
    with pytest.raises(ValueError, match="forget .batch"):
        train(model, unbatched, _ds(images, labels), epochs=1)
    wrong = tf.data.Dataset.from_tensor_slices((images[:, :32, :32], labels)).batch(4)
    with pytest.raises(ValueError, match="input 'image' must be batched with shape"):
        train(model, wrong, _ds(images, labels), epochs=1)
    with pytest.raises(ValueError, match="one-hot labels have 3 classes"):
        train(model, _ds(images, np.eye(3)[labels]), _ds(images, labels), epochs=1)
    with pytest.raises(ValueError, match="is empty"):
        train(model, _ds(images, labels).take(0), _ds(images, labels), epochs=1)
    with pytest.raises(ValueError, match="epochs must be"):
        train(model, _ds(images, labels), _ds(images, labels), epochs=0)


def test_report_matches_a_hand_computed_confusion_matrix():
    labels = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 2, 0])
    probabilities = np.eye(3)[predicted] * 0.8 + 0.2 / 3
    report = report_from_predictions(labels, probabilities, ["a", "b", "c"])
    assert report.confusion_matrix == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert report.accuracy == pytest.approx(4 / 6)
    assert report.balanced_accuracy == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert report.per_class["b"]["precision"] == pytest.approx(2 / 3)
    assert report.per_class["c"]["recall"] == pytest.approx(1 / 2)
    with pytest.raises(ValueError, match="class_names has 2 names"):
        report_from_predictions(labels, probabilities, ["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        report_from_predictions(np.zeros(0, int), np.zeros((0, 3)), ["a", "b", "c"])


def test_evaluate_writes_the_report(trained, tmp_path):
    model, history, _, (images, labels) = trained
    report = evaluate(model, _ds(images, labels), class_names=["dark", "bright"], out_dir=tmp_path,
                      history=history, tta=True)
    assert report.samples == len(labels) and 0 <= report.balanced_accuracy <= 1
    for name in ("metrics.json", "confusion_matrix.png", "training_curves.png", "sample_predictions.png",
                 "report.html"):
        assert (tmp_path / name).stat().st_size > 0
    assert "data:image/png;base64" in (tmp_path / "report.html").read_text()


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda images, labels: tf.data.Dataset.from_tensor_slices((images, labels)), ValueError,
     r"dataset must be batched \(dataset.batch\(32\)\); got unbatched images of shape \(64, 64, 3\)"),
    (lambda images, labels: (images, labels), TypeError, "dataset must be a tf.data.Dataset"),
    (lambda images, labels: tf.data.Dataset.from_tensor_slices(images).batch(8), ValueError,
     r"\(images, labels\)"),
])
def test_evaluate_refuses_a_dataset_it_cannot_score_before_the_model_runs(trained, make, error, match):
    model, _, _, (images, labels) = trained
    with pytest.raises(error, match=match):
        evaluate(model, make(images, labels), class_names=["dark", "bright"])


@pytest.mark.parametrize("quantize", [None, "float16", "dynamic", "int8"])
def test_tflite_export_parity(trained, tmp_path, quantize):
    model, _, _, (images, _) = trained
    result = export_tflite(model, tmp_path / "m.tflite", quantize=quantize,
                           representative_data=images.astype(np.float32))
    assert result.size_bytes == (tmp_path / "m.tflite").stat().st_size > 0
    if quantize is None:
        assert result.top1_agreement == 1.0 and result.max_probability_difference < 1e-4
    elif quantize == "float16":
        assert result.top1_agreement == 1.0 and result.max_probability_difference < 0.02
    else:
        assert result.top1_agreement >= 0.9
    assert result.seconds_per_image > 0 and result.acceptable == (result.top1_agreement >= 0.98)
    assert result.float_ops == (["SOFTMAX"] if quantize == "int8" else [])
    assert result.float_layers == 0 and result.bias_corrected == (quantize == "int8") and result.selection == []


def _calibrated(model, images):
    from dermmodels.export import _convert

    return _convert(model, "int8", images.astype(np.float32))


def _int8_tensors(flatbuffer):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer)
    return {t["name"]: t for t in interpreter.get_tensor_details()}


def test_int8_layer_errors_and_float_layers(trained):
    """The debugger's per-layer error, in execution order, and layers kept in float from the input end."""
    from dermmodels.export import int8_layer_errors, quantize_int8

    model, _, _, (images, _) = trained
    calibrated = _calibrated(model, images)
    layers = int8_layer_errors(calibrated, images[:4])
    assert [layer["op"] for layer in layers[:3]] == ["MUL", "ADD", "CONV_2D"]  # scaling to [-1, 1], then Conv1
    assert "SOFTMAX" not in {layer["op"] for layer in layers}  # INT8_FLOAT_OPS: the softmax stays in float
    assert all(np.isfinite(layer["mean"]).all() and layer["rmse_in_steps"] >= 0 for layer in layers)
    conv1 = layers[2]
    assert conv1["mean"].shape == (16,)  # one mean error per output channel of Conv1 (alpha 0.35: 16 filters)
    plain = _int8_tensors(quantize_int8(calibrated))
    first_three = _int8_tensors(quantize_int8(calibrated, float_layers=[layer["name"] for layer in layers[:3]]))
    assert plain[conv1["name"]]["dtype"] == np.int8 and first_three[conv1["name"]]["dtype"] == np.float32
    assert plain[layers[3]["name"]]["dtype"] == first_three[layers[3]["name"]]["dtype"] == np.int8


def test_bias_correction_shifts_each_int8_bias_by_its_mean_error(trained):
    """Reference comparison: every int8 conv's int32 bias moves by exactly -round(mean error / bias scale)."""
    from dermmodels.export import int8_layer_errors, quantize_int8

    model, _, _, (images, _) = trained
    calibrated = _calibrated(model, images)
    layers = int8_layer_errors(calibrated, images[:8])
    plain = _ops_biases(quantize_int8(calibrated))
    corrected = _ops_biases(quantize_int8(calibrated, bias_errors=layers))
    shifts = {}
    for layer in layers:
        if layer["name"] in plain:
            (before, scale), (after, _) = plain[layer["name"]], corrected[layer["name"]]
            shifts[layer["name"]] = np.round(layer["mean"] / scale).astype(np.int64)
            np.testing.assert_array_equal(before - after, shifts[layer["name"]])
    assert len(shifts) >= 40  # every conv, depthwise conv and dense layer (52 in MobileNetV2 and the head)
    assert any(np.any(shift != 0) for shift in shifts.values())  # and some biases do move


def _ops_biases(flatbuffer):
    """{output tensor name: (int32 bias, bias scale)} of every op with an int32 bias."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    graph, found = model.subgraphs[0], {}
    for op in graph.operators:
        if len(op.inputs) >= 3 and op.inputs[2] >= 0 and graph.tensors[op.inputs[2]].type == 2:
            bias = graph.tensors[op.inputs[2]]
            values = np.frombuffer(bytes(model.buffers[bias.buffer].data), dtype="<i4").astype(np.int64)
            found[graph.tensors[op.outputs[0]].name.decode()] = (values, np.asarray(bias.quantization.scale))
    return found


def test_int8_float_layers_auto_chooses_on_the_selection_images(trained, tmp_path, monkeypatch):
    model, _, _, (images, labels) = trained
    result = export_tflite(model, tmp_path / "m.tflite", quantize="int8", representative_data=images.astype(np.float32),
                           float_layers="auto", selection_images=images[:16], selection_labels=labels[:16])
    tried = [entry["float_layers"] for entry in result.selection]
    # 16 images cannot show 98% with a margin (the lower bound of 16/16 is 0.86): every step is tried, and the
    # fewest that pass without the margin are taken.
    assert all(entry["top1_agreement_lower_bound"] < 0.98 for entry in result.selection)
    assert tried == [k for k in dermmodels.export.INT8_FLOAT_LAYER_STEPS if k <= tried[-1]]
    passing = [e for e in result.selection
               if e["top1_agreement"] >= 0.98 and e["balanced_accuracy_keras"] - e["balanced_accuracy_tflite"] <= 0.01]
    assert passing and result.float_layers == passing[0]["float_layers"] and not result.float_layers_margin
    # With a selection set large enough for the margin, the first step that shows it ends the search.
    monkeypatch.setattr(dermmodels.export, "agreement_lower_bound", lambda agreement, samples: agreement)
    sure = export_tflite(model, tmp_path / "m.tflite", quantize="int8", representative_data=images.astype(np.float32),
                         float_layers="auto", selection_images=images[:16], selection_labels=labels[:16])
    assert sure.float_layers == passing[0]["float_layers"] == sure.selection[-1]["float_layers"]
    assert sure.float_layers_margin
    monkeypatch.undo()
    monkeypatch.setattr(dermmodels.export, "AGREEMENT_THRESHOLD", 1.01)  # nothing can reach it: every step is tried
    refused = export_tflite(model, tmp_path / "m.tflite", quantize="int8", representative_data=images.astype(np.float32),
                            float_layers="auto", selection_images=images[:16])
    steps = [entry["float_layers"] for entry in refused.selection]
    assert steps == [k for k in dermmodels.export.INT8_FLOAT_LAYER_STEPS if k <= steps[-1]] and len(steps) >= 8
    assert refused.float_layers == steps[-1] and not refused.acceptable
    assert refused.size_bytes > result.size_bytes  # more layers in float: float32 weights


def test_agreement_lower_bound():
    from dermmodels.export import agreement_lower_bound

    assert agreement_lower_bound(0.9807, 1506) < 0.98 <= agreement_lower_bound(0.99, 1506) < 0.99
    assert agreement_lower_bound(1.0, 132) < 0.98 <= agreement_lower_bound(1.0, 133)  # the smallest set that can
    assert agreement_lower_bound(0.0, 10) == 0.0 and agreement_lower_bound(0.99, 10**7) == pytest.approx(0.99, abs=1e-4)
    with pytest.raises(ValueError, match="agreement"):
        agreement_lower_bound(1.5, 1000)
    with pytest.raises(ValueError, match="samples"):
        agreement_lower_bound(0.9, 0)


def test_export_errors(trained, tmp_path):
    model, _, _, _ = trained
    with pytest.raises(ValueError, match="quantize must be"):
        export_tflite(model, tmp_path / "m.tflite", quantize="bfloat16")
    with pytest.raises(ValueError, match="needs representative_data"):
        export_tflite(model, tmp_path / "m.tflite", quantize="int8")
    images = np.zeros((4, *model.inputs[0].shape[1:]), np.float32)
    with pytest.raises(ValueError, match="float_ops must be TFLite op names"):
        export_tflite(model, tmp_path / "m.tflite", quantize="int8", representative_data=images, float_ops=["dense"])
    with pytest.raises(ValueError, match=r"parity_labels must have one label per parity image \(4\); got 2"):
        export_tflite(model, tmp_path / "m.tflite", parity_images=images, parity_labels=[0, 1])
    with pytest.raises(ValueError, match=r"parity_images must have shape \(N, "):
        export_tflite(model, tmp_path / "m.tflite", parity_images=images[:, :8])
    for bad in (-1, "all", 1.5, True):
        with pytest.raises(ValueError, match=f"float_layers must be an int >= 0 or 'auto'; got {bad!r}"):
            export_tflite(model, tmp_path / "m.tflite", quantize="int8", representative_data=images, float_layers=bad)
    with pytest.raises(ValueError, match="float_layers='auto' needs selection_images"):
        export_tflite(model, tmp_path / "m.tflite", quantize="int8", representative_data=images, float_layers="auto")
    with pytest.raises(ValueError, match=r"selection_labels must have one label per selection image \(4\); got 3"):
        export_tflite(model, tmp_path / "m.tflite", quantize="int8", representative_data=images, float_layers="auto",
                      selection_images=images, selection_labels=[0, 1, 0])


def test_training_under_a_cpu_mirrored_strategy():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    images, labels = _toy(32)
    with strategy.scope():
        model = build_mobilenetv2_classifier(2, input_shape=(64, 64, 3), weights=None, alpha=0.35)
    history = train(model, _ds(images, labels), _ds(images, labels), epochs=2, strategy=strategy, verbose=0,
                    patience=10)
    assert len(history["loss"]) == 2 and np.isfinite(history["loss"]).all()


def test_batchnorm_learns_only_when_training_from_scratch():
    import keras

    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    for freeze, should_move in ((False, True), (True, False)):
        model = build_mobilenetv2_classifier(3, input_shape=(32, 32, 3), weights=None, alpha=0.35,
                                             freeze_base=freeze)
        base = next(layer for layer in model.layers if isinstance(layer, keras.Model))
        bn = next(layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization))
        before = bn.moving_mean.numpy().copy()
        model(x, training=True)
        moved = not np.allclose(before, bn.moving_mean.numpy())
        assert moved == should_move
        assert bn.momentum == (0.9 if should_move else 0.999)


def test_epochs_stream_gives_one_dermprep_epoch_per_keras_epoch():
    """Issue 22 item 1: train over tfdata.epochs() with no steps_per_epoch ran every dermprep epoch in each Keras
    epoch (Keras only warned 'Your input ran out of data'); the steps now come from the stream."""
    import warnings

    import dermprep.tfdata as T

    images, labels = _toy(16, size=32)
    seen = []

    def epoch(e):
        seen.append(e)
        return T.from_arrays(images, labels, batch_size=8, sampling="shuffle", seed=0, epoch=e)

    model = build_mobilenetv2_classifier(2, input_shape=(32, 32, 3), weights=None, alpha=0.35)
    stream = T.epochs(epoch, stop=2)
    assert T.epoch_lengths(stream) == (2, 2) and int(stream.cardinality()) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Your input ran out of data" would fail the test
        history = train(model, stream.prefetch(1), _ds(images, labels), epochs=2, verbose=0)
    assert len(history["loss"]) == 2
    with pytest.raises(ValueError, match=r"holds 2 epochs and 3 are to be trained.*stop=3"):
        train(model, T.epochs(epoch, stop=2), _ds(images, labels), epochs=3, verbose=0)
    unknown = T.epochs(lambda e: _ds(images, labels).filter(lambda x, y: True), stop=2)
    assert T.epoch_lengths(unknown) is None
    with pytest.raises(ValueError, match="unknown number of batches.*steps_per_epoch"):
        train(model, unknown, _ds(images, labels), epochs=2, verbose=0)


def test_nan_inputs_stop_training_with_a_message_naming_the_data():
    """Issue 22 item 9: a float image with a NaN pixel trained a NaN model without an error."""
    images, labels = _toy(16, size=32)
    floats = images.astype(np.float32)
    floats[3, 5, 5, 0] = np.nan
    model = build_mobilenetv2_classifier(2, input_shape=(32, 32, 3), weights=None, alpha=0.35)
    with pytest.raises(ValueError, match=r"^train_ds input 'image' holds NaN or inf values"):
        train(model, _ds(floats, labels, batch=8), _ds(images, labels), epochs=2, verbose=0)
    with pytest.raises(ValueError, match=r"^val_ds input 'image' holds NaN or inf values"):
        train(model, _ds(images, labels), _ds(floats, labels, batch=8), epochs=1, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())  # stopped before the NaN reached the weights
