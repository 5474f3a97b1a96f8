"""The unfused reference: each operation applied on its own, one after the other (the tests' oracle).

Same parameters, same order of stages as the engine (geometry, then
linear colour, then the pixel ops), but every op resamples or recolours
the image itself through its own ``apply``. The engine's fused result
differs only by the resampling and rounding it saves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._interface import Operation, stages

__all__ = ["reference_augment"]


def reference_augment(ops: Sequence[Operation], image: np.ndarray, params: dict[str, dict[str, Any]],
                      mask: np.ndarray | None = None) -> Any:
    """Apply one element's parameters op by op, unfused."""
    for stage in stages(ops):
        for op in stage:
            if not params[op.name]["applied"]:
                continue
            if op.kind == "geometry" and mask is not None:
                image, mask = op.apply(image, params[op.name], mask=mask)
            else:
                image = op.apply(image, params[op.name])
    return image if mask is None else (image, mask)
