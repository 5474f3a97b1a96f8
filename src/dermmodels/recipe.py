"""Training recipes: every setting of a run in one checked object, and the named presets.

A `Recipe` says how images are prepared, sampled, augmented, how
the MobileNetV2 classifier is built and trained, and how it decides.
`dermmodels.runs.fit()` carries it out; ``dermmodels train --preset
NAME`` starts from a preset, explicit options override single settings.

Presets
-------
``cpu``
    The best recipe measured for this project's 2-core CPU machine on all
    10,015 HAM10000 images at 200x150 with the alpha 0.5 ImageNet base, in
    under 60 minutes (``docs/training-recipe.md`` has the ablation behind
    every setting and the measured cost).
``gpu``
    The same recipe at full scale for one GPU: alpha 1.0, 224x224, more
    epochs (expected cost in ``docs/training-recipe.md``).
``paper``
    The paper's setup: a frozen ImageNet alpha 1.0 base at 224x224 with its
    head (dropout, ReLU dense, softmax), oversampling, augmentation, Adam
    1e-3, 30 epochs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
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

__all__ = ["AUGMENTATIONS", "PRESETS", "Recipe", "SAMPLINGS", "augmentation_pipeline", "recipe_from"]

#: ``Recipe.sampling`` values: how often each class appears in a training epoch.
SAMPLINGS = ("none", "sqrt", "oversample", "undersample", "class-weight")
#: ``Recipe.augment`` values.
AUGMENTATIONS = ("none", "default", "strong")


@dataclass(frozen=True)
class Recipe:
    """Every setting of a training run.

    Attributes
    ----------
    alpha : float
        MobileNetV2 width (0.35, 0.5, 0.75, 1.0, 1.3, 1.4).
    weights : str or None
        ``"imagenet"`` (Keras downloads the file; needs internet), the path
        of a local no-top ``.h5`` file for ``alpha``, or ``None`` (random).
    dropout, dense_units : float, int
        The head: GAP, dropout, a ReLU dense layer, softmax (the paper's).
    image_size : int
        Square model input (pixels).
    aspect : {"stretch", "crop", "pad"}
        How a non-square image is fitted to the square input
        (`dermprep.preprocess.frame()`).
    remove_hair : bool
        Dull Razor at the file's resolution, cached on disk. Off in the
        ``cpu`` and ``gpu`` presets: the ablation measured no gain in
        balanced accuracy from it (``docs/training-recipe.md``).
    shades_of_gray : bool
        Shades-of-Gray colour constancy after resizing.
    augment : {"none", "default", "strong"}
        `augmentation_pipeline()`.
    sampling : {"none", "sqrt", "oversample", "undersample", "class-weight"}
        ``"none"``: every image once per epoch, shuffled. ``"sqrt"``: epochs
        of the same length with class ``c`` drawn in proportion to
        ``sqrt(n_c)``. ``"oversample"``: the same length, every class
        equally often (small classes repeated, large ones sampled).
        ``"undersample"``: every class as often as the smallest, so epochs
        are much shorter (a fresh subset each epoch). ``"class-weight"``:
        every image once, the loss weighted by ``n / (C n_c)``.
    epochs : int
        Training epochs (after the head epochs).
    head_epochs : int
        Epochs training only the head on frozen-base features computed once
        (seconds), before ``epochs``.
    fine_tune_layers : int or None
        Layers of the base trained in ``epochs``: ``None`` all, ``0`` none
        (the paper's frozen base), ``k`` the top ``k``. BatchNorm always
        runs in inference mode with its ImageNet statistics.
    batch_size : int
    learning_rate : float
        Peak Adam rate: linear warm-up over ``warmup_epochs``, then cosine decay to 0.
    warmup_epochs : float
    label_smoothing : float
    patience : int or None
        Stop when validation balanced accuracy has not improved for this
        many epochs (``None``: train all epochs).
    prior_correction : bool
        Divide predicted probabilities by the training class frequencies to
        the power ``tau``, ``tau`` chosen on the validation split (0 turns
        it off), so rare classes are not under-predicted.
    tta : bool
        Average predictions over the 8 symmetries of the square (flips and
        quarter turns) at validation, test and prediction time.
    metadata : bool
        Add the model's metadata branch, fed with
        `dermprep.ham10000.encode_metadata()` (age, sex, site). Off in
        every preset: external test sets often have no metadata.
    seed : int
        Seed of the split, sampling, augmentation and initial weights.
    """

    alpha: float = 0.5
    weights: str | None = "imagenet"
    dropout: float = 0.3
    dense_units: int = 128
    image_size: int = 192
    aspect: str = "crop"
    remove_hair: bool = False
    shades_of_gray: bool = False
    augment: str = "default"
    sampling: str = "sqrt"
    epochs: int = 20
    head_epochs: int = 0
    fine_tune_layers: int | None = None
    batch_size: int = 32
    learning_rate: float = 3e-4
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    patience: int | None = None
    prior_correction: bool = True
    tta: bool = True
    metadata: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "alpha", check_choice(self.alpha, "alpha", ALPHAS))
        if self.weights is not None and not isinstance(self.weights, str):
            raise TypeError(f'weights must be "imagenet", a file path or None; got {self.weights!r}')
        set_(self, "dropout", check_number(self.dropout, "dropout", lower=0.0, upper=0.95))
        set_(self, "dense_units", check_positive_int(self.dense_units, "dense_units"))
        set_(self, "image_size", check_positive_int(self.image_size, "image_size", minimum=32, maximum=1024))
        check_choice(self.aspect, "aspect", ASPECTS)
        check_bool(self.remove_hair, "remove_hair")
        check_bool(self.shades_of_gray, "shades_of_gray")
        check_choice(self.augment, "augment", AUGMENTATIONS)
        check_choice(self.sampling, "sampling", SAMPLINGS)
        set_(self, "epochs", check_positive_int(self.epochs, "epochs", minimum=0, maximum=10_000))
        set_(self, "head_epochs", check_positive_int(self.head_epochs, "head_epochs", minimum=0, maximum=10_000))
        if self.epochs + self.head_epochs == 0:
            raise ValueError("a recipe needs epochs > 0 or head_epochs > 0; got both 0")
        if self.fine_tune_layers is not None:
            set_(self, "fine_tune_layers", check_positive_int(self.fine_tune_layers, "fine_tune_layers", minimum=0))
        set_(self, "batch_size", check_positive_int(self.batch_size, "batch_size", maximum=65536))
        set_(self, "learning_rate", check_number(self.learning_rate, "learning_rate", lower=0.0, upper=1.0,
                                                 lower_open=True))
        set_(self, "warmup_epochs", check_number(self.warmup_epochs, "warmup_epochs", lower=0.0, upper=1000.0))
        set_(self, "label_smoothing", check_number(self.label_smoothing, "label_smoothing", lower=0.0, upper=0.5))
        if self.patience is not None:
            set_(self, "patience", check_positive_int(self.patience, "patience"))
        check_bool(self.prior_correction, "prior_correction")
        check_bool(self.tta, "tta")
        check_bool(self.metadata, "metadata")
        set_(self, "seed", check_seed(self.seed))
        if self.weights is None and self.fine_tune_layers == 0:
            raise ValueError("weights=None with fine_tune_layers=0 trains only a head on a random, frozen base; "
                             "train the base (fine_tune_layers=None) or give pretrained weights")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON); `from_dict()` rebuilds it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Recipe:
        """Rebuild from `to_dict()`; unknown keys are refused by name."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown recipe setting(s) {unknown}; expected any of {sorted(known)}")
        return cls(**dict(values))

    def preprocessing(self) -> Preprocessing:
        """How the run's image files become model inputs (the same at training and prediction time)."""
        return Preprocessing(image_size=(self.image_size, self.image_size), aspect=self.aspect,
                             remove_hair=self.remove_hair, shades_of_gray=self.shades_of_gray)


def augmentation_pipeline(name: str) -> Pipeline | None:
    """The augmentation of a recipe: ``"none"``, ``"default"`` or ``"strong"``.

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


#: The named recipes (see the module docstring).
PRESETS: dict[str, Recipe] = {
    "cpu": Recipe(),
    "gpu": Recipe(alpha=1.0, image_size=224, epochs=40, batch_size=64, learning_rate=4e-4),
    "paper": Recipe(alpha=1.0, image_size=224, aspect="stretch", remove_hair=True, augment="default",
                    sampling="oversample", epochs=30, fine_tune_layers=0, learning_rate=1e-3, warmup_epochs=0.0,
                    label_smoothing=0.0, patience=5, prior_correction=False, tta=False),
}


def recipe_from(preset: str | None = None, **overrides: Any) -> Recipe:
    """A preset with some settings overridden; clear errors for unknown preset or setting names.

    Examples
    --------
    >>> recipe_from("cpu", epochs=3).epochs
    3
    """
    if preset is None:
        preset = "paper"
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
    known = {f.name for f in fields(Recipe)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown recipe setting(s) {unknown}; expected any of {sorted(known)}")
    return replace(PRESETS[preset], **overrides)
