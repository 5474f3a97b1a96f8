"""HAM10000: metadata, image files, lesion-grouped splits, metadata features.

HAM10000 (Tschandl, Rosendahl & Kittler, *Sci. Data* 5, 180161, 2018,
doi:10.1038/sdata.2018.161; licence CC BY-NC 4.0) holds 10,015 dermoscopic
images of 7,470 lesions: many lesions were photographed more than once, so
a split by image leaks lesions between training and test. Every split here
keeps all images of a lesion in one part. dermprep never bundles the data.

The official layout is ``HAM10000_metadata.csv`` (columns ``lesion_id,
image_id, dx, dx_type, age, sex, localization``) next to the folders
``HAM10000_images_part_1/`` and ``HAM10000_images_part_2/``; any folder tree
holding ``<image_id>.jpg`` (or .png) files works.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .classes import CLASS_NAMES
from .datasets import assign_groups
from .validation import check_fraction, check_labels, check_positive_int, check_seed

__all__ = [
    "CLASS_NAMES",
    "LOCALIZATIONS",
    "REQUIRED_COLUMNS",
    "SEXES",
    "LesionSplit",
    "encode_metadata",
    "find_images",
    "lesion_kfold",
    "lesion_split",
    "read_metadata",
]

#: Columns ``read_metadata`` needs.
REQUIRED_COLUMNS = ("lesion_id", "image_id", "dx")
_OPTIONAL_COLUMNS = ("dx_type", "age", "sex", "localization")

#: ``localization`` values of HAM10000, in the order of the encoded features.
LOCALIZATIONS: tuple[str, ...] = (
    "abdomen", "acral", "back", "chest", "ear", "face", "foot", "genital", "hand",
    "lower extremity", "neck", "scalp", "trunk", "upper extremity", "unknown",
)
#: ``sex`` values, in the order of the encoded features.
SEXES: tuple[str, ...] = ("male", "female", "unknown")

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def find_images(root: str | os.PathLike[str]) -> dict[str, Path]:
    """Map ``image_id`` (the file stem) to its path for every image below ``root``.

    Handles the official ``HAM10000_images_part_1/`` + ``part_2/`` layout and
    any other folder tree.

    Raises
    ------
    FileNotFoundError
        If ``root`` is not a folder.
    ValueError
        If two files share an image id (e.g. the same image in two folders).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"images_dir must be an existing folder; got {str(root)!r}")
    found: dict[str, Path] = {}
    duplicates: list[str] = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            if path.suffix.lower() not in _IMAGE_SUFFIXES:
                continue
            if path.stem in found:
                duplicates.append(f"{found[path.stem]} and {path}")
            found[path.stem] = path
    if duplicates:
        raise ValueError(f"image ids must be unique below images_dir; found {len(duplicates)} twice: {duplicates[:3]}")
    return found


def read_metadata(
    csv_path: str | os.PathLike[str],
    *,
    images_dir: str | os.PathLike[str] | None = None,
    missing_images: Literal["raise", "drop"] = "raise",
) -> pd.DataFrame:
    """Read and validate ``HAM10000_metadata.csv``.

    Parameters
    ----------
    csv_path : path
        The metadata file.
    images_dir : path, optional
        A folder tree with the images; adds a ``path`` column.
    missing_images : {"raise", "drop"}
        What to do with rows whose image is not found: raise (default), or
        drop them with a ``UserWarning`` that names how many and which (the
        dropped ids are also in ``df.attrs["missing_images"]``).

    Returns
    -------
    pandas.DataFrame
        One row per image with ``lesion_id, image_id, dx`` (+ ``dx_type, age,
        sex, localization`` where present), ``label`` (index into
        `CLASS_NAMES`) and, with ``images_dir``, ``path``. Ages are
        floats (NaN where missing); missing sex/localization become "unknown".

    Raises
    ------
    FileNotFoundError
        Missing CSV or images folder.
    ValueError
        Missing columns, empty file, empty ids, duplicate image ids, unknown
        ``dx`` codes, a lesion with two diagnoses, non-numeric ages, missing
        images (with ``missing_images="raise"``). Each message names the
        offending values.

    Examples
    --------
    >>> import io
    >>> csv = io.StringIO("lesion_id,image_id,dx,dx_type,age,sex,localization\\n"
    ...                   "HAM_1,ISIC_1,nv,histo,45.0,male,back\\nHAM_1,ISIC_2,nv,histo,45.0,male,back\\n")
    >>> read_metadata(csv)[["image_id", "label"]].values.tolist()
    [['ISIC_1', 5], ['ISIC_2', 5]]
    """
    if missing_images not in ("raise", "drop"):
        raise ValueError(f"missing_images must be 'raise' or 'drop'; got {missing_images!r}")
    df = _check_diagnoses(_read_csv(csv_path))
    if "age" in df.columns:
        df["age"] = _ages(df["age"])
    for column in ("sex", "localization"):
        if column in df.columns:
            df[column] = df[column].fillna("unknown").astype(str).str.strip().str.lower()
    df["label"] = df["dx"].map({name: i for i, name in enumerate(CLASS_NAMES)}).astype(np.int64)
    if images_dir is not None:
        df = _attach_images(df, images_dir, missing_images)
    return df.reset_index(drop=True)


def _read_csv(csv_path: Any) -> pd.DataFrame:
    """The metadata table (UTF-8, or latin-1 as spreadsheets export it) with the columns it must have."""
    if isinstance(csv_path, (str, os.PathLike)) and not Path(csv_path).is_file():
        raise FileNotFoundError(f"csv_path must be an existing file; got {str(csv_path)!r}")
    types = {"lesion_id": str, "image_id": str, "dx": str}
    try:
        try:
            df = pd.read_csv(csv_path, dtype=types, keep_default_na=True, encoding="utf-8-sig")
        except UnicodeDecodeError:  # spreadsheet exports are often latin-1
            if hasattr(csv_path, "seek"):
                csv_path.seek(0)
            df = pd.read_csv(csv_path, dtype=types, keep_default_na=True, encoding="latin-1")
    except pd.errors.EmptyDataError:
        raise ValueError(f"metadata file is empty: {csv_path}") from None
    except pd.errors.ParserError as exc:
        raise ValueError(f"metadata file is not a valid CSV ({csv_path}): {exc}") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"metadata must have columns {list(REQUIRED_COLUMNS)} (HAM10000_metadata.csv layout); "
            f"missing {missing}, found {list(df.columns)}"
        )
    if df.empty:
        raise ValueError(f"metadata has no rows: {csv_path}")
    return df


def _check_diagnoses(df: pd.DataFrame) -> pd.DataFrame:
    """Ids present and image ids unique; ``dx`` a known code (lower case), one per lesion."""
    for column in ("lesion_id", "image_id", "dx"):
        values = df[column].astype("string").str.strip()
        empty = values.isna() | (values == "")
        if empty.any():
            rows = (np.flatnonzero(empty.to_numpy()) + 2).tolist()  # +2: header and 1-based lines
            raise ValueError(f"column {column!r} has empty values on CSV lines {rows[:10]}")
        df[column] = values.astype(str)
    duplicated = df["image_id"][df["image_id"].duplicated()].unique().tolist()
    if duplicated:
        raise ValueError(f"image_id must be unique; {len(duplicated)} repeated, e.g. {duplicated[:5]}")
    df["dx"] = df["dx"].str.lower()
    unknown = sorted(set(df["dx"]) - set(CLASS_NAMES))
    if unknown:
        raise ValueError(f"dx must be one of {list(CLASS_NAMES)}; got unknown codes {unknown}")
    mixed = df.groupby("lesion_id")["dx"].nunique()
    if (mixed > 1).any():
        raise ValueError(f"each lesion must have one diagnosis; lesions with several: {mixed[mixed > 1].index[:5].tolist()}")
    return df


def _ages(column: pd.Series) -> pd.Series:
    """Ages as floats in [0, 120] years, NaN where empty."""
    age = pd.to_numeric(column, errors="coerce")
    bad = age.isna() & column.notna()
    if bad.any():
        raise ValueError(f"age must be numeric or empty; got {column[bad].unique()[:5].tolist()}")
    implausible = age.notna() & ~age.between(0, 120)
    if implausible.any():
        rows = (np.flatnonzero(implausible.to_numpy()) + 2).tolist()
        raise ValueError(f"age must be in [0, 120] years or empty; got {age[implausible].unique()[:5].tolist()} "
                         f"on CSV lines {rows[:10]}")
    return age.astype(float)


def _attach_images(df: pd.DataFrame, images_dir: str | os.PathLike[str], missing_images: str) -> pd.DataFrame:
    """A ``path`` column from the images found below ``images_dir``; rows without one raise or are dropped."""
    paths = find_images(images_dir)
    df["path"] = df["image_id"].map(lambda i: str(paths[i]) if i in paths else None)
    absent = df["path"].isna()
    if absent.any():
        ids = df.loc[absent, "image_id"].tolist()
        message = f"{len(ids)} of {len(df)} images listed in the metadata are not in {str(images_dir)!r}, e.g. {ids[:5]}"
        if missing_images == "raise":
            raise ValueError(message + " (pass missing_images='drop' to leave them out)")
        warnings.warn(message + "; they are left out", UserWarning, stacklevel=3)
        df = df.loc[~absent].reset_index(drop=True)
        df.attrs["missing_images"] = ids
    return df


def _check_metadata(metadata: Any) -> pd.DataFrame:
    if not isinstance(metadata, pd.DataFrame):
        raise TypeError(f"metadata must be a pandas.DataFrame from read_metadata(); got {type(metadata).__name__}")
    missing = [c for c in ("lesion_id", "label") if c not in metadata.columns]
    if missing:
        raise ValueError(f"metadata must have columns 'lesion_id' and 'label' (from read_metadata()); missing {missing}")
    if metadata.empty:
        raise ValueError("metadata has no rows")
    check_labels(metadata["label"].to_numpy(), "metadata['label']", num_classes=len(CLASS_NAMES))
    return metadata


@dataclass(frozen=True)
class LesionSplit:
    """A lesion-grouped split: ``train``, ``val`` and ``test`` DataFrames."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.train, self.val, self.test))

    def counts(self) -> pd.DataFrame:
        """Images per class (rows) and split (columns), with totals."""
        table = pd.DataFrame(
            {
                name: part["label"].value_counts().reindex(range(len(CLASS_NAMES)), fill_value=0).to_numpy()
                for name, part in (("train", self.train), ("val", self.val), ("test", self.test))
            },
            index=list(CLASS_NAMES),
        )
        table.loc["total"] = table.sum()
        return table

    def summary(self) -> str:
        """The per-class counts and lesion counts as text."""
        lesions = ", ".join(
            f"{name} {part['lesion_id'].nunique()} lesions / {len(part)} images"
            for name, part in (("train", self.train), ("val", self.val), ("test", self.test))
        )
        return f"{self.counts().to_string()}\n{lesions}"


def lesion_split(metadata: pd.DataFrame, *, val: float = 0.15, test: float = 0.15, seed: int = 0) -> LesionSplit:
    """Split images into train/val/test by lesion, stratified by class.

    All images of a lesion land in the same part; within each class, lesions
    are shuffled (seeded) and each goes to the part furthest below its share
    of that class's images, so class proportions in each part stay close to
    those of the whole set.

    Parameters
    ----------
    metadata : pandas.DataFrame
        From `read_metadata()` (needs ``lesion_id`` and ``label``).
    val, test : float
        Fractions of images for validation and test (``val + test < 1``; either may be 0).
    seed : int
        Same seed, same split.

    Returns
    -------
    LesionSplit

    Examples
    --------
    >>> import pandas as pd
    >>> md = pd.DataFrame({"lesion_id": [f"L{i // 2}" for i in range(40)], "label": [i % 2 for i in range(40)]})
    >>> split = lesion_split(md, val=0.25, test=0.25, seed=0)
    >>> [len(part) for part in split]
    [20, 10, 10]
    """
    metadata = _check_metadata(metadata)
    val = check_fraction(val, "val")
    test = check_fraction(test, "test")
    if val + test >= 1:
        raise ValueError(f"val + test must be < 1 to leave images for training; got {val} + {test}")
    seed = check_seed(seed)
    parts = assign_groups(metadata, "lesion_id", [1 - val - test, val, test], seed=seed)
    train, val_df, test_df = (metadata.loc[parts == i].reset_index(drop=True) for i in range(3))
    return LesionSplit(train, val_df, test_df)


def lesion_kfold(metadata: pd.DataFrame, k: int = 5, *, seed: int = 0) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """``k`` lesion-grouped, class-stratified folds as ``(train, val)`` pairs.

    Each lesion is in exactly one validation fold. Uses the same assignment
    as `lesion_split()` with ``k`` equal parts.
    """
    metadata = _check_metadata(metadata)
    k = check_positive_int(k, "k", minimum=2)
    seed = check_seed(seed)
    if metadata["lesion_id"].nunique() < k:
        raise ValueError(f"k={k} folds need at least {k} lesions; got {metadata['lesion_id'].nunique()}")
    parts = assign_groups(metadata, "lesion_id", np.full(k, 1.0 / k), seed=seed)
    return [
        (metadata.loc[parts != i].reset_index(drop=True), metadata.loc[parts == i].reset_index(drop=True))
        for i in range(k)
    ]


def encode_metadata(metadata: pd.DataFrame) -> np.ndarray:
    """Metadata features for a model's metadata branch, float32 (N, 20).

    Columns: age / 100 (0 where missing), an age-missing flag, sex one-hot
    (`SEXES`), localization one-hot (`LOCALIZATIONS`; values not
    in the list count as "unknown"). Missing columns encode as unknown.
    """
    if not isinstance(metadata, pd.DataFrame):
        raise TypeError(f"metadata must be a pandas.DataFrame; got {type(metadata).__name__}")
    n = len(metadata)
    age = metadata["age"].to_numpy(dtype=float) if "age" in metadata.columns else np.full(n, np.nan)
    if np.isinf(age).any() or (age[~np.isnan(age)] < 0).any():
        raise ValueError("metadata age must be finite and >= 0 (or missing); use read_metadata() to validate it")
    sex = metadata["sex"].astype(str).str.lower().to_numpy() if "sex" in metadata.columns else np.full(n, "unknown")
    loc = (
        metadata["localization"].astype(str).str.lower().to_numpy()
        if "localization" in metadata.columns
        else np.full(n, "unknown")
    )
    features = np.zeros((n, 2 + len(SEXES) + len(LOCALIZATIONS)), np.float32)
    features[:, 0] = np.where(np.isnan(age), 0.0, age / 100.0)
    features[:, 1] = np.isnan(age)
    sex_index = np.array([SEXES.index(s) if s in SEXES else SEXES.index("unknown") for s in sex], dtype=np.int64)
    loc_index = np.array(
        [LOCALIZATIONS.index(v) if v in LOCALIZATIONS else LOCALIZATIONS.index("unknown") for v in loc], dtype=np.int64
    )
    features[np.arange(n), 2 + sex_index] = 1.0
    features[np.arange(n), 2 + len(SEXES) + loc_index] = 1.0
    return features
