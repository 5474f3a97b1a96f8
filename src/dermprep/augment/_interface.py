"""What running an operation needs of it: the three kinds of operation, as protocols.

The operations (`dermprep.augment.transforms`) meet these; the machinery
that samples and runs them (``_engine``, ``_frame``, ``_reference``) knows
them only through these, by their ``kind``, so it does not import the
operations, and an operation can run itself through it (``op(image)``)
without an import cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, cast

import numpy as np

from .._pixels import pixel_scale

__all__ = ["BatchParams", "Colour", "Geometry", "Operation", "Params", "colour_statistics", "stages"]

Params = dict[str, Any]  # one element: {"applied": bool, name: float, ...}
BatchParams = dict[str, np.ndarray]  # the same, one array entry per element


class Operation(Protocol):
    """Any operation: it samples its parameters from uniforms and applies one element's parameters."""

    name: ClassVar[str]
    kind: ClassVar[str]  # "geometry", "colour" or "pixel"
    draws: ClassVar[int]

    def sample(self, u: np.ndarray) -> BatchParams: ...

    def apply(self, image: np.ndarray, params: Params, *, mask: np.ndarray | None = None) -> Any: ...


class Geometry(Operation, Protocol):
    """An operation that moves pixels through an affine map (fused into one resampling)."""

    moves: ClassVar[bool]

    def matrix(self, params: BatchParams, height: int, width: int) -> np.ndarray: ...

    def applies_to(self, height: int, width: int) -> bool: ...


class Colour(Operation, Protocol):
    """A linear colour operation (fused into one colour matrix)."""

    def colour_matrix(self, params: BatchParams, mean: np.ndarray, sample: np.ndarray) -> np.ndarray: ...


def stages(ops: Sequence[Operation]) -> tuple[list[Geometry], list[Colour], list[Operation]]:
    """The operations by kind, each in pipeline order: geometry, linear colour, the other (pixel) ops."""
    geometry = [cast(Geometry, op) for op in ops if op.kind == "geometry"]
    colour = [cast(Colour, op) for op in ops if op.kind == "colour"]
    return geometry, colour, [op for op in ops if op.kind not in ("geometry", "colour")]


def colour_statistics(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What a colour op measures images (n, H, W, 3) by: mean colours (n, 3) and sampled pixels (n, m, 3).

    The pixels are those of every 8th row and column; both are in [0, 1] whatever the dtype.
    """
    sample = images[:, ::8, ::8].reshape(images.shape[0], -1, 3).astype(np.float64) / pixel_scale(images.dtype)
    return sample.mean(axis=1), sample
