"""Shared fixtures: seeded synthetic data and the optional ../shared data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from dermprep.synthetic import make_batch

# numba compiles on first use; hypothesis deadlines would count that.
settings.register_profile(
    "dermprep", deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dermprep"))

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared data folder, or a skip saying it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared is absent ({SHARED}); real-data tests need it")
    return SHARED


@pytest.fixture(scope="session")
def hairy_set() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Eight seeded 600x450 synthetic images with hair: (images, clean, masks, labels)."""
    return make_batch(8, (450, 600), seed=2024)


@pytest.fixture(scope="session")
def hair_free_set() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Eight seeded 600x450 synthetic images without hair."""
    return make_batch(8, (450, 600), seed=4048, hair=False)
