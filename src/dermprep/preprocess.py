"""From an image file to a model input, the same way for training and for prediction.

`Preprocessing` holds the steps and their settings; each step is
also a function of its own:

1. decode, upright (`dermprep.io.read_rgb()`, EXIF orientation applied);
2. remove hair at the file's own resolution (`dermprep.remove_hair()`,
   optional, cached on disk by `HairCache`);
3. frame to the target aspect (`frame()`: stretch, centre crop or pad)
   and resize;
4. optional Shades-of-Gray colour constancy
   (`dermprep.augment.functional.shades_of_gray()`).

A run of `dermmodels` stores its ``Preprocessing`` (``to_dict``), so
predictions on new images go through exactly the steps training saw.
`dermprep.tfdata.from_records()` runs ``Preprocessing.load`` inside
tf.data; ``load`` and `Preprocessing.load_many()` are its NumPy twins.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .io import MAX_PIXELS, image_info, read_rgb, write_image
from .validation import check_bool, check_choice, check_image, check_positive_int, check_size

__all__ = ["ASPECTS", "HairCache", "Preprocessing", "frame"]

#: Accepted values of ``aspect``.
ASPECTS = ("stretch", "crop", "pad")


def _check_size(image_size: Any) -> tuple[int, int]:
    return check_size(image_size, "image_size", minimum=16)


def frame(image: np.ndarray, image_size: tuple[int, int], aspect: str = "stretch") -> np.ndarray:
    """Fit an RGB image to ``image_size = (height, width)``.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), uint8 or float32 in [0, 1]
    image_size : int or (int, int)
        ``(height, width)``, or one int for a square.
    aspect : {"stretch", "crop", "pad"}
        ``"stretch"`` resizes to the size (aspect changes when the shapes
        differ); ``"crop"`` cuts the central region of the target aspect
        first (the lesion, usually centred, keeps its shape);
        ``"pad"`` letterboxes with black.

    Returns
    -------
    ndarray, shape image_size + (3,), same dtype

    Examples
    --------
    >>> import numpy as np
    >>> frame(np.zeros((150, 200, 3), np.uint8), (224, 224), "crop").shape
    (224, 224, 3)
    """
    image = check_image(image, "image", allow_batch=False)
    height, width = _check_size(image_size)
    aspect = check_choice(aspect, "aspect", ASPECTS)
    h, w = image.shape[:2]
    if aspect == "crop":
        crop_h, crop_w = min(h, round(w * height / width)), min(w, round(h * width / height))
        top, left = (h - crop_h) // 2, (w - crop_w) // 2
        image = image[top : top + crop_h, left : left + crop_w]
    elif aspect == "pad":
        scale = min(height / h, width / w)
        inner = (max(1, round(h * scale)), max(1, round(w * scale)))
        resized = _resize(image, inner)
        out = np.zeros((height, width, 3), image.dtype)
        top, left = (height - inner[0]) // 2, (width - inner[1]) // 2
        out[top : top + inner[0], left : left + inner[1]] = resized
        return out
    return _resize(image, (height, width))


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if image.shape[:2] == tuple(size):
        return np.ascontiguousarray(image)
    shrinking = size[0] < image.shape[0] or size[1] < image.shape[1]
    return cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


class HairCache:
    """Hair-free images on disk, so hair removal runs once per image across epochs and runs.

    An entry is keyed on the source file's content (a SHA-1 of its bytes),
    the hair-removal options and the dermprep version: a file replaced by
    another image gets a new entry even with the old size and modification
    time, and copies of one image share theirs. An entry is served only when
    it has the source's upright shape (read from the source's header); one
    that does not (replaced, or damaged) is recomputed and rewritten. Entries
    are PNG (lossless), written atomically.
    """

    def __init__(self, directory: str | os.PathLike[str], options: Mapping[str, Any]) -> None:
        from . import __version__  # noqa: PLC0415

        self.directory = Path(directory)
        self._key = (repr(sorted(options.items())) + __version__).encode()

    def _entry(self, source: str | os.PathLike[str], data: bytes) -> Path:
        digest = hashlib.sha1(self._key + b"|" + data).hexdigest()[:16]
        return self.directory / f"{Path(source).stem}-{digest}.png"

    def path_for(self, source: str | os.PathLike[str]) -> Path:
        """Where the hair-free version of ``source`` is (or will be) kept."""
        return self._entry(source, Path(source).read_bytes())

    def get(self, source: str | os.PathLike[str]) -> np.ndarray | None:
        """The cached hair-free image of ``source``, or None (no entry, or one that is not of this image)."""
        data = Path(source).read_bytes()
        path = self._entry(source, data)
        if not path.is_file():
            return None
        try:
            info = image_info(data, repr(os.fspath(source)))
            image = read_rgb(path)
        except ValueError:  # an unreadable source (the caller's read says why) or entry (recomputed)
            return None
        upright = (info.width, info.height) if info.orientation >= 5 else (info.height, info.width)
        return image if image.shape[:2] == upright else None

    def put(self, source: str | os.PathLike[str], image: np.ndarray) -> None:
        """Keep the hair-free ``image`` of ``source``."""
        write_image(self.path_for(source), image)


@dataclass(frozen=True)
class Preprocessing:
    """How an image file becomes a model input (see the module docstring).

    Parameters
    ----------
    image_size : (int, int)
        Output ``(height, width)``.
    aspect : {"stretch", "crop", "pad"}
        See `frame()`.
    remove_hair : bool
        Remove hair (Dull Razor) at the file's own resolution, before resizing.
    hair_options : dict
        Options for `dermprep.remove_hair()`.
    shades_of_gray : bool
        Shades-of-Gray colour constancy (power 6) after resizing.
    max_pixels : int
        Largest image file accepted (see `dermprep.io.read_rgb()`).

    Examples
    --------
    >>> p = Preprocessing(image_size=(192, 192), aspect="crop")
    >>> Preprocessing.from_dict(p.to_dict()) == p
    True
    """

    image_size: tuple[int, int] = (224, 224)
    aspect: str = "stretch"
    remove_hair: bool = False
    hair_options: Mapping[str, Any] = field(default_factory=dict)
    shades_of_gray: bool = False
    max_pixels: int = MAX_PIXELS

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_size", _check_size(self.image_size))
        check_choice(self.aspect, "aspect", ASPECTS)
        check_bool(self.remove_hair, "remove_hair")
        check_bool(self.shades_of_gray, "shades_of_gray")
        check_positive_int(self.max_pixels, "max_pixels")
        if not isinstance(self.hair_options, Mapping):
            raise TypeError(f"hair_options must be a dict; got {self.hair_options!r}")
        if self.hair_options and not self.remove_hair:
            raise ValueError("hair_options are only used with remove_hair=True")
        if self.remove_hair:  # numba loads with the hair module: only where hair is removed
            from .hair import check_hair_options  # noqa: PLC0415

            object.__setattr__(self, "hair_options", dict(check_hair_options(**self.hair_options)))
        else:
            object.__setattr__(self, "hair_options", {})

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-serialisable); `from_dict()` rebuilds it."""
        out = asdict(self)
        out["image_size"] = list(self.image_size)
        out["hair_options"] = dict(self.hair_options)
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Preprocessing:
        """Rebuild from `to_dict()`'s output; unknown keys are refused."""
        if not isinstance(values, Mapping):
            raise TypeError(f"values must be a dict; got {type(values).__name__}")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown preprocessing setting(s) {unknown}; expected any of {sorted(known)}")
        values = dict(values)
        if "image_size" in values:
            values["image_size"] = tuple(values["image_size"])
        return cls(**values)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Apply the steps after decoding to an RGB image (H, W, 3) at its own resolution (uint8, or float32 in
        [0, 1])."""
        image = check_image(image, "image", allow_batch=False)
        if self.remove_hair:
            from .hair import remove_hair  # noqa: PLC0415

            image = remove_hair(image, **self.hair_options)  # type: ignore[assignment]
        return self._fit(image)

    def _fit(self, image: np.ndarray) -> np.ndarray:
        """The steps after hair removal: frame and resize, then the optional colour constancy."""
        out = frame(image, self.image_size, self.aspect)
        if not self.shades_of_gray:
            return out
        from .augment.functional import shades_of_gray  # noqa: PLC0415

        return shades_of_gray(out)

    def load(self, path: str | os.PathLike[str], *, cache: HairCache | None = None) -> np.ndarray:
        """Read a file and apply every step: RGB uint8, shape ``image_size + (3,)``.

        With a ``cache`` holding the file's hair-free image, the file is not
        decoded and hair removal (numba) is not even imported.

        Raises
        ------
        FileNotFoundError, ValueError
            The file is missing, not an image, or too large; the message names it.
        """
        if cache is not None and self.remove_hair:
            hair_free = cache.get(path)
            if hair_free is not None:
                return self._fit(hair_free)
        image = read_rgb(path, max_pixels=self.max_pixels)
        if min(image.shape[:2]) < 16:
            raise ValueError(f"{os.fspath(path)!r} is too small ({image.shape[1]}x{image.shape[0]}; "
                             "at least 16x16 needed)")
        if self.remove_hair:
            from .hair import remove_hair  # noqa: PLC0415

            image = remove_hair(image, **self.hair_options)  # type: ignore[assignment]
            if cache is not None:
                cache.put(path, image)
        return self._fit(image)

    def warm_up(self) -> None:
        """Load what `load()` will run (numba's hair-removal kernels, from its on-disk cache) now.

        Call it in a parent process before it forks data-loader workers: they
        inherit the loaded kernels and start at once. Without hair removal
        there is nothing to load.
        """
        if self.remove_hair:
            from .hair import remove_hair  # noqa: PLC0415

            remove_hair(np.full((32, 32, 3), 128, np.uint8), **self.hair_options)

    def load_many(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        workers: int | None = None,
        progress: bool | Callable[[int], None] = False,
    ) -> np.ndarray:
        """Load every file into one array (N, height, width, 3), uint8, in order (threads; decoding and
        hair removal release the GIL).

        Parameters
        ----------
        paths : sequence of paths
        cache_dir : path, optional
            A `HairCache` folder (with ``remove_hair``).
        workers : int, optional
            Threads (default: the number of cores).
        progress : bool or callable
            Show a progress bar, or call ``progress(n)`` as images are done.

        Raises
        ------
        ValueError, FileNotFoundError
            The first file that cannot be loaded, by name.
        """
        paths = list(paths)
        if not paths:
            raise ValueError("paths must hold at least one image file; got none")
        workers = (os.cpu_count() or 1) if workers is None else check_positive_int(workers, "workers")
        cache = HairCache(cache_dir, self.hair_options) if (cache_dir is not None and self.remove_hair) else None
        out = np.empty((len(paths), *self.image_size, 3), np.uint8)
        bar = None
        if progress is True:
            from .progress import progress_bar  # noqa: PLC0415

            bar = progress_bar(total=len(paths), desc="loading images", unit="img")
        report = bar.update if bar is not None else (progress if callable(progress) else None)

        def load(i: int) -> int:
            out[i] = self.load(paths[i], cache=cache)
            return i

        try:
            with cf.ThreadPoolExecutor(max_workers=max(1, min(workers, len(paths)))) as pool:
                chunk = 64
                for start in range(0, len(paths), chunk):
                    for _ in pool.map(load, range(start, min(start + chunk, len(paths)))):
                        if report is not None:
                            report(1)
        finally:
            if bar is not None:
                bar.close()
        return out
