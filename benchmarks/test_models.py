"""Mobile cost of the classifier: Keras and TFLite (float, dynamic, int8) at 224x224 (one run).

Untrained heads on a random-initialised alpha-1.0 MobileNetV2 (the alpha-1.0 ImageNet file is not
available offline); sizes and latencies do not depend on the weights' values, agreement does.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from conftest import RESULTS

tf = pytest.importorskip("tensorflow")

from dermmodels import build_mobilenetv2_classifier, export_tflite  # noqa: E402
from dermprep.synthetic import make_batch  # noqa: E402


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


@pytest.mark.parametrize("quantize", [None, "dynamic", "int8"])
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
