"""Augmentation operations: checked parameters, their own sampling and their own application.

Every operation is a frozen dataclass with a probability ``p`` and checked
parameters. It owns two things:

- **sampling**: ``sample(u)`` turns ``draws`` uniform numbers per element
  (rows of ``u``) into parameters, vectorised over elements; every op
  returns an ``"applied"`` flag with its other parameters;
- **application**: ``apply(image, params)`` applies one element's
  parameters with `dermprep.augment.functional` (unfused, one image).

Geometric ops also give their transformation as a matrix (``matrix``) and
linear colour ops as a colour matrix (``colour_matrix``), which is what
lets a `Pipeline` fuse all geometry into one resampling and all linear
colour changes into one pass. The maths is not here: each op maps its
parameters (arrays, one entry per element) to a builder of
`dermprep.augment.functional`, which takes arrays as well as numbers.

Adding an operation: its maths as a function in ``functional``, one class
here listed in `OPS`, and its definition in ``tests/augment/test_op_maths.py``
(the test fails until it is there).

Importing this module does not import TensorFlow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from ..validation import check_bool, check_int_range, check_number, check_probability, check_range
from . import functional as F
from ._engine import augment_image
from ._interface import BatchParams, Params, colour_statistics

__all__ = [
    "OPS",
    "Brightness",
    "ColourOp",
    "Contrast",
    "Cutout",
    "Dihedral",
    "Flip",
    "Gamma",
    "GeometryOp",
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

def _lerp(u: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    return bounds[0] + (bounds[1] - bounds[0]) * u


def as_batch(params: Params) -> BatchParams:
    """One element's parameters as a batch of one."""
    return {key: np.asarray([value]) for key, value in params.items()}


@dataclass(frozen=True)
class Op:
    """Base of every operation: a name, a probability ``p``, checked parameters.

    Subclasses set ``name``, ``draws`` (uniforms per element) and implement
    ``sample`` and ``apply``; ``kind`` says how a pipeline schedules them
    (``"geometry"``: fused into one resampling; ``"colour"``: fused into one
    linear colour pass; ``"pixel"``: applied one by one, in order).
    """

    name: ClassVar[str] = "op"
    kind: ClassVar[str] = "pixel"
    draws: ClassVar[int] = 1
    p: float = 0.5

    def __post_init__(self) -> None:
        check_probability(self.p, f"{self.name}.p")

    def _fires(self, u: np.ndarray) -> np.ndarray:
        return u < self.p

    def sample(self, u: np.ndarray) -> BatchParams:
        """Parameters for each row of ``u`` (shape ``(n, draws)``, uniforms in [0, 1))."""
        raise NotImplementedError

    def apply(self, image: np.ndarray, params: Params, *, mask: np.ndarray | None = None) -> Any:
        """Apply one element's parameters to ``image`` (and, for geometry, ``mask``)."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """The operation as a plain dict (``{"op": name, **parameters}``)."""
        return {"op": self.name, **asdict(self)}

    def __call__(self, image: np.ndarray, *, seed: int = 0, index: int = 0, epoch: int = 0,
                 mask: np.ndarray | None = None) -> Any:
        """This operation alone: what ``Pipeline([op])(image, ...)`` gives."""
        return augment_image((self,), image, seed=seed, index=index, epoch=epoch, mask=mask)


# ----------------------------------------------------------------------------
# Geometry
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GeometryOp(Op):
    """An operation that moves pixels: an affine map, fused with the others into one resampling.

    ``moves`` is True for ops that can push the lesion out of the frame
    (rotation, zoom, shift, crops); flips and quarter turns map the frame
    onto itself.
    """

    kind: ClassVar[str] = "geometry"
    moves: ClassVar[bool] = True

    def matrix(self, params: BatchParams, height: int, width: int) -> np.ndarray:
        """Inverse maps (output -> input pixel coordinates), shape (n, 3, 3); identity where not applied."""
        out = self._matrices(params, height, width)
        out[~np.asarray(params["applied"], bool)] = np.eye(3)
        return out

    def _matrices(self, params: BatchParams, height: int, width: int) -> np.ndarray:
        """The maps of every element, applied or not (vectorised)."""
        raise NotImplementedError

    def applies_to(self, height: int, width: int) -> bool:
        """Whether the operation can act on an image of this size."""
        return True

    def apply(self, image: np.ndarray, params: Params, *, mask: np.ndarray | None = None) -> Any:
        height, width = image.shape[:2]
        matrix = self.matrix(as_batch(params), height, width)[0]
        out = F.warp_affine(image, matrix)
        if mask is None:
            return out
        return out, F.warp_affine(mask, matrix, interpolation="nearest")


@dataclass(frozen=True)
class Flip(GeometryOp):
    """Horizontal and/or vertical flips, each with probability ``p``."""

    name: ClassVar[str] = "flip"
    moves: ClassVar[bool] = False
    draws: ClassVar[int] = 2
    horizontal: bool = True
    vertical: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        check_bool(self.horizontal, "flip.horizontal")
        check_bool(self.vertical, "flip.vertical")

    def sample(self, u: np.ndarray) -> BatchParams:
        horizontal = self._fires(u[:, 0]) & self.horizontal
        vertical = self._fires(u[:, 1]) & self.vertical
        return {"applied": horizontal | vertical, "horizontal": horizontal, "vertical": vertical}

    def _matrices(self, params: BatchParams, height: int, width: int) -> np.ndarray:
        return F.flip_matrix(height, width, horizontal=np.asarray(params["horizontal"], bool),
                             vertical=np.asarray(params["vertical"], bool))


@dataclass(frozen=True)
class Dihedral(GeometryOp):
    """Exact 90-degree rotations and transposes (the 8 symmetries of a square).

    Dermoscopy has no canonical orientation. Acts on square images only (a
    transpose would change a rectangle's shape); flips cover the rest.
    """

    name: ClassVar[str] = "dihedral"
    moves: ClassVar[bool] = False
    draws: ClassVar[int] = 2
    p: float = 1.0

    def sample(self, u: np.ndarray) -> BatchParams:
        k = np.where(self._fires(u[:, 0]), np.minimum((u[:, 1] * 8).astype(np.int64), 7), 0)
        return {"applied": k > 0, "k": k}

    def applies_to(self, height: int, width: int) -> bool:
        return height == width

    def _matrices(self, params: BatchParams, height: int, width: int) -> np.ndarray:
        k = np.asarray(params["k"], np.int64)
        if height != width:
            return np.broadcast_to(np.eye(3), (k.size, 3, 3)).copy()
        return F.dihedral_matrix(height, k)


@dataclass(frozen=True)
class Rotate(GeometryOp):
    """Rotation by an angle (degrees) drawn from ``angle_range``; corners filled by reflection."""

    name: ClassVar[str] = "rotate"
    draws: ClassVar[int] = 2
    angle_range: tuple[float, float] = (-45.0, 45.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.angle_range, "rotate.angle_range", lower=-180.0, upper=180.0)

    def sample(self, u: np.ndarray) -> BatchParams:
        on = self._fires(u[:, 0])
        return {"applied": on, "angle": np.where(on, _lerp(u[:, 1], self.angle_range), 0.0)}

    def _matrices(self, params: BatchParams, height: int, width: int) -> np.ndarray:
        return F.rotation_matrix(height, width, params["angle"])


@dataclass(frozen=True)
class Zoom(GeometryOp):
    """Scale by a factor from ``zoom_range`` (> 1 zooms in), about the image centre."""

    name: ClassVar[str] = "zoom"
    draws: ClassVar[int] = 2
    zoom_range: tuple[float, float] = (0.9, 1.2)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.zoom_range, "zoom.zoom_range", lower=0.5, upper=2.0)

    def sample(self, u: np.ndarray) -> BatchParams:
        on = self._fires(u[:, 0])
        return {"applied": on, "zoom": np.where(on, _lerp(u[:, 1], self.zoom_range), 1.0)}

    def _matrices(self, params: BatchParams, height: int, width: int) -> np.ndarray:
        return F.zoom_matrix(height, width, params["zoom"])


@dataclass(frozen=True)
class Shift(GeometryOp):
    """Translation by up to ``fraction`` of the image size in each direction."""

    name: ClassVar[str] = "shift"
    draws: ClassVar[int] = 3
    fraction: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number(self.fraction, "shift.fraction", lower=0.0, upper=0.3)

    def sample(self, u: np.ndarray) -> BatchParams:
        on = self._fires(u[:, 0])
        return {
            "applied": on,
            "dx": np.where(on, (2.0 * u[:, 1] - 1.0) * self.fraction, 0.0),
            "dy": np.where(on, (2.0 * u[:, 2] - 1.0) * self.fraction, 0.0),
        }

    def _matrices(self, params: BatchParams, height: int, width: int) -> np.ndarray:
        return F.shift_matrix(height, width, np.asarray(params["dx"], float) * width,
                              np.asarray(params["dy"], float) * height)


@dataclass(frozen=True)
class RandomResizedCrop(GeometryOp):
    """Crop a region of ``scale`` times the area and ``ratio`` aspect, resized back to full size."""

    name: ClassVar[str] = "random_resized_crop"
    draws: ClassVar[int] = 5
    scale: tuple[float, float] = (0.6, 1.0)
    ratio: tuple[float, float] = (0.75, 4.0 / 3.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.scale, "random_resized_crop.scale", lower=0.25, upper=1.0)
        check_range(self.ratio, "random_resized_crop.ratio", lower=0.5, upper=2.0)

    def sample(self, u: np.ndarray) -> BatchParams:
        on = self._fires(u[:, 0])
        area = _lerp(u[:, 1], self.scale)
        log_ratio = np.log(self.ratio)
        ratio = np.exp(_lerp(u[:, 2], (float(log_ratio[0]), float(log_ratio[1]))))
        width, height = np.minimum(np.sqrt(area * ratio), 1.0), np.minimum(np.sqrt(area / ratio), 1.0)
        return {
            "applied": on,
            "width": np.where(on, width, 1.0),
            "height": np.where(on, height, 1.0),
            "x": np.where(on, (u[:, 3] - 0.5) * (1.0 - width), 0.0),
            "y": np.where(on, (u[:, 4] - 0.5) * (1.0 - height), 0.0),
        }

    def _matrices(self, params: BatchParams, height: int, width: int) -> np.ndarray:
        # the crop box, centred at (0.5 + x, 0.5 + y) of the frame, read stretched to the whole frame
        return F.crop_matrix(height, width, params["width"], params["height"],
                             np.asarray(params["x"], float) * width, np.asarray(params["y"], float) * height)


# ----------------------------------------------------------------------------
# Linear colour
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ColourOp(Op):
    """A linear (affine) colour operation, fused with the others into one pass.

    ``colour_matrix`` receives, per element, the current mean colour (after
    the colour ops before it; in [0, 1], shape (n, 3)) and pixels sampled
    from the input image (in [0, 1], shape (n, m, 3)) for statistics such
    as an illuminant estimate.
    """

    kind: ClassVar[str] = "colour"
    draws: ClassVar[int] = 2

    def colour_matrix(self, params: BatchParams, mean: np.ndarray, sample: np.ndarray) -> np.ndarray:
        """Colour matrices (n, 3, 4); identity where not applied."""
        out = self._colour_matrices(params, mean, sample)
        identity = np.zeros((3, 4))
        identity[:, :3] = np.eye(3)
        out[~np.asarray(params["applied"], bool)] = identity
        return out

    def _colour_matrices(self, params: BatchParams, mean: np.ndarray, sample: np.ndarray) -> np.ndarray:
        """The matrices of every element, applied or not (vectorised)."""
        raise NotImplementedError

    def apply(self, image: np.ndarray, params: Params, *, mask: np.ndarray | None = None) -> Any:
        mean, sample = colour_statistics(image[None])
        return F.apply_colour_matrix(image, self.colour_matrix(as_batch(params), mean, sample)[0])


@dataclass(frozen=True)
class _Factor(ColourOp):
    """A colour op with one factor drawn from ``factor_range``."""

    factor_range: tuple[float, float] = (0.85, 1.15)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.factor_range, f"{self.name}.factor_range", lower=0.5, upper=1.5)

    def sample(self, u: np.ndarray) -> BatchParams:
        on = self._fires(u[:, 0])
        return {"applied": on, "factor": np.where(on, _lerp(u[:, 1], self.factor_range), 1.0)}


@dataclass(frozen=True)
class Brightness(_Factor):
    """Multiply intensities by a factor from ``factor_range`` (exposure)."""

    name: ClassVar[str] = "brightness"

    def _colour_matrices(self, params: BatchParams, mean: np.ndarray, sample: np.ndarray) -> np.ndarray:
        return F.brightness_matrix(params["factor"])


@dataclass(frozen=True)
class Contrast(_Factor):
    """Scale deviations from the image's mean grey level by a factor from ``factor_range``."""

    name: ClassVar[str] = "contrast"

    def _colour_matrices(self, params: BatchParams, mean: np.ndarray, sample: np.ndarray) -> np.ndarray:
        return F.contrast_matrix(params["factor"], mean.mean(axis=-1))


@dataclass(frozen=True)
class Saturation(_Factor):
    """Blend with the grey image by a factor from ``factor_range`` (1 = unchanged)."""

    name: ClassVar[str] = "saturation"

    def _colour_matrices(self, params: BatchParams, mean: np.ndarray, sample: np.ndarray) -> np.ndarray:
        return F.saturation_matrix(params["factor"])


@dataclass(frozen=True)
class Hue(ColourOp):
    """Rotate hue by a fraction of a turn from ``shift_range``; kept small so diagnostic colour survives."""

    name: ClassVar[str] = "hue"
    shift_range: tuple[float, float] = (-0.02, 0.02)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.shift_range, "hue.shift_range", lower=-0.1, upper=0.1)

    def sample(self, u: np.ndarray) -> BatchParams:
        on = self._fires(u[:, 0])
        return {"applied": on, "shift": np.where(on, _lerp(u[:, 1], self.shift_range), 0.0)}

    def _colour_matrices(self, params: BatchParams, mean: np.ndarray, sample: np.ndarray) -> np.ndarray:
        return F.hue_matrix(params["shift"])


@dataclass(frozen=True)
class ShadesOfGray(ColourOp):
    """Shades-of-Gray colour constancy (Finlayson & Trezzi 2004) with Minkowski norm ``power``.

    Deterministic preprocessing: with ``p=1`` (default) every image is
    normalised to a grey illuminant estimated as ``mean(x ** power) ** (1 / power)``
    per channel (power 6, as in top ISIC 2018/2019 entries), measured on the
    input image.
    """

    name: ClassVar[str] = "shades_of_gray"
    draws: ClassVar[int] = 1
    p: float = 1.0
    power: float = 6.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number(self.power, "shades_of_gray.power", lower=1.0, upper=16.0)

    def sample(self, u: np.ndarray) -> BatchParams:
        return {"applied": self._fires(u[:, 0])}

    def _colour_matrices(self, params: BatchParams, mean: np.ndarray, sample: np.ndarray) -> np.ndarray:
        # each element's m sampled pixels, as an m x 1 image
        return F.shades_of_gray_matrix(F.illuminant(sample[:, :, None, :], self.power))


# ----------------------------------------------------------------------------
# Other pixel operations
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Gamma(Op):
    """``x ** gamma`` with gamma from ``gamma_range``."""

    name: ClassVar[str] = "gamma"
    draws: ClassVar[int] = 2
    gamma_range: tuple[float, float] = (0.85, 1.15)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.gamma_range, "gamma.gamma_range", lower=0.5, upper=2.0)

    def sample(self, u: np.ndarray) -> BatchParams:
        on = self._fires(u[:, 0])
        return {"applied": on, "gamma": np.where(on, _lerp(u[:, 1], self.gamma_range), 1.0)}

    def apply(self, image: np.ndarray, params: Params, *, mask: np.ndarray | None = None) -> Any:
        return F.adjust_gamma(image, float(params["gamma"]))


@dataclass(frozen=True)
class Vignette(Op):
    """Darken outside a circle, like a dermoscope's round field of view.

    The circle's radius is drawn from ``radius_range`` (fraction of the
    half-diagonal, times 0.75); ``strength_range`` is how dark the outside gets.
    """

    name: ClassVar[str] = "vignette"
    draws: ClassVar[int] = 3
    p: float = 0.2
    radius_range: tuple[float, float] = (0.85, 1.2)
    strength_range: tuple[float, float] = (0.6, 1.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.radius_range, "vignette.radius_range", lower=0.5, upper=2.0)
        check_range(self.strength_range, "vignette.strength_range", lower=0.0, upper=1.0)

    def sample(self, u: np.ndarray) -> BatchParams:
        on = self._fires(u[:, 0])
        return {
            "applied": on,
            "radius": np.where(on, _lerp(u[:, 1], self.radius_range) * 0.75, 1.0),
            "strength": np.where(on, _lerp(u[:, 2], self.strength_range), 0.0),
        }

    def apply(self, image: np.ndarray, params: Params, *, mask: np.ndarray | None = None) -> Any:
        return F.vignette(image, float(params["radius"]), float(params["strength"]))


@dataclass(frozen=True)
class Cutout(Op):
    """Fill one square of side ``size_range`` (fraction of the short side) with the image mean.

    Off by default: it can hide part of the lesion.
    """

    name: ClassVar[str] = "cutout"
    draws: ClassVar[int] = 4
    p: float = 0.0
    size_range: tuple[float, float] = (0.05, 0.15)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(self.size_range, "cutout.size_range", lower=0.0, upper=0.5)

    def sample(self, u: np.ndarray) -> BatchParams:
        on = self._fires(u[:, 0])
        return {"applied": on, "side": np.where(on, _lerp(u[:, 1], self.size_range), 0.0),
                "x": u[:, 2], "y": u[:, 3]}

    def apply(self, image: np.ndarray, params: Params, *, mask: np.ndarray | None = None) -> Any:
        height, width = image.shape[:2]
        centre = (float(params["x"]) * width, float(params["y"]) * height)
        return F.cutout(image, centre, float(params["side"]) * min(height, width))


@dataclass(frozen=True)
class Hair(Op):
    """Draw simulated hair (`dermprep.synthetic.add_hair()`).

    Runs a numba rasteriser per image, so it costs more than the other ops;
    off by default.
    """

    name: ClassVar[str] = "hair"
    draws: ClassVar[int] = 2
    p: float = 0.0
    num_hairs: tuple[int, int] = (1, 10)
    width_range: tuple[float, float] = (1.0, 3.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int_range(self.num_hairs, "hair.num_hairs", lower=0, upper=200)
        check_range(self.width_range, "hair.width_range", lower=0.3, upper=16)

    def sample(self, u: np.ndarray) -> BatchParams:
        return {"applied": self._fires(u[:, 0]), "seed": (u[:, 1] * 2**31).astype(np.int64)}

    def apply(self, image: np.ndarray, params: Params, *, mask: np.ndarray | None = None) -> Any:
        from ..synthetic import add_hair  # noqa: PLC0415

        return add_hair(image, rng=int(params["seed"]), num_hairs=tuple(self.num_hairs),
                        width_range=self.width_range)[0]


#: Every operation by name (for configuration from plain data).
OPS: dict[str, type[Op]] = {
    cls.name: cls
    for cls in (
        Flip, Dihedral, Rotate, Zoom, Shift, RandomResizedCrop, Brightness, Contrast, Saturation, Hue,
        Gamma, Vignette, Cutout, Hair, ShadesOfGray,
    )
}

