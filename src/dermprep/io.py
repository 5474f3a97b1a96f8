"""Reading and writing images and files: one decoder, a pixel limit, atomic writes.

- `read_rgb()` is the one image decoder of dermprep and dermmodels
  (training, caching, prediction, the folder tool): OpenCV, with the EXIF
  orientation applied, so every path sees the same upright image; the
  header is read first and images above ``max_pixels`` are refused before
  any memory is spent on them (decompression bombs).
- `atomic_write_bytes()` / `write_image()` / `atomic_path()`
  never leave a half-written file: they write to a new, unpredictable
  temporary file in the destination folder (``mkstemp``, which never
  follows an existing link) and rename it into place; the result gets the
  permissions a plain ``open()`` would give (``0o666`` minus the umask).
- `find_images()` lists image files below a folder, following
  symbolic links to folders (once each).
- `check_image_files()` checks a list of image files before a pipeline
  reads them: each a path to an existing, non-empty, complete file.
"""

from __future__ import annotations

import contextlib
import io as _io
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .validation import check_positive_int

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "ImageInfo",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_image_files",
    "find_images",
    "image_info",
    "read_image",
    "read_rgb",
    "remove_partial_files",
    "write_image",
]

#: File suffixes treated as images (case-insensitive).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

#: Default largest image accepted by the readers, in pixels (8000 x 8000).
MAX_PIXELS = 64_000_000

TEMP_MARK = ".dermprep-partial"


def _umask() -> int:
    # os.umask can only be read by setting it; do it once per process
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


@dataclass(frozen=True)
class ImageInfo:
    """What an image file's header says.

    Attributes
    ----------
    width, height : int
        As stored (before the EXIF orientation).
    channels : int
        1 (grey), 2 (grey + alpha), 3 (colour) or 4 (colour + alpha).
    depth : int
        Bits per sample, 8 or 16.
    orientation : int
        The EXIF orientation tag (1 = upright).
    """

    width: int
    height: int
    channels: int
    depth: int
    orientation: int = 1


def image_info(data: bytes | np.ndarray, name: str = "image") -> ImageInfo:
    """Read an encoded image's header (no pixels are decoded).

    Raises
    ------
    ValueError
        The data is not an image format that dermprep reads.
    """
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 - header parsing only

    raw = data.tobytes() if isinstance(data, np.ndarray) else bytes(data)
    try:
        with Image.open(_io.BytesIO(raw)) as image:
            mode = image.mode
            width, height = image.size
            orientation = int(image.getexif().get(0x0112, 1) or 1)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"{name} is not a readable image (corrupt or unsupported format): {exc}") from None
    channels = {"1": 1, "L": 1, "P": 3, "I": 1, "I;16": 1, "I;16B": 1, "I;16L": 1, "F": 1, "LA": 2, "La": 2,
                "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3, "CMYK": 4, "RGBA": 4, "RGBa": 4, "PA": 4}.get(mode, 3)
    depth = 16 if mode.startswith("I;16") or mode in ("I", "F") else 8
    return ImageInfo(width, height, channels, depth, orientation if 1 <= orientation <= 8 else 1)


def _read_bytes(path: str | os.PathLike[str]) -> np.ndarray:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike; got {type(path).__name__}")
    return np.fromfile(path, dtype=np.uint8)  # FileNotFoundError / IsADirectoryError name the path


def _check_pixels(info: ImageInfo, name: str, max_pixels: int) -> None:
    pixels = info.width * info.height
    if pixels > max_pixels:
        raise ValueError(
            f"{name} is {info.width}x{info.height} = {pixels:,} pixels, more than max_pixels={max_pixels:,} "
            "(a decompression bomb, or raise max_pixels for a genuinely huge image)"
        )
    if info.width < 1 or info.height < 1:
        raise ValueError(f"{name} has no pixels ({info.width}x{info.height})")


def read_rgb(path: str | os.PathLike[str], *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file as upright RGB uint8 (H, W, 3): JPEG, PNG, TIFF, BMP or WebP, any path.

    The EXIF orientation is applied. 16-bit images are scaled to 8 bits,
    grey images repeated to RGB and an alpha channel dropped (use
    `read_image()` to keep them).

    Parameters
    ----------
    path : str or path-like
    max_pixels : int
        Refuse images larger than this (checked on the header, before decoding).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        It is not a readable image (corrupt, empty or an unsupported format),
        or it is larger than ``max_pixels``.
    """
    max_pixels = check_positive_int(max_pixels, "max_pixels")
    data = _read_bytes(path)
    name = repr(os.fspath(path))
    if data.size == 0:
        raise ValueError(f"{name} is not a readable image (empty file)")
    _check_pixels(image_info(data, name), name, max_pixels)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{name} is not a readable image (corrupt or unsupported format)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_image(path: str | os.PathLike[str], *, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Read an image keeping what `read_rgb()` drops: its bit depth and alpha channel.

    Returns
    -------
    rgb : ndarray, shape (H, W, 3)
        uint8 for 8-bit files; float32 in [0, 1] for 16-bit files.
    alpha : ndarray, shape (H, W), or None
        The alpha channel in the file's own depth (uint8 or uint16).
    depth : int
        8 or 16.
    """
    max_pixels = check_positive_int(max_pixels, "max_pixels")
    data = _read_bytes(path)
    name = repr(os.fspath(path))
    if data.size == 0:
        raise ValueError(f"{name} is not a readable image (empty file)")
    info = image_info(data, name)
    _check_pixels(info, name, max_pixels)
    raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise ValueError(f"{name} is not a readable image (corrupt or unsupported format)")
    if raw.ndim == 3 and raw.shape[2] not in (3, 4):  # unusual channel counts: decode as colour
        raw = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if raw.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{name} has {raw.dtype} samples; dermprep reads 8- and 16-bit images")
    alpha = raw[..., 3].copy() if raw.ndim == 3 and raw.shape[2] == 4 else None
    colour = raw if raw.ndim == 2 else raw[..., :3]
    colour = cv2.cvtColor(colour, cv2.COLOR_GRAY2RGB) if colour.ndim == 2 else cv2.cvtColor(colour, cv2.COLOR_BGR2RGB)
    # IMREAD_UNCHANGED ignores the EXIF orientation (IMREAD_COLOR, used by read_rgb, applies it)
    colour = _orient(colour, info.orientation)
    alpha = None if alpha is None else _orient(alpha, info.orientation)
    depth = 16 if raw.dtype == np.uint16 else 8
    if depth == 16:
        colour = (colour.astype(np.float32) / np.float32(65535.0)).astype(np.float32)
    return np.ascontiguousarray(colour), alpha, depth


def _orient(image: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to a stored image."""
    ops = {2: [1], 3: [-1], 4: [0], 5: ["t"], 6: ["t", 1], 7: ["t", -1], 8: ["t", 0]}.get(orientation, [])
    for op in ops:
        image = cv2.transpose(image) if op == "t" else cv2.flip(image, op)
    return image


def find_images(root: str | os.PathLike[str]) -> list[Path]:
    """Image files below ``root`` (recursively, following links to folders once each), as sorted relative paths."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"root must be an existing folder; got {str(root)!r}")
    found = []
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        stat = os.stat(dirpath)
        if (stat.st_dev, stat.st_ino) in seen:  # a link loop, or the same folder reached twice
            dirnames[:] = []
            continue
        seen.add((stat.st_dev, stat.st_ino))
        for name in filenames:
            if name.lower().endswith(IMAGE_SUFFIXES) and TEMP_MARK not in name:
                found.append((Path(dirpath) / name).relative_to(root))
    return sorted(found)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a new temporary path next to ``path``; on success it is renamed to ``path``, on error removed.

    For writers that want a file name (``np.save``, Keras ``save_weights``,
    ``cv2.imwrite``). The temporary name is unpredictable and created
    exclusively, so a planted symbolic link is never followed. The file
    gets ``0o666`` minus the umask, like any file the user creates.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as temp:
    ...     _ = temp.write_text("done")
    >>> target.read_text()
    'done'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix, suffix = _temp_affixes(target)
    fd, temp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
    os.close(fd)
    try:
        yield Path(temp)
        os.chmod(temp, 0o666 & ~_UMASK)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _temp_affixes(target: Path) -> tuple[str, str]:
    """The prefix and suffix of `atomic_path()`'s temporary names for ``target``."""
    suffix = "".join(target.suffixes[-2:]) if target.suffixes else ""
    stem = target.name[: len(target.name) - len(suffix)][:100]  # long names: the temporary one must fit too
    return f".{stem}.", f"{TEMP_MARK}{suffix}"


def remove_partial_files(targets: Iterable[str | os.PathLike[str]]) -> int:
    """Remove the temporary files that `atomic_path()` left for ``targets`` when its process was killed.

    A process killed with ``SIGKILL`` (or by a power cut) cannot clean up:
    its half-written temporary file stays next to the target, hidden, and
    the target itself is untouched. A resumed run calls this for the files
    it is about to write; only temporaries of exactly those targets are
    removed, so runs writing other files of the same folder (shards) are
    not disturbed.

    Returns
    -------
    int
        The number of files removed.
    """
    if isinstance(targets, (str, bytes, os.PathLike)) or not isinstance(targets, Iterable):
        raise TypeError(f"targets must be an iterable of paths (a list, not one path); got {targets!r}")
    wanted: dict[Path, list[tuple[str, str]]] = {}
    for target in map(Path, targets):
        wanted.setdefault(target.parent, []).append(_temp_affixes(target))
    removed = 0
    for folder, affixes in wanted.items():
        try:
            names = [entry.name for entry in os.scandir(folder) if TEMP_MARK in entry.name]
        except FileNotFoundError:
            continue
        for name in names:
            for prefix, suffix in affixes:
                middle = name[len(prefix): len(name) - len(suffix)]
                if (name.startswith(prefix) and name.endswith(suffix) and len(middle) == 8
                        and middle.replace("_", "").isalnum()):  # mkstemp's eight random characters
                    try:
                        (folder / name).unlink()
                        removed += 1
                    except FileNotFoundError:
                        pass
                    break
    return removed


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see `atomic_path()`)."""
    with atomic_path(path) as temp, open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _jsonable(value: Any) -> Any:
    """NaN/inf -> None and NumPy scalars/arrays -> Python, recursively (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def atomic_write_json(path: str | os.PathLike[str], value: Any) -> None:
    """Write ``value`` as valid JSON (NaN and inf become ``null``), atomically."""
    import json  # noqa: PLC0415

    atomic_write_text(path, json.dumps(_jsonable(value), indent=2, allow_nan=False) + "\n")


def write_image(path: str | os.PathLike[str], image: np.ndarray, *, alpha: np.ndarray | None = None,
                depth: int = 8) -> None:
    """Encode an RGB image (uint8, or float32 in [0, 1]) and write it atomically; the format follows the suffix.

    ``alpha`` (H, W) is written as a fourth channel; ``depth=16`` writes 16-bit
    samples (PNG and TIFF only).
    """
    target = Path(path)
    rgb = np.asarray(image)
    if depth not in (8, 16):
        raise ValueError(f"depth must be 8 or 16; got {depth!r}")
    if depth == 16 and target.suffix.lower() not in (".png", ".tif", ".tiff"):
        raise ValueError(f"16-bit images can be written as PNG or TIFF only; got {target.suffix!r}")
    if rgb.dtype == np.float32:
        top = 65535.0 if depth == 16 else 255.0
        rgb = np.clip(np.rint(rgb * top), 0, top).astype(np.uint16 if depth == 16 else np.uint8)
    planes: Any = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb
    if alpha is not None:
        planes = np.dstack([planes, alpha.astype(planes.dtype)])
    ok, encoded = cv2.imencode(target.suffix if target.suffix else ".png", planes)
    if not ok:
        raise OSError(f"OpenCV could not encode {target.suffix or 'an image'} for {str(target)!r}")
    atomic_write_bytes(target, encoded.tobytes())


#: Files found complete by `check_image_files()`: (path, size, modification time), so a pipeline built once
#: per epoch reads each file's end once per process.
_COMPLETE: set[tuple[str, int, int]] = set()


def _incomplete(path: str, size: int) -> bool:
    """Whether a JPEG lacks its end marker or a PNG its IEND chunk (a truncated copy or download)."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".jpg", ".jpeg", ".png"):
        return False
    with open(path, "rb") as handle:
        handle.seek(max(0, size - 16))
        tail = handle.read()
    if suffix == ".png":
        return b"IEND" not in tail
    return not tail.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")


def check_image_files(paths: Any, name: str = "paths") -> np.ndarray:
    """Check a list of image files before anything reads them, and return them as a str array (N,).

    Each must be a path (str or path-like, never None), name an existing,
    non-empty regular file and, for JPEG and PNG, end the way a complete file
    does (a truncated copy or download is refused here, naming the file,
    rather than deep inside a pipeline). No pixels are decoded.

    Raises
    ------
    TypeError
        An entry is not a path.
    FileNotFoundError
        Files are missing (the first few are named, with the count).
    ValueError
        No paths, a folder, an empty or a truncated file.
    """
    if isinstance(paths, (str, os.PathLike)) or not isinstance(paths, Iterable):
        raise TypeError(f"{name} must be a sequence of image file paths; got {paths!r}")
    items = list(np.asarray(paths, dtype=object).ravel()) if isinstance(paths, np.ndarray) else list(paths)
    if not items:
        raise ValueError(f"{name} must name at least one image file; got none")
    for i, path in enumerate(items):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"{name}[{i}] must be a file path (str or os.PathLike); got {path!r} ({type(path).__name__})")
    files = [os.fspath(p) for p in items]
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        raise FileNotFoundError(f"{len(missing)} of the {len(files)} {name} do not exist, e.g. {missing[:5]}")
    for path in files:
        stat = os.stat(path)
        key = (path, stat.st_size, stat.st_mtime_ns)
        if key in _COMPLETE:
            continue
        if not os.path.isfile(path):
            raise ValueError(f"{name}: {path!r} is not a file")
        if stat.st_size == 0:
            raise ValueError(f"{name}: {path!r} is empty (0 bytes), not an image")
        if _incomplete(path, stat.st_size):
            raise ValueError(f"{name}: {path!r} is truncated (its image data does not end as a complete "
                             f"{os.path.splitext(path)[1].lstrip('.').upper()} file does): copy it again")
        _COMPLETE.add(key)
    return np.asarray(files, dtype=str)
