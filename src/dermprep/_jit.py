"""One place for numba compilation options.

Every kernel in dermprep is compiled with the same options so that behaviour
(caching between processes, releasing the GIL, NumPy-style float errors) is
uniform and can be changed in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["jit"]


def jit(*, parallel: bool = False) -> Callable[[F], F]:
    """Return numba's ``njit`` decorator with the project's options.

    ``cache=True`` stores compiled machine code next to the module (or in
    ``NUMBA_CACHE_DIR``) so only the first process pays the compile cost;
    ``nogil=True`` lets tf.data and thread pools run kernels concurrently.
    """
    return numba.njit(  # type: ignore[no-any-return]
        cache=True,
        nogil=True,
        parallel=parallel,
        error_model="numpy",
        boundscheck=False,
    )
