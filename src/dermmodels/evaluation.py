"""Evaluation report: scikit-learn metrics, matplotlib figures, a self-contained HTML page."""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["EvaluationReport", "bootstrap_interval", "evaluate", "operating_point", "report_from_predictions",
           "write_report"]

#: The class whose screening operating points every report gives (when the run has it).
SCREENED_CLASS = "mel"


@dataclass
class EvaluationReport:
    """Metrics of a classifier on a labelled dataset.

    ``balanced_accuracy`` is the mean per-class recall, the ISIC 2018 metric.
    ``roc_auc`` is one-vs-rest per class (NaN for a class absent from the labels).
    """

    class_names: list[str]
    accuracy: float
    balanced_accuracy: float
    macro_f1: float
    weighted_f1: float
    per_class: dict[str, dict[str, float]]
    confusion_matrix: list[list[int]]
    roc_auc: dict[str, float]
    samples: int
    balanced_accuracy_interval: tuple[float, float] | None = None
    groups: int | None = None
    operating_points: dict[str, dict[str, float]] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON; undefined values (an AUC for an absent class) are ``None``."""
        return _finite(asdict(self))

    def summary(self) -> str:
        """A text table of the headline and per-class metrics."""
        interval = ""
        if self.balanced_accuracy_interval is not None:
            low, high = self.balanced_accuracy_interval
            interval = f" (95% CI {low:.3f}-{high:.3f}, {self.groups} groups resampled)"
        lines = [
            f"samples {self.samples}  accuracy {self.accuracy:.4f}  balanced accuracy {self.balanced_accuracy:.4f}"
            f"{interval}  macro F1 {self.macro_f1:.4f}  weighted F1 {self.weighted_f1:.4f}",
            f"{'class':8s} {'precision':>9s} {'recall':>7s} {'f1':>6s} {'support':>8s} {'auc':>6s}",
        ]
        for name in self.class_names:
            c = self.per_class[name]
            lines.append(
                f"{name:8s} {c['precision']:9.3f} {c['recall']:7.3f} {c['f1']:6.3f} {int(c['support']):8d} "
                f"{self.roc_auc[name]:6.3f}"
            )
        for name, point in (self.operating_points or {}).items():
            lines.append(
                f"{name} as a screening test: sensitivity {point['sensitivity_at_specificity']:.3f} at specificity "
                f"{point['specificity']:.2f} (p({name}) > {point['threshold_at_specificity']:.3f}); sensitivity "
                f"{point['sensitivity']:.2f} needs p({name}) >= {point['threshold_for_sensitivity']:.3f} "
                f"(specificity {point['specificity_at_sensitivity']:.3f})")
        return "\n".join(lines)


def _finite(value: Any) -> Any:
    """NaN and inf -> None, recursively (JSON has no NaN)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def operating_point(labels: Any, probabilities: Any, positive: int, *, specificity: float = 0.8,
                    sensitivity: float = 0.9) -> dict[str, float]:
    """One class as a screening test, scored by its predicted probability: the sensitivity at a given
    specificity, and the threshold (and specificity) that reaches a given sensitivity.

    "Positive" means ``p > threshold_at_specificity`` (at least ``specificity``
    of the other images stay below it) or ``p >= threshold_for_sensitivity``
    (at least ``sensitivity`` of the class' images reach it).

    Examples
    --------
    >>> point = operating_point([0, 0, 0, 0, 0, 1, 1], np.array([[.9, .1], [.8, .2], [.7, .3], [.6, .4], [.5, .5],
    ...                         [.3, .7], [.45, .55]]), 1)
    >>> point["sensitivity_at_specificity"], point["threshold_for_sensitivity"]
    (1.0, 0.55)
    """
    labels = np.asarray(labels)
    scores = np.asarray(probabilities, dtype=np.float64)[:, positive]
    positives, negatives = np.sort(scores[labels == positive])[::-1], np.sort(scores[labels != positive])
    if positives.size == 0 or negatives.size == 0:
        raise ValueError(f"an operating point needs images of class {positive} and of other classes")
    at_specificity = float(negatives[int(np.ceil(specificity * negatives.size)) - 1])
    for_sensitivity = float(positives[int(np.ceil(sensitivity * positives.size)) - 1])
    return {"specificity": specificity, "threshold_at_specificity": at_specificity,
            "sensitivity_at_specificity": float(np.mean(positives > at_specificity)),
            "sensitivity": sensitivity, "threshold_for_sensitivity": for_sensitivity,
            "specificity_at_sensitivity": float(np.mean(negatives < for_sensitivity)), "positives": int(positives.size)}


def bootstrap_interval(
    labels: Any, predicted: Any, groups: Any, num_classes: int, *, resamples: int = 2000, seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the balanced accuracy, resampling *groups* (lesions, patients), not images.

    Images of one lesion are not independent; resampling lesions with
    replacement keeps them together. Balanced accuracy in a resample is the
    mean recall over the classes it contains.
    """
    labels = np.asarray(labels, dtype=np.int64)
    correct = np.asarray(predicted) == labels
    _, group_index = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    n_groups = int(group_index.max()) + 1
    # per group and class: images and correct images
    totals = np.zeros((n_groups, num_classes))
    hits = np.zeros((n_groups, num_classes))
    np.add.at(totals, (group_index, labels), 1.0)
    np.add.at(hits, (group_index, labels), correct.astype(float))
    rng = np.random.default_rng(seed)
    scores = np.empty(resamples)
    for b in range(resamples):
        counts = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups).astype(float)
        t, h = counts @ totals, counts @ hits
        present = t > 0
        scores[b] = np.mean(h[present] / t[present])
    tail = (1.0 - level) / 2.0
    return float(np.quantile(scores, tail)), float(np.quantile(scores, 1.0 - tail))


def report_from_predictions(labels: Any, probabilities: Any, class_names: Sequence[str], *,
                            groups: Any = None, resamples: int = 2000, seed: int = 0) -> EvaluationReport:
    """Build the report from integer labels [N] and predicted probabilities [N, C].

    With ``groups`` (a lesion or patient id per image), the balanced
    accuracy gets a 95% bootstrap interval resampling groups.
    """
    from dermprep.runtime import require  # noqa: PLC0415

    metrics = require("sklearn.metrics", "evaluation metrics")
    accuracy_score, balanced_accuracy_score = metrics.accuracy_score, metrics.balanced_accuracy_score
    confusion_matrix, f1_score, roc_auc_score = metrics.confusion_matrix, metrics.f1_score, metrics.roc_auc_score
    precision_recall_fscore_support = metrics.precision_recall_fscore_support

    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    names = list(class_names)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    if probabilities.ndim != 2 or probabilities.shape[0] != labels.shape[0]:
        raise ValueError(
            f"probabilities must have shape (N={labels.shape[0]}, C); got {probabilities.shape}"
        )
    if probabilities.shape[1] != len(names):
        raise ValueError(f"class_names has {len(names)} names for {probabilities.shape[1]} model outputs")
    if labels.size == 0:
        raise ValueError("cannot evaluate on an empty dataset")
    if labels.min() < 0 or labels.max() >= len(names):
        raise ValueError(f"labels must lie in [0, {len(names) - 1}]; got [{labels.min()}, {labels.max()}]")
    predicted = probabilities.argmax(axis=1)
    classes = list(range(len(names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=classes, zero_division=0
    )
    auc: dict[str, float] = {}
    for c, name in enumerate(names):
        positives = labels == c
        auc[name] = (
            float(roc_auc_score(positives, probabilities[:, c])) if 0 < positives.sum() < labels.size else float("nan")
        )
    present = np.unique(labels)
    interval, n_groups = None, None
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != labels.shape:
            raise ValueError(f"groups must have one entry per image ({labels.size}); got shape {groups.shape}")
        interval = bootstrap_interval(labels, predicted, groups, len(names), resamples=resamples, seed=seed)
        n_groups = int(np.unique(groups.astype(str)).size)
    screened = names.index(SCREENED_CLASS) if SCREENED_CLASS in names else None
    points = {SCREENED_CLASS: operating_point(labels, probabilities, screened)} \
        if screened is not None and 0 < np.sum(labels == screened) < labels.size else None
    return EvaluationReport(
        operating_points=points,
        class_names=names,
        accuracy=float(accuracy_score(labels, predicted)),
        # mean recall over the classes present (scikit-learn warns and skips absent ones otherwise)
        balanced_accuracy=float(np.mean(recall[present])) if present.size < len(names)
        else float(balanced_accuracy_score(labels, predicted)),
        macro_f1=float(f1_score(labels, predicted, labels=classes, average="macro", zero_division=0)),
        weighted_f1=float(f1_score(labels, predicted, labels=classes, average="weighted", zero_division=0)),
        per_class={
            name: {"precision": float(precision[c]), "recall": float(recall[c]), "f1": float(f1[c]),
                   "support": float(support[c])}
            for c, name in enumerate(names)
        },
        confusion_matrix=confusion_matrix(labels, predicted, labels=classes).tolist(),
        roc_auc=auc,
        samples=int(labels.size),
        balanced_accuracy_interval=interval,
        groups=n_groups,
    )


def _predict(model: Any, dataset: Any, tta: bool) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    import tensorflow as tf  # noqa: PLC0415

    labels, probabilities, examples = [], [], []
    for x, y in dataset:
        views = [x]
        if tta:  # flips and a quarter turn, averaged (dermoscopy has no orientation)
            image = x["image"] if isinstance(x, dict) else x
            variants = [tf.reverse(image, [2]), tf.reverse(image, [1]), tf.image.rot90(image)]
            if image.shape[1] != image.shape[2]:
                variants = variants[:2]
            views += [{**x, "image": v} if isinstance(x, dict) else v for v in variants]
        p = np.mean([model(v, training=False).numpy() for v in views], axis=0)
        probabilities.append(p)
        labels.append(y.numpy())
        if len(examples) < 16:
            image = (x["image"] if isinstance(x, dict) else x).numpy()
            examples.extend(list(image[: 16 - len(examples)]))
    if not labels:
        raise ValueError("cannot evaluate on an empty dataset")
    return np.concatenate(labels), np.concatenate(probabilities), examples


def evaluate(
    model: Any,
    dataset: Any,
    *,
    class_names: Sequence[str],
    out_dir: str | os.PathLike[str] | None = None,
    history: dict[str, list[float]] | None = None,
    tta: bool = False,
) -> EvaluationReport:
    """Evaluate a classifier on a batched dataset of ``(image, label)`` (or dict inputs).

    Parameters
    ----------
    model : keras.Model
    dataset : tf.data.Dataset
        Batched; labels int or one-hot.
    class_names : sequence of str
    out_dir : path, optional
        Write ``metrics.json``, ``confusion_matrix.png`` (counts and
        row-normalised), ``training_curves.png`` (with ``history``),
        ``sample_predictions.png`` and ``report.html`` (self-contained).
    history : dict, optional
        Keras ``History.history`` (or the saved JSON) for the curves.
    tta : bool
        Average predictions over flips and a quarter turn.

    Returns
    -------
    EvaluationReport
    """
    labels, probabilities, examples = _predict(model, dataset, tta)
    report = report_from_predictions(labels, probabilities, class_names)
    if out_dir is not None:
        write_report(report, out_dir, history=history, examples=examples,
                     example_labels=labels[: len(examples)], example_probabilities=probabilities[: len(examples)])
    return report


def write_report(
    report: EvaluationReport,
    out_dir: str | os.PathLike[str],
    *,
    history: dict[str, list[float]] | None = None,
    examples: list[np.ndarray] | None = None,
    example_labels: np.ndarray | None = None,
    example_probabilities: np.ndarray | None = None,
) -> Path:
    """Write metrics.json, the figures (matplotlib, no pyplot) and report.html; returns the HTML path."""
    from dermprep.figures import new_figure, save_figure  # noqa: PLC0415
    from dermprep.io import atomic_write_json, atomic_write_text  # noqa: PLC0415

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "metrics.json", report.as_dict())
    names = report.class_names
    cm = np.array(report.confusion_matrix, dtype=float)
    fig = new_figure(11, 4.6)
    axes = fig.subplots(1, 2)
    rows = cm.sum(axis=1, keepdims=True)
    for ax, data, title, fmt in (
        (axes[0], cm, "counts", "{:.0f}"),
        (axes[1], np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0), "row-normalised (recall)", "{:.2f}"),
    ):
        ax.imshow(data, cmap="Blues")
        ax.set_xticks(range(len(names)), names, rotation=45)
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title)
        for i in range(len(names)):
            for j in range(len(names)):
                ax.text(j, i, fmt.format(data[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if data[i, j] > data.max() / 2 else "black")
    fig.tight_layout()
    save_figure(fig, out / "confusion_matrix.png")
    figures = ["confusion_matrix.png"]
    if history:
        fig = new_figure(10, 3.6)
        axes = fig.subplots(1, 2)
        panels = (("loss", ("loss", "val_loss")),
                  ("accuracy", ("accuracy", "val_accuracy", "val_balanced_accuracy", "val_balanced_accuracy_corrected")))
        for ax, (title, keys) in zip(axes, panels, strict=True):
            for name in keys:
                if history.get(name):
                    ax.plot(range(1, len(history[name]) + 1), history[name], label=name.replace("_", " "))
            ax.set_xlabel("epoch")
            ax.set_title(title)
            if ax.lines:
                ax.legend(fontsize=8)
        fig.tight_layout()
        save_figure(fig, out / "training_curves.png")
        figures.append("training_curves.png")
    if examples:
        count = len(examples)
        cols = min(8, count)
        rows_count = (count + cols - 1) // cols
        fig = new_figure(2 * cols, 2.3 * rows_count)
        axes = fig.subplots(rows_count, cols, squeeze=False)
        for ax in axes.flat:
            ax.axis("off")
        for k, image in enumerate(examples):
            ax = axes.flat[k]
            shown = image if image.dtype == np.uint8 else np.clip(image, 0, 1)
            ax.imshow(shown)
            truth = names[int(np.asarray(example_labels)[k].argmax() if np.ndim(example_labels[k]) else example_labels[k])]  # type: ignore[index]
            guess = int(np.asarray(example_probabilities)[k].argmax())  # type: ignore[index]
            ax.set_title(f"{names[guess]} {example_probabilities[k][guess]:.2f}\n(true {truth})", fontsize=8,  # type: ignore[index]
                         color="green" if names[guess] == truth else "red")
        fig.tight_layout()
        save_figure(fig, out / "sample_predictions.png", dpi=80)
        figures.append("sample_predictions.png")
    images_html = "".join(
        f'<h2>{html.escape(name.replace("_", " ").removesuffix(".png"))}</h2>'
        f'<img src="data:image/png;base64,{base64.b64encode((out / name).read_bytes()).decode()}">'
        for name in figures
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>dermmodels report</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}img{max-width:100%}"
        "pre{background:#f4f4f4;padding:1em}</style></head><body><h1>Evaluation report</h1>"
        f"<pre>{html.escape(report.summary())}</pre>{images_html}</body></html>"
    )
    atomic_write_text(out / "report.html", page)
    return out / "report.html"
