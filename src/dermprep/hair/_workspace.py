"""Private numba helpers: a reusable workspace for the kernels' working arrays.

Removing hair from one 600x450 image uses about 4.6 MB of working arrays. Allocated and freed afresh for
every image, glibc's malloc hands a batch worker thread's memory back to the system after each image and the
next one faults it in again: 370 page faults per image in a batch, 39 with the workspace (``resource.getrusage``
on 48 ``real600`` images, idle machine; docs/hair-removal.md, "Speed", for what it saves).
So the kernels take their arrays from a workspace that a call borrows from a pool and gives back
(`dermprep.hair._dullrazor._borrow_workspace`), image after image.

A workspace is a 1-D uint8 array: bytes 0-7 hold the offset of the next free byte, 8-15 the bytes the
current image has needed (its high-water mark, counting what did not fit), then the arrays, each at a
64-byte boundary. `take()` allocates a fresh array when the workspace is too small (so any workspace,
even an empty one, gives the same result) and the caller grows it to the high-water mark for the next
image. Arrays taken are uninitialised, as from ``np.empty``. A stage's own working arrays are freed when it
ends (`mark()` before it, `release()` after): the next stage takes the same memory, still in cache, and an
image needs 4.6 MB at 600x450 instead of the 10.8 it needed when every array lived to the end of the image.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit

#: Bytes before the first array: the two counters, then padding to the alignment.
HEADER = 64


@jit()
def start_image(work: np.ndarray) -> None:
    """Free every array taken so far and start counting the image's need (call at the start of each image)."""
    if work.size >= HEADER:
        counters = work[:16].view(np.int64)
        counters[0] = HEADER
        counters[1] = HEADER


@jit()
def needed(work: np.ndarray) -> int:
    """The bytes the last image needed from ``work`` (0 for a workspace too small to count)."""
    if work.size < HEADER:
        return 0
    return work[:16].view(np.int64)[1]


@jit()
def take(work: np.ndarray, nbytes: int) -> np.ndarray:
    """``nbytes`` uninitialised bytes from ``work``, or freshly allocated ones where it has no room left."""
    if work.size < HEADER:
        return np.empty(nbytes, np.uint8)
    counters = work[:16].view(np.int64)
    start = (max(counters[0], HEADER) + 63) // 64 * 64  # never the counters, even before `start_image()`
    end = start + nbytes
    counters[0] = end
    counters[1] = max(counters[1], end)
    if end > work.size:
        return np.empty(nbytes, np.uint8)
    return work[start:end]


@jit()
def mark(work: np.ndarray) -> int:
    """Where the next array would start: `release()` to it frees every array taken since."""
    return work[:16].view(np.int64)[0] if work.size >= HEADER else 0


@jit()
def release(work: np.ndarray, position: int) -> None:
    """Free the arrays taken since `mark()` returned ``position`` (the image's high-water mark keeps them)."""
    if work.size >= HEADER:
        work[:16].view(np.int64)[0] = position


@jit()
def take_u8(work: np.ndarray, count: int) -> np.ndarray:
    """``count`` uint8 elements from ``work`` (`take()`)."""
    return take(work, count)


@jit()
def take_bool(work: np.ndarray, count: int) -> np.ndarray:
    """``count`` bool elements from ``work`` (`take()`)."""
    return take(work, count).view(np.bool_)


@jit()
def take_i8(work: np.ndarray, count: int) -> np.ndarray:
    """``count`` int8 elements from ``work`` (`take()`)."""
    return take(work, count).view(np.int8)


@jit()
def take_i32(work: np.ndarray, count: int) -> np.ndarray:
    """``count`` int32 elements from ``work`` (`take()`)."""
    return take(work, 4 * count).view(np.int32)


@jit()
def take_i64(work: np.ndarray, count: int) -> np.ndarray:
    """``count`` int64 elements from ``work`` (`take()`)."""
    return take(work, 8 * count).view(np.int64)


@jit()
def take_f32(work: np.ndarray, count: int) -> np.ndarray:
    """``count`` float32 elements from ``work`` (`take()`)."""
    return take(work, 4 * count).view(np.float32)
