"""The augmentation pipeline: an ordered, checked list of operations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ._ops import (
    OPS,
    Brightness,
    Contrast,
    Dihedral,
    Flip,
    Gamma,
    Hue,
    Op,
    Rotate,
    Saturation,
    Shift,
    Vignette,
    Zoom,
)

__all__ = ["Pipeline", "default_pipeline"]


class Pipeline:
    """An ordered list of augmentation operations.

    Geometric operations (flip, dihedral, rotate, zoom, shift, random resized
    crop) are fused into one affine resampling per image, wherever they stand
    in the list; the others run in list order after it.

    Parameters
    ----------
    ops : sequence of Op or of dicts
        Operation objects, or dicts ``{"op": name, **parameters}`` (see
        :data:`dermprep.augment.OPS` for the names).

    Examples
    --------
    >>> from dermprep.augment import Pipeline, Flip, Rotate
    >>> Pipeline([Flip(), Rotate(angle_range=(-30, 30))]).names
    ['flip', 'rotate']
    >>> Pipeline([{"op": "brightness", "factor_range": (0.9, 1.1)}]).names
    ['brightness']
    """

    def __init__(self, ops: Iterable[Op | Mapping[str, Any]]) -> None:
        checked: list[Op] = []
        for i, op in enumerate(ops):
            if isinstance(op, Op):
                checked.append(op)
            elif isinstance(op, Mapping):
                params = dict(op)
                name = params.pop("op", None)
                if name not in OPS:
                    raise ValueError(f"ops[{i}] has unknown op name {name!r}; expected one of {sorted(OPS)}")
                try:
                    checked.append(OPS[name](**params))
                except TypeError as exc:
                    raise TypeError(f"ops[{i}] ({name}): {exc}") from None
            else:
                raise TypeError(f"ops[{i}] must be a dermprep.augment operation or a dict; got {type(op).__name__}")
        names = [op.name for op in checked]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"each operation may appear once in a pipeline; repeated: {repeated}")
        self.ops: tuple[Op, ...] = tuple(checked)

    @property
    def names(self) -> list[str]:
        """Operation names, in order."""
        return [op.name for op in self.ops]

    def config(self) -> list[dict[str, Any]]:
        """The pipeline as plain data; ``Pipeline(p.config())`` rebuilds it."""
        return [op.config() for op in self.ops]

    def __repr__(self) -> str:
        return f"Pipeline({list(self.ops)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pipeline) and self.ops == other.ops

    def __hash__(self) -> int:
        return hash(self.ops)

    def apply(
        self,
        image: np.ndarray,
        *,
        seed: int = 0,
        index: int = 0,
        epoch: int = 0,
        mask: np.ndarray | None = None,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Augment one NumPy image exactly as element ``index`` of epoch ``epoch`` of
        ``dataset.apply(dermprep.tfdata.augment(self, seed=seed))`` (no TensorFlow needed).

        Parameters
        ----------
        image : ndarray, shape (H, W, 3), uint8 or float32 in [0, 1]
        seed, index, epoch : int
            Which augmentation to replay.
        mask : ndarray, shape (H, W), bool or uint8, optional
            A lesion mask transformed with the same geometry.

        Returns
        -------
        image : ndarray, same shape and dtype
        mask : ndarray, only when ``mask`` is given
        """
        from .._validation import check_image  # noqa: PLC0415
        from ._engine import augment_batch  # noqa: PLC0415

        image = check_image(image, "image", allow_batch=False, min_size=8)
        for name, value in (("seed", seed), ("index", index), ("epoch", epoch)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0; got {value!r}")
        mask_u8 = None
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != image.shape[:2]:
                raise ValueError(f"mask must have shape {image.shape[:2]}; got {mask.shape}")
            mask_u8 = np.ascontiguousarray(mask.astype(np.uint8))
        out, out_mask = augment_batch(
            self, image[None], None if mask_u8 is None else mask_u8[None], seed, epoch, np.array([index])
        )
        if mask is None:
            return out[0]
        return out[0], out_mask[0].astype(mask.dtype)  # type: ignore[index]


def default_pipeline() -> Pipeline:
    """The lesion-aware default: what most HAM10000/ISIC training needs.

    Exact 90-degree rotations/transposes and flips (dermoscopy has no up),
    rotation up to 45 degrees and zoom 0.9-1.2 with corners filled by
    reflection, small shifts, all fused into one resampling and kept from
    pushing the lesion out of frame; brightness, contrast, saturation and
    gamma within +-15 %, hue within +-2 % of a turn; a dermoscope vignette
    on 20 % of images.
    """
    ops: Sequence[Op] = (
        Dihedral(p=1.0),
        Flip(p=0.5),
        Rotate(p=0.5, angle_range=(-45.0, 45.0)),
        Zoom(p=0.5, zoom_range=(0.9, 1.2)),
        Shift(p=0.3, fraction=0.05),
        Brightness(p=0.5),
        Contrast(p=0.5),
        Saturation(p=0.5),
        Hue(p=0.3),
        Gamma(p=0.3),
        Vignette(p=0.2),
    )
    return Pipeline(ops)
