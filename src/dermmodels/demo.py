"""The main job end to end: what ``make demo`` / ``dermmodels demo`` runs.

Data (a synthetic HAM10000-like folder by default, or a real HAM10000
folder), hair removal (Dull Razor timed against the OpenCV recipe), the
lesion-grouped split, the augmented and class-balanced ``tf.data`` pipeline,
a small MobileNetV2 trained for a few epochs, its evaluation, TFLite export
with a parity check, and one self-contained HTML report with every figure
and number. The defaults finish in a few minutes on two CPU cores.
"""

from __future__ import annotations

import base64
import html
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dermprep.validation import check_choice, check_positive_int, check_seed

__all__ = ["run_demo", "resolve_weights"]

_HAM10000_CITATION = (
    "HAM10000: Tschandl, Rosendahl &amp; Kittler, Sci. Data 5, 180161 (2018), doi:10.1038/sdata.2018.161; "
    "licence CC BY-NC 4.0 (non-commercial use, attribution)."
)


def resolve_weights(weights: str | os.PathLike[str] | None, alpha: float, image_size: int) -> str | None:
    """Turn the demo's ``weights`` setting into what `build_mobilenetv2_classifier()` takes.

    ``"auto"`` uses ImageNet weights when Keras already has them cached
    (``~/.keras/models``, or ``$KERAS_HOME/models``) and trains from scratch
    (``None``) otherwise, so the demo never needs the network. ``"none"``
    means ``None``; ``"imagenet"`` and file paths are passed through.
    """
    if weights is None or weights == "none":
        return None
    if weights == "auto":
        from .model import imagenet_weights_filename  # noqa: PLC0415

        name = imagenet_weights_filename(alpha, image_size)
        home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
        return "imagenet" if (home / "models" / name).is_file() else None
    return str(weights)


def _embed(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"><figcaption>{html.escape(alt)}</figcaption></figure>'


def _agreement_note(exports: list[Any]) -> str:
    """A sentence on what top-1 agreement under 98% means, where an export has it."""
    from .export import AGREEMENT_THRESHOLD  # noqa: PLC0415

    low = [e.quantize for e in exports if e.top1_agreement < AGREEMENT_THRESHOLD]
    if not low:
        return ""
    return (f"<p class='small'>{', '.join(map(str, low))}: under 98% agreement, so the file answers differently from "
            "Keras on some test images. Rounding overturns near-ties, and a briefly trained model like this one "
            "has many; in dermprep's benchmark an alpha 1.0 model trained to convergence kept 98.6-99.4% of its "
            "answers in int8, while models on an ImageNet base kept about 87%. float16 kept 98-100% "
            "(docs/models.md, 'Mobile cost').</p>")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 100 else f"{value:,.0f}"
        return html.escape(str(value))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _augmentation_grid(path: Path, images: Sequence[np.ndarray], seed: int) -> None:
    from dermprep.augment import default_pipeline  # noqa: PLC0415
    from dermprep.figures import save_panel  # noqa: PLC0415

    pipeline = default_pipeline()
    rows = []
    for k, image in enumerate(images):
        row = [("original", image)]
        row += [(f"epoch {e}", pipeline(image, seed=seed, index=k, epoch=e)) for e in range(5)]
        rows.append(row)
    save_panel(path, rows, "Default lesion-aware augmentation of hair-free training images, five epochs each")


@dataclass
class _Demo:
    """What the demo's steps share: the settings, where things go, and what earlier steps produced."""

    out: Path
    settings: dict[str, Any]
    log: Callable[[str], Any]
    progress: bool
    figures: Path = field(init=False)
    timings: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    made: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.figures = self.out / "figures"
        self.figures.mkdir(parents=True, exist_ok=True)

    def bar(self, total: int, unit: str) -> Any:
        from dermprep.progress import progress_bar  # noqa: PLC0415

        return progress_bar(total=total, desc="", unit=unit, enabled=None if self.progress else False, leave=False)


def _step_data(demo: _Demo) -> None:
    """Data: a synthetic HAM10000-like set (or a real one), split by lesion."""
    from dermprep.ham10000 import lesion_split, read_metadata  # noqa: PLC0415
    from dermprep.synthetic import write_ham10000_like  # noqa: PLC0415

    s = demo.settings
    if s["data"] is None:
        demo.log(f"  writing a synthetic HAM10000-like data set ({s['n_images']} images, 200x150, with hair)")
        with demo.bar(s["n_images"], "img") as bar:
            images_dir, csv_path = write_ham10000_like(
                demo.out / "synthetic-ham10000", s["n_images"], seed=s["seed"],
                progress=lambda done, total: bar.update(done - bar.n),
            )
        source = f"synthetic HAM10000-like set ({s['n_images']} images, seed {s['seed']}) written to {images_dir.parent}"
    else:
        images_dir, csv_path = Path(s["data"]), Path(s["metadata"])
        source = f"{csv_path} with images from {images_dir}"
    frame = read_metadata(csv_path, images_dir=images_dir)
    split = lesion_split(frame, val=0.15, test=0.15, seed=s["seed"])
    demo.log("\n".join("  " + line for line in split.summary().splitlines()))
    demo.made.update(frame=frame, split=split, source=source)


def _step_hair_benchmark(demo: _Demo) -> None:
    """Hair removal: Dull Razor against the OpenCV recipe on synthetic images with known hair, and dataset panels."""
    from dermprep import remove_hair  # noqa: PLC0415
    from dermprep.demo import hair_removal_demo  # noqa: PLC0415
    from dermprep.figures import save_panel  # noqa: PLC0415
    from dermprep.io import read_rgb  # noqa: PLC0415

    s = demo.settings
    hair = hair_removal_demo(demo.figures, n_images=s["hair_images"], shape=s["hair_shape"], seed=s["seed"],
                             workers=s["workers"], write_summary=False, log=demo.log)
    candidates = []
    for path in demo.made["split"].train["path"].tolist()[:12]:
        rgb = read_rgb(path)
        restored, mask = remove_hair(rgb, return_mask=True)
        candidates.append((float(mask.mean()), path, rgb, restored, mask))
    demo.made["hair_free"] = [c[3] for c in candidates[:3]]  # in split order: the augmentation grid's images
    candidates.sort(key=lambda c: -c[0])  # the three hairiest of the first twelve
    rows = [[(Path(path).name, rgb), ("Dull Razor", restored), ("hair mask", mask)]
            for _, path, rgb, restored, mask in candidates[:3]]
    save_panel(demo.figures / "hair_removal_dataset.png", rows, "Hair removal on images of the training set")
    demo.made["hair"] = hair


def _step_hair_dataset(demo: _Demo) -> None:
    """Hair removal over the whole data set, cached on disk for every epoch."""
    from dermprep.preprocess import Preprocessing  # noqa: PLC0415

    s = demo.settings
    frame = demo.made["frame"]
    preprocessing = Preprocessing(image_size=(s["image_size"], s["image_size"]), remove_hair=True)
    started = time.perf_counter()
    with demo.bar(len(frame), "img") as bar:
        preprocessing.load_many(frame["path"].tolist(), cache_dir=demo.out / "hair-cache", progress=bar.update)
    demo.made["hair"]["dataset_images_per_second"] = len(frame) / (time.perf_counter() - started)
    demo.made["preprocessing"] = preprocessing


def _demo_recipe(demo: _Demo) -> Any:
    """The recipe the demo trains: the paper's frozen-base head when ImageNet weights are at hand, else the whole
    network from scratch; oversampling, the default augmentation, hair removal (cached by the step before)."""
    from .recipe import recipe_from  # noqa: PLC0415

    s = demo.settings
    resolved = resolve_weights(s["weights"], s["alpha"], s["image_size"])
    pretrained = resolved is not None
    demo.made.update(resolved=resolved, pretrained=pretrained)
    return recipe_from("paper", alpha=s["alpha"], image_size=s["image_size"], weights=resolved, remove_hair=True,
                       epochs=s["epochs"], batch_size=s["batch_size"], fine_tune_layers=0 if pretrained else None,
                       learning_rate=s["learning_rate"] or (1e-3 if pretrained else 3e-3),
                       patience=max(3, s["epochs"] // 3), prior_correction=True, tta=True, seed=s["seed"])


def _step_pipeline(demo: _Demo) -> None:
    """The input pipeline: exact balancing and lesion-aware augmentation in tf.data, with explicit epochs."""
    import dermprep.tfdata as T  # noqa: PLC0415
    from dermprep import CLASS_NAMES  # noqa: PLC0415
    from dermprep.sampling import class_counts, epoch_indices, plot_class_distribution  # noqa: PLC0415

    from .plan import plan_training  # noqa: PLC0415

    s, split = demo.settings, demo.made["split"]
    recipe = _demo_recipe(demo)
    train_labels = split.train["label"].to_numpy()
    plan = plan_training(recipe, train_labels, len(CLASS_NAMES))  # exactly what fit() will draw
    before = class_counts(train_labels, len(CLASS_NAMES))
    after = np.bincount(train_labels[epoch_indices(train_labels, plan.targets, seed=s["seed"], epoch=0)],
                        minlength=len(CLASS_NAMES))
    plot_class_distribution({"training split": before, "one balanced epoch": after}, CLASS_NAMES,
                            demo.figures / "class_distribution.png",
                            title="Training classes before and after balancing (every class equally often)")
    images = demo.made["preprocessing"].load_many(split.train["path"].tolist(), cache_dir=demo.out / "hair-cache")
    started = time.perf_counter()  # one epoch of what fit() iterates: in memory, balanced, augmented, batched
    epoch = T.from_arrays(images, train_labels, batch_size=s["batch_size"], sampling=plan.targets,
                          pipeline=recipe.pipeline(), seed=s["seed"], epoch=0, num_classes=len(CLASS_NAMES),
                          one_hot=True)
    seen = sum(int(x.shape[0]) for x, _ in epoch)
    demo.made.update(recipe=recipe, seen=seen, pipeline_rate=seen / (time.perf_counter() - started),
                     class_counts=(before, after))
    _augmentation_grid(demo.figures / "augmentation.png", demo.made["hair_free"], s["seed"])  # what training sees


def _step_training(demo: _Demo) -> None:
    """Training: dermmodels.fit(), the path ``dermmodels train`` takes, into a run folder."""
    from dermprep import CLASS_NAMES  # noqa: PLC0415

    from .runs import fit  # noqa: PLC0415

    s, split, recipe = demo.settings, demo.made["split"], demo.made["recipe"]
    demo.log(f"  MobileNetV2 alpha {s['alpha']}, {s['image_size']}x{s['image_size']}, "
             f"{'frozen ImageNet base' if demo.made['pretrained'] else 'from scratch: no ImageNet weights cached'}, "
             f"up to {s['epochs']} epoch{'s' if s['epochs'] != 1 else ''} of {demo.made['seen']} images")
    run_dir = demo.out / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    started = time.perf_counter()
    run = fit(recipe, split.train, split.val, run_dir, class_names=CLASS_NAMES, test=split.test,
              data={"source": demo.made["source"]}, hair_cache=demo.out / "hair-cache",
              log=(lambda line: demo.log("  " + line)) if demo.progress else (lambda line: None), progress=False)
    history = run.folder.history() or {}
    demo.made.update(run=run, model=run.model, history=history, epochs_run=len(history.get("loss", [])),
                     training_seconds=time.perf_counter() - started)


def _step_evaluation(demo: _Demo) -> None:
    """Evaluation on the test split: lesions never seen in training, through the run's own preprocessing."""
    from .evaluation import (  # noqa: PLC0415
        explain_examples,
        report_from_predictions,
        with_and_without_temperature,
        write_report,
    )

    run, s = demo.made["run"], demo.settings
    test = run.split("test")
    test_images = run.load_images(test["path"].tolist(), progress=False)
    probabilities, before = with_and_without_temperature(run.calibration, run.probabilities(test_images))
    labels = test["label"].to_numpy()
    report = report_from_predictions(labels, probabilities, run.class_names, groups=test["group"].to_numpy(),
                                     before_temperature=before)
    write_report(report, demo.out / "evaluation", history=demo.made["history"], examples=list(test_images[:16]),
                 example_labels=labels[:16], example_probabilities=probabilities[:16],
                 example_heatmaps=explain_examples(run.model, list(test_images[:16])))
    demo.log("\n".join("  " + line for line in report.summary().splitlines()))
    model = run.model
    model.predict(test_images[: s["batch_size"]], batch_size=s["batch_size"], verbose=0)  # trace before timing
    started = time.perf_counter()
    model.predict(test_images, batch_size=s["batch_size"], verbose=0)
    demo.made.update(report=report, test_images=test_images,
                     keras_rate=len(test_images) / (time.perf_counter() - started))


def _step_export(demo: _Demo) -> None:
    """Export: TFLite files, each run and compared with the Keras model."""
    from .export import export_tflite  # noqa: PLC0415

    run = demo.made["run"]
    exports = []
    calibration = run.load_images(run.split("val")["path"].tolist()[:64], progress=False).astype(np.float32)
    for q in demo.settings["quantize"]:
        result = export_tflite(run.model, demo.out / "export" / f"model_{q or 'float32'}.tflite", quantize=q,
                               representative_data=calibration,
                               parity_images=demo.made["test_images"].astype(np.float32))
        exports.append(result)
        demo.log(f"  {q or 'float32':8s} {result.size_bytes / 1e6:6.2f} MB  top-1 agreement "
                 f"{result.top1_agreement:.3f}  max prob diff {result.max_probability_difference:.3f}  "
                 f"{result.seconds_per_image * 1e3:.2f} ms/image")
    if not exports:
        demo.log("  no export asked for")
    demo.made["exports"] = exports


def _step_report(demo: _Demo) -> None:
    """The report: one self-contained HTML page and summary.json."""
    from dermprep.io import atomic_write_json, atomic_write_text  # noqa: PLC0415

    made, hair = demo.made, demo.made["hair"]
    exports = made["exports"]
    throughput = {
        **{f"hair removal: {name}": value for name, value in hair["throughput_images_per_second"].items()},
        "hair removal of the data set (decode + Dull Razor + cache)": hair["dataset_images_per_second"],
        "input pipeline (cached, balanced, augmented, batched)": made["pipeline_rate"],
        "training (incl. validation)": (made["epochs_run"] * made["seen"] / made["training_seconds"]
                                        if made["epochs_run"] else float("nan")),
        "Keras inference": made["keras_rate"],
        **{f"TFLite {e.quantize or 'float32'} inference": 1.0 / e.seconds_per_image for e in exports},
    }
    before, after = made["class_counts"]
    demo.summary.update({
        "source": made["source"],
        "weights": made["resolved"] or "none (trained from scratch)",
        "split": {name: len(part) for name, part in zip(("train", "val", "test"), made["split"], strict=True)},
        "class_counts": {"train": before.tolist(), "balanced_epoch": after.tolist()},
        "hair_removal": {k: v for k, v in hair.items() if k != "table"},
        "throughput_images_per_second": throughput,
        "history": made["history"],
        "epochs_run": made["epochs_run"],
        "metrics": made["report"].as_dict(),
        "exports": [e.as_dict() for e in exports],
        "timings_seconds": demo.timings,
    })
    demo.summary["elapsed_seconds"] = float(sum(demo.timings.values()))
    atomic_write_json(demo.out / "summary.json", demo.summary)
    page = _report_html(demo.summary, hair, made["report"], exports, demo.out, demo.figures, made["source"],
                        made["pretrained"])
    atomic_write_text(demo.out / "report.html", page)


_STEPS = (_step_data, _step_hair_benchmark, _step_hair_dataset, _step_pipeline, _step_training, _step_evaluation,
          _step_export, _step_report)
_TIMING_NAMES = ("data", "hair_benchmark", "hair_dataset", "pipeline", "training", "evaluation", "export", "report")


def run_demo(
    out_dir: str | os.PathLike[str] = "demo-output",
    *,
    data: str | os.PathLike[str] | None = None,
    metadata: str | os.PathLike[str] | None = None,
    n_images: int = 1000,
    image_size: int = 96,
    alpha: float = 0.35,
    weights: str | os.PathLike[str] | None = "auto",
    epochs: int = 12,
    batch_size: int = 32,
    learning_rate: float | None = None,
    hair_images: int = 16,
    hair_shape: tuple[int, int] = (450, 600),
    quantize: Sequence[str | None] = (None, "float16", "int8"),
    workers: int | None = None,
    seed: int = 0,
    log: Callable[[str], Any] = print,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the whole job and write ``report.html`` (self-contained) and ``summary.json`` to ``out_dir``.

    The steps, each a function of its own: data, hair-removal benchmark,
    hair removal of the data set, the input pipeline, training, evaluation,
    export, report.

    Parameters
    ----------
    out_dir : path
        Output folder. The demo owns its sub-folders (``synthetic-ham10000``,
        ``hair-cache``, ``run``, ``evaluation``, ``figures``, ``export``);
        ``run`` is cleared at the start so every demo trains afresh.
    data, metadata : path, optional
        A HAM10000 images folder tree and its ``HAM10000_metadata.csv``
        (both or neither). Without them a synthetic HAM10000-like set of
        ``n_images`` images is written and used.
    n_images : int
        Size of the synthetic set.
    image_size : int
        Training resolution (square); 224 is the paper's.
    alpha : float
        MobileNetV2 width.
    weights : "auto", "imagenet", "none" or path
        See `resolve_weights()`. Pretrained weights train the paper's
        frozen-base head; without them the whole network trains from scratch.
    epochs, batch_size : int
        Training length (early stopping may end it sooner) and batch size.
    learning_rate : float, optional
        Adam's rate (default 1e-3 pretrained, 3e-3 from scratch).
    hair_images : int
        Synthetic images (``hair_shape``) for the hair-removal timing and scores.
    hair_shape : (int, int)
        Their size; (450, 600) is HAM10000's.
    quantize : sequence of {None, "float16", "dynamic", "int8"}
        TFLite exports to write (None is float32); empty for none.
    workers : int, optional
        Processes for the OpenCV baseline pool (default: all cores).
    seed : int
        Seed of the data, split, sampling, augmentation and weights.
    log : callable
        Where progress lines go.
    progress : bool
        Show progress bars and Keras' per-epoch lines.

    Returns
    -------
    dict
        Everything in ``summary.json``: settings, timings, throughputs, metrics, exports.
    """
    from .export import QUANTIZE_MODES  # noqa: PLC0415

    if (data is None) != (metadata is None):
        raise ValueError("data and metadata go together: pass both (a HAM10000 folder and its CSV) or neither")
    image_size = check_positive_int(image_size, "image_size", minimum=32)
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("hair_images", hair_images),
                        ("n_images", n_images)):
        check_positive_int(value, name)
    seed = check_seed(seed)
    quantize = list(quantize)
    for q in quantize:  # checked before any work, not after training
        check_choice(q, "quantize entries", QUANTIZE_MODES)
    settings = {"data": data, "metadata": metadata, "n_images": n_images, "image_size": image_size, "alpha": alpha,
                "weights": weights, "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
                "hair_images": hair_images, "hair_shape": hair_shape, "quantize": quantize, "workers": workers,
                "seed": seed}
    demo = _Demo(Path(out_dir), settings, log, progress)
    demo.summary["settings"] = {
        "data": str(data) if data else "synthetic", "images": n_images if data is None else None,
        "image_size": image_size, "alpha": alpha, "epochs": epochs, "batch_size": batch_size, "seed": seed,
    }
    for number, (step, name) in enumerate(zip(_STEPS, _TIMING_NAMES, strict=True), 1):
        log(f"[{number}/{len(_STEPS)}] {step.__doc__.splitlines()[0]}")  # type: ignore[union-attr]
        started = time.perf_counter()
        step(demo)
        demo.timings[name] = time.perf_counter() - started
    log(f"done in {sum(demo.timings.values()):.0f} s. Report: {(demo.out / 'report.html').resolve()}")
    return demo.summary


def _hair_speed(hair: dict[str, Any]) -> str:
    rates = hair["throughput_images_per_second"]
    ours = next((v for k, v in rates.items() if k.startswith("dermprep")), None)
    best = max((v for k, v in rates.items() if k.startswith("opencv")), default=None)
    if not ours or not best:
        return ""
    return (f"<p>Dull Razor ran at <b>{ours:,.0f} images/s</b>, the OpenCV recipe (black-hat + inpainting) at "
            f"{best:,.1f} images/s in its best form here: <b>{ours / best:.1f}x</b>. The first call took "
            f"{hair['first_call_seconds']:.1f} s (numba compiles once, then loads from its disk cache). "
            "Quality against the known clean images and hair masks:</p>")


def _report_html(summary: dict[str, Any], hair: dict[str, Any], report: Any, exports: list[Any], out: Path,
                 figures: Path, source: str, pretrained: bool) -> str:
    settings = summary["settings"]
    metrics = report
    quality_rows = [
        [name, q["psnr"], q["ssim"], q["psnr_hair"], q["dice"]] for name, q in hair["quality"].items()
    ] if hair["quality"] else []
    per_class = [[name, c["precision"], c["recall"], c["f1"], int(c["support"]), metrics.roc_auc[name]]
                 for name, c in metrics.per_class.items()]
    sections = [
        "<h1>dermprep demo report</h1>",
        f"<p>Data: {html.escape(source)}. Training at {settings['image_size']}x{settings['image_size']}, "
        f"MobileNetV2 alpha {settings['alpha']}, "
        f"{'frozen ImageNet base' if pretrained else 'trained from scratch (no ImageNet weights available offline)'}"
        f", {summary['epochs_run']} epochs, seed {settings['seed']}. Finished in {summary['elapsed_seconds']:.0f} s.</p>",
        "<p class='small'>Synthetic images are generated by <code>dermprep.synthetic</code>; with real data, "
        f"cite its source. {_HAM10000_CITATION}</p>",
        "<h2>Headline</h2>",
        _table(["accuracy", "balanced accuracy", "macro F1", "weighted F1", "test images"],
               [[metrics.accuracy, metrics.balanced_accuracy, metrics.macro_f1, metrics.weighted_f1, metrics.samples]]),
        "<h2>1. Data and lesion-grouped split</h2>",
        _table(["part", "images"], [[k, v] for k, v in summary["split"].items()]),
        _embed(figures / "class_distribution.png", "Class distribution of the training split and of one balanced epoch"),
        "<h2>2. Hair removal</h2>",
        _embed(figures / "hair_removal_synthetic.png",
               "Synthetic images with known hair: input, Dull Razor, OpenCV recipe, predicted and true masks"),
        _hair_speed(hair),
        _table(["method", "PSNR dB", "SSIM", "PSNR in hair dB", "mask Dice"], quality_rows) if quality_rows
        else f"<p class='small'>Note: {html.escape(hair.get('quality_note') or 'no quality scores')}.</p>",
        _embed(figures / "hair_removal_dataset.png", "Dull Razor on images of the training set"),
        "<h2>3. Augmentation</h2>",
        _embed(figures / "augmentation.png", "dermprep.augment.default_pipeline(), replayed per epoch by calling it"),
        "<h2>4. Training</h2>",
    ]
    evaluation = out / "evaluation"
    if (evaluation / "training_curves.png").is_file():
        sections.append(_embed(evaluation / "training_curves.png", "Loss and accuracy per epoch"))
    sections += [
        "<h2>5. Evaluation on the test split</h2>",
        _table(["class", "precision", "recall", "F1", "support", "ROC AUC"], per_class),
        _embed(evaluation / "confusion_matrix.png", "Confusion matrix: counts and row-normalised"),
        _embed(evaluation / "sample_predictions.png", "Sample test predictions (green right, red wrong)"),
        "<h2>6. Throughput on this machine</h2>",
        f"<p>{os.cpu_count()} CPU cores. Hair removal measured on {hair['images']} synthetic "
        f"{hair['shape'][1]}x{hair['shape'][0]} images.</p>",
        _table(["stage", "images / s"], [[k, float(v)] for k, v in summary["throughput_images_per_second"].items()]),
        "<h2>7. Mobile export (TFLite)</h2>",
        _table(["model", "size MB", "top-1 agreement with Keras", "max probability difference", "ms / image"],
               [[e.quantize or "float32", e.size_bytes / 1e6, e.top1_agreement, e.max_probability_difference,
                 e.seconds_per_image * 1e3] for e in exports]) if exports else "<p>No export asked for.</p>",
        _agreement_note(exports),
        "<h2>Time per stage</h2>",
        _table(["stage", "seconds"], [[k, float(v)] for k, v in summary["timings_seconds"].items()]),
    ]
    style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:auto;padding:1em;color:#222}"
             "img{max-width:100%}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
             "padding:.25em .6em;text-align:right}td:first-child,th:first-child{text-align:left}"
             "figure{margin:1em 0}figcaption{color:#555;font-size:.9em}.small{font-size:.85em;color:#555}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>dermprep demo report</title>"
            f"<style>{style}</style></head><body>{''.join(sections)}</body></html>")
