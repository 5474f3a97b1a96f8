"""Private numba helpers shared by the hair kernels: explicit copy and fill loops, the set pixels of a
sparse mask, found 8 at a time, and a 3x3 dilation on bytes."""

from __future__ import annotations

import numpy as np
from numba import types
from numba.core.extending import intrinsic

from .._jit import jit
from ._workspace import take_i32


@intrinsic
def trailing_zeros(typingctx, word):  # type: ignore[no-untyped-def]
    """The number of trailing zero bits of a uint64 (64 for 0): LLVM's ``cttz``, one instruction (``tzcnt``).

    With bool bytes viewed as a uint64 word, ``trailing_zeros(word) >> 3`` is the first set byte."""
    if word != types.uint64:
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.cttz(args[0], context.get_constant(types.boolean, False))

    return types.uint64(types.uint64), codegen


@jit()
def tail_word(flat: np.ndarray, start: int) -> np.uint64:
    """The bytes ``flat[start:]`` (fewer than 8, each 0 or 1) as one uint64, as a whole word's view reads them."""
    word = np.uint64(0)
    for i in range(start, flat.size):
        word |= np.uint64(flat[i]) << np.uint64(8 * (i - start))
    return word


# numba compiles ``a[:] = b`` into a generic element loop that is ~15x slower
# than an explicit loop (measured here), so hot paths use these two helpers.
@jit()
def copy_array(src: np.ndarray, dst: np.ndarray) -> None:
    """Copy a C-contiguous array into another of the same size."""
    s = src.reshape(src.size)
    d = dst.reshape(dst.size)
    for i in range(d.size):
        d[i] = s[i]


@jit()
def fill_array(dst: np.ndarray, value) -> None:  # type: ignore[no-untyped-def]
    """Set every element of a C-contiguous array to ``value``."""
    d = dst.reshape(dst.size)
    for i in range(d.size):
        d[i] = value


@jit()
def set_coords(mask: np.ndarray, work: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns (int32, raster order) of the True pixels of a C-contiguous (H, W) bool array (in arrays
    from ``work``, `._workspace`).

    Hair, its replaced region and kept cells cover a few per cent of an image: 8 bytes are tested at once
    as one 64-bit word, and only the words with a set byte are visited. A word within one row writes all of
    its 8 pixels' coordinates and moves the count on by each byte (0 or 1), with no branch per byte (runs
    and gaps mispredict); a word across a row's end visits its set bytes by their positions
    (`trailing_zeros()`). The row is carried along as the scan moves on (no division per pixel). Each byte
    must be 0 or 1, as numba and NumPy store bools.
    """
    width = mask.shape[1]
    flat = mask.reshape(mask.size)
    words = flat[: (flat.size // 8) * 8].view(np.uint64)
    rows = take_i32(work, flat.size)  # a word's 8 writes end before its last byte's index, within the size
    cols = take_i32(work, flat.size)
    count, row, row_start = 0, 0, 0
    for w in range(words.size + 1):
        if w < words.size:
            word = words[w]
        else:  # the last few pixels
            word = tail_word(flat, words.size * 8)
        if word == 0:
            continue
        base = w * 8
        while base >= row_start + width:
            row_start += width
            row += 1
        if base + 8 <= row_start + width and w < words.size:
            column = base - row_start
            for b in range(8):
                rows[count] = row
                cols[count] = column + b
                count += np.int64((word >> np.uint64(8 * b)) & np.uint64(1))
            continue
        while word:  # each set byte, by its position
            i = base + np.int64(trailing_zeros(word) >> np.uint64(3))
            word &= word - np.uint64(1)
            while i >= row_start + width:
                row_start += width
                row += 1
            rows[count] = row
            cols[count] = i - row_start
            count += 1
    return rows[:count], cols[:count]


@jit()
def dilate_once(mask: np.ndarray, out: np.ndarray, rows: np.ndarray) -> None:
    """3x3 binary dilation of ``mask`` into ``out`` (on bytes, 0 or 1; ``rows`` is (H, W) uint8 working space;
    ``out`` may be ``mask``)."""
    height, width = mask.shape
    src = mask.view(np.uint8)
    for y in range(height):
        s = src[y]
        r = rows[y]
        if width == 1:
            r[0] = s[0]
            continue
        r[0] = s[0] | s[1]
        for x in range(1, width - 1):
            r[x] = s[x - 1] | s[x] | s[x + 1]
        r[width - 1] = s[width - 2] | s[width - 1]
    dst = out.view(np.uint8)
    for y in range(height):
        d = dst[y]
        b = rows[y]
        a = rows[y - 1] if y > 0 else b
        c = rows[y + 1] if y + 1 < height else b
        for x in range(width):
            d[x] = a[x] | b[x] | c[x]
