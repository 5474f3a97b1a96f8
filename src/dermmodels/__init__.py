"""dermmodels: MobileNetV2 skin-lesion classifiers built on dermprep's pipelines.

Planned (see the project's issues): ``build_mobilenetv2_classifier()``, a
``train()`` helper with early stopping, checkpoints and two-phase fine-tuning,
an ``evaluate()`` report (balanced accuracy, per-class metrics, confusion
matrix, HTML) and TFLite export with a parity check. dermmodels depends on
dermprep, never the reverse.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dermprep")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
