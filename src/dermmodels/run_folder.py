"""A training run's folder: the one place that knows its files.

Everything `dermmodels.runs.fit()`, `dermmodels.train()`, the command line and
the experiments read or write in a run goes through `RunFolder`; nobody else
opens these files by name. Every file is written atomically (a ``kill -9``
never leaves half a file).

The folder::

    config.json        the recipe, the preset, the classes, the preprocessing, the data
    split.csv          which image went to train, val and test (with its group)
    state.json         training progress: epoch, the monitored best, patience count, history (resume)
    last.weights.h5    weights + optimizer after the last finished epoch
    best.weights.h5    the weights with the best monitored score so far
    member-K.weights.h5  the other members of a snapshot ensemble
    best.keras         the selected model
    calibration.json   prior correction and temperature (`dermmodels.calibration.Calibration`)
    history.json       per-epoch loss, accuracy, validation scores, learning rate
    timings.json       seconds spent per stage (images, training, calibration), summed over resumed processes
    model.tflite       `dermmodels export --tflite`; model.tflite.json beside it: classes, input, preprocessing,
                       calibration (`dermmodels.export.write_sidecar`); export.json: its check against Keras
    report*/           `dermmodels evaluate` reports (report-tflite: of the exported model)
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dermprep.io import atomic_path, atomic_write_json, atomic_write_text

__all__ = ["CONFIG_FORMAT", "RunConflictError", "RunFolder", "new_state"]

#: ``config.json``'s ``format``: 2 (dermprep 0.2) and 3 (the augmentation stored as its pipeline) both load.
CONFIG_FORMAT = 3
_SPLIT_COLUMNS = ["image_id", "path", "label", "group"]


def _with_group(frame: Any) -> Any:
    """Records with a ``group`` column (what a lesion-bootstrap interval resamples): the records' own, their
    ``lesion_id`` or ``patient_id`` (HAM10000 and ISIC 2020 frames), or each image its own."""
    if "group" in frame.columns:
        return frame
    for column in ("lesion_id", "patient_id"):
        if column in frame.columns:
            return frame.assign(group=frame[column].astype(str))
    return frame.assign(group="image:" + frame["image_id"].astype(str)) if "image_id" in frame.columns else frame


class RunConflictError(ValueError):
    """The run folder holds a different run than the one asked for."""


def new_state(monitor: str, mode: str) -> dict[str, Any]:
    """The training state of a run that has not started: what ``state.json`` holds."""
    return {"epoch": 0, "monitor": monitor, "mode": mode, "best": None, "best_epoch": 0, "wait": 0,
            "stopped_early": False, "finished": False, "history": {}}


class RunFolder:
    """The files of one run, read and written by name in one place.

    Parameters
    ----------
    path : path
        The folder (created by `start()` if needed).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    # -- paths of the model files (Keras writes them through atomic_path) -------------------
    @property
    def last_weights(self) -> Path:
        return self.path / "last.weights.h5"

    @property
    def best_weights(self) -> Path:
        return self.path / "best.weights.h5"

    @property
    def model_file(self) -> Path:
        return self.path / "best.keras"

    def member_weights(self, index: int) -> Path:
        """Weights of ensemble member ``index`` (a snapshot, or an independently trained model); member 0 is
        the selected model itself."""
        return self.best_weights if index == 0 else self.path / f"member-{index}.weights.h5"

    def member_folder(self, index: int) -> RunFolder:
        """The training folder (state, checkpoints) of independently trained member ``index`` of an ensemble."""
        return RunFolder(self.path / "members" / str(index))

    def file(self, name: str) -> Path:
        """Any other file of the run (reports, exports), by name."""
        return self.path / name

    # -- config ----------------------------------------------------------------------------
    def start(self, config: Mapping[str, Any]) -> bool:
        """Create the folder for ``config``, or check it holds the same run; returns whether it is resumed.

        Raises `RunConflictError` before anything is written when the folder
        holds a run with other settings.
        """
        resumed = (self.path / "config.json").is_file()
        if resumed:
            self._check_same(json.loads(json.dumps(dict(config))))  # compared as JSON stores it (lists, not tuples)
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path / "config.json", dict(config))
        return resumed

    def config(self) -> dict[str, Any]:
        """``config.json``; a clear error for a folder that is not a run or was written by an old dermmodels."""
        path = self.path / "config.json"
        if not path.is_file():
            raise FileNotFoundError(f"{str(self.path)!r} is not a dermmodels run folder (no config.json)")
        config = self._read(path)
        if config.get("format") not in (2, CONFIG_FORMAT):
            raise ValueError(f"{str(self.path)!r} was written by an older dermmodels (no recipe); train it again")
        return config

    def _check_same(self, config: dict[str, Any]) -> None:
        stored = self._read(self.path / "config.json")
        if stored.get("format") != CONFIG_FORMAT:
            raise RunConflictError(f"{self.path} holds a run of another dermmodels version; use a new folder")
        differences = []
        for key in ("recipe", "class_names", "data"):
            old, new = stored.get(key), config.get(key)
            if isinstance(old, dict) and isinstance(new, dict):
                differences += [f"{key}.{k}: {old.get(k)!r} in the folder, {new.get(k)!r} now"
                                for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
            elif old != new:
                differences.append(f"{key}: {old!r} in the folder, {new!r} now")
        if differences:
            raise RunConflictError(
                f"{self.path} holds a run with other settings, so it cannot be resumed with these: "
                + "; ".join(differences) + ". Use a new --out folder, or the folder's own settings.")

    # -- state, history, timings, calibration ------------------------------------------------
    def state(self) -> dict[str, Any] | None:
        """The saved training state, or ``None`` when no epoch has finished (nothing to resume)."""
        path = self.path / "state.json"
        if not (path.is_file() and self.last_weights.is_file()):
            return None
        return self._read(path)

    def write_state(self, state: Mapping[str, Any]) -> None:
        atomic_write_json(self.path / "state.json", dict(state))

    def history(self) -> dict[str, list[float]] | None:
        path = self.path / "history.json"
        return self._read(path) if path.is_file() else None

    def write_history(self, history: Mapping[str, Any]) -> None:
        atomic_write_json(self.path / "history.json", dict(history))

    def timings(self) -> dict[str, float]:
        path = self.path / "timings.json"
        return self._read(path) if path.is_file() else {}

    def add_timing(self, stage: str, seconds: float) -> None:
        """Add ``seconds`` to ``stage`` (a resumed run reports the whole cost, not just its last process')."""
        timings = self.timings()
        timings[stage] = timings.get(stage, 0.0) + float(seconds)
        atomic_write_json(self.path / "timings.json", timings)

    def calibration(self) -> dict[str, Any] | None:
        path = self.path / "calibration.json"
        return self._read(path) if path.is_file() else None

    def write_calibration(self, calibration: Mapping[str, Any]) -> None:
        atomic_write_json(self.path / "calibration.json", dict(calibration))

    def write_json(self, name: str, value: Any) -> None:
        """A report or export summary beside the run's own files (``export.json``, ...)."""
        atomic_write_json(self.path / name, value)

    # -- the split ----------------------------------------------------------------------------
    def write_split(self, parts: Mapping[str, Any]) -> None:
        """Record which records went to which part (``{"train": frame, "val": frame, "test": frame}``)."""
        text = io.StringIO()
        for index, (part, frame) in enumerate(parts.items()):
            frame = _with_group(frame)
            columns = [c for c in _SPLIT_COLUMNS if c in frame.columns]
            frame.assign(part=part)[[*columns, "part"]].to_csv(text, index=False, header=index == 0)
        atomic_write_text(self.path / "split.csv", text.getvalue())

    def split(self, part: str) -> Any:
        """The records of one part (``"train"``, ``"val"``, ``"test"``) as a DataFrame (empty if the part is)."""
        import pandas as pd  # noqa: PLC0415

        path = self.path / "split.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: the run has no recorded split (it was trained from Python "
                                    "with fit(); give the images and labels explicitly)")
        frame = pd.read_csv(path, dtype={"image_id": str, "group": str})
        return frame[frame["part"] == part].drop(columns="part").reset_index(drop=True)

    def has_split(self) -> bool:
        return (self.path / "split.csv").is_file()

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _read(path: Path) -> Any:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path} is not readable JSON ({exc}); the run folder is damaged") from None

    def save_weights(self, model: Any, path: Path) -> None:
        """``model.save_weights`` to ``path`` atomically."""
        with atomic_path(path) as temp:
            model.save_weights(temp)

    def save_model(self, model: Any) -> None:
        """The selected model, as ``best.keras``, atomically."""
        with atomic_path(self.model_file) as temp:
            model.save(temp)
