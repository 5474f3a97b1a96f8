"""dermprep: fast, faithful preprocessing for dermoscopic skin-lesion images.

The NumPy API (this namespace) works without TensorFlow:

- `remove_hair()`, `hair_mask()`: numba Dull Razor hair removal
  (Lee et al. 1997) on one image (H, W, 3) or a batch (N, H, W, 3), uint8 or
  float32;
- `dermprep.synthetic`: seeded dermoscopy-like images with known hair
  masks (ground truth and the embedded demo data);
- `CLASS_NAMES`: the HAM10000 classes in label order.

The tf.data face is `dermprep.tfdata` (imports TensorFlow).
"""

from importlib.metadata import PackageNotFoundError, version

from .classes import CLASS_DESCRIPTIONS, CLASS_NAMES
from .hair import DullRazorParams, dull_razor_params, hair_mask, remove_hair

try:
    __version__ = version("dermprep")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "CLASS_DESCRIPTIONS",
    "CLASS_NAMES",
    "DullRazorParams",
    "__version__",
    "dull_razor_params",
    "hair_mask",
    "remove_hair",
]
