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

__all__ = ["EvaluationReport", "bootstrap_interval", "evaluate", "explain_examples", "operating_point",
           "reliability", "report_from_predictions", "with_and_without_temperature",
           "write_report"]

#: The class whose screening operating points every report gives (when the run has it).
SCREENED_CLASS = "mel"


@dataclass
class EvaluationReport:
    """Metrics of a classifier on a labelled dataset.

    ``balanced_accuracy`` is the mean per-class recall, the ISIC 2018 metric.
    ``roc_auc`` is one-vs-rest per class (NaN for a class absent from the labels).
    ``ece`` is the expected calibration error of the top-1 probability (15
    bins); ``ece_before_temperature`` the same before temperature scaling
    (when known); ``reliability`` the diagrams' bins (`reliability()`).
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
    ece: float | None = None
    ece_before_temperature: float | None = None
    reliability: dict[str, dict[str, Any]] | None = None

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
        if self.ece is not None:
            before = "" if self.ece_before_temperature is None else \
                f" (before temperature scaling {self.ece_before_temperature:.4f})"
            lines.append(f"expected calibration error (15 bins) {self.ece:.4f}{before}")
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


def _checked(labels: Any, probabilities: Any, names: list[str], name: str = "probabilities") -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    if probabilities.ndim != 2 or probabilities.shape[0] != labels.shape[0]:
        raise ValueError(f"{name} must have shape (N={labels.shape[0]}, C); got {probabilities.shape}")
    if probabilities.shape[1] != len(names):
        raise ValueError(f"class_names has {len(names)} names for {probabilities.shape[1]} model outputs")
    if labels.size == 0:
        raise ValueError("cannot evaluate on an empty dataset")
    if labels.min() < 0 or labels.max() >= len(names):
        raise ValueError(f"labels must lie in [0, {len(names) - 1}]; got [{labels.min()}, {labels.max()}]")
    return labels, probabilities


def reliability(labels: Any, probabilities: Any, bins: int = 15) -> dict[str, Any]:
    """The reliability diagram's data: per equal-width confidence bin, the images, their mean top-1
    confidence and their accuracy (NaN in empty bins), and the expected calibration error over them.

    The ECE is `dermmodels.calibration.expected_calibration_error()` (Guo et al. 2017, 15 bins by default).
    """
    from .calibration import expected_calibration_error  # noqa: PLC0415

    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence, hit = probabilities.max(axis=1), probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, confidence, minlength=bins) / count
        accuracy = np.bincount(index, hit.astype(float), minlength=bins) / count
    return {"bins": bins, "count": count.tolist(), "confidence": mean_confidence.tolist(),
            "accuracy": accuracy.tolist(), "ece": expected_calibration_error(probabilities, labels, bins)}


def with_and_without_temperature(calibration: Any, probabilities: Any) -> tuple[np.ndarray, np.ndarray]:
    """A run's calibrated probabilities from its model's, and the same without the temperature (the prior
    correction alone): ``probabilities`` and ``before_temperature`` of `report_from_predictions()`."""
    from .calibration import Calibration  # noqa: PLC0415

    return calibration.apply(probabilities), Calibration(calibration.prior, calibration.tau).apply(probabilities)


def _class_metrics(labels: np.ndarray, probabilities: np.ndarray, names: list[str]) -> dict[str, Any]:
    from dermprep.runtime import require  # noqa: PLC0415

    metrics = require("sklearn.metrics", "evaluation metrics")
    predicted = probabilities.argmax(axis=1)
    classes = list(range(len(names)))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        labels, predicted, labels=classes, zero_division=0)
    auc = {name: float(metrics.roc_auc_score(labels == c, probabilities[:, c])) if 0 < np.sum(labels == c) < labels.size
           else float("nan") for c, name in enumerate(names)}
    present = np.unique(labels)
    return dict(
        accuracy=float(metrics.accuracy_score(labels, predicted)),
        # mean recall over the classes present (scikit-learn warns and skips absent ones otherwise)
        balanced_accuracy=float(np.mean(recall[present])) if present.size < len(names)
        else float(metrics.balanced_accuracy_score(labels, predicted)),
        macro_f1=float(metrics.f1_score(labels, predicted, labels=classes, average="macro", zero_division=0)),
        weighted_f1=float(metrics.f1_score(labels, predicted, labels=classes, average="weighted", zero_division=0)),
        per_class={name: {"precision": float(precision[c]), "recall": float(recall[c]), "f1": float(f1[c]),
                          "support": float(support[c])} for c, name in enumerate(names)},
        confusion_matrix=metrics.confusion_matrix(labels, predicted, labels=classes).tolist(),
        roc_auc=auc,
    )


def report_from_predictions(labels: Any, probabilities: Any, class_names: Sequence[str], *,
                            groups: Any = None, resamples: int = 2000, seed: int = 0,
                            before_temperature: Any = None) -> EvaluationReport:
    """Build the report from integer labels [N] and predicted probabilities [N, C].

    With ``groups`` (a lesion or patient id per image), the balanced
    accuracy gets a 95% bootstrap interval resampling groups. The report
    always gives the expected calibration error (15 bins) and a reliability
    diagram of ``probabilities``; with ``before_temperature`` (the same
    predictions before temperature scaling), of those too, to compare.
    """
    names = list(class_names)
    labels, probabilities = _checked(labels, probabilities, names)
    interval, n_groups = None, None
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != labels.shape:
            raise ValueError(f"groups must have one entry per image ({labels.size}); got shape {groups.shape}")
        interval = bootstrap_interval(labels, probabilities.argmax(axis=1), groups, len(names), resamples=resamples,
                                      seed=seed)
        n_groups = int(np.unique(groups.astype(str)).size)
    screened = names.index(SCREENED_CLASS) if SCREENED_CLASS in names else None
    points = {SCREENED_CLASS: operating_point(labels, probabilities, screened)} \
        if screened is not None and 0 < np.sum(labels == screened) < labels.size else None
    curves = {"after_temperature": reliability(labels, probabilities)}
    if before_temperature is not None:
        curves["before_temperature"] = reliability(labels, _checked(labels, before_temperature, names,
                                                                     "before_temperature")[1])
    return EvaluationReport(
        class_names=names, **_class_metrics(labels, probabilities, names), samples=int(labels.size),
        balanced_accuracy_interval=interval, groups=n_groups, operating_points=points,
        ece=curves["after_temperature"]["ece"],
        ece_before_temperature=curves["before_temperature"]["ece"] if before_temperature is not None else None,
        reliability=curves,
    )


def _check_dataset(dataset: Any) -> None:
    """A batched ``tf.data.Dataset`` of ``(image batch, labels)`` or ``({"image": ...}, labels)``, checked before
    anything runs."""
    import tensorflow as tf  # noqa: PLC0415

    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(f"dataset must be a tf.data.Dataset of (images, labels) batches; got {type(dataset).__name__}")
    spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise ValueError("dataset must give (images, labels) or ({'image': ..., ...}, labels) pairs; got elements "
                         f"{spec}")
    image = spec[0].get("image") if isinstance(spec[0], dict) else spec[0]
    if not isinstance(image, tf.TensorSpec):
        raise ValueError(f"dataset's inputs must be an image tensor or a dict with 'image'; got {spec[0]}")
    if image.shape.rank == 3:
        raise ValueError(f"dataset must be batched (dataset.batch(32)); got unbatched images of shape "
                         f"{tuple(image.shape)}")
    if image.shape.rank != 4:
        raise ValueError(f"dataset's images must be batches of shape (N, H, W, 3); got shape {tuple(image.shape)}")


def _predict(model: Any, dataset: Any, tta: bool) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    import tensorflow as tf  # noqa: PLC0415

    _check_dataset(dataset)

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
        ``sample_predictions.png``, ``reliability_diagram.png``,
        ``where_the_model_looked.png`` (Grad-CAM) and ``report.html`` (self-contained).
    history : dict, optional
        Keras ``History.history`` (or the saved JSON) for the curves.
    tta : bool
        Average predictions over flips and a quarter turn.

    Returns
    -------
    EvaluationReport

    Raises
    ------
    TypeError, ValueError
        ``dataset`` is not a batched dataset of ``(images, labels)`` pairs
        (checked before the model runs).
    """
    labels, probabilities, examples = _predict(model, dataset, tta)
    report = report_from_predictions(labels, probabilities, class_names)
    if out_dir is not None:
        write_report(report, out_dir, history=history, examples=examples,
                     example_labels=labels[: len(examples)], example_probabilities=probabilities[: len(examples)],
                     example_heatmaps=explain_examples(model, examples))
    return report


def explain_examples(model: Any, examples: Sequence[np.ndarray]) -> list[np.ndarray] | None:
    """Grad-CAM maps of the examples for their predicted classes (`dermmodels.explain.grad_cam()`), or None
    for a model Grad-CAM does not support here (not from `build_mobilenetv2_classifier()`, metadata branch)."""
    from .explain import grad_cam, supports_grad_cam  # noqa: PLC0415

    if not supports_grad_cam(model):
        return None
    return [grad_cam(model, image)[0] for image in examples]


def write_report(
    report: EvaluationReport,
    out_dir: str | os.PathLike[str],
    *,
    history: dict[str, list[float]] | None = None,
    examples: list[np.ndarray] | None = None,
    example_labels: np.ndarray | None = None,
    example_probabilities: np.ndarray | None = None,
    example_heatmaps: list[np.ndarray] | None = None,
) -> Path:
    """Write metrics.json, the figures (matplotlib, no pyplot) and report.html; returns the HTML path.

    Figures: the confusion matrix, the reliability diagram (before and after
    temperature scaling when the report has both), the training curves (with
    ``history``), the sample predictions (with ``examples``) and, with
    ``example_heatmaps`` (one Grad-CAM map per example, `dermmodels.explain.grad_cam()`),
    where the model looked for each of them.
    """
    from dermprep.io import atomic_write_json, atomic_write_text  # noqa: PLC0415

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "metrics.json", report.as_dict())
    figures = [_confusion_figure(report, out / "confusion_matrix.png")]
    if report.reliability:
        figures.append(_reliability_figure(report.reliability, out / "reliability_diagram.png"))
    if history:
        figures.append(_curves_figure(history, out / "training_curves.png"))
    if examples:
        labels = [report.class_names[int(np.argmax(y)) if np.ndim(y) else int(y)] for y in np.asarray(example_labels)]
        probabilities = np.asarray(example_probabilities)
        figures.append(_samples_figure(examples, labels, probabilities, report.class_names,
                                       out / "sample_predictions.png"))
        if example_heatmaps is not None:
            figures.append(_samples_figure(examples, labels, probabilities, report.class_names,
                                           out / "where_the_model_looked.png", heatmaps=example_heatmaps))
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


def _confusion_figure(report: EvaluationReport, path: Path) -> str:
    from dermprep.figures import new_figure, save_figure  # noqa: PLC0415

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
    save_figure(fig, path)
    return path.name


def _reliability_figure(curves: dict[str, dict[str, Any]], path: Path) -> str:
    """Accuracy against mean confidence per bin (the diagonal is perfect calibration), bars for the image counts."""
    from dermprep.figures import new_figure, save_figure  # noqa: PLC0415

    fig = new_figure(5 * len(curves), 4.2)
    axes = fig.subplots(1, len(curves), squeeze=False)[0]
    for ax, name in zip(axes, sorted(curves, reverse=True), strict=True):  # before, then after
        curve = curves[name]
        bins = curve["bins"]
        centres = (np.arange(bins) + 0.5) / bins
        accuracy = np.asarray(curve["accuracy"], dtype=float)
        ax.bar(centres, np.nan_to_num(accuracy), width=1.0 / bins, edgecolor="black", alpha=0.6, label="accuracy")
        ax.plot([0, 1], [0, 1], "k--", label="perfect calibration")
        ax.plot(np.asarray(curve["confidence"], dtype=float), accuracy, "o-", color="tab:red", label="mean confidence")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("top-1 probability")
        ax.set_ylabel("accuracy")
        ax.set_title(f"{name.replace('_', ' ')}: ECE {curve['ece']:.3f}", fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    save_figure(fig, path)
    return path.name


def _curves_figure(history: dict[str, list[float]], path: Path) -> str:
    from dermprep.figures import new_figure, save_figure  # noqa: PLC0415

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
    save_figure(fig, path)
    return path.name


def _samples_figure(examples: list[np.ndarray], truths: list[str], probabilities: np.ndarray, names: list[str],
                    path: Path, *, heatmaps: list[np.ndarray] | None = None) -> str:
    """The examples titled with the prediction (green: right, red: wrong), overlaid with their Grad-CAM maps if given."""
    from dermprep.figures import new_figure, save_figure  # noqa: PLC0415

    from .explain import overlay  # noqa: PLC0415

    if heatmaps is not None and len(heatmaps) != len(examples):
        raise ValueError(f"example_heatmaps must have one map per example ({len(examples)}); got {len(heatmaps)}")
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
        ax.imshow(shown if heatmaps is None else overlay(shown, heatmaps[k]))
        guess = int(probabilities[k].argmax())
        ax.set_title(f"{names[guess]} {probabilities[k][guess]:.2f}\n(true {truths[k]})", fontsize=8,
                     color="green" if names[guess] == truths[k] else "red")
    fig.tight_layout()
    save_figure(fig, path, dpi=80)
    return path.name
