"""Training helper: Adam, early stopping with best-weight restore, checkpoints, resumable runs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["check_dataset", "fine_tune", "train"]


def check_dataset(model: Any, dataset: Any, name: str) -> None:
    """Raise a clear error before training if ``dataset`` cannot feed ``model``."""
    import tensorflow as tf  # noqa: PLC0415

    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(f"{name} must be a tf.data.Dataset; got {type(dataset).__name__}")
    spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise ValueError(f"{name} elements must be (inputs, labels); got element_spec {spec!r}")
    inputs, labels = spec
    expected = {t.name.split(":")[0]: tuple(t.shape[1:]) for t in model.inputs}
    given = {"image": inputs} if isinstance(inputs, tf.TensorSpec) else inputs
    if not isinstance(given, dict) or set(given) != set(expected):
        raise ValueError(f"{name} inputs must be {sorted(expected)} for this model; got {spec!r}")
    for key, shape in expected.items():
        got = tuple(given[key].shape[1:]) if given[key].shape.rank == len(shape) + 1 else None
        if got is None or any(g is not None and g != s for g, s in zip(got, shape, strict=True)):
            raise ValueError(
                f"{name} input {key!r} must be batched with shape (batch, {', '.join(map(str, shape))}); "
                f"got {given[key].shape} (did you forget .batch()?)"
            )
    classes = int(model.outputs[0].shape[-1])
    if labels.shape.rank == 2 and labels.shape[-1] not in (None, classes):
        raise ValueError(f"{name} one-hot labels have {labels.shape[-1]} classes; the model has {classes}")
    if labels.shape.rank not in (1, 2):
        raise ValueError(f"{name} labels must be (batch,) ints or (batch, {classes}) one-hot; got {labels.shape}")
    if int(dataset.cardinality()) == 0:
        raise ValueError(f"{name} is empty")


def _loss_for(dataset: Any) -> str:
    labels = dataset.element_spec[1]
    return "categorical_crossentropy" if labels.shape.rank == 2 else "sparse_categorical_crossentropy"


def train(
    model: Any,
    train_ds: Any,
    val_ds: Any,
    *,
    epochs: int = 30,
    learning_rate: float = 1e-3,
    patience: int = 5,
    run_dir: str | os.PathLike[str] | None = None,
    class_weight: dict[int, float] | None = None,
    resume: bool = True,
    strategy: Any = None,
    verbose: int = 1,
) -> dict[str, list[float]]:
    """Train with Adam and cross-entropy (the paper's setup), early stopping and checkpoints.

    Early stopping watches validation loss and restores the best weights.
    With ``run_dir``: the best model goes to ``best.keras``, the last
    weights and epoch to ``last.weights.h5`` / ``state.json`` after every
    epoch, the history to ``history.csv`` and ``history.json``; a run
    interrupted before ``epochs`` resumes where it stopped when called
    again with the same ``run_dir`` (``resume=True``).

    Parameters
    ----------
    model : keras.Model
    train_ds, val_ds : tf.data.Dataset
        Batched ``(inputs, labels)``; int or one-hot labels (the loss follows).
        ``train_ds`` must come shuffled (``from_records(balance=...)`` or
        ``from_records(shuffle_seed=...)``): Keras does not shuffle a dataset.
    epochs, learning_rate, patience : training settings
    run_dir : path, optional
    class_weight : dict, optional
        Loss weights (e.g. :func:`dermprep.sampling.class_weights`), as an
        alternative to a balanced dataset.
    resume : bool
    strategy : tf.distribute.Strategy, optional
        Compile (optimizer and metrics) under this strategy's scope, for
        multi-device or multi-worker training. Build the model under the same
        ``strategy.scope()``.
    verbose : int
        Keras progress display (0 silent, 1 progress bar, 2 one line per epoch).

    Returns
    -------
    dict
        The history (loss, accuracy, val_loss, val_accuracy per epoch), including resumed epochs.
    """
    import keras  # noqa: PLC0415

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer; got {epochs!r}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0; got {learning_rate!r}")
    check_dataset(model, train_ds, "train_ds")
    check_dataset(model, val_ds, "val_ds")
    if strategy is not None:
        with strategy.scope():
            model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=_loss_for(train_ds),
                          metrics=["accuracy"])
    else:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=_loss_for(train_ds), metrics=["accuracy"])
    callbacks: list[Any] = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    ]
    history: dict[str, list[float]] = {}
    initial_epoch = 0
    if run_dir is not None:
        run = Path(run_dir)
        run.mkdir(parents=True, exist_ok=True)
        state_file = run / "state.json"
        if resume and state_file.is_file() and (run / "last.weights.h5").is_file():
            state = json.loads(state_file.read_text())
            model.optimizer.build(model.trainable_variables)  # the file holds Adam's state too
            model.load_weights(run / "last.weights.h5")
            initial_epoch = int(state["epoch"])
            history = state.get("history", {})
        callbacks += [
            keras.callbacks.ModelCheckpoint(run / "best.keras", monitor="val_loss", save_best_only=True),
            keras.callbacks.CSVLogger(str(run / "history.csv"), append=initial_epoch > 0),
            _StateSaver(run, history),
        ]
    if initial_epoch >= epochs:
        return history
    result = model.fit(
        train_ds, validation_data=val_ds, epochs=epochs, initial_epoch=initial_epoch,
        callbacks=callbacks, class_weight=class_weight, verbose=verbose, shuffle=False,
    )
    for key, values in result.history.items():
        history.setdefault(key, [])
        history[key] = history[key][: initial_epoch] + [float(v) for v in values] if initial_epoch else [
            float(v) for v in values
        ]
    if run_dir is not None:
        (Path(run_dir) / "history.json").write_text(json.dumps(history, indent=2))
    return history


def fine_tune(
    model: Any,
    train_ds: Any,
    val_ds: Any,
    *,
    layers: int = 30,
    learning_rate: float = 1e-5,
    **train_options: Any,
) -> dict[str, list[float]]:
    """Second phase: unfreeze the top ``layers`` of the base and train at a low learning rate.

    BatchNorm layers stay frozen and the base runs in inference mode (the
    factory calls it with ``training=False``): naive fine-tuning with
    BatchNorm in training mode is what made fine-tuning hurt in the issue's
    measurement. Other options go to :func:`train`.
    """
    import keras  # noqa: PLC0415

    bases = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if not bases:
        raise ValueError("fine_tune expects a model from build_mobilenetv2_classifier (a nested base model)")
    base = bases[0]
    if isinstance(layers, bool) or not isinstance(layers, int) or not 0 < layers <= len(base.layers):
        raise ValueError(f"layers must be in [1, {len(base.layers)}]; got {layers!r}")
    base.trainable = True
    for layer in base.layers[:-layers]:
        layer.trainable = False
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return train(model, train_ds, val_ds, learning_rate=learning_rate, **train_options)


class _StateSaver:
    """Keras callback (duck-typed through keras.callbacks.Callback) saving weights + epoch + history."""

    def __new__(cls, run: Path, history: dict[str, list[float]]) -> Any:  # noqa: D102
        import keras  # noqa: PLC0415

        class Saver(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
                for key, value in (logs or {}).items():
                    history.setdefault(key, [])
                    history[key] = history[key][:epoch] + [float(value)]
                self.model.save_weights(run / "last.weights.h5")
                temp = run / "state.json.partial"
                temp.write_text(json.dumps({"epoch": epoch + 1, "history": history}))
                os.replace(temp, run / "state.json")

        return Saver()
