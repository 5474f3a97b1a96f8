"""The augmentation pipeline: sample parameters from (seed, index, epoch), then apply them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..validation import check_image, check_label_mask, check_seed
from . import _engine
from ._interface import BatchParams
from .transforms import (
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

#: Parameters of one element: ``{op name: {"applied": bool, parameter: value, ...}}``.
ElementParams = dict[str, dict[str, Any]]


class Pipeline:
    """An ordered list of augmentation operations, applied as: sample, then apply.

    Geometric operations (flip, dihedral, rotate, zoom, shift, random resized
    crop) are fused into one affine resampling per image and run first;
    linear colour operations (brightness, contrast, saturation, hue, shades
    of gray) are fused into one colour matrix and run next; the other
    operations (gamma, vignette, cutout, hair) follow in list order.

    Randomness is keyed on ``(seed, index, epoch)``: element ``index`` of
    epoch ``epoch`` gets the same parameters whatever the batching, threads
    or ``num_parallel_calls``. Geometry that would push the lesion out of
    frame is switched off for that image (`dermprep.augment._frame`).

    Parameters
    ----------
    ops : sequence of Op or of dicts
        Operation objects, or dicts ``{"op": name, **parameters}`` (see
        `dermprep.augment.OPS` for the names). Each op at most once.

    Examples
    --------
    >>> import numpy as np
    >>> from dermprep.augment import Pipeline, Flip, Rotate
    >>> pipeline = Pipeline([Flip(), Rotate(p=1.0, angle_range=(-30, 30))])
    >>> pipeline.names
    ['flip', 'rotate']
    >>> params = pipeline.sample(seed=0, index=3, epoch=1)
    >>> sorted(params["rotate"])
    ['angle', 'applied']
    >>> image = np.zeros((64, 64, 3), np.uint8)
    >>> np.array_equal(pipeline(image, seed=0, index=3, epoch=1), pipeline.apply_params(image, params))
    True
    """

    def __init__(self, ops: Iterable[Op | Mapping[str, Any]]) -> None:
        if isinstance(ops, (str, bytes, Mapping)) or not isinstance(ops, Iterable):
            raise TypeError(f"ops must be a sequence of dermprep.augment operations or dicts; got {ops!r}")
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

    # -- sampling -------------------------------------------------------------------------

    def sample_batch(
        self,
        *,
        seed: int,
        epoch: int,
        indices: Sequence[int] | np.ndarray,
        images: np.ndarray | None = None,
        masks: np.ndarray | None = None,
    ) -> dict[str, BatchParams]:
        """Parameters of the elements ``indices`` of epoch ``epoch``, one array entry per element.

        With ``images`` (and optional ``masks``), geometry each image cannot
        take is switched off, exactly as `augment_batch()` does.
        """
        return _engine.sample(self.ops, seed=seed, epoch=epoch, indices=indices, images=images, masks=masks)

    def sample(
        self,
        *,
        seed: int = 0,
        index: int = 0,
        epoch: int = 0,
        image: np.ndarray | None = None,
        mask: np.ndarray | None = None,
    ) -> ElementParams:
        """The parameters element ``index`` of epoch ``epoch`` gets, as plain Python values (to print, inspect, replay).

        Without ``image`` these are the sampled parameters; with it (and an
        optional lesion ``mask``) they are exactly what that image gets:
        geometry that would push its lesion out of frame is switched off.
        `apply_params()` applies them.
        """
        seed, index, epoch = (check_seed(v, name) for v, name in ((seed, "seed"), (index, "index"), (epoch, "epoch")))
        images = masks = None
        if image is not None:
            images = check_image(image, "image", allow_batch=False, min_size=8)[None]
            if mask is not None:
                masks = check_label_mask(mask, images.shape[1:3])[None]
        params = self.sample_batch(seed=seed, epoch=epoch, indices=[index], images=images, masks=masks)
        return {name: {k: v[0].item() for k, v in values.items()} for name, values in params.items()}

    # -- application ----------------------------------------------------------------------

    def apply_params(self, image: np.ndarray, params: Mapping[str, Mapping[str, Any]], *,
                     mask: np.ndarray | None = None) -> Any:
        """Apply one element's parameters (from `sample()`) to a NumPy image, exactly as given.

        Parameters
        ----------
        image : ndarray, shape (H, W, 3), uint8 or float32 in [0, 1]
        params : dict
            ``{op name: {"applied": bool, ...}}`` for every op of the pipeline.
        mask : ndarray, shape (H, W), bool or integer labels, optional
            Gets the same geometry (nearest neighbour; values kept).

        Returns
        -------
        image : ndarray, same shape and dtype
        mask : ndarray, only when ``mask`` is given
        """
        image = check_image(image, "image", allow_batch=False, min_size=8)
        masks = None if mask is None else check_label_mask(mask, image.shape[:2])[None]
        if not isinstance(params, Mapping) or set(params) != set(self.names):
            raise ValueError(f"params must map every op of the pipeline {self.names} to its parameters; "
                             f"got {sorted(params) if isinstance(params, Mapping) else params!r}")
        batch = {name: {k: np.asarray([v]) for k, v in values.items()} for name, values in params.items()}
        out, out_masks = _engine.run(self.ops, image[None], masks, batch)
        return out[0] if mask is None else (out[0], out_masks[0])  # type: ignore[index]

    def __call__(self, image: np.ndarray, *, seed: int = 0, index: int = 0, epoch: int = 0,
                 mask: np.ndarray | None = None) -> Any:
        """Augment one NumPy image exactly as element ``index`` of epoch ``epoch`` under ``seed``.

        The same as ``dataset.apply(dermprep.tfdata.augment(self, seed=seed))``
        gives that element (no TensorFlow needed), and what ``apply_params(image,
        sample(..., image=image))`` gives. Returns the image, and the mask when
        one is given.
        """
        return _engine.augment_image(self.ops, image, seed=seed, index=index, epoch=epoch, mask=mask)

    def augment_batch(
        self,
        images: np.ndarray,
        *,
        seed: int,
        epoch: int,
        indices: Sequence[int] | np.ndarray,
        masks: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Augment images [n, H, W, 3] that are elements ``indices`` of epoch ``epoch`` (what tf.data runs).

        Each image gets what `__call__()` gives it. ``masks`` [n, H, W]
        (bool or integer labels) get the same geometry.
        """
        images = check_image(images, "images", min_size=8)
        if images.ndim != 4:
            raise ValueError(f"images must have shape (N, H, W, 3); got {images.shape}")
        indices = np.asarray(indices)
        if indices.shape != (images.shape[0],):
            raise ValueError(f"indices must hold one index per image ({images.shape[0]}); got shape {indices.shape}")
        if masks is not None:
            masks = check_label_mask(masks, images.shape[:3], "masks")
        params = self.sample_batch(seed=seed, epoch=epoch, indices=indices, images=images, masks=masks)
        return _engine.run(self.ops, images, masks, params)


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
