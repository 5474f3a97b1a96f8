"""The two ported public HAM10000 scripts in examples/ run end to end on a synthetic set in HAM10000's layout
(so CI needs no shared data), and report what they fix: no lesion or image on both sides, nothing written,
exact per-class counts per epoch, one dermprep epoch per Keras epoch."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))  # the scripts import their shared data helper as a script would


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ham_like(tmp_path_factory):
    from dermprep.synthetic import write_ham10000_like

    images_dir, csv_path = write_ham10000_like(tmp_path_factory.mktemp("ham"), 80, shape=(60, 80), seed=0)
    return ["--images", str(images_dir), "--metadata", str(csv_path)]


def test_flow_from_directory_port(ham_like, tmp_path):
    before = sorted(p.name for p in Path(ham_like[1]).rglob("*"))
    result = _load("port_flow_from_directory").main([*ham_like, "--epochs", "2", "--image-size", "32"])
    assert sorted(p.name for p in Path(ham_like[1]).rglob("*")) == before  # nothing copied next to the data
    assert result["files_written"] == 0 and result["their_files_written"] == result["images"] == 80
    leaks = result["lesions_on_both_sides"]
    assert leaks["ours"] == 0 and leaks["theirs_by_image_80_20"] > 0  # multi-image lesions split by image
    assert result["epochs_trained"] == 2 and len(result["val_accuracy"]) == 2


def test_manual_oversampling_port(ham_like):
    result = _load("port_manual_oversampling").main([*ham_like, "--epochs", "2", "--image-size", "32",
                                                      "--per-class", "5"])
    ours, theirs = result["ours"], result["theirs"]
    assert ours == {"copies_held": 0, "images_on_both_sides": 0, "lesions_on_both_sides": 0}
    assert theirs["copies_held"] > 0 and theirs["images_on_both_sides"] > 0 and theirs["lesions_on_both_sides"] > 0
    assert result["epoch_0_class_counts"] == result["target"]  # exactly the per-class counts, absent classes 0
    assert result["epochs_trained"] == 2
