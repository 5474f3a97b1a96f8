"""Progress bars that only draw on a terminal (log files get no carriage-return frames)."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["progress_bar"]


def progress_bar(*, total: int | None, desc: str, unit: str = "it", enabled: bool | None = None, **options: Any) -> Any:
    """A ``tqdm`` bar on stderr; ``enabled=None`` draws it only when stderr is a terminal."""
    from tqdm import tqdm  # noqa: PLC0415

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, file=sys.stderr, **options)
