"""Mobile cost of the classifier: Keras and TFLite (float, float16, dynamic, int8).

Size and latency at 224x224 use an untrained, random-initialised alpha-1.0 MobileNetV2 (the alpha-1.0
ImageNet file is not available offline); they do not depend on the weights' values. Agreement does, so
it is measured on trained models (``test_quantized_agreement_of_a_trained_model``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from conftest import RESULTS

tf = pytest.importorskip("tensorflow")

from dermmodels import build_mobilenetv2_classifier, export_tflite  # noqa: E402
from dermprep.synthetic import make_batch, make_sample  # noqa: E402


@pytest.fixture(scope="module")
def model_and_images():
    images = make_batch(64, (224, 224), seed=3)[0].astype(np.float32)
    model = build_mobilenetv2_classifier(7, input_shape=(224, 224, 3), weights=None, alpha=1.0)
    return model, images


def test_keras_inference(benchmark, model_and_images):
    model, images = model_and_images
    model.predict(images[:32], verbose=0)
    benchmark.pedantic(lambda: model.predict(images, batch_size=32, verbose=0), rounds=3, warmup_rounds=1)
    if benchmark.stats is not None:
        RESULTS["keras alpha 1.0 inference images/s"] = len(images) / benchmark.stats.stats.min


@pytest.mark.parametrize("quantize", [None, "float16", "dynamic", "int8"])
def test_tflite(benchmark, model_and_images, tmp_path, quantize):
    model, images = model_and_images
    start = time.perf_counter()
    report = benchmark.pedantic(
        export_tflite, args=(model, tmp_path / "m.tflite"),
        kwargs={"quantize": quantize, "representative_data": images}, rounds=1, warmup_rounds=0,
    )
    name = quantize or "float"
    RESULTS[f"tflite {name}: size MB"] = report.size_bytes / 1e6
    RESULTS[f"tflite {name}: ms per image (1 thread)"] = 1e3 * report.seconds_per_image
    RESULTS[f"tflite {name}: top-1 agreement with keras"] = report.top1_agreement
    RESULTS[f"tflite {name}: export + check seconds"] = time.perf_counter() - start


SHARED_WEIGHTS = (Path(__file__).resolve().parents[2] / "shared" / "weights"
                  / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5")


def _labelled(n: int, seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    samples = [make_sample((size, size), rng=np.random.default_rng([seed, i]), label=i % 7) for i in range(n)]
    return np.stack([s.image for s in samples]), np.array([s.label for s in samples])


@pytest.mark.parametrize("setting", ["alpha 1.0 from scratch", "alpha 0.35 frozen ImageNet"])
def test_quantized_agreement_of_a_trained_model(setting, tmp_path):
    """Top-1 agreement of each TFLite form with Keras, on 280 synthetic test images, after training.

    The untrained benchmark above says nothing about agreement; this trains on 420 synthetic 96x96
    images (balanced classes) first. The ImageNet row needs ../shared/weights.
    """
    import keras

    if setting.startswith("alpha 0.35") and not SHARED_WEIGHTS.is_file():
        pytest.skip(f"{SHARED_WEIGHTS} is absent")
    keras.utils.set_random_seed(0)
    train_x, train_y = _labelled(420, 1, 96)
    test_x, test_y = _labelled(280, 2, 96)
    scratch = setting.startswith("alpha 1.0")
    model = build_mobilenetv2_classifier(7, input_shape=(96, 96, 3), weights=None if scratch else SHARED_WEIGHTS,
                                         alpha=1.0 if scratch else 0.35, freeze_base=not scratch)
    model.compile(keras.optimizers.Adam(3e-3 if scratch else 1e-3), "sparse_categorical_crossentropy")
    model.fit(train_x, train_y, epochs=10 if scratch else 5, batch_size=32, verbose=0)
    RESULTS[f"trained {setting}: keras test accuracy"] = float(
        np.mean(model.predict(test_x, verbose=0).argmax(1) == test_y))
    for quantize in (None, "float16", "dynamic", "int8"):
        report = export_tflite(model, tmp_path / "m.tflite", quantize=quantize,
                               representative_data=train_x[:200].astype(np.float32),
                               parity_images=test_x.astype(np.float32))
        name = quantize or "float32"
        RESULTS[f"trained {setting}: tflite {name} top-1 agreement"] = report.top1_agreement
        RESULTS[f"trained {setting}: tflite {name} size MB"] = report.size_bytes / 1e6
