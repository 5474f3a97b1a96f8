"""Private numba kernel: anti-aliased rasterisation of tapering curves."""

from __future__ import annotations

import numpy as np

from .._jit import jit


@jit()
def rasterize_polyline(points: np.ndarray, widths: np.ndarray, coverage: np.ndarray) -> None:
    """Draw a polyline of varying width into ``coverage`` (max-composited).

    ``points`` is (M, 2) float64 (row, col) of pixel centres, ``widths`` (M,)
    the full width at each vertex. A pixel's coverage is the fraction of it
    that a box filter of width 1 sees inside the stroke, ``clip(w/2 + 0.5 - d)``.
    """
    height, width = coverage.shape
    for i in range(points.shape[0] - 1):
        y0, x0 = points[i, 0], points[i, 1]
        y1, x1 = points[i + 1, 0], points[i + 1, 1]
        w0, w1 = widths[i], widths[i + 1]
        reach = max(w0, w1) * 0.5 + 1.5
        ylo = max(int(np.floor(min(y0, y1) - reach)), 0)
        yhi = min(int(np.ceil(max(y0, y1) + reach)), height - 1)
        xlo = max(int(np.floor(min(x0, x1) - reach)), 0)
        xhi = min(int(np.ceil(max(x0, x1) + reach)), width - 1)
        dy, dx = y1 - y0, x1 - x0
        seg2 = dy * dy + dx * dx
        for y in range(ylo, yhi + 1):
            for x in range(xlo, xhi + 1):
                t = 0.0
                if seg2 > 0.0:
                    t = ((y - y0) * dy + (x - x0) * dx) / seg2
                    t = min(max(t, 0.0), 1.0)
                py = y0 + t * dy - y
                px = x0 + t * dx - x
                dist = np.sqrt(py * py + px * px)
                w = w0 + t * (w1 - w0)
                cov = min(max(0.5 * w + 0.5 - dist, 0.0), 1.0)
                if cov > coverage[y, x]:
                    coverage[y, x] = cov
