"""The Keras side of training: the learning-rate schedule, and the callbacks every training path shares.

Imported only when something trains (it imports Keras). `Checkpoint` is the
one resumable checkpoint of both `dermmodels.runs.fit()` (monitoring the
validation balanced accuracy) and `dermmodels.training.train()` (monitoring
``val_loss``), in the spirit of Keras' ``BackupAndRestore``: after every
epoch it writes the resume point, the best weights by its monitor and the
state, each atomically, and stops early after ``patience`` epochs without
improvement.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import keras
import numpy as np

from dermprep.io import atomic_write_bytes

from .plan import TrainingPlan
from .run_folder import RunFolder

__all__ = ["Checkpoint", "PlanSchedule", "ReseedDropout", "Snapshots", "WeightAverage", "evaluated_weights",
           "learning_rate_schedule", "record_history"]


@keras.saving.register_keras_serializable(package="dermmodels")
class PlanSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """`TrainingPlan.learning_rate()` in TensorFlow: warm-up, then cosine cycles (restarts).

    Registered with Keras, so a saved model whose optimizer uses it loads once
    ``dermmodels`` is imported (`dermmodels.Run` loads without the optimizer).
    """

    def __init__(self, peak: float, warmup_steps: int, cycle_steps: int, total_steps: int) -> None:
        self.peak, self.warmup_steps = float(peak), int(warmup_steps)
        self.cycle_steps, self.total_steps = int(cycle_steps), int(total_steps)

    def __call__(self, step: Any) -> Any:
        from keras import ops  # noqa: PLC0415

        step = ops.cast(step, "float32")
        warmup, cycle_steps = float(self.warmup_steps), float(self.cycle_steps)
        cycle = ops.minimum(ops.floor(step / cycle_steps), float(self.total_steps // self.cycle_steps - 1))
        first = ops.cast(ops.equal(cycle, 0.0), "float32")
        start = cycle * cycle_steps + first * warmup
        length = cycle_steps - first * warmup
        cosine = 0.5 * self.peak * (1.0 + ops.cos(math.pi * ops.minimum((step - start) / length, 1.0)))
        ramp = self.peak * step / max(warmup, 1.0)
        return ops.where(step < warmup, ramp, cosine)

    def get_config(self) -> dict[str, Any]:
        return {"peak": self.peak, "warmup_steps": self.warmup_steps, "cycle_steps": self.cycle_steps,
                "total_steps": self.total_steps}


def learning_rate_schedule(plan: TrainingPlan, peak: float) -> Any:
    """The Keras learning rate for ``plan``: Keras' own cosine decay for one cycle, `PlanSchedule` for restarts."""
    total, warmup = plan.total_steps, plan.warmup_steps
    if warmup >= total:
        return peak
    if plan.cycle_steps < total:
        return PlanSchedule(peak, warmup, plan.cycle_steps, total)
    if warmup > 0:
        return keras.optimizers.schedules.CosineDecay(0.0, total - warmup, warmup_target=peak, warmup_steps=warmup)
    return keras.optimizers.schedules.CosineDecay(peak, total)


@contextlib.contextmanager
def evaluated_weights(model: Any) -> Iterator[None]:
    """Within the block the model holds the weights it is judged by: the optimizer's moving average when it
    keeps one (``use_ema``), else its own. The training weights come back bit for bit afterwards."""
    optimizer = getattr(model, "optimizer", None)
    averages = getattr(optimizer, "_model_variables_moving_average", None) if optimizer is not None else None
    if not getattr(optimizer, "use_ema", False) or not averages:
        yield
        return
    variables = optimizer._trainable_variables
    saved = [np.array(v.numpy(), copy=True) for v in variables]
    for variable, average in zip(variables, averages, strict=True):
        variable.assign(average)
    try:
        yield
    finally:
        for variable, value in zip(variables, saved, strict=True):
            variable.assign(value)


def record_history(history: dict[str, list[float]], epoch: int, values: dict[str, float]) -> None:
    """Set epoch ``epoch``'s values (0-based), dropping anything recorded after it (a resumed epoch)."""
    for key, value in values.items():
        history[key] = history.get(key, [])[:epoch] + [float(value)]


class ReseedDropout(keras.callbacks.Callback):
    """Every dropout seed generator set from (seed, epoch) at the start of each epoch: a resumed epoch draws the
    same masks."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.seed = seed

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        stack = list(self.model.layers)
        while stack:
            layer = stack.pop()
            stack.extend(getattr(layer, "layers", []))  # nested models
            generator = getattr(layer, "seed_generator", None)
            if isinstance(generator, keras.random.SeedGenerator):
                generator.state.assign(np.array([self.seed % 2**31, epoch], dtype=generator.state.dtype))


class Checkpoint(keras.callbacks.Callback):
    """After every epoch: the resume point, the best weights by ``monitor``, the state; early stopping.

    Parameters
    ----------
    folder : RunFolder
    state : dict
        `dermmodels.run_folder.new_state()` or the resumed state; updated in place.
    monitor : str
        The ``logs`` key judged (``"val_loss"``, ``"val_balanced_accuracy_corrected"``), or ``"last"``: every
        epoch is the best (nothing to choose on, e.g. a final fit).
    mode : {"min", "max"}
    patience : int, optional
        Stop after this many epochs without improvement.
    evaluate : callable, optional
        ``evaluate(model) -> dict`` of scores added to ``logs`` before judging (with the evaluated weights).
    log : callable, optional
        Receives one line per epoch.
    """

    def __init__(self, folder: RunFolder, state: dict[str, Any], *, monitor: str = "val_loss", mode: str = "min",
                 patience: int | None = None, evaluate: Callable[[Any], dict[str, float]] | None = None,
                 log: Callable[[str], Any] | None = None, total_epochs: int | None = None) -> None:
        super().__init__()
        self.folder, self.state, self.monitor, self.mode = folder, state, monitor, mode
        self.patience, self.evaluate, self.log, self.total_epochs = patience, evaluate, log, total_epochs
        self.started = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.started = time.perf_counter()

    def _improved(self, value: float) -> bool:
        best = self.state["best"]
        if self.monitor == "last" or best is None:
            return True
        return value < best - 1e-12 if self.mode == "min" else value > best + 1e-9

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs if logs is not None else {}
        self.folder.save_weights(self.model, self.folder.last_weights)  # the training weights: the resume point
        with evaluated_weights(self.model):
            if self.evaluate is not None:
                logs.update(self.evaluate(self.model))
            value = float(logs.get(self.monitor, np.nan)) if self.monitor != "last" else float(epoch)
            improved = self._improved(value)
            if improved:
                self.folder.save_weights(self.model, self.folder.best_weights)
        rate = getattr(self.model.optimizer, "learning_rate", None)
        extra = {"learning_rate": float(np.asarray(rate))} if rate is not None else {}
        record_history(self.state["history"], epoch, {**logs, **extra, "seconds": time.perf_counter() - self.started})
        if improved:
            self.state.update(best=value, best_epoch=epoch + 1, wait=0)
        else:
            self.state["wait"] += 1
        self.state["epoch"] = epoch + 1
        if self.patience is not None and self.state["wait"] >= self.patience:
            self.model.stop_training = True
            self.state["stopped_early"] = True
        self.folder.write_state(self.state)
        if self.log is not None:
            self.log(self._line(epoch, logs, improved))

    def _line(self, epoch: int, logs: dict[str, float], improved: bool) -> str:
        scores = ", ".join(f"{k} {v:.4g}" for k, v in logs.items() if k != "learning_rate")
        of = f"/{self.total_epochs}" if self.total_epochs else ""
        return f"epoch {epoch + 1}{of}: {scores}{' *' if improved and self.monitor != 'last' else ''} " \
               f"[{time.perf_counter() - self.started:.0f} s]"


class WeightAverage(keras.callbacks.Callback):
    """Stochastic weight averaging: the running mean of the evaluated weights over the last ``epochs`` epochs,
    kept in ``average.npz`` (a resumed run continues it); `average()` reads it."""

    def __init__(self, folder: RunFolder, *, epochs: int, total_epochs: int) -> None:
        super().__init__()
        self.folder, self.first = folder, total_epochs - epochs
        self.path = folder.file("average.npz")

    def average(self) -> list[np.ndarray]:
        with np.load(self.path) as stored:
            return [stored[f"w{i}"] for i in range(len(stored.files) - 1)]

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if epoch < self.first:
            return
        count = epoch - self.first  # epochs already in the average
        with evaluated_weights(self.model):
            current = self.model.get_weights()
        weights = current if count == 0 else [a + (c - a) / (count + 1)
                                              for a, c in zip(self.average(), current, strict=True)]
        buffer = io.BytesIO()
        np.savez(buffer, count=np.array(count + 1), **{f"w{i}": w for i, w in enumerate(weights)})
        atomic_write_bytes(self.path, buffer.getvalue())


class Snapshots(keras.callbacks.Callback):
    """A snapshot ensemble: the evaluated weights at the end of every cosine cycle but the last, as members
    ``1 .. restarts - 1`` (the last cycle's end is the run's own model)."""

    def __init__(self, folder: RunFolder, *, cycle_epochs: int, restarts: int) -> None:
        super().__init__()
        self.folder, self.cycle_epochs, self.restarts = folder, cycle_epochs, restarts

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        finished = (epoch + 1) // self.cycle_epochs
        if (epoch + 1) % self.cycle_epochs == 0 and finished < self.restarts:
            with evaluated_weights(self.model):
                self.folder.save_weights(self.model, self.folder.member_weights(finished))
