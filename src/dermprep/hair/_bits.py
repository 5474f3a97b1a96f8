"""Private numba helper: the set pixels of a sparse mask, found 8 at a time."""

from __future__ import annotations

import numpy as np

from .._jit import jit
from ._workspace import take_i32


@jit()
def set_coords(mask: np.ndarray, work: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns (int32, raster order) of the True pixels of a C-contiguous (H, W) bool array (in arrays
    from ``work``, `._workspace`).

    Hair, its replaced region and kept cells cover a few per cent of an image: 8 bytes are tested at once
    as one 64-bit word, and only non-zero words are looked into. The row is carried along as the scan moves
    on (no division per pixel).
    """
    width = mask.shape[1]
    flat = mask.reshape(mask.size)
    words = flat[: (flat.size // 8) * 8].view(np.uint64)
    rows = take_i32(work, flat.size)
    cols = take_i32(work, flat.size)
    count, row, row_start = 0, 0, 0
    for w in range(words.size + 1):
        if w < words.size:
            if words[w] == 0:
                continue
            lo, hi = w * 8, w * 8 + 8
        else:
            lo, hi = words.size * 8, flat.size
        for i in range(lo, hi):
            if flat[i]:
                while i >= row_start + width:
                    row_start += width
                    row += 1
                rows[count] = row
                cols[count] = i - row_start
                count += 1
    return rows[:count], cols[:count]
