"""Lesion-aware augmentation for dermoscopic images.

Three layers, each usable on its own:

- `dermprep.augment.functional`: pure functions on NumPy images
  (affine matrices, resampling, colour matrices, gamma, vignette, Shades of
  Gray colour constancy);
- `dermprep.augment.transforms`: operations that hold checked
  parameters, sample their random parameters (``op.sample(u)``) and apply
  them (``op.apply(image, params)``);
- `Pipeline`: orders operations; ``pipeline.sample(seed=, index=,
  epoch=)`` gives the parameters an element gets, ``pipeline.apply_params``
  applies them, ``pipeline(image, ...)`` does both; its engine fuses all
  geometry into one resampling and all linear colour ops into one pass.

`dermprep.tfdata.augment()` runs a pipeline in tf.data. Importing this
package does not import TensorFlow.
"""

from . import functional, mixing
from .mixing import mix_batch
from .pipeline import Pipeline, default_pipeline
from .transforms import (
    OPS,
    Brightness,
    ColourOp,
    Contrast,
    Cutout,
    Dihedral,
    Flip,
    Gamma,
    GeometryOp,
    Hair,
    Hue,
    Op,
    RandomResizedCrop,
    Rotate,
    Saturation,
    ShadesOfGray,
    Shift,
    Vignette,
    Zoom,
)

__all__ = [
    "mix_batch",
    "mixing",
    "OPS",
    "Brightness",
    "ColourOp",
    "Contrast",
    "Cutout",
    "Dihedral",
    "Flip",
    "Gamma",
    "GeometryOp",
    "Hair",
    "Hue",
    "Op",
    "Pipeline",
    "RandomResizedCrop",
    "Rotate",
    "Saturation",
    "ShadesOfGray",
    "Shift",
    "Vignette",
    "Zoom",
    "default_pipeline",
    "functional",
]
