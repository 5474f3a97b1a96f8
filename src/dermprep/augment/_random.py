"""Counter-based uniforms: element ``index`` of epoch ``epoch`` under ``seed`` always gets the same numbers.

``uniforms(seed, epoch, indices, n)[i, j]`` is a SplitMix64 hash of
``(seed, epoch, indices[i], j)`` mapped to [0, 1). No generator state is
kept, so the numbers do not depend on batching, threads, the order in
which elements are processed or ``num_parallel_calls``; they are the same
on every platform (pure uint64 arithmetic). This is part of the seed
contract pinned by ``tests/augment/test_seed_contract.py``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["uniforms"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (wrapping uint64 arithmetic on arrays)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def uniforms(seed: int, epoch: int, indices: np.ndarray, n: int) -> np.ndarray:
    """Uniform numbers in [0, 1), shape ``(len(indices), n)``, float64."""
    with np.errstate(over="ignore"):
        key = _mix(np.array([seed], np.uint64) * _GOLDEN + np.uint64(1))
        key = _mix(key ^ (np.array([epoch], np.uint64) * _GOLDEN + np.uint64(2)))
        rows = _mix(key ^ (np.asarray(indices, np.uint64).reshape(-1, 1) * _GOLDEN + np.uint64(3)))
        cells = _mix(rows ^ ((np.arange(n, dtype=np.uint64) + np.uint64(1)) * _GOLDEN))
    return (cells >> np.uint64(11)).astype(np.float64) * (1.0 / 2.0**53)
