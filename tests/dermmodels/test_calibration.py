"""Calibration: the prior correction and temperature scaling, and the expected calibration error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dermmodels.calibration import (
    Calibration,
    choose_tau,
    correct,
    expected_calibration_error,
    fit_temperature,
    scale_temperature,
)


def _overconfident(n=3000, classes=4, true_temperature=2.5, seed=0):
    """Labels drawn from softmax(z); the model reports softmax(z * T): over-confident by T."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.5, (n, classes))
    truth = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(classes, p=p) for p in truth])
    reported = np.exp(logits * true_temperature)
    return reported / reported.sum(axis=1, keepdims=True), labels


def test_temperature_scaling_recovers_a_known_overconfidence_and_lowers_the_ece():
    probabilities, labels = _overconfident()
    temperature = fit_temperature(probabilities, labels)
    assert temperature == pytest.approx(2.5, rel=0.08)
    before = expected_calibration_error(probabilities, labels)
    after = expected_calibration_error(scale_temperature(probabilities, temperature), labels)
    assert after < before / 3 and after < 0.03


def test_ece_of_a_perfectly_calibrated_model_is_small_and_of_a_wrong_one_large():
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.5, 1.0, 20000)
    correct_top1 = rng.uniform(size=confidence.size) < confidence
    probabilities = np.stack([confidence, 1 - confidence], axis=1)
    labels = np.where(correct_top1, 0, 1)
    assert expected_calibration_error(probabilities, labels) < 0.02
    assert expected_calibration_error(probabilities, 1 - labels) > 0.4


@settings(max_examples=30, deadline=None)
@given(st.floats(0.2, 5.0), st.integers(0, 2**31))
def test_temperature_never_changes_the_decision_and_keeps_rows_normalised(temperature, seed):
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.ones(5), 50)
    scaled = scale_temperature(probabilities, temperature)
    np.testing.assert_array_equal(scaled.argmax(axis=1), probabilities.argmax(axis=1))
    np.testing.assert_allclose(scaled.sum(axis=1), 1.0)
    kept = probabilities.copy()
    Calibration(prior=(0.2,) * 5, tau=0.5, temperature=temperature).apply(probabilities)
    np.testing.assert_array_equal(probabilities, kept)  # inputs untouched


def test_prior_correction_helps_the_rare_class_and_round_trips():
    rng = np.random.default_rng(2)
    labels = rng.choice(2, 4000, p=[0.9, 0.1])
    scores = np.clip(rng.normal(0.3 + 0.4 * labels, 0.2), 0.01, 0.99)
    probabilities = np.stack([1 - scores * 0.5, scores * 0.5], axis=1)  # a model that under-calls class 1
    prior = np.array([0.9, 0.1])
    tau, corrected = choose_tau(probabilities, labels, prior)
    assert tau > 0 and corrected > 0.75
    calibration = Calibration(prior=(0.9, 0.1), tau=tau, temperature=1.3, validation={"images": 4000})
    assert Calibration.from_dict(calibration.to_dict()) == calibration
    np.testing.assert_allclose(calibration.apply(probabilities),
                               scale_temperature(correct(probabilities, prior, tau), 1.3))
    old = Calibration.from_dict({"prior": [0.9, 0.1], "tau": 0.4, "val_balanced_accuracy": 0.7, "tta": True})
    assert old.temperature == 1.0 and old.validation["val_balanced_accuracy"] == 0.7  # dermprep 0.2 runs load
