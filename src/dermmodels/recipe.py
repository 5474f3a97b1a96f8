"""Training recipes: every setting of a run in one checked object, and the named presets.

A `Recipe` says how images are prepared, sampled, augmented, how the
MobileNetV2 classifier is built and trained, and how it decides.
`dermmodels.runs.fit()` carries it out; ``dermmodels train --preset NAME``
starts from a preset, and every setting is also a command-line option
(built from the fields below, so a new setting is one line here).

Presets
-------
``cpu`` (the default everywhere)
    The best recipe measured for this project's 2-core CPU machine on all
    10,015 HAM10000 images at 200x150 with the alpha 0.5 ImageNet base
    (``docs/training-recipe.md`` has the ablation behind every setting).
``cpu-final``
    The ``cpu`` recipe trained once more on the training and validation
    parts together (``final``), with the prior correction and temperature
    the ``cpu`` preset's validation runs chose, fixed: the model to ship
    when the validation part has done its job.
``cpu-ensemble``
    Two models averaged, each the ``cpu`` recipe on the whole image
    (``aspect="stretch"``) for 14 epochs with SWA over the last 4: 1.4x
    the ``cpu`` preset's epochs (1.42-1.46x the training time of that
    single-model row), the best balanced accuracy measured here (test
    0.750 / 0.764, validation 0.719 / 0.725 on seeds 0 / 1). A phone runs
    one model: ``dermmodels export`` ships the first member, with the
    ensemble's calibration (and says so); train ``cpu`` for the model you
    export.
``gpu``
    The same recipe at full scale for one GPU: alpha 1.0, 224x224, more
    epochs (expected cost in ``docs/training-recipe.md``).
``paper``
    The paper's setup: a frozen ImageNet alpha 1.0 base at 224x224 with its
    head (dropout, ReLU dense, softmax), oversampling, augmentation, Adam
    1e-3, 30 epochs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from dermprep.augment import (
    Brightness,
    Contrast,
    Dihedral,
    Flip,
    Gamma,
    Hue,
    Pipeline,
    RandomResizedCrop,
    Rotate,
    Saturation,
    Shift,
    Vignette,
    default_pipeline,
)
from dermprep.preprocess import ASPECTS, Preprocessing
from dermprep.validation import check_bool, check_choice, check_number, check_positive_int, check_seed

from .model import ALPHAS

__all__ = ["AUGMENTATIONS", "DEFAULT_PRESET", "PRESETS", "Recipe", "SAMPLINGS", "augmentation_pipeline",
           "recipe_from", "setting_fields"]

#: ``Recipe.sampling`` values: how often each class appears in a training epoch.
SAMPLINGS = ("none", "sqrt", "oversample", "undersample", "class-weight")
#: Named augmentations (``Recipe.augment`` also takes a `Pipeline.config()` list).
AUGMENTATIONS = ("none", "default", "strong")
#: The preset used wherever none is named (`Recipe()`, `recipe_from()`, ``dermmodels train``).
DEFAULT_PRESET = "cpu"


def _setting(default: Any, help: str, *, check: Callable[[Any, str], Any], none: str | None = None,
             choices: tuple[Any, ...] | None = None, parse: type | None = None, flag: str | None = None) -> Any:
    """A recipe field: its default, its check, and how the command line names and parses it.

    ``none``: the command-line word that means ``None`` (``"all"``, ``"none"``);
    ``parse``: how the command line turns text into a value (int, float, str;
    bools become ``--flag`` / ``--no-flag``); ``flag``: the option's name
    when it is not the field's.
    """
    return field(default=default, metadata={"help": help, "check": check, "none": none, "choices": choices,
                                            "parse": parse, "flag": flag})


def _int(minimum: int, maximum: int | None = None) -> Callable[[Any, str], int]:
    return lambda value, name: check_positive_int(value, name, minimum=minimum, maximum=maximum)


def _number(lower: float, upper: float, *, lower_open: bool = False) -> Callable[[Any, str], float]:
    return lambda value, name: check_number(value, name, lower=lower, upper=upper, lower_open=lower_open)


def _choice(choices: tuple[Any, ...]) -> Callable[[Any, str], Any]:
    return lambda value, name: check_choice(value, name, choices)


def _optional(check: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    return lambda value, name: None if value is None else check(value, name)


def _weights(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f'{name} must be "imagenet", a file path or None; got {value!r}')
    return value


def _augment(value: Any, name: str) -> tuple[dict[str, Any], ...]:
    """A name from AUGMENTATIONS, a JSON file of `Pipeline.config()`, or that list: stored as the config itself,
    so a saved run reproduces its augmentation whatever later defaults say."""
    if isinstance(value, str):
        if value not in AUGMENTATIONS and not Path(value).is_file():
            raise ValueError(f"{name} must be one of {AUGMENTATIONS}, a JSON file of Pipeline.config() or that list; "
                             f"got {value!r}")
        pipeline = augmentation_pipeline(value) if value in AUGMENTATIONS else Pipeline(json.loads(Path(value).read_text()))
        return _plain(pipeline.config()) if pipeline is not None else ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(op, Mapping) for op in value):
        raise TypeError(f"{name} must be a name, a JSON file or a list of operation dicts (Pipeline.config()); "
                        f"got {value!r}")
    return _plain(Pipeline([dict(op) for op in value]).config()) if value else ()


def _plain(config: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """The pipeline's config as JSON gives it back (lists, not tuples): a stored recipe equals the live one."""
    return tuple(json.loads(json.dumps(config)))


def _teachers(value: Any, name: str) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) and v for v in items):
        raise TypeError(f"{name} must be run folders (a list, or comma-separated text); got {value!r}")
    return tuple(items)


@dataclass(frozen=True)
class Recipe:
    """Every setting of a training run; each field's ``help`` below is also its command-line help.

    `Recipe()` is the ``cpu`` preset. Fields are checked on construction
    (``TypeError`` / ``ValueError`` naming the setting). `to_dict()` and
    `from_dict()` round-trip through JSON (a run's ``config.json``).
    """

    # The model
    alpha: float = _setting(0.5, "MobileNetV2 width", check=_choice(ALPHAS), parse=float)
    weights: str | None = _setting("imagenet", '"imagenet" (downloads; needs internet), a no-top .h5 file for alpha, '
                                   "a folder holding Keras' file for alpha, or none (random)", check=_weights,
                                   none="none", parse=str)
    dropout: float = _setting(0.3, "dropout before the dense layer", check=_number(0.0, 0.95), parse=float)
    dense_units: int = _setting(128, "width of the ReLU dense layer", check=_int(1), parse=int)
    # The input
    image_size: int = _setting(192, "square model input (pixels)", check=_int(32, 1024), parse=int)
    aspect: str = _setting("crop", "fitting a non-square image to the square input", check=_choice(ASPECTS),
                           choices=ASPECTS, parse=str)
    remove_hair: bool = _setting(False, "Dull Razor at the file's resolution, cached on disk", check=check_bool)
    shades_of_gray: bool = _setting(False, "Shades-of-Gray colour constancy after resizing", check=check_bool)
    # The data seen in training
    augment: tuple[dict[str, Any], ...] = _setting(
        "default", "augmentation: none, default, strong, or a JSON file of Pipeline.config()", check=_augment,
        parse=str)
    sampling: str = _setting("sqrt", "class frequencies in a training epoch (sqrt: in proportion to the square "
                             "root of each class' size)", check=_choice(SAMPLINGS), choices=SAMPLINGS, parse=str)
    mixup: float = _setting(0.0, "mixup: Beta(a, a) mixing of pairs of images and labels (0: off)",
                            check=_number(0.0, 10.0), parse=float)
    cutmix: float = _setting(0.0, "lesion-aware CutMix: a patch of another image pasted outside this image's "
                             "lesion, labels mixed by the lesion area each shows; Beta(a, a) patch sizes (0: off)",
                             check=_number(0.0, 10.0), parse=float)
    final: bool = _setting(False, "train on the training and validation parts together, keep the last epoch, and "
                           "use the fixed tau and temperature (the ship-it run after a validation run)",
                           check=check_bool)
    teachers: tuple[str, ...] = _setting((), "run folders whose averaged predictions are distilled into this model",
                                         check=_teachers, parse=str)
    distill_weight: float = _setting(0.0, "weight of the teachers' probabilities in the training targets",
                                     check=_number(0.0, 1.0), parse=float)
    # Training
    epochs: int = _setting(20, "training epochs (after the head epochs)", check=_int(0, 10_000), parse=int)
    head_epochs: int = _setting(0, "epochs training only the head on frozen-base features first",
                                check=_int(0, 10_000), parse=int)
    fine_tune_layers: int | None = _setting(None, "base layers trained: 0 (frozen), N (the top N) or all",
                                            check=_optional(_int(0)), none="all", parse=int)
    batch_size: int = _setting(32, "batch size", check=_int(1, 65536), parse=int)
    learning_rate: float = _setting(3e-4, "peak Adam rate (linear warm-up, then cosine decay to 0)",
                                    check=_number(0.0, 1.0, lower_open=True), parse=float)
    warmup_epochs: float = _setting(1.0, "epochs of linear learning-rate warm-up", check=_number(0.0, 1000.0),
                                    parse=float)
    restarts: int = _setting(1, "cosine cycles (snapshot ensemble: the model at the end of each cycle is kept and "
                             "their predictions averaged)", check=_int(1, 100), parse=int)
    members: int = _setting(1, "models trained independently (seeds seed, seed + 1000, ...) whose predictions are "
                            "averaged: an ensemble in one run", check=_int(1, 16), parse=int)
    label_smoothing: float = _setting(0.1, "label smoothing", check=_number(0.0, 0.5), parse=float)
    ema: float | None = _setting(None, "exponential moving average of the weights: its momentum per step "
                                 "(e.g. 0.999), or none", check=_optional(_number(0.0, 1.0, lower_open=True)),
                                 none="none", parse=float)
    swa_epochs: int = _setting(0, "stochastic weight averaging: average the weights of the last N epochs (0: off)",
                               check=_int(0, 10_000), parse=int)
    patience: int | None = _setting(None, "early stopping on validation balanced accuracy", check=_optional(_int(1)),
                                    none="none", parse=int)
    # Decisions
    prior_correction: bool = _setting(True, "divide probabilities by the training prior to a power tau",
                                      check=check_bool)
    tau: float | None = _setting(None, "the prior correction's power, fixed (none: chosen on the validation part)",
                                 check=_optional(_number(0.0, 2.0)), none="none", parse=float)
    temperature: float | None = _setting(None, "softmax temperature, fixed (none: fitted on the validation part)",
                                         check=_optional(_number(0.05, 20.0)), none="none", parse=float)
    tta: bool = _setting(True, "average predictions over the 8 symmetries of the square", check=check_bool)
    metadata: bool = _setting(False, "the metadata branch (age, sex, site)", check=check_bool,
                              flag="metadata-branch")
    seed: int = _setting(0, "seed of the sampling, augmentation and initial weights", check=check_seed, parse=int)

    def __post_init__(self) -> None:
        for spec in fields(self):
            object.__setattr__(self, spec.name, spec.metadata["check"](getattr(self, spec.name), spec.name))
        if self.epochs + self.head_epochs == 0:
            raise ValueError("a recipe needs epochs > 0 or head_epochs > 0; got both 0")
        if self.weights is None and self.fine_tune_layers == 0:
            raise ValueError("weights=None with fine_tune_layers=0 trains only a head on a random, frozen base; "
                             "train the base (fine_tune_layers=None) or give pretrained weights")
        self._check_combinations()

    def _check_combinations(self) -> None:
        if self.epochs and self.epochs % self.restarts:
            raise ValueError(f"epochs ({self.epochs}) must be a multiple of restarts ({self.restarts})")
        if self.swa_epochs > self.epochs:
            raise ValueError(f"swa_epochs ({self.swa_epochs}) cannot exceed epochs ({self.epochs})")
        if self.restarts > 1 and self.warmup_epochs >= self.epochs / self.restarts:
            raise ValueError(f"warmup_epochs ({self.warmup_epochs:g}) must end within the first of {self.restarts} "
                             f"cosine cycles ({self.epochs // self.restarts} epochs)")
        if self.restarts > 1 and self.members > 1:
            raise ValueError("restarts > 1 and members > 1 are two kinds of ensemble; use one of them")
        if self.restarts > 1 and (self.swa_epochs or self.ema is not None):
            raise ValueError("restarts > 1 (a snapshot ensemble) averages predictions; it does not combine with "
                             "ema or swa_epochs, which average weights")
        if bool(self.teachers) != (self.distill_weight > 0):
            raise ValueError("teachers and distill_weight go together: give both (distill_weight > 0) or neither")
        if self.final and (self.patience is not None or (self.prior_correction and self.tau is None)):
            raise ValueError("final=True trains on the validation part too, so nothing can be chosen on it: set "
                             "tau (or prior_correction=False) and leave patience at None")
        if self.metadata and (self.head_epochs or self.mixup or self.cutmix):
            raise ValueError("the metadata branch does not go with head_epochs, mixup or cutmix")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON); `from_dict()` rebuilds it."""
        values = asdict(self)
        values["augment"] = [dict(op) for op in self.augment]
        values["teachers"] = list(self.teachers)
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Recipe:
        """Rebuild from `to_dict()`; unknown keys are refused by name (settings added later take their default)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown recipe setting(s) {unknown}; expected any of {sorted(known)}")
        return cls(**dict(values))

    def preprocessing(self) -> Preprocessing:
        """How the run's image files become model inputs (the same at training and prediction time)."""
        return Preprocessing(image_size=(self.image_size, self.image_size), aspect=self.aspect,
                             remove_hair=self.remove_hair, shades_of_gray=self.shades_of_gray)

    def pipeline(self) -> Pipeline | None:
        """The augmentation `Pipeline` (``None`` without augmentation)."""
        return Pipeline([dict(op) for op in self.augment]) if self.augment else None


def setting_fields() -> tuple[Field[Any], ...]:
    """The `Recipe` fields with their command-line metadata (help, parsing, the word for ``None``)."""
    return tuple(f for f in fields(Recipe) if f.default is not MISSING)


def augmentation_pipeline(name: str) -> Pipeline | None:
    """The augmentation called ``name``: ``"none"``, ``"default"`` or ``"strong"``.

    ``"strong"`` adds rotation at any angle, random resized crops (60-100 %
    of the area), wider colour ranges (+-25 %) and more vignetting: what
    top ISIC entries used, for robustness to other cameras and framing.
    """
    check_choice(name, "augment", AUGMENTATIONS)
    if name == "none":
        return None
    if name == "default":
        return default_pipeline()
    return Pipeline([
        Dihedral(p=1.0),
        Flip(p=0.5),
        Rotate(p=0.8, angle_range=(-180.0, 180.0)),
        RandomResizedCrop(p=0.7, scale=(0.6, 1.0), ratio=(0.8, 1.25)),
        Shift(p=0.3, fraction=0.1),
        Brightness(p=0.7, factor_range=(0.75, 1.25)),
        Contrast(p=0.7, factor_range=(0.75, 1.25)),
        Saturation(p=0.7, factor_range=(0.75, 1.25)),
        Hue(p=0.5, shift_range=(-0.04, 0.04)),
        Gamma(p=0.5, gamma_range=(0.8, 1.25)),
        Vignette(p=0.3),
    ])


_CPU = Recipe()

#: The named recipes (see the module docstring). ``cpu-final``'s tau (0.6) and temperature (0.7) are the medians
#: of the values the cpu recipe's validation runs chose (experiments/results/ham10000.jsonl).
PRESETS: dict[str, Recipe] = {
    "cpu": _CPU,
    "cpu-final": replace(_CPU, final=True, tau=0.6, temperature=0.7),
    # experiments/ablation.py, "cpu preset, stretch instead of crop, 2 members x 14 epochs, SWA over the last 4"
    "cpu-ensemble": replace(_CPU, aspect="stretch", members=2, epochs=14, swa_epochs=4),
    "gpu": replace(_CPU, alpha=1.0, image_size=224, epochs=40, batch_size=64, learning_rate=4e-4),
    "paper": replace(_CPU, alpha=1.0, image_size=224, aspect="stretch", remove_hair=True, sampling="oversample",
                     epochs=30, fine_tune_layers=0, learning_rate=1e-3, warmup_epochs=0.0, label_smoothing=0.0,
                     patience=5, prior_correction=False, tta=False),
}


def recipe_from(preset: str | None = None, **overrides: Any) -> Recipe:
    """A preset (default ``"cpu"``) with some settings overridden; clear errors for unknown names.

    Examples
    --------
    >>> recipe_from("cpu", epochs=3).epochs
    3
    >>> recipe_from().image_size == Recipe().image_size == PRESETS["cpu"].image_size
    True
    """
    preset = DEFAULT_PRESET if preset is None else preset
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
    known = {f.name for f in fields(Recipe)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown recipe setting(s) {unknown}; expected any of {sorted(known)}")
    return replace(PRESETS[preset], **overrides)
