"""Cost of the classifier: Keras inference and training, TFLite (float, float16, dynamic, int8).

Size and speed at 224x224 use an untrained, random-initialised alpha-1.0 MobileNetV2 (the alpha-1.0
ImageNet file is not available offline); they do not depend on the weights' values. Agreement does, so
it is measured on trained models (``test_quantized_agreement_of_a_trained_model``, about 8 minutes).
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
    batches = [images[i:i + 32] for i in range(0, len(images), 32)]
    model.predict_on_batch(batches[0])  # traces the predict step

    def predict_all() -> None:
        for batch in batches:
            model.predict_on_batch(batch)

    benchmark.pedantic(predict_all, rounds=3, warmup_rounds=1)
    if benchmark.stats is not None:
        RESULTS["keras alpha 1.0 inference images/s"] = len(images) / benchmark.stats.stats.min


@pytest.mark.parametrize("phase", ["frozen base", "whole network"])
def test_keras_training(benchmark, phase):
    """Training throughput at 224x224, batch 32: the paper's frozen base, and fine-tuning everything."""
    import keras

    keras.utils.set_random_seed(0)
    images = make_batch(32, (224, 224), seed=4)[0]
    labels = np.arange(32) % 7
    model = build_mobilenetv2_classifier(7, input_shape=(224, 224, 3), weights=None, alpha=1.0,
                                         freeze_base=phase == "frozen base")
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    x = images.astype(np.float32)
    model.train_on_batch(x, labels)  # builds and traces the train step
    benchmark.pedantic(lambda: model.train_on_batch(x, labels), rounds=5, warmup_rounds=1)
    if benchmark.stats is not None:
        RESULTS[f"keras alpha 1.0 training ({phase}) images/s"] = len(x) / benchmark.stats.stats.min


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


# name: (alpha, ImageNet base frozen?, training images, epochs, learning-rate schedule)
AGREEMENT_SETTINGS = {
    "alpha 1.0 from scratch, trained": (1.0, False, 1400, 12, "cosine"),
    "alpha 1.0 from scratch, 10 short epochs": (1.0, False, 420, 10, "constant"),
    "alpha 0.35 frozen ImageNet + head": (0.35, True, 1400, 20, "constant"),
}


@pytest.mark.parametrize("setting", list(AGREEMENT_SETTINGS))
def test_quantized_agreement_of_a_trained_model(setting, tmp_path):
    """Top-1 agreement of each TFLite form with Keras, on 700 synthetic 96x96 test images, after training.

    The untrained benchmark above says nothing about agreement. Agreement depends on how decided the model
    is: a model trained to convergence has large top-1 margins that int8 rounding rarely overturns, a
    briefly trained one has many near-ties. So the issue's target (int8 >= 98% for alpha 1.0) is measured
    on a converged model, and the short run is kept as the contrast. The ImageNet row needs ../shared/weights.
    """
    import keras

    alpha, frozen, n_train, epochs, schedule = AGREEMENT_SETTINGS[setting]
    if frozen and not SHARED_WEIGHTS.is_file():
        pytest.skip(f"{SHARED_WEIGHTS} is absent")
    keras.utils.set_random_seed(0)
    train_x, train_y = _labelled(n_train, 1, 96)
    test_x, test_y = _labelled(700, 2, 96)
    model = build_mobilenetv2_classifier(7, input_shape=(96, 96, 3), weights=SHARED_WEIGHTS if frozen else None,
                                         alpha=alpha, freeze_base=frozen)
    steps = epochs * -(-n_train // 32)
    rate = keras.optimizers.schedules.CosineDecay(3e-3, steps) if schedule == "cosine" else (1e-3 if frozen else 3e-3)
    model.compile(keras.optimizers.Adam(rate), "sparse_categorical_crossentropy")
    model.fit(train_x, train_y, epochs=epochs, batch_size=32, verbose=0)
    probabilities = model.predict(test_x, verbose=0)
    top2 = np.sort(probabilities, axis=1)[:, -2:]
    RESULTS[f"{setting}: keras test accuracy"] = float(np.mean(probabilities.argmax(1) == test_y))
    RESULTS[f"{setting}: median top-1 margin"] = float(np.median(top2[:, 1] - top2[:, 0]))
    for quantize in (None, "float16", "dynamic", "int8"):
        report = export_tflite(model, tmp_path / "m.tflite", quantize=quantize,
                               representative_data=train_x[:200].astype(np.float32),
                               parity_images=test_x.astype(np.float32))
        name = quantize or "float32"
        RESULTS[f"{setting}: tflite {name} top-1 agreement"] = report.top1_agreement
        RESULTS[f"{setting}: tflite {name} size MB"] = report.size_bytes / 1e6
