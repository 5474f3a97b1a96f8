"""Every command line without each optional extra: a finished job, or one line naming the ``pip install`` (exit 2).

Each case runs the command's main job in a fresh interpreter in which the extra's packages cannot be imported
(`tests/support/without_extras.py`), the way a user who installed less than the job needs meets it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dermprep.io import write_image
from dermprep.synthetic import make_sample

ROOT = Path(__file__).resolve().parents[1]
PLOTS = "matplotlib"
QUALITY = "skimage"
TF = "tensorflow,keras,sklearn,ai_edge_litert,tensorboard"
TINY_DEMO = ["--images", "42", "--image-size", "32", "--epochs", "1", "--hair-images", "2", "--size", "160x120",
             "--workers", "1", "--weights", "none", "--tflite", "float32", "--quiet"]


def _run(blocked: str, module: str, *argv: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "tests.support.without_extras", blocked, module, *argv],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def _assert_one_line_install_hint(done: subprocess.CompletedProcess[str], extra: str) -> None:
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert f'pip install "dermprep[{extra}]"' in lines[0], lines[0]


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    for i in range(2):
        write_image(folder / f"lesion_{i}.png", make_sample((60, 80), rng=i).image)
    return folder


def test_the_blocker_really_hides_a_package():
    code = ("import sys; from tests.support.without_extras import _Absent; "
            "sys.meta_path.insert(0, _Absent({'skimage'})); "
            "from dermprep.runtime import available; print(available('skimage'), available('numpy')); "
            "import skimage")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert shown.stdout.split() == ["False", "True"], shown.stderr
    assert "ModuleNotFoundError: No module named 'skimage'" in shown.stderr


def test_remove_hair_needs_only_the_core(image_folder, tmp_path):
    done = _run(f"{PLOTS},{QUALITY},{TF}", "dermprep.cli", "remove-hair", str(image_folder), str(tmp_path / "out"),
                "--workers", "1", "--quiet")
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["lesion_0.png", "lesion_1.png"]


def test_hair_demo_without_quality_finishes_and_says_what_it_left_out(tmp_path):
    done = _run(QUALITY, "dermprep.cli", "demo", "--out", str(tmp_path), "--images", "2", "--size", "120x90",
                "--workers", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["quality"] == {}
    assert 'pip install "dermprep[quality]"' in summary["quality_note"]
    assert 'pip install "dermprep[quality]"' in done.stdout
    assert (tmp_path / "hair_removal_synthetic.png").read_bytes()[:4] == b"\x89PNG"


def test_hair_demo_without_plots_says_how_to_install_them(tmp_path):
    _assert_one_line_install_hint(_run(PLOTS, "dermprep.cli", "demo", "--out", str(tmp_path), "--images", "2"),
                                  "plots")
    assert not (tmp_path / "summary.json").exists()  # refused before any work


def test_bench_without_quality_times_and_notes_the_missing_scores():
    done = _run(QUALITY, "dermprep.cli", "bench", "--images", "2", "--size", "120x90", "--workers", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "dermprep dullrazor" in done.stdout and 'pip install "dermprep[quality]"' in done.stdout


@pytest.mark.parametrize("argv", [
    ["train", "--data", "d", "--out", "o"],
    ["evaluate", "run"],
    ["predict", "run", "images", "--out", "p.csv"],
    ["export", "run", "--tflite"],
    ["demo", "--out", "o"],
])
def test_every_dermmodels_command_without_tensorflow_says_how_to_install_it(argv, tmp_path):
    done = _run(TF, "dermmodels.cli", *argv)
    _assert_one_line_install_hint(done, "tf")
    assert argv[0] in done.stderr


def test_evaluate_without_plots_is_refused_before_any_work():
    _assert_one_line_install_hint(_run(PLOTS, "dermmodels.cli", "evaluate", "no-such-run"), "plots")


def test_tfdata_import_without_tensorflow_names_the_extra():
    done = subprocess.run([sys.executable, "-c", "import sys; from tests.support.without_extras import _Absent; "
                           f"sys.meta_path.insert(0, _Absent(set({TF.split(',')!r}))); import dermprep.tfdata"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1
    assert 'MissingDependencyError: dermprep.tfdata (the tf.data face) needs TensorFlow' in done.stderr
    assert 'pip install "dermprep[tf]"' in done.stderr


@pytest.mark.slow
def test_the_whole_demo_without_quality_finishes_with_a_note_in_the_report(tmp_path):
    done = _run(QUALITY, "dermmodels.cli", "demo", "--out", str(tmp_path), *TINY_DEMO)
    assert done.returncode == 0, done.stderr[-3000:]
    page = (tmp_path / "report.html").read_text()
    assert "Dull Razor ran at" in page and "PSNR dB" not in page
    assert "pip install &quot;dermprep[quality]&quot;" in page
    assert np.isfinite(json.loads((tmp_path / "summary.json").read_text())["metrics"]["balanced_accuracy"])
