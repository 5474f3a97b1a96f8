"""Runs: presets resolve, the config records every setting, and a run killed with SIGKILL at any moment resumes
to exactly the result of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

pytest.importorskip("tensorflow")

from dermmodels.recipe import PRESETS, Recipe, recipe_from  # noqa: E402
from dermprep.synthetic import make_sample  # noqa: E402


def test_presets_resolve_and_round_trip():
    assert set(PRESETS) == {"cpu", "cpu-final", "cpu-ensemble", "gpu", "paper"}
    assert PRESETS["cpu-final"].final and PRESETS["cpu-final"].tau is not None
    ensemble = PRESETS["cpu-ensemble"]  # the ablation row that reached 0.75 (docs/training-recipe.md)
    assert (ensemble.members, ensemble.epochs, ensemble.swa_epochs, ensemble.aspect) == (2, 14, 4, "stretch")
    assert ensemble.members * ensemble.epochs <= 1.5 * PRESETS["cpu"].epochs  # inside 1.5x the cpu preset's epochs
    cpu = recipe_from("cpu")
    assert cpu.alpha == 0.5 and cpu.fine_tune_layers is None and cpu.prior_correction
    assert not cpu.remove_hair and PRESETS["paper"].remove_hair  # the ablation measured no gain from it
    assert PRESETS["paper"].fine_tune_layers == 0 and PRESETS["gpu"].alpha == 1.0
    assert Recipe.from_dict(cpu.to_dict()) == cpu
    assert recipe_from("cpu", epochs=3, tta=False).epochs == 3
    with pytest.raises(ValueError, match="unknown preset 'tpu'"):
        recipe_from("tpu")
    with pytest.raises(ValueError, match=r"unknown recipe setting\(s\) \['epoch'\]"):
        recipe_from("cpu", epoch=3)
    with pytest.raises(ValueError, match="random, frozen base"):
        recipe_from("cpu", weights=None, fine_tune_layers=0)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    for c, name in enumerate(["benign", "malignant"]):
        (root / name).mkdir()
        for k in range(12):
            sample = make_sample((48, 64), rng=100 * c + k, label=5 if c == 0 else 4)
            cv2.imwrite(str(root / name / f"{name}{k}.png"), cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR))
    return root


def _command(folder, out, *extra):
    return [sys.executable, "-m", "dermmodels.cli", "train", "--data", str(folder), "--out", str(out), "--preset",
            "cpu", "--weights", "none", "--alpha", "0.35", "--image-size", "32", "--epochs", "4", "--batch-size", "8",
            "--no-remove-hair", "--no-tta", "--val", "0.25", "--test", "0.25", "--quiet", *extra]


def _weights(run):
    import keras

    return [w.numpy() for w in keras.models.load_model(run / "best.keras").weights]


def test_a_killed_run_resumes_to_the_uninterrupted_result(folder, tmp_path):
    # The cpu preset with EMA, SWA and CutMix: a resume restores what a plain run's does and their averages on
    # top, so a plain run (once a second case, about 100 s of the suite) tests a subset of this one.
    extra = ("--ema", "0.9", "--swa-epochs", "2", "--cutmix", "1.0")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    whole = tmp_path / "whole"
    subprocess.run(_command(folder, whole, *extra), check=True, env=env, timeout=600)
    killed = tmp_path / "killed"
    process = subprocess.Popen(_command(folder, killed, *extra), env=env)
    deadline = time.time() + 300
    while time.time() < deadline:  # kill -9 once the first epoch is on disk, mid-way through the second
        state = killed / "state.json"
        if state.is_file() and json.loads(state.read_text()).get("epoch", 0) >= 1:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert json.loads((killed / "state.json").read_text())["epoch"] < 4  # it really was interrupted
    subprocess.run(_command(folder, killed, *extra), check=True, env=env, timeout=600)
    for a, b in zip(_weights(whole), _weights(killed), strict=True):
        np.testing.assert_array_equal(a, b)
    history = [json.loads((run / "history.json").read_text()) for run in (whole, killed)]
    assert history[0]["loss"] == history[1]["loss"]
    assert json.loads((whole / "calibration.json").read_text()) == json.loads((killed / "calibration.json").read_text())
    assert json.loads((killed / "config.json").read_text())["class_names"] == ["benign", "malignant"]


def _tiny_records(folder):
    from dermprep.datasets import group_split, read_records

    records = read_records(folder)
    train, val, test = group_split(records, val=0.25, test=0.25, seed=0)
    return records.class_names, train, val, test


@pytest.mark.parametrize("ensemble", [{"restarts": 2, "warmup_epochs": 0.5}, {"members": 2, "epochs": 2}],
                         ids=["snapshots", "members"])
def test_an_ensemble_keeps_each_member_and_predicts_with_all(folder, tmp_path, ensemble, capsys):
    from dermmodels import Run, fit
    from dermmodels.cli import main as cli_main

    names, train, val, test = _tiny_records(folder)
    recipe = recipe_from("cpu", **{"weights": None, "alpha": 0.35, "image_size": 32, "epochs": 4, "batch_size": 8,
                                   "tta": False, **ensemble})
    lines: list[str] = []
    run = fit(recipe, train, val, tmp_path, class_names=names, test=test, log=lines.append)
    assert [p.name for p in run.members] == ["member-1.weights.h5"]
    if "members" in ensemble:  # member 1 of seed 0 is not what a run with seed 1 trains
        assert any("member 2/2 (seed 1000)" in line for line in lines), lines
    images = run.load_images(test["path"].tolist())
    alone = run.model.predict(images, verbose=0)
    member = run.model.get_weights()
    run.model.load_weights(run.members[0])
    other = run.model.predict(images, verbose=0)
    run.model.set_weights(member)
    np.testing.assert_allclose(Run(tmp_path).probabilities(images), (alone + other) / 2, atol=1e-5)
    assert run.split("test")["path"].tolist() == test["path"].tolist()
    # A phone runs one model: the export holds the first and says so
    assert cli_main(["export", str(tmp_path), "--tflite"]) == 0
    assert "averages 2 models" in capsys.readouterr().out


def test_final_fit_trains_on_train_and_val_with_fixed_calibration(folder, tmp_path):
    from dermmodels import fit

    names, train, val, test = _tiny_records(folder)
    lines = []
    recipe = recipe_from("cpu-final", weights=None, alpha=0.35, image_size=32, epochs=2, batch_size=8, tta=False,
                         temperature=1.5)
    run = fit(recipe, train, val, tmp_path, class_names=names, log=lines.append)
    assert any(f"loading {len(train) + len(val)} images" in line and "final" in line for line in lines)
    assert (run.calibration.tau, run.calibration.temperature) == (recipe.tau, 1.5)
    assert "val_balanced_accuracy" not in (run.folder.history() or {})  # nothing was chosen on validation
