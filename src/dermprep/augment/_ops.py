"""Augmentation operations: checked configuration only (no TensorFlow here).

Each class holds validated parameters; the TensorFlow implementation in
:mod:`dermprep.augment._tf` samples and applies them. Importing this module
does not import TensorFlow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from .._validation import check_probability, check_range

__all__ = [
    "OPS",
    "Brightness",
    "Contrast",
    "Cutout",
    "Dihedral",
    "Flip",
    "Gamma",
    "Hair",
    "Hue",
    "Op",
    "RandomResizedCrop",
    "Rotate",
    "Saturation",
    "ShadesOfGray",
    "Shift",
    "Vignette",
    "Zoom",
]


@dataclass(frozen=True)
class Op:
    """Base of every operation: a name, a probability ``p`` and checked parameters."""

    name: ClassVar[str] = "op"
    kind: ClassVar[str] = "colour"  # "geometry" ops are fused into one affine resampling
    p: float = 0.5

    def __post_init__(self) -> None:
        check_probability(self.p, f"{self.name}.p")

    def config(self) -> dict[str, Any]:
        """The operation as a plain dict (``{"op": name, **parameters}``)."""
        return {"op": self.name, **asdict(self)}


@dataclass(frozen=True)
class Flip(Op):
    """Horizontal and/or vertical flips, each with probability ``p``."""

    name: ClassVar[str] = "flip"
    kind: ClassVar[str] = "geometry"
    horizontal: bool = True
    vertical: bool = True


@dataclass(frozen=True)
class Dihedral(Op):
    """Exact 90-degree rotations and transposes (the 8 symmetries of a square).

    Dermoscopy has no canonical orientation. Applied only to square images
    (a transpose would change a rectangle's shape); flips cover the rest.
    """

    name: ClassVar[str] = "dihedral"
    kind: ClassVar[str] = "geometry"
    p: float = 1.0


@dataclass(frozen=True)
class Rotate(Op):
    """Rotation by an angle (degrees) drawn from ``angle_range``; corners filled by reflection."""

    name: ClassVar[str] = "rotate"
    kind: ClassVar[str] = "geometry"
    angle_range: tuple[float, float] = (-45.0, 45.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.angle_range, "rotate.angle_range", lower=-180.0, upper=180.0)


@dataclass(frozen=True)
class Zoom(Op):
    """Scale by a factor from ``zoom_range`` (>1 zooms in), about the image centre."""

    name: ClassVar[str] = "zoom"
    kind: ClassVar[str] = "geometry"
    zoom_range: tuple[float, float] = (0.9, 1.2)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.zoom_range, "zoom.zoom_range", lower=0.5, upper=2.0)


@dataclass(frozen=True)
class Shift(Op):
    """Translation by up to ``fraction`` of the image size in each direction."""

    name: ClassVar[str] = "shift"
    kind: ClassVar[str] = "geometry"
    fraction: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= float(self.fraction) <= 0.3:
            raise ValueError(f"shift.fraction must be in [0, 0.3]; got {self.fraction!r}")


@dataclass(frozen=True)
class RandomResizedCrop(Op):
    """Crop a region of ``scale`` times the area and ``ratio`` aspect, resized back to full size."""

    name: ClassVar[str] = "random_resized_crop"
    kind: ClassVar[str] = "geometry"
    scale: tuple[float, float] = (0.6, 1.0)
    ratio: tuple[float, float] = (0.75, 4.0 / 3.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.scale, "random_resized_crop.scale", lower=0.25, upper=1.0)
        check_range(self.ratio, "random_resized_crop.ratio", lower=0.5, upper=2.0)


@dataclass(frozen=True)
class Brightness(Op):
    """Multiply intensities by a factor from ``factor_range`` (exposure)."""

    name: ClassVar[str] = "brightness"
    factor_range: tuple[float, float] = (0.85, 1.15)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.factor_range, "brightness.factor_range", lower=0.5, upper=1.5)


@dataclass(frozen=True)
class Contrast(Op):
    """Scale deviations from the image mean by a factor from ``factor_range``."""

    name: ClassVar[str] = "contrast"
    factor_range: tuple[float, float] = (0.85, 1.15)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.factor_range, "contrast.factor_range", lower=0.5, upper=1.5)


@dataclass(frozen=True)
class Saturation(Op):
    """Blend with the grey image by a factor from ``factor_range`` (1 = unchanged)."""

    name: ClassVar[str] = "saturation"
    factor_range: tuple[float, float] = (0.85, 1.15)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.factor_range, "saturation.factor_range", lower=0.5, upper=1.5)


@dataclass(frozen=True)
class Hue(Op):
    """Rotate hue by a fraction of a turn from ``shift_range``; kept small so diagnostic colour survives."""

    name: ClassVar[str] = "hue"
    shift_range: tuple[float, float] = (-0.02, 0.02)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.shift_range, "hue.shift_range", lower=-0.1, upper=0.1)


@dataclass(frozen=True)
class Gamma(Op):
    """``x ** gamma`` with gamma from ``gamma_range``."""

    name: ClassVar[str] = "gamma"
    gamma_range: tuple[float, float] = (0.85, 1.15)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.gamma_range, "gamma.gamma_range", lower=0.5, upper=2.0)


@dataclass(frozen=True)
class Vignette(Op):
    """Darken outside a circle, like a dermoscope's round field of view.

    The circle's radius is drawn from ``radius_range`` (fraction of the
    half-diagonal); ``strength_range`` is how dark the outside gets.
    """

    name: ClassVar[str] = "vignette"
    p: float = 0.2
    radius_range: tuple[float, float] = (0.85, 1.2)
    strength_range: tuple[float, float] = (0.6, 1.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.radius_range, "vignette.radius_range", lower=0.5, upper=2.0)
        check_range(self.strength_range, "vignette.strength_range", lower=0.0, upper=1.0)


@dataclass(frozen=True)
class Cutout(Op):
    """Fill one square of side ``size_range`` (fraction of the short side) with the image mean.

    Off by default: it can hide part of the lesion.
    """

    name: ClassVar[str] = "cutout"
    p: float = 0.0
    size_range: tuple[float, float] = (0.05, 0.15)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.size_range, "cutout.size_range", lower=0.0, upper=0.5)


@dataclass(frozen=True)
class Hair(Op):
    """Draw simulated hair (:func:`dermprep.synthetic.add_hair`).

    Runs in Python (numba rasteriser) through ``tf.numpy_function``, so it
    costs more than the graph ops; off by default.
    """

    name: ClassVar[str] = "hair"
    p: float = 0.0
    num_hairs: tuple[int, int] = (1, 10)
    width_range: tuple[float, float] = (1.0, 3.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.num_hairs, "hair.num_hairs", lower=0, upper=200)
        check_range(self.width_range, "hair.width_range", lower=0.3, upper=16)


@dataclass(frozen=True)
class ShadesOfGray(Op):
    """Shades-of-Gray colour constancy (Finlayson & Trezzi 2004) with Minkowski norm ``power``.

    Deterministic preprocessing: with ``p=1`` (default) every image is
    normalised to a grey illuminant estimated as ``mean(x ** power) ** (1 / power)``
    per channel (power 6, as in top ISIC 2018/2019 entries).
    """

    name: ClassVar[str] = "shades_of_gray"
    p: float = 1.0
    power: float = 6.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1.0 <= float(self.power) <= 16.0:
            raise ValueError(f"shades_of_gray.power must be in [1, 16]; got {self.power!r}")


#: Every operation by name (for configuration from plain data).
OPS: dict[str, type[Op]] = {
    cls.name: cls
    for cls in (
        Flip, Dihedral, Rotate, Zoom, Shift, RandomResizedCrop, Brightness, Contrast, Saturation, Hue,
        Gamma, Vignette, Cutout, Hair, ShadesOfGray,
    )
}

