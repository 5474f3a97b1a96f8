"""The training plan: what a recipe means for one set of labels, decided before anything trains.

`plan_training()` is pure (NumPy only): from a `Recipe` and the training
labels it derives how many images of each class an epoch draws, the prior
the model will learn (what the prior correction divides by), class weights,
the steps per epoch and the learning-rate schedule. `dermmodels.runs.fit()`
carries the plan out; tests and the command line can show it without
TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dermprep.sampling import class_counts, class_weights, target_counts
from dermprep.validation import check_labels, check_positive_int

from .recipe import Recipe

__all__ = ["TrainingPlan", "plan_training"]


@dataclass(frozen=True)
class TrainingPlan:
    """How a recipe trains on given labels.

    Attributes
    ----------
    num_classes : int
    targets : ndarray of int or None
        Images of each class drawn per epoch; ``None``: every image once,
        shuffled (``sampling="none"`` or ``"class-weight"``).
    prior : ndarray of float
        The class frequencies the model learns from.
    class_weight : dict or None
        Loss weight per class (``sampling="class-weight"``).
    epoch_size, steps_per_epoch : int
    epochs : int
        Epochs of the whole base (or of the head, for a frozen base).
    warmup_steps : int
    cycle_steps : int
        Steps of one cosine cycle (``epochs / restarts`` epochs); the learning
        rate restarts at its peak after each cycle (snapshot ensembles).
    """

    num_classes: int
    targets: np.ndarray | None
    prior: np.ndarray
    class_weight: dict[int, float] | None
    epoch_size: int
    steps_per_epoch: int
    epochs: int
    warmup_steps: int
    cycle_steps: int

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    @property
    def cycle_epochs(self) -> int:
        """Epochs per cosine cycle."""
        return max(self.cycle_steps // max(self.steps_per_epoch, 1), 1)

    def learning_rate(self, step: int, peak: float) -> float:
        """The learning rate at ``step`` (0-based): linear warm-up to ``peak``, then a cosine decay to 0 over
        each cycle (the first cycle's decay starts after the warm-up). The reference for the Keras schedule."""
        if self.warmup_steps >= self.total_steps:
            return peak
        if step < self.warmup_steps:
            return peak * step / self.warmup_steps
        cycle = min(step // self.cycle_steps, self.total_steps // self.cycle_steps - 1)
        start = cycle * self.cycle_steps + (self.warmup_steps if cycle == 0 else 0)
        length = self.cycle_steps - (self.warmup_steps if cycle == 0 else 0)
        return 0.5 * peak * (1.0 + math.cos(math.pi * min((step - start) / length, 1.0)))


def _targets(recipe: Recipe, counts: np.ndarray, size: int) -> np.ndarray | None:
    if recipe.sampling in ("none", "class-weight"):
        return None
    if recipe.sampling == "undersample":
        return target_counts(counts, "undersample")
    power = 0.5 if recipe.sampling == "sqrt" else 0.0
    weights = np.where(counts > 0, np.maximum(counts, 1).astype(float) ** power, 0.0)
    return target_counts(counts, "target", target=weights / weights.sum(), size=size)


def plan_training(recipe: Recipe, labels: np.ndarray, num_classes: int) -> TrainingPlan:
    """The plan for training ``recipe`` on integer ``labels`` of ``num_classes`` classes.

    Examples
    --------
    >>> plan = plan_training(Recipe(epochs=2, restarts=1), np.array([0] * 90 + [1] * 10), 2)
    >>> plan.targets.tolist(), plan.steps_per_epoch
    ([75, 25], 4)
    """
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a dermmodels.Recipe; got {type(recipe).__name__}")
    num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
    labels = check_labels(labels, "labels", num_classes=num_classes)
    counts = class_counts(labels, num_classes)
    targets = _targets(recipe, counts, int(labels.size))
    frequencies = counts.astype(float) if targets is None else targets.astype(float)
    if recipe.sampling == "class-weight":  # the weights undo the frequencies in the loss
        frequencies = (frequencies > 0).astype(float)
    epoch_size = int(labels.size) if targets is None else int(targets.sum())
    steps = math.ceil(epoch_size / recipe.batch_size)
    epochs = recipe.epochs
    warmup = min(int(round(recipe.warmup_epochs * steps)), steps * epochs)
    return TrainingPlan(
        num_classes=num_classes, targets=targets, prior=frequencies / frequencies.sum(),
        class_weight=class_weights(labels, num_classes) if recipe.sampling == "class-weight" else None,
        epoch_size=epoch_size, steps_per_epoch=steps, epochs=epochs, warmup_steps=warmup,
        cycle_steps=steps * epochs // recipe.restarts if epochs else 0,
    )
