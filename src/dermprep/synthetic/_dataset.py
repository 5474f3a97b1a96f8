"""A synthetic data set laid out exactly like HAM10000 (images + metadata CSV)."""

from __future__ import annotations

import concurrent.futures as cf
import csv
import io
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..classes import CLASS_NAMES
from ..io import atomic_write_bytes, atomic_write_text
from ..validation import check_positive_int, check_probability, check_seed
from ._generate import HAM10000_CLASS_FREQUENCIES, add_hair, check_shape, make_lesion_image

__all__ = ["write_ham10000_like"]

_LOCALIZATIONS = ("back", "lower extremity", "trunk", "upper extremity", "abdomen", "face", "chest", "foot",
                  "neck", "scalp", "hand", "ear", "genital", "acral", "unknown")
_LOCALIZATION_P = np.array([2192, 2077, 1404, 1118, 1022, 745, 407, 319, 168, 128, 90, 56, 48, 7, 234], float)


def _lesion_plan(n_images: int, seed: int) -> list[tuple[int, int, int]]:
    """(lesion index, view index, label) per image: ~75% single-view lesions, like HAM10000.

    Two single-view lesions of every class come first (a split needs something
    of each class to show), then lesions drawn with HAM10000's frequencies;
    the lesion order is shuffled.
    """
    rng = np.random.default_rng([seed, 0x4A4D])
    lesions: list[tuple[int, int]] = [(label, 1) for label in range(len(CLASS_NAMES)) for _ in range(2)]
    total = len(lesions)
    while total < n_images:
        label = int(rng.choice(len(CLASS_NAMES), p=HAM10000_CLASS_FREQUENCIES))
        views = 1 if rng.uniform() < 0.75 else int(rng.integers(2, 5))
        views = min(views, n_images - total)
        lesions.append((label, views))
        total += views
    order = rng.permutation(len(lesions))
    return [(int(k), view, lesions[k][0]) for k in order for view in range(lesions[k][1])]


def _write_image(path: Path, rgb: np.ndarray, quality: int) -> None:
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"could not encode {path}")
    atomic_write_bytes(path, encoded.tobytes())


def write_ham10000_like(
    folder: str | os.PathLike[str],
    n_images: int = 700,
    *,
    shape: tuple[int, int] = (150, 200),
    seed: int = 0,
    hair_probability: float = 0.6,
    jpeg_quality: int = 92,
    workers: int | None = None,
    progress: Any = None,
) -> tuple[Path, Path]:
    """Write a synthetic data set in HAM10000's layout: JPEG images and a metadata CSV.

    The classes follow HAM10000's imbalance (67% ``nv``, 1% ``df``), each
    lesion takes its class's look (see `make_lesion_image()`), a quarter
    of the lesions are photographed 2-4 times (other hair, flipped), and
    ``hair_probability`` of the images carry simulated hair. Point any tool
    that reads HAM10000 at it (``dermprep demo`` does, ``dermmodels train``
    too). Existing images are kept, so a second call costs almost nothing.

    Parameters
    ----------
    folder : path
        Created if needed; gets ``images/ISIC_9xxxxxx.jpg`` and ``HAM10000_metadata.csv``.
    n_images : int
        Number of images (at least 14: two of every class).
    shape : (int, int)
        Image ``(height, width)``; (150, 200) matches ``images_200x150``, (450, 600) the original.
    seed : int
        Same seed, same data set.
    hair_probability : float
        Fraction of images with hair.
    jpeg_quality : int
        JPEG quality (HAM10000 images are JPEG too).
    workers : int, optional
        Threads generating images (default: all cores).
    progress : callable, optional
        Called as ``progress(done, total)`` after each image.

    Returns
    -------
    images_dir, metadata_csv : Path

    Examples
    --------
    >>> import tempfile
    >>> from dermprep.ham10000 import read_metadata
    >>> images, csv_path = write_ham10000_like(tempfile.mkdtemp(), 20, shape=(48, 64))
    >>> df = read_metadata(csv_path, images_dir=images)
    >>> len(df), df["dx"].nunique()
    (20, 7)
    """
    n_images = check_positive_int(n_images, "n_images", minimum=2 * len(CLASS_NAMES))
    shape = check_shape(shape)
    seed = check_seed(seed)
    hair_probability = check_probability(hair_probability, "hair_probability")
    jpeg_quality = check_positive_int(jpeg_quality, "jpeg_quality", maximum=100)
    workers = (os.cpu_count() or 1) if workers is None else check_positive_int(workers, "workers")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a function progress(done, total) or None; got {progress!r}")
    root = _check_folder(folder)
    images_dir = root / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    plan = _lesion_plan(n_images, seed)
    rows = [_metadata_row(i, lesion, label, seed) for i, (lesion, _view, label) in enumerate(plan)]

    def make(i: int) -> None:
        path = images_dir / f"{rows[i]['image_id']}.jpg"
        if not path.is_file():
            _write_image(path, _view_image(plan[i], shape, seed, hair_probability), jpeg_quality)

    with cf.ThreadPoolExecutor(max_workers=workers) as pool:
        for done, _ in enumerate(pool.map(make, range(len(plan))), start=1):
            if progress is not None:
                progress(done, len(plan))
    csv_path = root / "HAM10000_metadata.csv"
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(csv_path, text.getvalue())
    return images_dir, csv_path


def _check_folder(folder: Any) -> Path:
    """The output folder: a path that is not an existing file."""
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder must be a path (str or os.PathLike); got {folder!r} ({type(folder).__name__})")
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"folder must be a folder (created if missing); got an existing file {str(root)!r}")
    return root


def _metadata_row(i: int, lesion: int, label: int, seed: int) -> dict[str, Any]:
    """Image ``i``'s metadata row: its lesion's id, class and (per lesion) age, sex and site."""
    meta_rng = np.random.default_rng([seed, 0x4D45, lesion])
    return {
        "lesion_id": f"HAM_9{lesion:06d}", "image_id": f"ISIC_9{i:06d}", "dx": CLASS_NAMES[label],
        "dx_type": "synthetic", "age": float(5 * round(np.clip(meta_rng.normal(52, 16), 5, 85) / 5)),
        "sex": ("male", "female")[int(meta_rng.uniform() < 0.45)],
        "localization": _LOCALIZATIONS[int(meta_rng.choice(len(_LOCALIZATIONS),
                                                            p=_LOCALIZATION_P / _LOCALIZATION_P.sum()))],
    }


def _view_image(planned: tuple[int, int, int], shape: tuple[int, int], seed: int, hair_probability: float) -> np.ndarray:
    """One photograph of a lesion: the lesion's image, flipped by its view, with hair drawn for that view."""
    lesion, view, label = planned
    image, _, _ = make_lesion_image(shape, rng=np.random.default_rng([seed, lesion]), label=label)
    view_rng = np.random.default_rng([seed, lesion, view, 1])
    if view % 2 == 1:
        image = image[:, ::-1]
    if view >= 2:
        image = image[::-1]
    if view_rng.uniform() < hair_probability:
        image, _ = add_hair(np.ascontiguousarray(image), rng=view_rng)
    return np.ascontiguousarray(image)
