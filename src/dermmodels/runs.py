"""A training run: fit a `Recipe` into a `RunFolder`, resume it, load it, predict with it.

`fit()` is the one training path of dermmodels: ``dermmodels train``, ``dermmodels
demo`` and the experiments all call it. It decodes every image once into
memory (through the recipe's `Preprocessing`, hair removal cached on disk),
turns the recipe and labels into a `TrainingPlan`, then trains on explicit
epochs: epoch ``e``'s class sampling, augmentation and mixing depend only on
``(seed, e)``, dropout is re-seeded from ``(seed, e)``, and TensorFlow runs
deterministically, so a run killed at any moment and started again with the
same folder ends where an uninterrupted run would. The shared `Checkpoint`
writes the resume point, the best model (by validation balanced accuracy
after the prior correction) and the state after every epoch. Afterwards the
prior correction and the temperature are chosen on the validation part
(`Calibration`), and the folder holds everything `Run` needs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from dermprep.validation import check_labels

from .calibration import Calibration, balanced_accuracy, choose_tau, fit_temperature
from .calibration import correct as correct
from .plan import TrainingPlan, plan_training
from .recipe import Recipe
from .run_folder import CONFIG_FORMAT, RunConflictError, RunFolder, new_state

__all__ = ["MEMBER_SEED_STRIDE", "Run", "RunConflictError", "fit", "member_seed", "metadata_features", "predict_with_tta",
           "tta_views"]


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


def _predict_members(model: Any, members: Sequence[Path], images: np.ndarray, *, tta: bool, batch_size: int = 64,
                     metadata: np.ndarray | None = None) -> np.ndarray:
    """The model's probabilities, averaged with those of the snapshot-ensemble ``members`` (weight files)."""
    total = predict_with_tta(model, images, tta=tta, batch_size=batch_size, metadata=metadata)
    if not members:
        return total
    own = model.get_weights()
    try:
        for member in members:
            model.load_weights(member)
            total += predict_with_tta(model, images, tta=tta, batch_size=batch_size, metadata=metadata)
    finally:
        model.set_weights(own)
    return total / (len(members) + 1)


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

    return {"format": CONFIG_FORMAT, "preset": preset, "recipe": recipe.to_dict(), "class_names": list(class_names),
            "preprocessing": recipe.preprocessing().to_dict(), "data": dict(data), "dermprep_version": __version__}


@dataclass
class _Data:
    """The decoded images, labels and (optional) metadata features of the training and validation parts."""

    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray | None
    val_labels: np.ndarray | None
    train_features: np.ndarray | None = None
    val_features: np.ndarray | None = None
    train_targets: np.ndarray | None = None  # soft targets (distillation): (N, C) rows


def _load(recipe: Recipe, train: Any, val: Any, folder: RunFolder, hair_cache: Path | None, log: Callable[[str], Any],
          progress: bool | None) -> _Data:
    """Every image decoded once (hair removal cached on disk); ``final`` folds the validation part into training."""
    import pandas as pd  # noqa: PLC0415

    started = time.perf_counter()
    if recipe.final:
        train, val = pd.concat([train, val], ignore_index=True), None
    preprocessing = recipe.preprocessing()
    cache = (hair_cache or folder.file("hair-cache")) if recipe.remove_hair else None
    count = len(train) + (0 if val is None else len(val))
    log(f"loading {count} images ({'hair removal cached in ' + str(cache) if cache else 'no hair removal'}, "
        f"{recipe.image_size}x{recipe.image_size}, aspect {recipe.aspect})"
        + (": training on the training and validation parts together (final)" if recipe.final else ""))
    data = _Data(train_images=preprocessing.load_many(train["path"].tolist(), cache_dir=cache, progress=progress),
                 train_labels=train["label"].to_numpy().astype(np.int64),
                 val_images=None if val is None else preprocessing.load_many(val["path"].tolist(), cache_dir=cache),
                 val_labels=None if val is None else val["label"].to_numpy().astype(np.int64))
    if recipe.metadata:
        data.train_features = metadata_features(train)
        data.val_features = None if val is None else metadata_features(val)
    folder.add_timing("images", time.perf_counter() - started)
    return data


def fit(
    recipe: Recipe,
    train: Any,
    val: Any,
    run_dir: str | os.PathLike[str],
    *,
    class_names: Sequence[str],
    test: Any = None,
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
        `dermprep.ham10000` or `dermprep.datasets`), split by lesion or
        patient beforehand. With ``recipe.final`` both are trained on.
    run_dir : path
        Created if needed. A folder holding the same run (same recipe,
        classes and data) is resumed; a folder holding another run raises
        `RunConflictError` before anything in it changes.
    class_names : sequence of str
    test : pandas.DataFrame, optional
        The held-out records, not used here: recorded in the run's split so
        that ``dermmodels evaluate RUN`` scores them.
    preset : str, optional
        Recorded in ``config.json``.
    data : dict, optional
        What the data is (paths, split settings); recorded, and compared on resume.
    hair_cache : path, optional
        Folder of the hair-removal cache (default: in the run); share it
        between runs on the same images.
    log : callable
        Where progress lines go.
    progress : bool, optional
        Progress bar while loading images (default: on a terminal).

    Returns
    -------
    Run
    """
    import pandas as pd  # noqa: PLC0415

    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a dermmodels.Recipe; got {type(recipe).__name__}")
    class_names = [str(c) for c in class_names]
    if len(class_names) < 2 or len(set(class_names)) != len(class_names):
        raise ValueError(f"class_names must hold at least 2 distinct names; got {class_names}")
    train = _check_records(train, "train", len(class_names))
    val = _check_records(val, "val", len(class_names))
    folder = RunFolder(run_dir)
    folder.start(_config_for(recipe, preset, class_names, data or {}))
    folder.write_split({"train": train, "val": val, **({"test": test} if isinstance(test, pd.DataFrame) else {})})
    loaded = _load(recipe, train, val, folder, Path(hair_cache) if hair_cache else None, log, progress)
    plan = plan_training(recipe, loaded.train_labels, len(class_names))
    if recipe.teachers:
        loaded.train_targets = _teacher_targets(recipe, train, val, len(class_names), log)
    started = time.perf_counter()
    model, state = _train_members(recipe, plan, loaded, folder, log)
    folder.add_timing("training", time.perf_counter() - started)
    started = time.perf_counter()
    calibration = _calibrate(recipe, plan, model, loaded, folder, log)
    folder.write_calibration(calibration.to_dict())
    folder.save_model(model)
    folder.write_history(state["history"])
    folder.add_timing("calibration", time.perf_counter() - started)
    folder.write_state({**state, "finished": True})
    return Run(folder.path, model=model)


def _teacher_targets(recipe: Recipe, train: Any, val: Any, num_classes: int, log: Callable[[str], Any]) -> np.ndarray:
    """The teachers' averaged, TTA-averaged probabilities for every training image (each through the teacher's
    own preprocessing), mixed with the one-hot labels by ``distill_weight``."""
    import pandas as pd  # noqa: PLC0415

    records = pd.concat([train, val], ignore_index=True) if recipe.final else train
    total = np.zeros((len(records), num_classes))
    for path in recipe.teachers:
        teacher = Run(path)
        if len(teacher.class_names) != num_classes:
            raise ValueError(f"teacher {path} has {len(teacher.class_names)} classes; this run has {num_classes}")
        log(f"teacher {path}: predicting {len(records)} training images")
        total += teacher.probabilities(teacher.load_images(records["path"].tolist(), progress=False))
    onehot = np.eye(num_classes)[records["label"].to_numpy()]
    weight = recipe.distill_weight
    return ((1.0 - weight) * onehot + weight * total / len(recipe.teachers)).astype(np.float32)


def _build_model(recipe: Recipe, plan: TrainingPlan, loaded: _Data) -> Any:
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    from .model import build_mobilenetv2_classifier  # noqa: PLC0415

    keras.utils.set_random_seed(recipe.seed)
    tf.config.experimental.enable_op_determinism()
    return build_mobilenetv2_classifier(
        plan.num_classes, input_shape=(recipe.image_size, recipe.image_size, 3), weights=recipe.weights,
        alpha=recipe.alpha, dropout=recipe.dropout, dense_units=recipe.dense_units,
        freeze_base=recipe.weights is not None,
        metadata_features=None if loaded.train_features is None else loaded.train_features.shape[1],
    )


def _compile(model: Any, recipe: Recipe, plan: TrainingPlan) -> None:
    import keras  # noqa: PLC0415

    from ._keras import learning_rate_schedule  # noqa: PLC0415

    ema = {"use_ema": True, "ema_momentum": recipe.ema} if recipe.ema is not None else {}
    model.compile(optimizer=keras.optimizers.Adam(learning_rate_schedule(plan, recipe.learning_rate), **ema),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.0), metrics=["accuracy"])


#: Member k of an ensemble trains with seed ``seed + MEMBER_SEED_STRIDE * k``: runs with neighbouring seeds
#: (0 and 1, as an ablation uses) share no member.
MEMBER_SEED_STRIDE = 1000


def member_seed(seed: int, k: int) -> int:
    """The training seed of ensemble member ``k`` of a run with ``seed`` (member 0 is the run's own seed).

    >>> member_seed(0, 0), member_seed(0, 1), member_seed(1, 1)
    (0, 1000, 1001)
    """
    return (seed + MEMBER_SEED_STRIDE * k) % 2**63


def _train_members(recipe: Recipe, plan: TrainingPlan, loaded: _Data, folder: RunFolder,
                   log: Callable[[str], Any]) -> tuple[Any, dict[str, Any]]:
    """The run's model, or with ``members`` > 1 an ensemble: member ``k`` is the recipe with seed
    `member_seed` ``(seed, k)`` trained in its own resumable folder, its selected weights kept as the run's member ``k``; member 0 is the
    run's own model."""
    if recipe.members == 1:
        return _train_model(recipe, plan, loaded, folder, log)
    first: tuple[Any, dict[str, Any]] | None = None
    for k in range(recipe.members):
        member = replace(recipe, members=1, seed=member_seed(recipe.seed, k))
        log(f"ensemble member {k + 1}/{recipe.members} (seed {member.seed})")
        member_folder = folder.member_folder(k)
        member_folder.path.mkdir(parents=True, exist_ok=True)
        model, state = _train_model(member, plan, loaded, member_folder, log)
        if k == 0:
            first = (model, state)
        else:
            folder.save_weights(model, folder.member_weights(k))
    assert first is not None
    folder.save_weights(first[0], folder.best_weights)
    return first


def _train_model(recipe: Recipe, plan: TrainingPlan, loaded: _Data, folder: RunFolder,
                 log: Callable[[str], Any]) -> tuple[Any, dict[str, Any]]:
    """Build, (head phase,) train with the shared checkpoint, resume where a killed run stopped, select."""
    from ._keras import WeightAverage  # noqa: PLC0415
    from .model import set_base_trainable  # noqa: PLC0415

    model = _build_model(recipe, plan, loaded)
    monitor = "last" if loaded.val_images is None or recipe.restarts > 1 else "val_balanced_accuracy_corrected"
    state = folder.state() or new_state(monitor, "max")
    if recipe.head_epochs and not state.get("head_done"):
        _train_head_on_features(model, loaded, recipe, plan, log)
        state["head_done"] = True
    if recipe.weights is not None:  # from scratch, everything (BatchNorm included) trains
        set_base_trainable(model, recipe.fine_tune_layers)
    if recipe.epochs == 0:
        return model, state
    _compile(model, recipe, plan)
    if state["epoch"] > 0:
        model.optimizer.build(model.trainable_variables)
        model.load_weights(folder.last_weights)
        log(f"resuming {folder.path} after epoch {state['epoch']}")
    if not (state["epoch"] >= recipe.epochs or state.get("stopped_early")):
        _run_epochs(model, recipe, plan, loaded, folder, state, log)
    if recipe.swa_epochs:
        model.set_weights(WeightAverage(folder, epochs=recipe.swa_epochs, total_epochs=recipe.epochs).average())
    elif folder.best_weights.is_file():
        model.load_weights(folder.best_weights)
    return model, state


def _run_epochs(model: Any, recipe: Recipe, plan: TrainingPlan, loaded: _Data, folder: RunFolder,
                state: dict[str, Any], log: Callable[[str], Any]) -> None:
    import dermprep.tfdata as T  # noqa: PLC0415

    from ._keras import Checkpoint, ReseedDropout, Snapshots, WeightAverage  # noqa: PLC0415

    pipeline = recipe.pipeline()

    def one_epoch(epoch: Any) -> Any:
        dataset = T.from_arrays(
            loaded.train_images, loaded.train_labels, targets=loaded.train_targets,
            batch_size=recipe.batch_size, sampling="shuffle" if plan.targets is None else plan.targets,
            features=loaded.train_features, pipeline=pipeline, seed=recipe.seed, epoch=epoch,
            num_classes=plan.num_classes, one_hot=True, label_smoothing=recipe.label_smoothing)
        if recipe.mixup or recipe.cutmix:
            dataset = dataset.apply(T.mix(mixup=recipe.mixup, cutmix=recipe.cutmix, seed=recipe.seed, epoch=epoch))
        return dataset

    evaluate = None if loaded.val_images is None else (lambda m: _validation_scores(m, recipe, plan, loaded))
    callbacks = [ReseedDropout(recipe.seed),
                 Checkpoint(folder, state, monitor=state["monitor"], mode="max", patience=recipe.patience,
                            evaluate=evaluate, log=log, total_epochs=recipe.epochs)]
    if recipe.swa_epochs:
        callbacks.append(WeightAverage(folder, epochs=recipe.swa_epochs, total_epochs=recipe.epochs))
    if recipe.restarts > 1:
        callbacks.append(Snapshots(folder, cycle_epochs=plan.cycle_epochs, restarts=recipe.restarts))
    stream = T.epochs(one_epoch, recipe.epochs, start=state["epoch"]).prefetch(2)
    model.fit(stream, epochs=recipe.epochs, initial_epoch=state["epoch"], steps_per_epoch=plan.steps_per_epoch,
              callbacks=callbacks, class_weight=plan.class_weight, verbose=0, shuffle=False)


def _validation_scores(model: Any, recipe: Recipe, plan: TrainingPlan, loaded: _Data) -> dict[str, float]:
    """Validation balanced accuracy after an epoch, raw and with the prior correction chosen for it."""
    probabilities = predict_with_tta(model, loaded.val_images, tta=False, metadata=loaded.val_features)
    raw = balanced_accuracy(loaded.val_labels, probabilities.argmax(axis=1), plan.num_classes)
    tau, corrected = choose_tau(probabilities, loaded.val_labels, plan.prior) if recipe.prior_correction \
        else (0.0, raw)
    return {"val_balanced_accuracy": raw, "val_balanced_accuracy_corrected": corrected, "val_tau": tau}


def _train_head_on_features(model: Any, loaded: _Data, recipe: Recipe, plan: TrainingPlan,
                            log: Callable[[str], Any]) -> None:
    """Frozen-base features computed once, the head trained on them for ``head_epochs`` (seconds, not minutes)."""
    import keras  # noqa: PLC0415

    from dermprep.sampling import epoch_indices  # noqa: PLC0415

    from .model import feature_extractor  # noqa: PLC0415

    started = time.perf_counter()
    labels = loaded.train_labels
    features = feature_extractor(model).predict(loaded.train_images, batch_size=64, verbose=0)
    head_layers = [model.get_layer(name) for name in ("dropout", "dense", "probabilities")]
    head = keras.Sequential([keras.Input(shape=features.shape[1:]), *head_layers])
    head.compile(optimizer=keras.optimizers.Adam(1e-3),
                 loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing))
    targets = np.eye(plan.num_classes, dtype=np.float32)[labels] if loaded.train_targets is None \
        else loaded.train_targets
    for epoch in range(recipe.head_epochs):
        index = (np.random.default_rng([recipe.seed, epoch, 1]).permutation(labels.size) if plan.targets is None
                 else epoch_indices(labels, plan.targets, seed=recipe.seed, epoch=epoch))
        head.fit(features[index], targets[index], batch_size=recipe.batch_size, epochs=1, verbose=0,
                 shuffle=False, class_weight=plan.class_weight)
    log(f"head trained on frozen-base features for {recipe.head_epochs} epochs in {time.perf_counter() - started:.0f} s")


def _members(folder: RunFolder, recipe: Recipe) -> list[Path]:
    """The weight files of the ensemble's other members (snapshots or independently trained models)."""
    count = max(recipe.restarts, recipe.members)
    return [folder.member_weights(k) for k in range(1, count) if folder.member_weights(k).is_file()]


def _calibrate(recipe: Recipe, plan: TrainingPlan, model: Any, loaded: _Data, folder: RunFolder,
               log: Callable[[str], Any]) -> Calibration:
    """The prior correction and temperature: fixed by the recipe, else chosen on the validation part."""
    prior = tuple(plan.prior.tolist())
    tau = recipe.tau if recipe.prior_correction else 0.0  # None: chosen on validation
    if loaded.val_images is None:  # a final fit: Recipe requires tau to be fixed
        temperature = recipe.temperature or 1.0
        log(f"final fit: prior correction tau {tau:g} and temperature {temperature:g}, fixed by the recipe")
        return Calibration(prior=prior, tau=float(tau or 0.0), temperature=temperature)
    probabilities = _predict_members(model, _members(folder, recipe), loaded.val_images, tta=recipe.tta,
                                     metadata=loaded.val_features)
    labels = loaded.val_labels
    raw = balanced_accuracy(labels, probabilities.argmax(axis=1), plan.num_classes)
    if tau is None:
        tau, corrected = choose_tau(probabilities, labels, plan.prior)
    else:
        corrected = balanced_accuracy(labels, correct(probabilities, plan.prior, tau).argmax(axis=1), plan.num_classes)
    temperature = recipe.temperature or fit_temperature(correct(probabilities, plan.prior, tau), labels)
    log(f"validation balanced accuracy {raw:.3f}; with the prior correction (tau {tau:g}) {corrected:.3f}; "
        f"temperature {temperature:.2f}")
    return Calibration(prior=prior, tau=float(tau), temperature=float(temperature),
                       validation={"val_balanced_accuracy": raw, "val_balanced_accuracy_corrected": corrected,
                                   "tta": recipe.tta, "images": int(labels.size)})


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

        self.folder = RunFolder(path)
        self.path = self.folder.path
        self.config = self.folder.config()
        self.recipe = Recipe.from_dict(self.config["recipe"])
        self.class_names: list[str] = list(self.config["class_names"])
        self.preprocessing = Preprocessing.from_dict(self.config["preprocessing"])
        stored = self.folder.calibration()
        if stored is None or not self.folder.model_file.is_file():
            raise FileNotFoundError(f"{str(self.path)!r} is not a finished run (no calibration.json or best.keras): "
                                    "train it to the end first (dermmodels train resumes it)")
        self.calibration = Calibration.from_dict(stored)
        self.members = _members(self.folder, self.recipe)
        self._model = model

    @property
    def prior(self) -> np.ndarray:
        """The class frequencies the model learned from."""
        return np.asarray(self.calibration.prior, dtype=np.float64)

    @property
    def tau(self) -> float:
        """The prior correction's power."""
        return self.calibration.tau

    @property
    def model(self) -> Any:
        """The selected Keras model (loaded from ``best.keras`` on first use)."""
        if self._model is None:
            import keras  # noqa: PLC0415

            try:
                self._model = keras.models.load_model(self.folder.model_file, safe_mode=True, compile=False)
            except (OSError, ValueError) as exc:
                raise ValueError(f"{self.folder.model_file} cannot be loaded (damaged or incomplete?): {exc}") from None
        return self._model

    def _features(self, images: np.ndarray, metadata: Any) -> np.ndarray | None:
        if not self.recipe.metadata:
            return None
        if metadata is None:
            raise ValueError("this run uses the metadata branch: pass metadata= (age, sex, localization per image)")
        features = metadata_features(metadata)
        if features.shape[0] != images.shape[0]:
            raise ValueError(f"metadata must have one row per image ({images.shape[0]}); got {features.shape[0]}")
        return features

    def probabilities(self, images: np.ndarray, *, tta: bool | None = None, batch_size: int = 64,
                      metadata: Any = None) -> np.ndarray:
        """The model's own probabilities (N, classes), averaged over TTA views and ensemble members, before
        the run's calibration (`predict()` applies it)."""
        from dermprep.validation import check_image  # noqa: PLC0415

        images = check_image(images, "images")
        if images.ndim == 3:
            images = images[None]
        size = self.preprocessing.image_size
        if images.shape[1:3] != tuple(size) or images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 with shape (N, {size[0]}, {size[1]}, 3) (use load_images for "
                             f"image files); got {images.dtype} {images.shape}")
        tta = self.recipe.tta if tta is None else bool(tta)
        return _predict_members(self.model, self.members, images, tta=tta, batch_size=batch_size,
                                metadata=self._features(images, metadata))

    def predict(self, images: np.ndarray, *, tta: bool | None = None, batch_size: int = 64,
                metadata: Any = None) -> np.ndarray:
        """Calibrated class probabilities (N, classes) for preprocessed uint8 images (N, S, S, 3): prior
        correction and temperature as chosen on the validation split.

        ``tta=None`` follows the recipe. A run with the metadata branch needs
        ``metadata``: records with HAM10000's ``age``, ``sex`` and
        ``localization`` columns (a DataFrame), one row per image.
        """
        return self.calibration.apply(self.probabilities(images, tta=tta, batch_size=batch_size, metadata=metadata))

    def load_images(self, paths: Sequence[str | os.PathLike[str]], *, progress: bool | None = None) -> np.ndarray:
        """Files through the run's own preprocessing (decode upright, hair removal, framing, resizing)."""
        return self.preprocessing.load_many(paths, progress=progress)

    def split(self, part: str) -> Any:
        """The run's records of one part (``"train"``, ``"val"``, ``"test"``) as recorded when it trained."""
        return self.folder.split(part)
