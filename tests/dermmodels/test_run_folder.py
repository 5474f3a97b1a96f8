"""The run folder: the one place that knows a run's files."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dermmodels.run_folder import CONFIG_FORMAT, RunConflictError, RunFolder, new_state


def _config(**recipe):
    return {"format": CONFIG_FORMAT, "recipe": {"epochs": 2, **recipe}, "class_names": ["a", "b"], "data": {}}


def test_start_resume_and_conflict(tmp_path):
    folder = RunFolder(tmp_path / "run")
    assert folder.start(_config()) is False
    assert folder.start(_config()) is True  # the same run: resumed
    with pytest.raises(RunConflictError, match=r"recipe.epochs: 2 in the folder, 3 now"):
        folder.start(_config(epochs=3))
    assert json.loads((tmp_path / "run" / "config.json").read_text())["recipe"]["epochs"] == 2  # untouched


def test_split_state_timings_round_trip(tmp_path):
    folder = RunFolder(tmp_path)
    frame = pd.DataFrame({"image_id": ["x1", "x2", "x3"], "path": ["p1", "p2", "p3"], "label": [0, 1, 1],
                          "group": ["g1", "g2", "g2"], "other": [1, 2, 3]})
    folder.write_split({"train": frame.iloc[:2], "test": frame.iloc[2:]})
    assert folder.split("train")["image_id"].tolist() == ["x1", "x2"]
    assert folder.split("test")["group"].tolist() == ["g2"] and folder.split("val").empty
    assert folder.state() is None  # nothing to resume before an epoch finished
    state = new_state("val_loss", "min")
    folder.write_state(state)
    (tmp_path / "last.weights.h5").write_bytes(b"x")
    assert folder.state() == state
    folder.add_timing("training", 2.0)
    folder.add_timing("training", 3.0)
    assert folder.timings() == {"training": 5.0}  # summed over resumed processes


def test_clear_errors_for_what_is_not_a_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a dermmodels run folder"):
        RunFolder(tmp_path).config()
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(ValueError, match="not readable JSON"):
        RunFolder(tmp_path).config()
    (tmp_path / "config.json").write_text(json.dumps({"format": 1}))
    with pytest.raises(ValueError, match="older dermmodels"):
        RunFolder(tmp_path).config()
    with pytest.raises(FileNotFoundError, match="no recorded split"):
        RunFolder(tmp_path).split("test")


def test_the_split_always_records_groups(tmp_path):
    folder = RunFolder(tmp_path)
    ham = pd.DataFrame({"image_id": ["x1", "x2"], "path": ["p1", "p2"], "label": [0, 1], "lesion_id": ["L1", "L1"]})
    folder.write_split({"train": ham.iloc[:1], "test": ham.iloc[1:]})
    assert folder.split("test")["group"].tolist() == ["L1"]  # HAM10000 frames: the lesion
    folder.write_split({"train": ham.drop(columns="lesion_id")})
    assert folder.split("train")["group"].tolist() == ["image:x1", "image:x2"]  # nothing to group by
