"""dermmodels: MobileNetV2 skin-lesion classifiers built on dermprep's pipelines.

- `build_mobilenetv2_classifier()`: the paper's transfer-learning model
  (ImageNet MobileNetV2, GAP, dropout, ReLU dense, softmax), input scaling
  inside, optional metadata branch;
- `Recipe`, `PRESETS`: every setting of a training run, and the
  measured ``cpu`` recipe, its ``gpu`` scale-up and the ``paper`` setup;
- `fit()` / `Run`: train a recipe into a resumable run folder,
  then load it and predict with exactly the run's preprocessing;
- `train()` / `fine_tune()`: the lower-level Keras helpers (Adam,
  early stopping, crash-safe checkpoints, resumable state);
- `evaluate()`: accuracy, balanced accuracy (with a bootstrap interval
  over lesions), F1, per-class metrics, confusion matrix, ROC-AUC, figures
  and a self-contained HTML report;
- `export_tflite()`: float32 / float16 / dynamic / int8 TFLite with a parity check;
  `TFLiteModel`: an exported file with its sidecar metadata, predicting like `Run`;
- `grad_cam()`: where the model looked.

dermmodels depends on dermprep, never the reverse. Importing it does not
import TensorFlow; building, training and exporting do.
"""

from importlib.metadata import PackageNotFoundError, version

from .evaluation import EvaluationReport, bootstrap_interval, evaluate, report_from_predictions, write_report
from .explain import grad_cam
from .export import (
    AGREEMENT_THRESHOLD,
    QUANTIZE_MODES,
    ExportReport,
    TFLiteModel,
    export_saved_model,
    export_tflite,
    run_tflite,
)
from .model import (
    build_mobilenetv2_classifier,
    feature_extractor,
    imagenet_weights_filename,
    set_base_trainable,
)
from .recipe import PRESETS, Recipe, augmentation_pipeline, recipe_from
from .runs import Run, RunConflictError, fit
from .training import check_dataset, fine_tune, train

try:
    __version__ = version("dermprep")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "AGREEMENT_THRESHOLD",
    "PRESETS",
    "QUANTIZE_MODES",
    "EvaluationReport",
    "ExportReport",
    "Recipe",
    "Run",
    "RunConflictError",
    "TFLiteModel",
    "__version__",
    "augmentation_pipeline",
    "bootstrap_interval",
    "build_mobilenetv2_classifier",
    "check_dataset",
    "evaluate",
    "export_saved_model",
    "export_tflite",
    "feature_extractor",
    "fine_tune",
    "fit",
    "grad_cam",
    "imagenet_weights_filename",
    "recipe_from",
    "report_from_predictions",
    "run_tflite",
    "set_base_trainable",
    "train",
    "write_report",
]
