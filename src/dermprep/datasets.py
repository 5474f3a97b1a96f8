"""Labelled image collections in the layouts people have: one table of records for all of them.

`read_records()` turns any of these into a `Records` table
(``path``, ``label``, ``group``, ``image_id``) with its class names:

- **HAM10000** ``HAM10000_metadata.csv`` (``lesion_id, image_id, dx, ...``):
  the seven classes in `dermprep.CLASS_NAMES` order; groups are lesions;
- **ISIC 2019/2018 ground truth** (``image, MEL, NV, BCC, AK, BKL, DF, VASC,
  SCC, UNK`` one-hot): the classes that occur, with HAM10000's names where
  there is one (``AK`` is ``akiec``); groups from an optional metadata CSV's
  ``lesion_id``, otherwise (and where it is empty) each image its own group;
- **ISIC 2020** ``train.csv`` (``image_name, patient_id, ..., target``):
  benign / malignant; groups are patients;
- **a class-per-subfolder tree** (Keras' ``image_dataset_from_directory``,
  torchvision's ``ImageFolder``): ``ROOT/<class>/<image>``; each image its own group;
- **a generic CSV** of a path (or image id) and a label, with an optional
  group column (``lesion_id``, ``patient_id`` or ``group``).

Layouts are recognised by their columns. Rows are never dropped silently:
a missing image, an unknown label or an empty id is an error that names it.
`group_split()` splits any of them by group, stratified by class.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .classes import CLASS_NAMES
from .io import IMAGE_SUFFIXES
from .validation import check_fraction, check_labels, check_seed

__all__ = ["ISIC_CLASSES", "Records", "assign_groups", "detect_layout", "group_split", "read_records"]

#: ISIC one-hot column -> class name (HAM10000's names where the class is one of them).
ISIC_CLASSES = {"MEL": "mel", "NV": "nv", "BCC": "bcc", "AKIEC": "akiec", "AK": "akiec", "BKL": "bkl", "DF": "df",
                "VASC": "vasc", "SCC": "scc", "UNK": "unk"}
_GROUP_COLUMNS = ("lesion_id", "patient_id", "group")
_PATH_COLUMNS = ("path", "file", "filename", "image_path")
_ID_COLUMNS = ("image_id", "image", "image_name", "isic_id", "id")
_LABEL_COLUMNS = ("label", "dx", "class", "diagnosis")


@dataclass(frozen=True)
class Records:
    """Labelled images: ``frame`` (columns ``image_id, path, label, group`` and whatever else the file had) and
    ``class_names`` (label ``i`` is ``class_names[i]``), and the ``layout`` they were read from."""

    frame: pd.DataFrame
    class_names: tuple[str, ...]
    layout: str

    def __len__(self) -> int:
        return len(self.frame)

    def counts(self) -> dict[str, int]:
        """Images per class."""
        counts = np.bincount(self.frame["label"].to_numpy(), minlength=len(self.class_names))
        return {name: int(c) for name, c in zip(self.class_names, counts, strict=True)}


def _index_images(root: Path) -> dict[str, Path]:
    """File stem -> path for every image below ``root`` (duplicated stems are refused)."""
    from .io import find_images  # noqa: PLC0415

    found: dict[str, Path] = {}
    duplicates = []
    for relative in find_images(root):
        stem = relative.stem
        if stem in found:
            duplicates.append(f"{found[stem]} and {root / relative}")
        found[stem] = root / relative
    if duplicates:
        raise ValueError(f"image ids (file names without suffix) must be unique below {str(root)!r}; "
                         f"{len(duplicates)} appear twice, e.g. {duplicates[:3]}")
    return found


def detect_layout(columns: Sequence[str]) -> str:
    """Which layout a CSV's columns are: ``"ham10000"``, ``"isic-onehot"``, ``"isic2020"`` or ``"generic"``.

    Raises
    ------
    ValueError
        The columns fit no layout (the message lists what each needs).
    """
    cols = {str(c).strip() for c in columns}
    lower = {c.lower() for c in cols}
    if {"lesion_id", "image_id", "dx"} <= lower:
        return "ham10000"
    if "image" in lower and len({c.upper() for c in cols} & set(ISIC_CLASSES)) >= 2:
        return "isic-onehot"
    if {"image_name", "patient_id", "target"} <= lower:
        return "isic2020"
    if (lower & set(_PATH_COLUMNS + _ID_COLUMNS)) and (lower & set(_LABEL_COLUMNS)):
        return "generic"
    raise ValueError(
        f"the label file's columns {sorted(cols)} fit no known layout: HAM10000 (lesion_id, image_id, dx), "
        "ISIC one-hot (image, MEL, NV, ...), ISIC 2020 (image_name, patient_id, target), or a generic CSV "
        f"(one of {list(_PATH_COLUMNS + _ID_COLUMNS)} and one of {list(_LABEL_COLUMNS)})"
    )


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"label file not found: {str(path)!r}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except UnicodeDecodeError:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="latin-1")
    except pd.errors.EmptyDataError:
        raise ValueError(f"label file is empty: {str(path)!r}") from None
    except pd.errors.ParserError as exc:
        raise ValueError(f"label file is not a valid CSV ({str(path)!r}): {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise ValueError(f"label file has no rows: {str(path)!r}")
    return frame


def _column(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    lower = {c.lower(): c for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def _attach_paths(frame: pd.DataFrame, images_dir: Path | None, id_column: str | None, path_column: str | None,
                  source: Path) -> pd.DataFrame:
    """Add ``image_id`` and ``path``: from a path column (relative to ``images_dir`` or the CSV's folder) or by id."""
    if path_column is not None:
        base = images_dir if images_dir is not None else source.parent
        paths = [Path(p) if Path(p).is_absolute() else base / p for p in frame[path_column].astype(str)]
        frame["path"] = [str(p) for p in paths]
        frame["image_id"] = [p.stem for p in paths] if id_column is None else frame[id_column].astype(str).str.strip()
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} of {len(paths)} image files listed in {str(source)!r} do not "
                                    f"exist, e.g. {missing[:5]}")
        return frame
    if images_dir is None:
        raise ValueError(f"{str(source)!r} names images by id; give the folder that holds them (images_dir)")
    index = _index_images(images_dir)
    ids = frame[id_column].astype(str).str.strip()  # type: ignore[index]
    frame["image_id"] = ids
    frame["path"] = [str(index[i]) if i in index else None for i in ids]
    absent = frame["path"].isna()
    if absent.any():
        raise FileNotFoundError(f"{int(absent.sum())} of {len(frame)} images listed in {str(source)!r} are not in "
                                f"{str(images_dir)!r}, e.g. {ids[absent].tolist()[:5]}")
    return frame


def _check_ids(frame: pd.DataFrame, column: str, source: Path) -> None:
    values = frame[column]
    empty = values.isna() | (values.astype(str).str.strip() == "")
    if empty.any():
        rows = (np.flatnonzero(empty.to_numpy()) + 2).tolist()
        raise ValueError(f"column {column!r} of {str(source)!r} has empty values on CSV lines {rows[:10]}")
    repeated = values[values.duplicated()].unique().tolist()
    if repeated:
        raise ValueError(f"column {column!r} of {str(source)!r} must be unique; {len(repeated)} repeated, "
                         f"e.g. {repeated[:5]}")


def _own_groups(frame: pd.DataFrame, column: str | None) -> pd.Series:
    """The group of each row: the column's value, or (where there is none) the image itself."""
    own = "image:" + frame["image_id"].astype(str)
    if column is None:
        return own
    values = frame[column]
    missing = values.isna() | (values.astype(str).str.strip() == "")
    return values.astype(str).str.strip().where(~missing, own)


def read_records(
    images_dir: str | os.PathLike[str] | None = None,
    labels: str | os.PathLike[str] | None = None,
    *,
    metadata: str | os.PathLike[str] | None = None,
    class_names: Sequence[str] | None = None,
) -> Records:
    """Read labelled images in any supported layout (see the module docstring).

    Parameters
    ----------
    images_dir : path, optional
        The folder tree holding the images (found by file name); a
        class-per-subfolder tree when ``labels`` is not given.
    labels : path, optional
        The label file (HAM10000 metadata, ISIC ground truth, ISIC 2020
        ``train.csv`` or a generic CSV), recognised by its columns.
    metadata : path, optional
        ISIC 2019 metadata (``image, ..., lesion_id``) for lesion groups.
    class_names : sequence of str, optional
        Fix the classes and their order (e.g. a trained run's); labels
        outside them are an error. By default the classes come from the
        data (HAM10000: `dermprep.CLASS_NAMES`).

    Returns
    -------
    Records
    """
    root = Path(images_dir) if images_dir is not None else None
    if root is not None and not root.is_dir():
        raise FileNotFoundError(f"images_dir must be an existing folder; got {str(root)!r}")
    if labels is None:
        if root is None:
            raise ValueError("give images_dir (a class-per-subfolder tree), labels (a label file), or both")
        return _folder_tree(root, class_names)
    source = Path(labels)
    frame = _read_csv(source)
    read = {"ham10000": _ham10000, "isic-onehot": _isic_onehot, "isic2020": _isic2020, "generic": _generic}
    fixed = list(class_names) if class_names is not None else None
    return read[detect_layout(frame.columns)](frame, root, source, fixed, metadata)


def _ham10000(frame: pd.DataFrame, root: Path | None, source: Path, fixed: list[str] | None, metadata: Any) -> Records:
    id_col, label_col, group_col = (_column(frame, [n]) for n in ("image_id", "dx", "lesion_id"))
    _check_ids(frame, id_col, source)  # type: ignore[arg-type]
    names = [str(v).strip().lower() for v in frame[label_col]]  # type: ignore[index]
    frame = _attach_paths(frame, root, id_col, _column(frame, _PATH_COLUMNS), source)
    frame["group"] = _own_groups(frame, group_col)
    default = list(CLASS_NAMES) if set(names) <= set(CLASS_NAMES) else sorted(set(names))
    return _finish(frame, names, fixed or default, "ham10000", source)


def _isic_onehot(frame: pd.DataFrame, root: Path | None, source: Path, fixed: list[str] | None,
                 metadata: Any) -> Records:
    id_col = _column(frame, ["image"])
    _check_ids(frame, id_col, source)  # type: ignore[arg-type]
    columns = [c for c in frame.columns if c.upper() in ISIC_CLASSES]
    values = frame[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1) | ((values != 0) & (values != 1)).any(axis=1)
                         | (values.sum(axis=1) != 1))
    if bad.size:
        raise ValueError(f"{str(source)!r}: one-hot rows must hold exactly one 1 and zeros; CSV lines "
                         f"{(bad + 2).tolist()[:10]} do not")
    names = [ISIC_CLASSES[columns[j].upper()] for j in values.argmax(axis=1)]
    frame = _attach_paths(frame, root, id_col, None, source)
    group_col = None
    if metadata is not None:
        frame, group_col = _merge_lesions(frame, Path(metadata)), "lesion_id"
    frame["group"] = _own_groups(frame, group_col)
    present = [ISIC_CLASSES[c.upper()] for c in columns]
    default = [n for n in CLASS_NAMES if n in set(names)] + sorted({n for n in names if n not in CLASS_NAMES})
    return _finish(frame, names, fixed or (default if default else present), "isic-onehot", source)


def _merge_lesions(frame: pd.DataFrame, metadata: Path) -> pd.DataFrame:
    """ISIC 2019 metadata's ``lesion_id`` for each image (empty where it has none)."""
    extra = _read_csv(metadata)
    key = _column(extra, ["image", "image_id", "image_name"])
    lesion = _column(extra, ["lesion_id"])
    if key is None or lesion is None:
        raise ValueError(f"metadata {str(metadata)!r} needs 'image' and 'lesion_id' columns; found {list(extra.columns)}")
    return frame.merge(extra[[key, lesion]].rename(columns={key: "_image", lesion: "lesion_id"}),
                       left_on="image_id", right_on="_image", how="left").drop(columns="_image")


def _isic2020(frame: pd.DataFrame, root: Path | None, source: Path, fixed: list[str] | None, metadata: Any) -> Records:
    id_col, group_col, target_col = (_column(frame, [n]) for n in ("image_name", "patient_id", "target"))
    _check_ids(frame, id_col, source)  # type: ignore[arg-type]
    targets = frame[target_col].astype(str).str.strip()  # type: ignore[index]
    if not targets.isin(["0", "1"]).all():
        raise ValueError(f"{str(source)!r}: target must be 0 or 1; got {sorted(set(targets) - {'0', '1'})[:5]}")
    names = ["malignant" if t == "1" else "benign" for t in targets]
    frame = _attach_paths(frame, root, id_col, None, source)
    frame["group"] = _own_groups(frame, group_col)
    return _finish(frame, names, fixed or ["benign", "malignant"], "isic2020", source)


def _generic(frame: pd.DataFrame, root: Path | None, source: Path, fixed: list[str] | None, metadata: Any) -> Records:
    path_col = _column(frame, _PATH_COLUMNS)
    id_col = _column(frame, _ID_COLUMNS)
    label_col = _column(frame, _LABEL_COLUMNS)
    _check_ids(frame, path_col or id_col, source)  # type: ignore[arg-type]
    names = [str(v).strip() for v in frame[label_col].fillna("")]  # type: ignore[index]
    empty = [i + 2 for i, n in enumerate(names) if not n]
    if empty:
        raise ValueError(f"column {label_col!r} of {str(source)!r} has empty labels on CSV lines {empty[:10]}")
    frame = _attach_paths(frame, root, id_col, path_col, source)
    frame["group"] = _own_groups(frame, _column(frame, _GROUP_COLUMNS))
    lowered = [n.lower() for n in names]
    if set(lowered) <= set(CLASS_NAMES):
        return _finish(frame, lowered, fixed or list(CLASS_NAMES), "generic", source)
    return _finish(frame, names, fixed or sorted(set(names)), "generic", source)


def _finish(frame: pd.DataFrame, names: list[str], class_names: list[str], layout: str, source: Path) -> Records:
    lookup = {n: i for i, n in enumerate(class_names)}
    folded = {n.lower(): i for i, n in enumerate(class_names)}
    labels = [lookup.get(n, folded.get(n.lower(), -1)) for n in names]
    unknown = sorted({n for n, i in zip(names, labels, strict=True) if i < 0})
    if unknown:
        raise ValueError(f"{str(source)!r} holds classes {unknown} that are not among the classes {class_names}")
    if len(class_names) < 2:
        raise ValueError(f"{str(source)!r} holds a single class {class_names}; a classifier needs at least 2")
    frame = frame.copy()
    frame["label"] = np.asarray(labels, dtype=np.int64)
    return Records(frame.reset_index(drop=True), tuple(class_names), layout)


def _folder_tree(root: Path, class_names: Sequence[str] | None) -> Records:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ValueError(f"{str(root)!r} has no class subfolders (expected ROOT/<class>/<image>); give a label file")
    rows = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
                rows.append({"image_id": str(path.relative_to(root)), "path": str(path), "class": folder.name})
    if not rows:
        raise ValueError(f"{str(root)!r}: its class subfolders hold no images ({', '.join(IMAGE_SUFFIXES)})")
    frame = pd.DataFrame(rows)
    frame["group"] = "image:" + frame["image_id"]
    names = frame["class"].tolist()
    present = [f.name for f in folders if f.name in set(names)]
    return _finish(frame, names, list(class_names) if class_names is not None else present, "folders", root)


def assign_groups(frame: pd.DataFrame, group: str, fractions: Sequence[float], *, seed: int = 0) -> np.ndarray:
    """The part (index into ``fractions``) of every row, by group, stratified by class.

    Within each class (``label`` column; a group's class is its first
    row's), groups are shuffled (seeded) and each goes to the part
    furthest below its share of that class's images. Rows without a group
    (empty or missing) each form a group of their own: nothing is dropped.

    Raises
    ------
    TypeError, ValueError
        Labels that are missing or not class indices (`dermprep.validation.check_labels()`).
    """
    labels = check_labels(frame["label"].to_numpy(), "the label column")
    keys = frame[group].astype("string")
    missing = keys.isna() | (keys.str.strip() == "")
    keys = keys.where(~missing, "__row__" + pd.Series(np.arange(len(frame)), index=frame.index).astype(str))
    fractions = np.asarray(fractions, dtype=float)
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"key": keys.to_numpy(), "label": labels})
    sizes = table.groupby("key", sort=True).size()
    first_label = table.groupby("key", sort=True)["label"].first()
    part_of: dict[str, int] = {}
    for label in sorted(first_label.unique()):
        members = first_label.index[first_label == label].to_numpy()
        members = members[rng.permutation(members.size)]
        member_sizes = sizes.loc[members].to_numpy()
        quota = fractions * member_sizes.sum()
        filled = np.zeros(fractions.size)
        for key, size in zip(members, member_sizes, strict=True):
            deficit = np.where(quota > 0, (quota - filled) / np.maximum(quota, 1e-12), -np.inf)
            part = int(np.argmax(deficit))
            part_of[key] = part
            filled[part] += size
    return table["key"].map(part_of).to_numpy()


def group_split(records: Records | pd.DataFrame, *, val: float = 0.15, test: float = 0.15, seed: int = 0) -> tuple[
        pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split records into train/val/test by ``group`` (lesion, patient or image), stratified by class.

    All images of a group land in the same part; within each class, groups
    are shuffled (seeded) and each goes to the part furthest below its share
    of that class's images (as `dermprep.ham10000.lesion_split()`).
    """
    frame = records.frame if isinstance(records, Records) else records
    if not isinstance(frame, pd.DataFrame) or not {"group", "label"} <= set(frame.columns):
        raise TypeError("records must be Records or a DataFrame with 'group' and 'label' columns")
    val = check_fraction(val, "val")
    test = check_fraction(test, "test")
    if val + test >= 1:
        raise ValueError(f"val + test must be < 1 to leave images for training; got {val} + {test}")
    parts = assign_groups(frame, "group", [1 - val - test, val, test], seed=check_seed(seed))
    return tuple(frame.loc[parts == i].reset_index(drop=True) for i in range(3))  # type: ignore[return-value]

