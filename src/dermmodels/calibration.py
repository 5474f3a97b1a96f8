"""From the model's probabilities to decisions and probabilities that mean what they say.

Two corrections, both chosen on the validation split and stored in the run
(``calibration.json``), both applied by `Run.predict()`, ``dermmodels
evaluate`` and ``predict``:

- the **prior correction** divides the probabilities by the class
  frequencies the model was trained on (the sampling's prior) to a power
  ``tau``, so rare classes are not under-predicted (`choose_tau()`);
- **temperature scaling** (Guo et al., ICML 2017) divides the log
  probabilities by one number ``T`` fitted to minimise the validation
  negative log-likelihood (`fit_temperature()`), so a predicted 0.8 is right
  about 80% of the time; it never changes which class wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["TAUS", "Calibration", "balanced_accuracy", "choose_tau", "correct", "expected_calibration_error",
           "fit_temperature", "scale_temperature"]

#: Powers of the training prior tried on the validation split by the prior correction.
TAUS = tuple(np.round(np.arange(0.0, 1.01, 0.1), 2).tolist())


def correct(probabilities: np.ndarray, prior: np.ndarray, tau: float) -> np.ndarray:
    """``p / prior ** tau``, renormalised (classes never seen keep probability 0)."""
    adjusted = probabilities / np.where(prior > 0, prior, 1.0) ** tau
    return adjusted / np.maximum(adjusted.sum(axis=1, keepdims=True), 1e-12)


def balanced_accuracy(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> float:
    """Mean recall over the classes present in ``labels``."""
    recalls = [float(np.mean(predicted[labels == c] == c)) for c in range(num_classes) if np.any(labels == c)]
    return float(np.mean(recalls)) if recalls else float("nan")


def choose_tau(probabilities: np.ndarray, labels: np.ndarray, prior: np.ndarray) -> tuple[float, float]:
    """The power of the prior correction with the best balanced accuracy (ties: the smallest), and that accuracy."""
    num_classes = probabilities.shape[1]
    best = (-1.0, 0.0)
    for tau in TAUS:
        score = balanced_accuracy(labels, correct(probabilities, prior, tau).argmax(axis=1), num_classes)
        if score > best[0] + 1e-12:
            best = (score, tau)
    return best[1], best[0]


def scale_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(p) / T)``: the same ranking, sharper (T < 1) or softer (T > 1)."""
    if temperature == 1.0:
        return probabilities
    with np.errstate(divide="ignore"):
        logits = np.log(probabilities) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def _nll(probabilities: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    scaled = scale_temperature(probabilities, temperature)
    return float(-np.mean(np.log(np.maximum(scaled[np.arange(labels.size), labels], 1e-12))))


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray, *, bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """The temperature minimising the negative log-likelihood of ``labels`` (golden-section search on log T).

    The likelihood is convex in ``1 / T`` for fixed log probabilities, so the
    search finds its minimum within ``bounds``.
    """
    low, high = np.log(bounds[0]), np.log(bounds[1])
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = _nll(probabilities, labels, float(np.exp(a))), _nll(probabilities, labels, float(np.exp(b)))
    for _ in range(60):
        if fa <= fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = _nll(probabilities, labels, float(np.exp(a)))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = _nll(probabilities, labels, float(np.exp(b)))
    return float(np.exp((low + high) / 2.0))


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top-1 confidence: the bin-size-weighted mean of
    ``|accuracy - mean confidence|`` over ``bins`` equal-width confidence bins (Guo et al. 2017)."""
    confidence = probabilities.max(axis=1)
    correct_top1 = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        chosen = index == b
        if chosen.any():
            error += chosen.mean() * abs(correct_top1[chosen].mean() - confidence[chosen].mean())
    return float(error)


@dataclass(frozen=True)
class Calibration:
    """What a run does to its model's probabilities: prior correction, then temperature.

    Attributes
    ----------
    prior : tuple of float
        The class frequencies the model learned from.
    tau : float
        Power of the prior correction (0: none).
    temperature : float
        Softmax temperature applied after the correction (1: none).
    validation : dict
        Scores on the validation split that chose them (empty when fixed).
    """

    prior: tuple[float, ...]
    tau: float = 0.0
    temperature: float = 1.0
    validation: Mapping[str, Any] | None = None

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (N, C) from the model's (TTA-averaged) probabilities."""
        return scale_temperature(correct(probabilities, np.asarray(self.prior), self.tau), self.temperature)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["prior"] = list(self.prior)
        values["validation"] = dict(self.validation or {})
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Calibration:
        """From `to_dict()`, or from a dermprep 0.2 ``calibration.json`` (no temperature: 1)."""
        validation = values.get("validation") or {k: v for k, v in values.items()
                                                  if k not in ("prior", "tau", "temperature")}
        return cls(prior=tuple(float(p) for p in values["prior"]), tau=float(values.get("tau", 0.0)),
                   temperature=float(values.get("temperature", 1.0)), validation=validation)
