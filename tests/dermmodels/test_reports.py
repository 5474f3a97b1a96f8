"""Calibration in every evaluation report (ECE, reliability diagram) and the export sidecar's checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

from dermmodels.calibration import expected_calibration_error, scale_temperature  # noqa: E402
from dermmodels.evaluation import reliability, report_from_predictions, write_report  # noqa: E402
from dermmodels.export import read_sidecar, sidecar_path  # noqa: E402

NAMES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]


def _calibrated(n, rng, sharpness=2.0):
    """Labels drawn from the predicted probabilities themselves: calibrated by construction."""
    probabilities = rng.dirichlet(np.full(len(NAMES), 1.0 / sharpness), size=n)
    labels = np.array([rng.choice(len(NAMES), p=p) for p in probabilities])
    return labels, probabilities


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 200), st.integers(2, 20), st.integers(0, 2**31 - 1))
def test_reliability_bins_count_every_image_and_match_the_ece(n, bins, seed):
    rng = np.random.default_rng(seed)
    labels, probabilities = _calibrated(n, rng)
    kept = probabilities.copy()
    curve = reliability(labels, probabilities, bins)
    np.testing.assert_array_equal(probabilities, kept)  # inputs untouched
    assert sum(curve["count"]) == n and len(curve["accuracy"]) == bins
    assert curve["ece"] == pytest.approx(expected_calibration_error(probabilities, labels, bins))
    count = np.array(curve["count"])
    gaps = np.abs(np.array(curve["accuracy"]) - np.array(curve["confidence"]))
    assert curve["ece"] == pytest.approx(float(np.sum(count[count > 0] * gaps[count > 0]) / n))


def test_report_gives_ece_before_and_after_temperature():
    rng = np.random.default_rng(0)
    labels, probabilities = _calibrated(3000, rng)
    overconfident = scale_temperature(probabilities, 0.5)  # what temperature scaling (T = 2) would undo
    report = report_from_predictions(labels, probabilities, NAMES, before_temperature=overconfident)
    assert report.ece < 0.03 < report.ece_before_temperature  # calibrated by construction vs over-confident
    assert set(report.reliability) == {"before_temperature", "after_temperature"}
    assert "expected calibration error (15 bins)" in report.summary()
    alone = report_from_predictions(labels, probabilities, NAMES)
    assert alone.ece == pytest.approx(report.ece) and alone.ece_before_temperature is None
    with pytest.raises(ValueError, match=r"before_temperature must have shape \(N=3000, C\)"):
        report_from_predictions(labels, probabilities, NAMES, before_temperature=overconfident[:10])


def test_write_report_draws_the_reliability_diagram_and_grad_cam_panels(tmp_path):
    rng = np.random.default_rng(1)
    labels, probabilities = _calibrated(50, rng)
    report = report_from_predictions(labels, probabilities, NAMES, before_temperature=probabilities)
    examples = list(rng.integers(0, 255, (3, 32, 32, 3), dtype=np.uint8))
    heatmaps = [rng.uniform(0, 1, (32, 32)).astype(np.float32) for _ in examples]
    page = write_report(report, tmp_path, examples=examples, example_labels=labels[:3],
                        example_probabilities=probabilities[:3], example_heatmaps=heatmaps).read_text()
    for name in ("reliability_diagram.png", "where_the_model_looked.png", "sample_predictions.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert "reliability diagram" in page and "where the model looked" in page
    assert json.loads((tmp_path / "metrics.json").read_text())["reliability"]["after_temperature"]["bins"] == 15
    with pytest.raises(ValueError, match="one map per example"):
        write_report(report, tmp_path, examples=examples, example_labels=labels[:3],
                     example_probabilities=probabilities[:3], example_heatmaps=heatmaps[:1])


def test_sidecar_errors_name_the_file(tmp_path):
    model = tmp_path / "model.tflite"
    assert sidecar_path(model) == tmp_path / "model.tflite.json"
    with pytest.raises(FileNotFoundError, match=r"model\.tflite\.json' not found"):
        read_sidecar(model)
    sidecar_path(model).write_text(json.dumps({"format": 99}))
    with pytest.raises(ValueError, match="not a dermmodels export sidecar: format 99"):
        read_sidecar(model)
    sidecar_path(model).write_text(json.dumps({"format": 1, "class_names": ["a"]}))
    with pytest.raises(ValueError, match="not a dermmodels export sidecar"):
        read_sidecar(model)


def test_with_and_without_temperature_keeps_the_prior_correction():
    from dermmodels.calibration import Calibration
    from dermmodels.evaluation import with_and_without_temperature

    rng = np.random.default_rng(2)
    probabilities = rng.dirichlet(np.ones(3), size=20)
    calibration = Calibration(prior=(0.6, 0.3, 0.1), tau=0.5, temperature=0.7)
    kept = probabilities.copy()
    after, before = with_and_without_temperature(calibration, probabilities)
    np.testing.assert_allclose(after, calibration.apply(probabilities))
    np.testing.assert_allclose(before, Calibration(prior=(0.6, 0.3, 0.1), tau=0.5).apply(probabilities))
    np.testing.assert_array_equal(after.argmax(1), before.argmax(1))  # temperature never changes the class
    np.testing.assert_array_equal(probabilities, kept)
