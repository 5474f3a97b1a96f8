"""The experiment harness on a tiny synthetic set in HAM10000's layout (the real runs are experiments, not
tests): settings resolved, the row recorded, resume, errors; and the docs' tables match the results file."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from dermprep.synthetic import write_ham10000_like

    root = tmp_path_factory.mktemp("ham")
    images, csv = write_ham10000_like(root / "data", 90, shape=(60, 80), seed=1)
    return root, images, csv


def test_harness_records_one_row_and_resumes(tiny):
    root, images, csv = tiny
    harness = _load("ham10000_recipe")
    results = root / "results.jsonl"
    argv = ["--name", "tiny", "--preset", "cpu", "--images", str(images), "--metadata", str(csv),
            "--set", "weights=null", "--set", "alpha=0.35", "--set", "image_size=32", "--set", "epochs=1",
            "--set", "tta=false", "--out", str(root / "run"), "--results", str(results)]
    assert harness.main(argv) == 0
    row = json.loads(results.read_text().splitlines()[0])
    assert row["name"] == "tiny" and row["preset"] == "cpu" and row["recipe"]["image_size"] == 32
    assert row["recipe"]["sampling"] == "sqrt"  # the rest comes from the preset
    low, high = row["test"]["balanced_accuracy_ci95"]
    assert 0.0 <= low <= row["test"]["balanced_accuracy"] <= high <= 1.0
    assert set(row["test"]["recall"]) == {"akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"}
    assert row["seconds"]["training"] > 0 and row["seconds"]["loading_images_and_hair_cache"] > 0
    config = json.loads((root / "run" / "config.json").read_text())
    assert config["preset"] == "cpu" and config["recipe"]["epochs"] == 1
    assert harness.main(argv) == 0  # the finished run is found and scored again, not retrained
    assert len(results.read_text().splitlines()) == 2
    with pytest.raises(ValueError, match="unknown recipe setting"):
        harness.main([*argv[:-2], "--set", "epoch=3", "--results", str(results)])


def test_an_ensemble_of_two_seeds_is_scored_and_costed(tiny, tmp_path):
    root, images, csv = tiny
    harness = _load("ham10000_recipe")
    ensemble = _load("ham10000_ensemble")
    results = tmp_path / "results.jsonl"
    common = ["--preset", "cpu", "--images", str(images), "--metadata", str(csv), "--set", "weights=null",
              "--set", "alpha=0.35", "--set", "image_size=32", "--set", "epochs=1", "--results", str(results)]
    for seed in (0, 1):
        assert harness.main(["--name", "member", "--seed", str(seed), "--out", str(tmp_path / f"run{seed}"),
                             *common]) == 0
    assert ensemble.main(["--name", "both", "--images", str(images), "--metadata", str(csv), "--results",
                          str(results), str(tmp_path / "run0"), str(tmp_path / "run1")]) == 0
    members = [json.loads(line) for line in results.read_text().splitlines()[:2]]
    row = json.loads(results.read_text().splitlines()[2])
    assert row["name"] == "both" and [m["seed"] for m in row["members"]] == [0, 1]
    assert row["seconds"]["training"] == pytest.approx(sum(m["seconds"]["training"] for m in members))
    assert row["seconds"]["total"] > row["seconds"]["training"]
    low, high = row["test"]["balanced_accuracy_ci95"]
    assert 0.0 <= low <= row["test"]["balanced_accuracy"] <= high <= 1.0
    with pytest.raises(SystemExit, match="share one recipe"):
        harness.main(["--name", "other", "--out", str(tmp_path / "other"), *common, "--set", "image_size=40"])
        ensemble.main(["--name", "mixed", "--images", str(images), "--metadata", str(csv), "--results",
                       str(results), str(tmp_path / "run0"), str(tmp_path / "other")])


def test_the_gpu_preset_trains_too(tiny, tmp_path):
    from dermmodels.cli import main

    _, images, csv = tiny
    assert main(["train", "--data", str(images), "--labels", str(csv), "--out", str(tmp_path / "gpu"),
                 "--preset", "gpu", "--weights", "none", "--image-size", "32", "--epochs", "1", "--batch-size", "16",
                 "--no-tta", "--val", "0.2", "--test", "0.2", "--quiet"]) == 0
    config = json.loads((tmp_path / "gpu" / "config.json").read_text())
    assert config["preset"] == "gpu" and config["recipe"]["alpha"] == 1.0 and config["recipe"]["epochs"] == 1


def test_the_docs_tables_come_from_the_results_file():
    render = _load("render_results")
    assert render.main(["--check"]) == 0
