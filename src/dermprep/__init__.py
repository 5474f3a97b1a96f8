"""dermprep: fast, faithful preprocessing for dermoscopic skin-lesion images.

The NumPy API (this namespace) works without TensorFlow:

- `remove_hair()`, `hair_mask()`: numba Dull Razor hair removal
  (Lee et al. 1997) on one image (H, W, 3) or a batch (N, H, W, 3), uint8 or
  float32;
- `dermprep.synthetic`: seeded dermoscopy-like images with known hair
  masks (ground truth and the embedded demo data);
- `CLASS_NAMES`: the HAM10000 classes in label order.

The tf.data face is `dermprep.tfdata` (imports TensorFlow). The hair-removal
names load numba and the kernels on first use, so a process that never removes
hair (a data-loader worker reading a hair cache, say) never pays for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .classes import CLASS_DESCRIPTIONS, CLASS_NAMES

if TYPE_CHECKING:  # imported on first use (see __getattr__); here for type checkers and the API docs
    from .hair import DullRazorParams, dull_razor_params, hair_mask, remove_hair

__all__ = [
    "CLASS_DESCRIPTIONS",
    "CLASS_NAMES",
    "DullRazorParams",
    "__version__",
    "dull_razor_params",
    "hair_mask",
    "remove_hair",
]

_HAIR_NAMES = ("DullRazorParams", "dull_razor_params", "hair_mask", "remove_hair")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("dermprep")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def __getattr__(name: str) -> Any:
    """The hair-removal functions (numba) and ``__version__``, loaded on first access and then kept."""
    if name in _HAIR_NAMES:
        from . import hair  # noqa: PLC0415

        value: Any = getattr(hair, name)
    elif name == "__version__":
        value = _version()
    else:
        raise AttributeError(f"module 'dermprep' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HAIR_NAMES, "__version__"})
