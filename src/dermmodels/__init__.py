"""dermmodels: MobileNetV2 skin-lesion classifiers built on dermprep's pipelines.

- :func:`build_mobilenetv2_classifier`: the paper's transfer-learning model
  (frozen ImageNet MobileNetV2, GAP, dropout, ReLU dense, softmax), input
  scaling inside, optional metadata branch;
- :func:`train` / :func:`fine_tune`: Adam, early stopping with best-weight
  restore, checkpoints, resumable runs; second phase with BatchNorm frozen;
- :func:`evaluate`: accuracy, balanced accuracy, F1, per-class metrics,
  confusion matrix, ROC-AUC, optional test-time augmentation, figures and a
  self-contained HTML report;
- :func:`export_tflite`: float32 / float16 / dynamic / int8 TFLite with a parity check.

dermmodels depends on dermprep, never the reverse. Importing it does not
import TensorFlow; building, training and exporting do.
"""

from importlib.metadata import PackageNotFoundError, version

from .evaluate import EvaluationReport, evaluate, report_from_predictions
from .export import ExportReport, export_saved_model, export_tflite, run_tflite
from .model import build_mobilenetv2_classifier
from .train import check_dataset, fine_tune, train

try:
    __version__ = version("dermprep")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "EvaluationReport",
    "ExportReport",
    "__version__",
    "build_mobilenetv2_classifier",
    "check_dataset",
    "evaluate",
    "export_saved_model",
    "export_tflite",
    "fine_tune",
    "report_from_predictions",
    "run_tflite",
    "train",
]
