"""Hair removal over whole image folders (what ``dermprep remove-hair`` runs).

Safe by construction: inputs are only read; every output is written to a
temporary file in its final folder and renamed into place (atomic on POSIX),
so an interrupted run never leaves a half-written image; a rerun skips the
outputs that exist (resumable); unreadable files are skipped and reported.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

__all__ = ["FolderReport", "IMAGE_SUFFIXES", "find_images", "read_rgb", "remove_hair_folder"]

#: File suffixes treated as images (case-insensitive).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
_TEMP_MARK = ".dermprep-partial"


@dataclass
class FolderReport:
    """What a folder run did.

    Attributes
    ----------
    processed : list of str
        Relative paths written in this run.
    skipped : list of str
        Relative paths whose outputs already existed (resumed runs).
    failed : dict of str to str
        Relative path -> reason, for files that could not be read or written.
    """

    processed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed


def find_images(root: Path) -> list[Path]:
    """Image files below ``root`` (recursively), as sorted relative paths."""
    found = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if name.lower().endswith(IMAGE_SUFFIXES) and _TEMP_MARK not in name:
                found.append((Path(dirpath) / name).relative_to(root))
    return sorted(found)


def _mask_path(masks_dir: Path, relative: Path) -> Path:
    return masks_dir / relative.with_suffix(".png")


def _write_atomic(path: Path, image_bgr_or_gray: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.stem}", suffix=f"{_TEMP_MARK}{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        if not cv2.imwrite(temp, image_bgr_or_gray):
            raise OSError(f"OpenCV could not encode {path.suffix} to {temp}")
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as RGB uint8 (H, W, 3); any path (also non-ASCII), JPEG/PNG/TIFF/BMP.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        It is not a readable image (corrupt, empty or an unsupported format).
    """
    data = np.fromfile(path, dtype=np.uint8)  # FileNotFoundError names the path
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise ValueError(f"{os.fspath(path)!r} is not a readable image (corrupt or unsupported format)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _process_one(
    source: Path, target: Path, mask_target: Path | None, options: dict[str, Any]
) -> str | None:
    """Process one file; return None on success or the reason it failed."""
    from .hair import remove_hair  # noqa: PLC0415 - imported in spawned workers

    try:
        rgb = read_rgb(source)
    except OSError as exc:
        return f"cannot read: {exc}"
    except ValueError:
        return "not a readable image (corrupt or unsupported format)"
    if min(rgb.shape[:2]) < 16:
        return f"image too small ({rgb.shape[1]}x{rgb.shape[0]}; at least 16x16 needed)"
    restored, mask = remove_hair(rgb, return_mask=True, **options)
    try:
        _write_atomic(target, cv2.cvtColor(restored, cv2.COLOR_RGB2BGR))
        if mask_target is not None:
            _write_atomic(mask_target, mask.astype(np.uint8) * 255)
    except OSError as exc:
        return f"cannot write output: {exc}"
    return None


def _process_chunk(jobs: list[tuple[str, str, str | None]], options: dict[str, Any]) -> list[str | None]:
    cv2.setNumThreads(1)
    return [_process_one(Path(s), Path(t), Path(m) if m else None, options) for s, t, m in jobs]


def _shard_of(relative: Path, count: int) -> int:
    """Stable shard of a relative path (the same on every machine and Python version)."""
    import hashlib  # noqa: PLC0415

    digest = hashlib.blake2b(relative.as_posix().encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def remove_hair_folder(
    input_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    masks_dir: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    shard: tuple[int, int] | None = None,
    progress: bool = True,
    **options: Any,
) -> FolderReport:
    """Remove hair from every image below ``input_dir`` into ``output_dir``.

    Folder structure and file names (and so formats) are kept. Outputs that
    exist are skipped, so an interrupted run can be resumed by running it
    again.

    Parameters
    ----------
    input_dir, output_dir : path
        Source and destination folders; the destination must not be inside
        the source (and vice versa).
    masks_dir : path, optional
        Also write each hair mask as a PNG (255 = hair) at the same relative
        path.
    workers : int, optional
        Processes (spawned, one image at a time each); default: all cores.
        ``1`` runs in this process.
    shard : (int, int), optional
        ``(index, count)``: process only the files whose relative path
        hashes to ``index`` of ``count`` shards (stable across machines and
        runs), so ``count`` machines sharing one archive each take
        ``shard=(i, count)`` and together cover every file exactly once.
    progress : bool
        Show a progress bar.
    **options
        Passed to :func:`dermprep.remove_hair`.

    Returns
    -------
    FolderReport
    """
    from .hair import dull_razor_params  # noqa: PLC0415

    source_root = Path(input_dir).resolve()
    target_root = Path(output_dir).resolve()
    mask_root = Path(masks_dir).resolve() if masks_dir is not None else None
    if not source_root.is_dir():
        raise FileNotFoundError(f"input_dir must be an existing folder; got {str(input_dir)!r}")
    for name, root in (("output_dir", target_root), ("masks_dir", mask_root)):
        if root is None:
            continue
        if root == source_root or source_root in root.parents or root in source_root.parents:
            raise ValueError(
                f"{name} must not be input_dir or inside it (or contain it), so inputs are never "
                f"touched; got {name}={str(root)!r}, input_dir={str(source_root)!r}"
            )
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1; got {workers!r}")
    if options.get("method", "dullrazor") == "dullrazor":
        dull_razor_params((450, 600), **{k: v for k, v in options.items() if k != "method"})
    if shard is not None:
        if (
            not isinstance(shard, (tuple, list)) or len(shard) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in shard)
            or not 0 <= shard[0] < shard[1]
        ):
            raise ValueError(f"shard must be (index, count) with 0 <= index < count; got {shard!r}")
    workers = workers or os.cpu_count() or 1

    report = FolderReport()
    jobs: list[tuple[str, str, str | None]] = []
    for relative in find_images(source_root):
        if shard is not None and _shard_of(relative, shard[1]) != shard[0]:
            continue
        target = target_root / relative
        mask_target = _mask_path(mask_root, relative) if mask_root is not None else None
        if target.exists() and (mask_target is None or mask_target.exists()):
            report.skipped.append(str(relative))
            continue
        jobs.append((str(source_root / relative), str(target), str(mask_target) if mask_target else None))

    relative_of = {job[0]: str(Path(job[0]).relative_to(source_root)) for job in jobs}
    bar = tqdm(total=len(jobs), unit="img", disable=not progress or not jobs, desc="remove-hair")
    try:
        if workers == 1 or len(jobs) <= 1:
            for job in jobs:
                reason = _process_chunk([job], options)[0]
                _record(report, relative_of[job[0]], reason)
                bar.update(1)
        else:
            chunk = max(1, min(16, len(jobs) // (workers * 4) or 1))
            batches = [jobs[i : i + chunk] for i in range(0, len(jobs), chunk)]
            context = multiprocessing.get_context("spawn")  # fork + cv2 threads can hang
            with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                futures = {pool.submit(_process_chunk, batch, options): batch for batch in batches}
                for future in cf.as_completed(futures):
                    batch = futures[future]
                    try:
                        reasons = future.result()
                    except Exception as exc:  # a worker crashed: report its files, keep going
                        reasons = [f"worker failed: {exc!r}"] * len(batch)
                    for job, reason in zip(batch, reasons, strict=True):
                        _record(report, relative_of[job[0]], reason)
                    bar.update(len(batch))
    finally:
        bar.close()
    report.processed.sort()
    return report


def _record(report: FolderReport, relative: str, reason: str | None) -> None:
    if reason is None:
        report.processed.append(relative)
    else:
        report.failed[relative] = reason
