"""dermmodels train / evaluate / export on a tiny HAM10000-style folder the test writes."""

from __future__ import annotations

import json

import cv2
import pytest

pytest.importorskip("tensorflow")

import dermmodels.export  # noqa: E402
from dermmodels import cli  # noqa: E402
from dermmodels.cli import main  # noqa: E402
from dermprep import CLASS_NAMES  # noqa: E402
from dermprep.synthetic import make_sample  # noqa: E402


@pytest.fixture(scope="module")
def ham_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("ham")
    (root / "HAM10000_images_part_1").mkdir()
    lines = ["lesion_id,image_id,dx,dx_type,age,sex,localization"]
    for c, dx in enumerate(CLASS_NAMES):
        for k in range(4):
            image_id = f"ISIC_{c}{k}"
            sample = make_sample((60, 80), rng=10 * c + k, label=c)
            cv2.imwrite(str(root / "HAM10000_images_part_1" / f"{image_id}.jpg"),
                        cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR))
            lines.append(f"HAM_{c}{k},{image_id},{dx},histo,50.0,male,back")
    (root / "HAM10000_metadata.csv").write_text("\n".join(lines) + "\n")
    return root


def test_train_evaluate_export(ham_folder, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    code = main([
        "train", "--data", str(ham_folder), "--metadata", str(ham_folder / "HAM10000_metadata.csv"),
        "--out", str(run), "--epochs", "1", "--batch-size", "8", "--image-size", "64", "--alpha", "0.35",
        "--weights", "none", "--val", "0.25", "--test", "0.25", "--remove-hair",
    ])
    assert code == 0
    for name in ("config.json", "best.keras", "history.json", "split.txt"):
        assert (run / name).is_file()
    assert list((run / "hair-cache").glob("*.png"))  # hair removal ran once per image and was cached
    assert main(["evaluate", str(run)]) == 0
    metrics = json.loads((run / "report" / "metrics.json").read_text())
    assert metrics["samples"] > 0 and (run / "report" / "report.html").is_file()
    assert main(["export", str(run), "--tflite", "--quantize", "dynamic"]) == 0
    exported = json.loads((run / "export.json").read_text())
    assert exported["size_bytes"] > 0
    assert exported["samples"] == metrics["samples"]  # agreement is checked on the held-out test images
    capsys.readouterr()
    monkeypatch.setattr(dermmodels.export, "_LOW_AGREEMENT", 1.01)  # any agreement counts as low: the hint must appear
    assert main(["export", str(run), "--tflite"]) == 0
    assert "--quantize float16 kept 98-100%" in capsys.readouterr().err


def test_training_batches_are_shuffled_with_class_weights(ham_folder):
    """HAM10000's metadata is grouped by diagnosis: unshuffled, every batch would hold one class."""
    config = {"data": str(ham_folder), "metadata": str(ham_folder / "HAM10000_metadata.csv"), "val": 0.25,
              "test": 0.25, "seed": 0, "image_size": 32, "balance": "class-weight", "remove_hair": False,
              "augment": False, "batch_size": 64}
    split = cli._records(config)
    in_file_order = split.train["label"].tolist()
    assert in_file_order == sorted(in_file_order)
    (_, first), = cli._dataset(split.train, config, training=True).take(1)
    assert sorted(first.numpy().tolist()) == sorted(in_file_order)
    assert first.numpy().tolist() != in_file_order
    (_, evaluation), = cli._dataset(split.test, config, training=False).take(1)
    assert evaluation.numpy().tolist() == split.test["label"].tolist()  # evaluation keeps the file order


def test_errors_are_reported(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "not a finished dermmodels run" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path), "--metadata", str(tmp_path / "missing.csv"),
                 "--out", str(tmp_path / "r")]) == 2
    assert "csv_path must be an existing file" in capsys.readouterr().err


def test_missing_tensorflow_is_one_clear_line(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorflow" else real(name, *a))
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "TensorFlow is not installed" in capsys.readouterr().err
