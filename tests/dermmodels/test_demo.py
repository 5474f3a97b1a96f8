"""The main job end to end (``dermmodels demo``) with tiny settings, and its synthetic data set."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from dermmodels.cli import main
from dermprep.ham10000 import lesion_split, read_metadata
from dermprep.synthetic import write_ham10000_like

TINY = ["--images", "42", "--image-size", "32", "--epochs", "2", "--hair-images", "2", "--size", "160x120",
        "--workers", "1", "--weights", "none", "--quiet"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    code = main(["demo", "--out", str(out), *TINY])
    return code, out


def test_demo_finishes_and_writes_one_self_contained_report(demo_run):
    code, out = demo_run
    assert code == 0
    page = (out / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 7  # distribution, 2 hair panels, augmentation, curves, confusion, predictions
    assert all(len(b) > 4000 for b in images)
    assert "src=\"http" not in page and "<link" not in page  # nothing fetched from elsewhere
    for heading in ("Hair removal", "Augmentation", "Training", "Evaluation", "Throughput", "TFLite"):
        assert heading in page
    assert re.search(r"Dull Razor ran at <b>[\d,]+ images/s</b>.*<b>\d+\.\dx</b>", page)
    for figure in ("figures/hair_removal_synthetic.png", "figures/hair_removal_dataset.png",
                   "figures/augmentation.png", "figures/class_distribution.png",
                   "evaluation/confusion_matrix.png", "evaluation/training_curves.png",
                   "evaluation/sample_predictions.png"):
        assert (out / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", figure


def test_demo_metrics_exports_and_throughputs_are_finite(demo_run):
    _, out = demo_run
    summary = json.loads((out / "summary.json").read_text())
    metrics = summary["metrics"]
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "weighted_f1"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["samples"] == summary["split"]["test"] == int(np.sum(metrics["confusion_matrix"]))
    assert summary["epochs_run"] >= 1 and all(math.isfinite(v) for v in summary["history"]["loss"])
    assert all(math.isfinite(v) and v > 0 for v in summary["throughput_images_per_second"].values())
    assert [e["quantize"] for e in summary["exports"]] == [None, "float16", "int8"]
    for export in summary["exports"]:
        assert 0.0 <= export["top1_agreement"] <= 1.0 and export["size_bytes"] > 10_000
        assert (out / "export" / f"model_{export['quantize'] or 'float32'}.tflite").is_file()
    page = (out / "report.html").read_text()
    low = any(e["top1_agreement"] < 0.98 for e in summary["exports"])
    assert ("under 98% agreement" in page) == low  # the report explains low agreement exactly when there is some
    # balancing: every class present in training appears equally often in one epoch (up to rounding: the epoch
    # keeps the split's length, which the number of classes need not divide)
    balanced = [c for c in summary["class_counts"]["balanced_epoch"] if c > 0]
    assert max(balanced) - min(balanced) <= 1 and sum(summary["class_counts"]["balanced_epoch"]) == summary["split"]["train"]
    assert summary["weights"].startswith("none")


def test_demo_rejects_inconsistent_arguments(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--data", str(tmp_path)]) == 2
    assert "--data and --metadata go together" in capsys.readouterr().err
    assert main(["demo", "--out", str(tmp_path), "--tflite", "bfloat16"]) == 2
    assert "--tflite takes" in capsys.readouterr().err


def test_demo_without_tensorflow_says_what_to_install(tmp_path, monkeypatch, capsys):
    import dermprep.runtime

    real = dermprep.runtime.available
    monkeypatch.setattr(dermprep.runtime, "available", lambda name: name != "tensorflow" and real(name))
    assert main(["demo", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "needs TensorFlow" in err and 'pip install "dermprep[tf]"' in err
    assert not any(tmp_path.iterdir())  # refused before any work


def test_run_demo_names_bad_arguments(tmp_path):
    from dermmodels.demo import run_demo

    with pytest.raises(ValueError, match="image_size must be an integer >= 32; got 8"):
        run_demo(tmp_path, image_size=8)
    with pytest.raises(ValueError, match="quantize entries must be one of"):
        run_demo(tmp_path, quantize=["fp16"])


def test_resolve_weights_uses_a_cached_imagenet_file_only(tmp_path, monkeypatch):
    from dermmodels.demo import resolve_weights

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert resolve_weights("auto", 0.35, 96) is None
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5").write_bytes(b"x")
    assert resolve_weights("auto", 0.35, 96) == "imagenet"
    assert resolve_weights("auto", 0.35, 100) is None  # Keras would load the 224 file: not cached here
    assert resolve_weights("none", 1.0, 224) is None
    assert resolve_weights("w.h5", 1.0, 224) == "w.h5"


def test_synthetic_ham10000_folder_reads_like_the_real_one(tmp_path):
    images, csv_path = write_ham10000_like(tmp_path / "a", 60, shape=(48, 64), seed=3)
    frame = read_metadata(csv_path, images_dir=images)
    assert len(frame) == 60 and set(frame["dx"]) == {"akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"}
    assert frame["lesion_id"].nunique() < 60  # some lesions have several images
    assert frame.groupby("lesion_id")["dx"].nunique().max() == 1
    assert (frame["dx"] == "nv").mean() > 0.4  # HAM10000's imbalance
    split = lesion_split(frame, seed=0)
    assert not set(split.train["lesion_id"]) & set(split.test["lesion_id"])
    # same seed, same bytes; rerunning keeps what exists
    again_images, again_csv = write_ham10000_like(tmp_path / "b", 60, shape=(48, 64), seed=3)
    assert again_csv.read_bytes() == csv_path.read_bytes()
    first = sorted(images.iterdir())
    assert all(p.read_bytes() == (again_images / p.name).read_bytes() for p in first)
    mtimes = [p.stat().st_mtime_ns for p in first]
    write_ham10000_like(tmp_path / "a", 60, shape=(48, 64), seed=3)
    assert [p.stat().st_mtime_ns for p in first] == mtimes


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_images": 5}, "n_images"),
        ({"shape": (8, 8)}, "shape must be at least"),
        ({"hair_probability": 2.0}, "hair_probability must be in"),
        ({"seed": -1}, "seed must be an integer"),
        ({"jpeg_quality": 0}, "jpeg_quality must be an integer in"),
    ],
)
def test_synthetic_ham10000_rejects_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        write_ham10000_like(tmp_path, **{"n_images": 20, **kwargs})


def test_agreement_note_names_the_exports_under_98_percent():
    from types import SimpleNamespace

    from dermmodels.demo import _agreement_note

    exports = [SimpleNamespace(quantize=None, top1_agreement=1.0), SimpleNamespace(quantize="float16", top1_agreement=0.99),
               SimpleNamespace(quantize="int8", top1_agreement=0.91)]
    note = _agreement_note(exports)
    assert note.startswith("<p class='small'>int8: under 98% agreement") and "float16:" not in note
    assert _agreement_note(exports[:2]) == ""
