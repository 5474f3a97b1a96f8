"""Figures without pyplot: drawn on ``matplotlib.figure.Figure``, so a notebook's backend is never switched.

matplotlib is an optional dependency (``pip install "dermprep[plots]"``);
only the functions that draw need it.
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np

from .io import atomic_write_bytes
from .runtime import require

__all__ = ["new_figure", "save_figure", "save_panel"]


def new_figure(width: float, height: float) -> Any:
    """A ``matplotlib.figure.Figure`` of ``width`` x ``height`` inches, attached to no backend or pyplot state."""
    figure_module = require("matplotlib.figure", "drawing figures")  # plotting only when asked
    return figure_module.Figure(figsize=(width, height))


def save_figure(figure: Any, path: str | os.PathLike[str], *, dpi: int = 90) -> None:
    """Write a figure as PNG, atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    atomic_write_bytes(path, buffer.getvalue())


def save_panel(path: str | os.PathLike[str], rows: list[list[tuple[str, np.ndarray]]], title: str) -> None:
    """Save a grid of titled images (RGB, or 2-D shown in grey) as one PNG; titles on the first row."""
    ncols = max(len(row) for row in rows)
    figure = new_figure(3.2 * ncols, 2.5 * len(rows))
    axes = figure.subplots(len(rows), ncols, squeeze=False)
    for r, row in enumerate(rows):
        for c in range(ncols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(row):
                ax.axis("off")
                continue
            label, image = row[c]
            ax.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
            if r == 0 or len(rows[0]) != ncols:
                ax.set_title(label, fontsize=10)
    figure.suptitle(title, fontsize=12)
    figure.tight_layout()
    save_figure(figure, path)
