"""Lower-level Keras training helpers: Adam, early stopping with best-weight restore, crash-safe resumable runs.

`dermmodels.fit()` runs whole recipes; these helpers train a model you
built on datasets you built, through the same checkpoint and run folder
(`dermmodels.run_folder.RunFolder`): with ``run_dir``, every file is
written atomically after each epoch (a ``kill -9`` never leaves a truncated
checkpoint), and the state keeps the epoch, the best validation loss and the
early-stopping count, so a resumed run neither forgets its best model nor
restarts its patience.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from dermprep.validation import check_bool, check_number, check_positive_int

from .run_folder import RunFolder, new_state

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


def _steps_per_epoch(train_ds: Any, steps_per_epoch: int | None) -> tuple[int | None, int | None]:
    """Batches per Keras epoch (given, taken from a `dermprep.tfdata.epochs()` stream, or None: the dataset's
    length) and how many epochs the stream holds (None: any number); refused where Keras would guess wrong."""
    import tensorflow as tf  # noqa: PLC0415

    from dermprep.tfdata import epoch_lengths  # noqa: PLC0415

    if steps_per_epoch is not None:
        return check_positive_int(steps_per_epoch, "steps_per_epoch"), None
    lengths = epoch_lengths(train_ds)
    if lengths is not None:  # one dermprep epoch per Keras epoch, never one Keras epoch over all of them
        if len(set(lengths)) != 1:
            raise ValueError(f"train_ds' epochs (dermprep.tfdata.epochs()) have different numbers of batches "
                             f"{lengths[:10]}, so Keras epochs cannot follow them; give every epoch the same "
                             "length (e.g. balance(size=...), batch(..., drop_remainder=True)) or pass "
                             "steps_per_epoch")
        return lengths[0], len(lengths)
    cardinality = int(train_ds.cardinality())
    if cardinality == tf.data.INFINITE_CARDINALITY:
        raise ValueError("train_ds is infinite (.repeat()); pass steps_per_epoch, or repeat a finite number of times")
    if cardinality == tf.data.UNKNOWN_CARDINALITY:
        raise ValueError(
            "train_ds has an unknown number of batches (dermprep.tfdata.epochs() over epochs of unknown length, "
            "filter() and flat_map() hide it), so Keras cannot tell where an epoch ends and would run one epoch "
            "over all of them; pass steps_per_epoch=<batches in one epoch>, or give the dataset a known length "
            "(dataset.apply(tf.data.experimental.assert_cardinality(n)))")
    return None, None


def _check_stream_epochs(stream_epochs: int | None, first_epoch: int, epochs: int) -> None:
    """Refuse a `dermprep.tfdata.epochs()` stream that ends before the epochs still to train."""
    if stream_epochs is not None and stream_epochs < epochs - first_epoch:
        raise ValueError(f"train_ds (dermprep.tfdata.epochs()) holds {stream_epochs} epochs and "
                         f"{epochs - first_epoch} are to be trained (epochs={epochs}, from epoch {first_epoch}); "
                         f"build the stream with epochs(..., start={first_epoch}, stop={epochs})")


#: Marks the error of a non-finite input found by `_finite()`'s check as the data runs.
_NON_FINITE = "holds NaN or inf values"


def _finite(dataset: Any, name: str) -> Any:
    """``dataset`` with every float input and label checked to be finite as it runs (see `_fit()`)."""
    import tensorflow as tf  # noqa: PLC0415

    inputs, labels = dataset.element_spec
    named = dict(inputs) if isinstance(inputs, dict) else {"image": inputs}
    if not any(s.dtype.is_floating for s in [*named.values(), labels]):
        return dataset

    def check(x: Any, y: Any) -> tuple[Any, Any]:
        parts = dict(x) if isinstance(x, dict) else {"image": x}
        checked = {key: tf.debugging.assert_all_finite(t, f"{name} input {key!r} {_NON_FINITE}")
                   if t.dtype.is_floating else t for key, t in parts.items()}
        y = tf.debugging.assert_all_finite(y, f"{name} labels {_NON_FINITE}") if y.dtype.is_floating else y
        return (checked if isinstance(x, dict) else checked["image"]), y

    return dataset.map(check)


def _fit(model: Any, train_ds: Any, **options: Any) -> Any:
    """``model.fit`` on inputs checked by `_finite()`: a NaN pixel stops training with a message naming it."""
    import tensorflow as tf  # noqa: PLC0415

    try:
        return model.fit(_finite(train_ds, "train_ds"), **{**options, "validation_data": _finite(
            options["validation_data"], "val_ds")})
    except tf.errors.InvalidArgumentError as exc:
        found = next((line for line in str(exc).splitlines() if _NON_FINITE in line), None)
        if found is None:
            raise
        where = found[found.index("_ds") - 5:].split(_NON_FINITE)[0].strip().lstrip(": ")
        raise ValueError(f"{where} {_NON_FINITE} (a float image with a NaN pixel, say): training stopped before "
                         "they reached the weights; check np.isfinite on the images, metadata and labels") from None


def _resume(folder: RunFolder, model: Any, learning_rate: float, resume: bool) -> dict[str, Any]:
    """The state to continue from (a new one when there is nothing to resume), weights and optimizer loaded."""
    stored = folder.state() if resume else None
    if stored is None:
        return {**new_state("val_loss", "min"), "learning_rate": learning_rate}
    if not np.isclose(stored.get("learning_rate", learning_rate), learning_rate):
        raise ValueError(f"{folder.path} was started with learning_rate={stored['learning_rate']}; resuming it with "
                         f"learning_rate={learning_rate} would silently mix the two: use another run_dir")
    model.optimizer.build(model.trainable_variables)  # the file holds Adam's state too
    try:
        model.load_weights(folder.last_weights)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{folder.last_weights} cannot be read ({exc}); delete it to restart from the beginning") from None
    return stored


def _check_class_weight(class_weight: Any, classes: int) -> dict[int, float] | None:
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict) or not all(
            isinstance(k, (int, np.integer)) and not isinstance(k, bool) and 0 <= k < classes for k in class_weight):
        raise ValueError(f"class_weight must map class indices in [0, {classes - 1}] to weights; got {class_weight!r}")
    return {int(k): check_number(v, f"class_weight[{k}]", lower=0.0) for k, v in class_weight.items()}


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
    steps_per_epoch: int | None = None,
    verbose: int = 1,
) -> dict[str, list[float]]:
    """Train with Adam and cross-entropy (the paper's setup), early stopping and checkpoints.

    Early stopping watches validation loss and restores the best weights.
    With ``run_dir``, the run is a `dermmodels.run_folder.RunFolder` kept by
    the same checkpoint as `dermmodels.fit()` (monitoring ``val_loss``):
    after every epoch the last weights with the optimizer state, the best
    weights and the progress (``state.json``), all written atomically; the
    best model as ``best.keras`` and the history as ``history.json`` at the
    end. A run interrupted before ``epochs`` resumes where it stopped when
    called again with the same ``run_dir`` (``resume=True``), with its best
    score and patience count.

    Parameters
    ----------
    model : keras.Model
    train_ds, val_ds : tf.data.Dataset
        Batched ``(inputs, labels)``; int or one-hot labels (the loss follows).
        ``train_ds`` must come shuffled (``from_records(balance=...)`` or
        ``from_records(shuffle_seed=...)``): Keras does not shuffle a dataset.
        A `dermprep.tfdata.epochs()` stream whose epochs have a known length
        gives one dermprep epoch per Keras epoch (``steps_per_epoch`` is taken
        from it, and it must hold the epochs to train); a dataset whose length
        is infinite or unknown needs ``steps_per_epoch``.
    epochs, learning_rate, patience : training settings
    run_dir : path, optional
    class_weight : dict, optional
        Loss weights (e.g. `dermprep.sampling.class_weights()`), as an
        alternative to a balanced dataset; keys are class indices of the model.
    resume : bool
    strategy : tf.distribute.Strategy, optional
        Compile (optimizer and metrics) under this strategy's scope, for
        multi-device or multi-worker training. Build the model under the same
        ``strategy.scope()``.
    steps_per_epoch : int, optional
        Batches per epoch (required when ``train_ds``' length is infinite or
        unknown; default: one epoch of a `dermprep.tfdata.epochs()` stream,
        else the whole dataset).
    verbose : int
        Keras progress display (0 silent, 1 progress bar, 2 one line per epoch).

    Returns
    -------
    dict
        The history (loss, accuracy, val_loss, val_accuracy per epoch), including resumed epochs.

    Raises
    ------
    ValueError
        Bad settings, datasets that cannot feed the model, a run folder
        holding a run started with another learning rate, or NaN or inf
        values in the float inputs or labels (found as they are read:
        training stops there).
    """
    import contextlib  # noqa: PLC0415

    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    from ._keras import Checkpoint  # noqa: PLC0415

    epochs = check_positive_int(epochs, "epochs")
    learning_rate = check_number(learning_rate, "learning_rate", lower=0.0, upper=1.0, lower_open=True)
    patience = check_positive_int(patience, "patience")
    resume = check_bool(resume, "resume")
    check_dataset(model, train_ds, "train_ds")
    check_dataset(model, val_ds, "val_ds")
    steps_per_epoch, stream_epochs = _steps_per_epoch(train_ds, steps_per_epoch)
    if int(val_ds.cardinality()) == tf.data.INFINITE_CARDINALITY:
        raise ValueError("val_ds is infinite (.repeat()); validation needs a finite dataset")
    class_weight = _check_class_weight(class_weight, int(model.outputs[0].shape[-1]))
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=_loss_for(train_ds), metrics=["accuracy"])
    options = {"validation_data": val_ds, "epochs": epochs, "class_weight": class_weight, "verbose": verbose,
               "shuffle": False, "steps_per_epoch": steps_per_epoch}
    if run_dir is None:
        _check_stream_epochs(stream_epochs, 0, epochs)
        stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
        result = _fit(model, train_ds, callbacks=[stop], **options)
        return {key: [float(v) for v in values] for key, values in result.history.items()}
    folder = RunFolder(run_dir)
    folder.path.mkdir(parents=True, exist_ok=True)
    state = _resume(folder, model, learning_rate, resume)
    if state["epoch"] < epochs and not state.get("stopped_early"):
        _check_stream_epochs(stream_epochs, state["epoch"], epochs)
        checkpoint = Checkpoint(folder, state, monitor="val_loss", mode="min", patience=patience)
        _fit(model, train_ds, initial_epoch=state["epoch"], callbacks=[checkpoint], **options)
    if folder.best_weights.is_file():
        model.load_weights(folder.best_weights)
    folder.save_model(model)
    folder.write_history(state["history"])
    return state["history"]


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
    BatchNorm in training mode destroys the ImageNet statistics. Other
    options go to `train()`.
    """
    from .model import set_base_trainable  # noqa: PLC0415

    set_base_trainable(model, check_positive_int(layers, "layers"))
    return train(model, train_ds, val_ds, learning_rate=learning_rate, **train_options)
