"""One place for numba compilation options.

Every kernel in dermprep is compiled with the same options so that behaviour
(caching between processes, releasing the GIL, NumPy-style float errors) is
uniform and can be changed in one place.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])

# Fork-safe threading. dermprep has no numba parallel region, but a batch asks numba how many worker threads to
# use (`numba.get_num_threads()`, which honours `numba.set_num_threads()`), and that starts numba's threading
# layer. numba's default picks GNU OpenMP where TBB is missing, and a process that has started it is killed when
# it forks and the child runs a numba parallel region of its own (a user's, in a DataLoader worker). Prefer TBB,
# then the fork-safe workqueue, unless the user chose a layer.
if "NUMBA_THREADING_LAYER" not in os.environ and "NUMBA_THREADING_LAYER_PRIORITY" not in os.environ:
    numba.config.THREADING_LAYER_PRIORITY = ["tbb", "workqueue", "omp"]

__all__ = ["jit"]


def jit() -> Callable[[F], F]:
    """Return numba's ``njit`` decorator with the project's options.

    ``cache=True`` stores compiled machine code next to the module (or in
    ``NUMBA_CACHE_DIR``, or the user's cache folder) so only the first
    process pays the compile cost; where no location is writable (a
    read-only install without a home folder) the kernels compile without a
    cache, with one warning. ``nogil=True`` lets tf.data and thread pools
    run kernels concurrently: dermprep has no numba parallel region (a batch runs serial kernels on worker
    threads).
    """
    def decorate(function: F) -> F:
        options = {"nogil": True, "error_model": "numpy", "boundscheck": False}
        try:
            return numba.njit(cache=True, **options)(function)  # type: ignore[no-any-return]
        except RuntimeError as exc:  # "cannot cache function ...: no locator available" (read-only installs)
            if "cannot cache" not in str(exc):
                raise
            _warn_no_cache(str(exc))
            return numba.njit(cache=False, **options)(function)  # type: ignore[no-any-return]

    return decorate


_WARNED: list[bool] = []


def _warn_no_cache(reason: str) -> None:
    """One warning per process: kernels compile in memory at first use, every time (about 20-30 s)."""
    if _WARNED:
        return
    _WARNED.append(True)
    import warnings  # noqa: PLC0415

    warnings.warn(
        f"dermprep cannot cache its compiled numba kernels ({reason}); they compile at first use in every "
        "process. Set NUMBA_CACHE_DIR to a writable folder to cache them.",
        RuntimeWarning,
        stacklevel=3,
    )
