"""Private numba helper: the set pixels of a sparse mask, found 8 at a time."""

from __future__ import annotations

import numpy as np

from .._jit import jit


@jit()
def set_pixels(mask: np.ndarray) -> np.ndarray:
    """Flat indices (int32, raster order) of the True elements of a C-contiguous bool array.

    Hair, its replaced region and kept cells cover a few per cent of an image: 8 bytes are tested at once
    as one 64-bit word, and only non-zero words are looked into.
    """
    flat = mask.reshape(mask.size)
    words = flat[: (flat.size // 8) * 8].view(np.uint64)
    found = np.empty(flat.size, np.int32)
    count = 0
    for w in range(words.size + 1):
        if w < words.size:
            if words[w] == 0:
                continue
            lo, hi = w * 8, w * 8 + 8
        else:
            lo, hi = words.size * 8, flat.size
        for i in range(lo, hi):
            if flat[i]:
                found[count] = i
                count += 1
    return found[:count]
