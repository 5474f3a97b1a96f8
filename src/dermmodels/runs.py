"""A training run in a folder: fit a `Recipe`, resume it, load it, predict and evaluate.

`fit()` decodes every image once into memory (through the recipe's
`Preprocessing`, hair removal cached on disk),
then trains on explicit epochs: epoch ``e``'s class sampling and
augmentation depend only on ``(seed, e)``, dropout is re-seeded from
``(seed, e)``, and TensorFlow runs deterministically, so a run killed at
any moment and started again with the same folder ends where an
uninterrupted run would. After every epoch the folder holds (each file
written atomically): the last weights with the optimizer state, the best
model so far (by validation balanced accuracy), and ``state.json`` with the
epoch, the best score, the early-stopping count and the history.

The folder afterwards::

    config.json        the recipe, the preset, the classes, the preprocessing, the data
    state.json         training progress (resume)
    last.weights.h5    weights + optimizer after the last finished epoch
    best.keras         the selected model
    calibration.json   the prior correction chosen on the validation split
    history.json       per-epoch loss, accuracy, validation balanced accuracy, learning rate
    timings.json       seconds spent loading images (hair removal included), training, calibrating
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dermprep.io import atomic_path, atomic_write_json
from dermprep.validation import check_labels

from .recipe import Recipe, augmentation_pipeline

__all__ = ["Run", "RunConflictError", "TAUS", "fit", "metadata_features", "predict_with_tta", "tta_views"]

#: Powers of the training prior tried on the validation split by the prior correction.
TAUS = tuple(np.round(np.arange(0.0, 1.01, 0.1), 2).tolist())


class RunConflictError(ValueError):
    """The run folder holds a different run than the one asked for."""


def _write_json(path: Path, value: Any) -> None:
    atomic_write_json(path, value)


# ----------------------------------------------------------------------------
# Decisions: sampling, the prior and its correction
# ----------------------------------------------------------------------------


def sampling_targets(recipe: Recipe, labels: np.ndarray, num_classes: int) -> np.ndarray | str:
    """What `dermprep.tfdata.from_arrays()` gets as ``sampling`` for this recipe."""
    from dermprep.sampling import class_counts, target_counts  # noqa: PLC0415

    counts = class_counts(labels, num_classes)
    present = counts > 0
    if recipe.sampling in ("none", "class-weight"):
        return "shuffle"
    if recipe.sampling == "undersample":
        return target_counts(counts, "undersample")
    power = 0.5 if recipe.sampling == "sqrt" else 0.0
    weights = np.where(present, np.maximum(counts, 1).astype(float) ** power, 0.0)
    return target_counts(counts, "target", target=weights / weights.sum(), size=int(labels.size))


def training_prior(recipe: Recipe, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """The class frequencies the model effectively learns from (what the prior correction divides by)."""
    from dermprep.sampling import class_counts  # noqa: PLC0415

    targets = sampling_targets(recipe, labels, num_classes)
    counts = class_counts(labels, num_classes).astype(float) if isinstance(targets, str) else targets.astype(float)
    if recipe.sampling == "class-weight":  # the weights undo the frequencies in the loss
        counts = (counts > 0).astype(float)
    return counts / counts.sum()


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


def tta_views(images: np.ndarray, *, tta: bool) -> list[np.ndarray]:
    """The views predictions are averaged over: the image alone, or with ``tta`` the 8 symmetries of a square
    (4 flips of a rectangle)."""
    if not tta:
        return [images]
    square = images.shape[1] == images.shape[2]
    views = []
    for k in range(4 if square else 1):
        turned = np.rot90(images, k, axes=(1, 2))
        views += [turned, turned[:, :, ::-1]] if square else [turned, turned[:, :, ::-1], turned[:, ::-1],
                                                               turned[:, ::-1, ::-1]]
    return [np.ascontiguousarray(v) for v in views]


def predict_with_tta(model: Any, images: np.ndarray, *, tta: bool, batch_size: int = 64,
                     metadata: np.ndarray | None = None) -> np.ndarray:
    """Class probabilities for images (N, H, W, 3); with ``tta`` averaged over `tta_views()`."""
    views = tta_views(images, tta=tta)
    total = np.zeros((images.shape[0], int(model.outputs[0].shape[-1])))
    for view in views:
        inputs: Any = view if metadata is None else {"image": view, "metadata": metadata}
        total += model.predict(inputs, batch_size=batch_size, verbose=0).astype(np.float64)
    return total / len(views)


def metadata_features(records: Any) -> np.ndarray:
    """The metadata branch's features of records (`dermprep.ham10000.encode_metadata()`)."""
    from dermprep.ham10000 import encode_metadata  # noqa: PLC0415

    return encode_metadata(records)


# ----------------------------------------------------------------------------
# Fitting
# ----------------------------------------------------------------------------


def _check_records(records: Any, name: str, num_classes: int) -> Any:
    import pandas as pd  # noqa: PLC0415

    if not isinstance(records, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas.DataFrame with 'path' and 'label' columns; got {type(records).__name__}")
    missing = [c for c in ("path", "label") if c not in records.columns]
    if missing:
        raise ValueError(f"{name} must have columns 'path' and 'label'; missing {missing}")
    if records.empty:
        raise ValueError(f"{name} has no rows")
    check_labels(records["label"].to_numpy(), f"{name} labels", num_classes=num_classes)
    return records


def _config_for(recipe: Recipe, preset: str | None, class_names: Sequence[str], data: Mapping[str, Any]) -> dict[str, Any]:
    from dermprep import __version__  # noqa: PLC0415

    return {
        "format": 2,
        "preset": preset,
        "recipe": recipe.to_dict(),
        "class_names": list(class_names),
        "preprocessing": recipe.preprocessing().to_dict(),
        "data": dict(data),
        "dermprep_version": __version__,
    }


def _check_same_run(run: Path, config: dict[str, Any]) -> None:
    """Refuse to resume a folder that holds another run (before anything in it is overwritten)."""
    stored = json.loads((run / "config.json").read_text())
    if stored.get("format") != 2:
        raise RunConflictError(f"{run} holds a run of an older dermmodels (no recipe); use a new folder")
    differences = []
    for key in ("recipe", "class_names", "data"):
        old, new = stored.get(key), config[key]
        if isinstance(old, dict) and isinstance(new, dict):
            differences += [f"{key}.{k}: {old.get(k)!r} in the folder, {new.get(k)!r} now"
                            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        elif old != new:
            differences.append(f"{key}: {old!r} in the folder, {new!r} now")
    if differences:
        raise RunConflictError(
            f"{run} holds a run with other settings, so it cannot be resumed with these: "
            + "; ".join(differences) + ". Use a new --out folder, or the folder's own settings."
        )


class _Progress:
    """Keras callback: per-epoch validation, selection, atomic checkpoints and the resumable state."""

    def __new__(cls, **kwargs: Any) -> Any:  # noqa: D102 - a keras.callbacks.Callback built lazily
        import keras  # noqa: PLC0415

        class Progress(keras.callbacks.Callback):
            def __init__(self, run: Path, val_images: np.ndarray, val_labels: np.ndarray, prior: np.ndarray,
                         recipe: Recipe, state: dict[str, Any], log: Callable[[str], Any], steps: int,
                         total_epochs: int, val_metadata: np.ndarray | None) -> None:
                super().__init__()
                self.run, self.val_images, self.val_labels = run, val_images, val_labels
                self.val_metadata = val_metadata
                self.prior, self.recipe, self.state, self.log = prior, recipe, state, log
                self.steps, self.total_epochs = steps, total_epochs
                self.started = time.perf_counter()

            def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
                _reseed_dropout(self.model, self.recipe.seed, epoch)
                self.started = time.perf_counter()

            def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
                logs = dict(logs or {})
                probabilities = predict_with_tta(self.model, self.val_images, tta=False, metadata=self.val_metadata)
                classes = probabilities.shape[1]
                raw = balanced_accuracy(self.val_labels, probabilities.argmax(axis=1), classes)
                tau, adjusted = choose_tau(probabilities, self.val_labels, self.prior) \
                    if self.recipe.prior_correction else (0.0, raw)
                score = adjusted
                history = self.state["history"]
                rate = self.model.optimizer.learning_rate
                values = {**{k: float(v) for k, v in logs.items()}, "val_balanced_accuracy": raw,
                          "val_balanced_accuracy_corrected": adjusted, "val_tau": tau,
                          "learning_rate": float(np.asarray(rate)),
                          "seconds": time.perf_counter() - self.started}
                for key, value in values.items():
                    history.setdefault(key, [])
                    history[key] = history[key][:epoch] + [value]
                improved = score > self.state["best_score"] + 1e-9
                if improved:
                    self.state.update(best_score=score, best_epoch=epoch + 1, wait=0)
                    with atomic_path(self.run / "best.weights.h5") as temp:
                        self.model.save_weights(temp)
                else:
                    self.state["wait"] += 1
                with atomic_path(self.run / "last.weights.h5") as temp:
                    self.model.save_weights(temp)
                self.state["epoch"] = epoch + 1
                patience = self.recipe.patience
                if patience is not None and self.state["wait"] >= patience:
                    self.model.stop_training = True
                    self.state["stopped_early"] = True
                _write_json(self.run / "state.json", self.state)
                self.log(f"epoch {epoch + 1}/{self.total_epochs}: loss {logs.get('loss', float('nan')):.4f}, "
                         f"accuracy {logs.get('accuracy', float('nan')):.3f}, validation balanced accuracy "
                         f"{raw:.3f} ({adjusted:.3f} corrected, tau {tau:g}){' *' if improved else ''} "
                         f"[{values['seconds']:.0f} s]")

        return Progress(**kwargs)


def _reseed_dropout(model: Any, seed: int, epoch: int) -> None:
    """Set every dropout seed generator from (seed, epoch): a resumed epoch draws the same masks."""
    import keras  # noqa: PLC0415

    stack = list(model.layers)
    while stack:
        layer = stack.pop()
        stack.extend(getattr(layer, "layers", []))  # nested models
        generator = getattr(layer, "seed_generator", None)
        if isinstance(generator, keras.random.SeedGenerator):
            generator.state.assign(np.array([seed % 2**31, epoch], dtype=generator.state.dtype))


def _train_head_on_features(model: Any, images: np.ndarray, labels: np.ndarray, recipe: Recipe, num_classes: int,
                            targets: np.ndarray | str, class_weight: dict[int, float] | None,
                            log: Callable[[str], Any]) -> None:
    """Frozen-base features computed once, the head trained on them for ``head_epochs`` (seconds, not minutes)."""
    import keras  # noqa: PLC0415

    from dermprep.sampling import epoch_indices  # noqa: PLC0415

    from .model import feature_extractor  # noqa: PLC0415

    started = time.perf_counter()
    features = feature_extractor(model).predict(images, batch_size=64, verbose=0)
    head_layers = [model.get_layer(name) for name in ("dropout", "dense", "probabilities")]
    head = keras.Sequential([keras.Input(shape=features.shape[1:]), *head_layers])
    head.compile(optimizer=keras.optimizers.Adam(1e-3),
                 loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing))
    onehot = np.eye(num_classes, dtype=np.float32)
    for epoch in range(recipe.head_epochs):
        index = (np.random.default_rng([recipe.seed, epoch, 1]).permutation(labels.size) if isinstance(targets, str)
                 else epoch_indices(labels, targets, seed=recipe.seed, epoch=epoch))
        head.fit(features[index], onehot[labels[index]], batch_size=recipe.batch_size, epochs=1, verbose=0,
                 shuffle=False, class_weight=class_weight)
    log(f"head trained on frozen-base features for {recipe.head_epochs} epochs in {time.perf_counter() - started:.0f} s")


def fit(
    recipe: Recipe,
    train: Any,
    val: Any,
    run_dir: str | os.PathLike[str],
    *,
    class_names: Sequence[str],
    preset: str | None = None,
    data: Mapping[str, Any] | None = None,
    hair_cache: str | os.PathLike[str] | None = None,
    log: Callable[[str], Any] = print,
    progress: bool | None = None,
) -> Run:
    """Train ``recipe`` on the ``train`` records, select and calibrate on ``val``; everything goes to ``run_dir``.

    Parameters
    ----------
    recipe : Recipe
    train, val : pandas.DataFrame
        Records with ``path`` and integer ``label`` columns (from
        `dermprep.ham10000` or `dermprep.datasets`); split by
        lesion or patient beforehand.
    run_dir : path
        Created if needed. A folder holding the same run (same recipe,
        classes and data) is resumed; a folder holding another run raises
        `RunConflictError` before anything in it changes.
    class_names : sequence of str
    preset : str, optional
        Recorded in ``config.json``.
    data : dict, optional
        What the data is (paths of the images and the label file, split
        settings); recorded, and compared on resume.
    hair_cache : path, optional
        Folder of the hair-removal cache (default: ``run_dir/hair-cache``);
        share it between runs on the same images.
    log : callable
        Where progress lines go.
    progress : bool, optional
        Progress bar while loading images (default: on a terminal).

    Returns
    -------
    Run
    """
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    import dermprep.tfdata as T  # noqa: PLC0415
    from dermprep.sampling import class_weights  # noqa: PLC0415

    from .model import build_mobilenetv2_classifier, set_base_trainable  # noqa: PLC0415

    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a dermmodels.Recipe; got {type(recipe).__name__}")
    class_names = [str(c) for c in class_names]
    if len(class_names) < 2 or len(set(class_names)) != len(class_names):
        raise ValueError(f"class_names must hold at least 2 distinct names; got {class_names}")
    num_classes = len(class_names)
    train = _check_records(train, "train", num_classes)
    val = _check_records(val, "val", num_classes)
    run = Path(run_dir)
    config = _config_for(recipe, preset, class_names, data or {})
    if (run / "config.json").is_file():
        _check_same_run(run, config)
    run.mkdir(parents=True, exist_ok=True)
    _write_json(run / "config.json", config)
    timings: dict[str, float] = json.loads((run / "timings.json").read_text()) if (run / "timings.json").is_file() else {}

    # Images, decoded once (hair removal cached on disk) ----------------------------------
    started = time.perf_counter()
    preprocessing = recipe.preprocessing()
    cache = Path(hair_cache) if hair_cache is not None else run / "hair-cache"
    log(f"loading {len(train) + len(val)} images ({'hair removal cached in ' + str(cache) if recipe.remove_hair else 'no hair removal'}, "
        f"{recipe.image_size}x{recipe.image_size}, aspect {recipe.aspect})")
    train_images = preprocessing.load_many(train["path"].tolist(), cache_dir=cache if recipe.remove_hair else None,
                                           progress=progress if progress is not None else None)
    val_images = preprocessing.load_many(val["path"].tolist(), cache_dir=cache if recipe.remove_hair else None)
    train_labels = train["label"].to_numpy().astype(np.int64)
    val_labels = val["label"].to_numpy().astype(np.int64)
    timings["images"] = timings.get("images", 0.0) + time.perf_counter() - started

    # Model ------------------------------------------------------------------------------
    started = time.perf_counter()
    keras.utils.set_random_seed(recipe.seed)
    tf.config.experimental.enable_op_determinism()
    train_features = metadata_features(train) if recipe.metadata else None
    val_features = metadata_features(val) if recipe.metadata else None
    model = build_mobilenetv2_classifier(
        num_classes, input_shape=(recipe.image_size, recipe.image_size, 3), weights=recipe.weights,
        alpha=recipe.alpha, dropout=recipe.dropout, dense_units=recipe.dense_units,
        freeze_base=recipe.weights is not None,
        metadata_features=None if train_features is None else train_features.shape[1],
    )
    targets = sampling_targets(recipe, train_labels, num_classes)
    prior = training_prior(recipe, train_labels, num_classes)
    weights = class_weights(train_labels, num_classes) if recipe.sampling == "class-weight" else None
    state: dict[str, Any] = {"epoch": 0, "best_score": -1.0, "best_epoch": 0, "wait": 0, "history": {},
                             "stopped_early": False, "head_done": False}
    resuming = (run / "state.json").is_file() and (run / "last.weights.h5").is_file()
    if resuming:
        state = json.loads((run / "state.json").read_text())
    if recipe.head_epochs and recipe.metadata:
        raise ValueError("head_epochs (head on frozen image features) does not go with the metadata branch; "
                         "use one of them")
    if recipe.head_epochs and not state.get("head_done"):
        _train_head_on_features(model, train_images, train_labels, recipe, num_classes, targets, weights, log)
        state["head_done"] = True
    if recipe.weights is not None:  # from scratch, everything (BatchNorm included) trains
        set_base_trainable(model, recipe.fine_tune_layers)

    epoch_size = int(targets.sum()) if not isinstance(targets, str) else train_labels.size
    steps = math.ceil(epoch_size / recipe.batch_size)
    if recipe.epochs > 0:
        total = steps * recipe.epochs
        warmup = int(round(recipe.warmup_epochs * steps))
        if warmup >= total:
            rate: Any = recipe.learning_rate
        elif warmup > 0:
            rate = keras.optimizers.schedules.CosineDecay(0.0, total - warmup, warmup_target=recipe.learning_rate,
                                                          warmup_steps=warmup)
        else:
            rate = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, total)
        model.compile(optimizer=keras.optimizers.Adam(rate),
                      loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.0), metrics=["accuracy"])
        if resuming:
            model.optimizer.build(model.trainable_variables)
            model.load_weights(run / "last.weights.h5")
            log(f"resuming {run} after epoch {state['epoch']}")
        pipeline = augmentation_pipeline(recipe.augment)

        def one_epoch(epoch: tf.Tensor) -> tf.data.Dataset:
            return T.from_arrays(train_images, train_labels, batch_size=recipe.batch_size, sampling=targets,
                                 features=train_features,
                                 pipeline=pipeline, seed=recipe.seed, epoch=epoch, num_classes=num_classes,
                                 one_hot=True, label_smoothing=recipe.label_smoothing)

        finished = state["epoch"] >= recipe.epochs or state.get("stopped_early", False)
        if not finished:
            stream = T.epochs(one_epoch, recipe.epochs, start=state["epoch"]).prefetch(2)
            callback = _Progress(run=run, val_images=val_images, val_labels=val_labels, prior=prior, recipe=recipe,
                                 state=state, log=log, steps=steps, total_epochs=recipe.epochs,
                                 val_metadata=val_features)
            model.fit(stream, epochs=recipe.epochs, initial_epoch=state["epoch"], steps_per_epoch=steps,
                      callbacks=[callback], class_weight=weights, verbose=0, shuffle=False)
        if (run / "best.weights.h5").is_file():
            model.load_weights(run / "best.weights.h5")
    timings["training"] = timings.get("training", 0.0) + time.perf_counter() - started

    # Calibration on the validation split ---------------------------------------------------
    started = time.perf_counter()
    probabilities = predict_with_tta(model, val_images, tta=recipe.tta, metadata=val_features)
    raw = balanced_accuracy(val_labels, probabilities.argmax(axis=1), num_classes)
    tau, corrected = choose_tau(probabilities, val_labels, prior) if recipe.prior_correction else (0.0, raw)
    _write_json(run / "calibration.json", {"prior": prior.tolist(), "tau": tau, "val_balanced_accuracy": raw,
                                           "val_balanced_accuracy_corrected": corrected, "tta": recipe.tta})
    with atomic_path(run / "best.keras") as temp:
        model.save(temp)
    _write_json(run / "history.json", state["history"])
    timings["calibration"] = time.perf_counter() - started
    _write_json(run / "timings.json", timings)
    state["finished"] = True
    _write_json(run / "state.json", state)
    log(f"validation balanced accuracy {raw:.3f}; with the prior correction (tau {tau:g}) {corrected:.3f}")
    return Run(run, model=model)


# ----------------------------------------------------------------------------
# A finished run
# ----------------------------------------------------------------------------


class Run:
    """A finished training run folder: its settings, its model, and predictions made exactly as in training.

    Parameters
    ----------
    path : path
        A folder written by `fit()` (``dermmodels train``).
    model : keras.Model, optional
        The model, if already in memory (otherwise ``best.keras`` is loaded
        on first use, in Keras' safe mode).
    """

    def __init__(self, path: str | os.PathLike[str], *, model: Any = None) -> None:
        from dermprep.preprocess import Preprocessing  # noqa: PLC0415

        self.path = Path(path)
        config_file = self.path / "config.json"
        if not config_file.is_file():
            raise FileNotFoundError(f"{str(self.path)!r} is not a dermmodels run folder (no config.json)")
        try:
            self.config = json.loads(config_file.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{config_file} is not readable JSON: {exc}") from None
        if self.config.get("format") != 2:
            raise ValueError(f"{str(self.path)!r} was written by an older dermmodels (no recipe); train it again")
        self.recipe = Recipe.from_dict(self.config["recipe"])
        self.class_names: list[str] = list(self.config["class_names"])
        self.preprocessing = Preprocessing.from_dict(self.config["preprocessing"])
        calibration_file = self.path / "calibration.json"
        if not calibration_file.is_file() or not (self.path / "best.keras").is_file():
            raise FileNotFoundError(f"{str(self.path)!r} is not a finished run (no calibration.json or best.keras): "
                                    "train it to the end first (dermmodels train resumes it)")
        calibration = json.loads(calibration_file.read_text())
        self.prior = np.asarray(calibration["prior"], dtype=np.float64)
        self.tau = float(calibration["tau"])
        self._model = model

    @property
    def model(self) -> Any:
        """The selected Keras model (loaded from ``best.keras`` on first use)."""
        if self._model is None:
            import keras  # noqa: PLC0415

            try:
                self._model = keras.models.load_model(self.path / "best.keras", safe_mode=True)
            except (OSError, ValueError) as exc:
                raise ValueError(f"{self.path / 'best.keras'} cannot be loaded (damaged or incomplete?): {exc}") from None
        return self._model

    def predict(self, images: np.ndarray, *, tta: bool | None = None, batch_size: int = 64,
                metadata: Any = None) -> np.ndarray:
        """Calibrated class probabilities (N, classes) for preprocessed uint8 images (N, S, S, 3).

        ``tta=None`` follows the recipe. A run with the metadata branch needs
        ``metadata``: records with HAM10000's ``age``, ``sex`` and
        ``localization`` columns (a DataFrame), one row per image.
        """
        from dermprep.validation import check_image  # noqa: PLC0415

        images = check_image(images, "images")
        if images.ndim == 3:
            images = images[None]
        size = self.preprocessing.image_size
        if images.shape[1:3] != tuple(size) or images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 with shape (N, {size[0]}, {size[1]}, 3) (use predict_files for "
                             f"image files); got {images.dtype} {images.shape}")
        tta = self.recipe.tta if tta is None else bool(tta)
        features = None
        if self.recipe.metadata:
            if metadata is None:
                raise ValueError("this run uses the metadata branch: pass metadata= (age, sex, localization per image)")
            features = metadata_features(metadata)
            if features.shape[0] != images.shape[0]:
                raise ValueError(f"metadata must have one row per image ({images.shape[0]}); got {features.shape[0]}")
        probabilities = predict_with_tta(self.model, images, tta=tta, batch_size=batch_size, metadata=features)
        return correct(probabilities, self.prior, self.tau)

    def load_images(self, paths: Sequence[str | os.PathLike[str]], *, progress: bool | None = None) -> np.ndarray:
        """Files through the run's own preprocessing (decode upright, hair removal, framing, resizing)."""
        return self.preprocessing.load_many(paths, progress=progress)
