"""Hair removal over whole image folders (what ``dermprep remove-hair`` runs).

Safe by construction: inputs are only read; every output is written to a
temporary file in its final folder and renamed into place (atomic on POSIX),
so an interrupted run never leaves a half-written image; a rerun skips the
outputs that exist (resumable); unreadable, oversized or failing files are
skipped and reported. Bit depth (8/16) and an alpha channel are kept.
Worker processes die with the parent and are never more than the cores or
the files.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .io import MAX_PIXELS, find_images, read_image, remove_partial_files, write_image
from .validation import check_positive_int

__all__ = ["FolderReport", "MASK_SUFFIX", "mask_name", "remove_hair_folder"]

#: Appended to an image's file name to name its hair mask (``a/b.jpg`` -> ``a/b.jpg.mask.png``).
MASK_SUFFIX = ".mask.png"


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
    notes : list of str
        Things the run did that the user should know (e.g. fewer workers than asked).
    """

    processed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed


def mask_name(relative: str | os.PathLike[str]) -> Path:
    """The hair mask's path for an image's relative path: the full file name plus `MASK_SUFFIX`.

    Unique per image: ``twin.jpg`` and ``twin.png`` get ``twin.jpg.mask.png`` and ``twin.png.mask.png``.
    """
    relative = Path(relative)
    return relative.with_name(relative.name + MASK_SUFFIX)


def _process_one(source: Path, target: Path, mask_target: Path | None, options: dict[str, Any],
                 max_pixels: int) -> str | None:
    """Process one file; return None on success or the reason it failed."""
    from .hair import remove_hair  # noqa: PLC0415 - imported in spawned workers

    try:
        rgb, alpha, depth = read_image(source, max_pixels=max_pixels)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    except ValueError as exc:
        return str(exc).replace(repr(str(source)), "file")
    if min(rgb.shape[:2]) < 16:
        return f"image too small ({rgb.shape[1]}x{rgb.shape[0]}; at least 16x16 needed)"
    restored, mask = remove_hair(rgb, return_mask=True, **options)
    try:
        write_image(target, restored, alpha=alpha, depth=depth)
        if mask_target is not None:
            write_image(mask_target, mask.astype(np.uint8) * 255)
    except (OSError, ValueError) as exc:
        return f"cannot write output: {exc}"
    return None


def _process_chunk(jobs: list[tuple[str, str, str | None]], options: dict[str, Any], max_pixels: int) -> list[str | None]:
    return [_process_one(Path(s), Path(t), Path(m) if m else None, options, max_pixels) for s, t, m in jobs]


def _die_with_parent(parent: int) -> None:
    """Worker initializer: end this process when the parent goes (even on ``kill -9``)."""
    import cv2  # noqa: PLC0415

    cv2.setNumThreads(1)
    if sys.platform.startswith("linux"):
        try:
            import ctypes  # noqa: PLC0415
            import signal  # noqa: PLC0415

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:  # pragma: no cover - unusual libc
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:  # other systems (and a belt to the braces above)
        import time  # noqa: PLC0415

        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


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
    progress: bool | None = None,
    max_pixels: int = MAX_PIXELS,
    **options: Any,
) -> FolderReport:
    """Remove hair from every image below ``input_dir`` into ``output_dir``.

    Folder structure and file names (and so formats) are kept; links to
    folders are followed. Outputs that exist are skipped, so an interrupted
    run can be resumed by running it again.

    Parameters
    ----------
    input_dir, output_dir : path
        Source and destination folders; neither may be inside the other.
    masks_dir : path, optional
        Also write each hair mask as a PNG (255 = hair), named
        `mask_name()` (the image's file name plus ``.mask.png``). A
        folder of its own: not the input or output folder, nor inside them.
    workers : int, optional
        Processes (spawned; one image at a time each); default and cap: the
        number of cores, and never more than the files. ``1`` runs in this
        process.
    shard : (int, int), optional
        ``(index, count)``: process only the files whose relative path
        hashes to ``index`` of ``count`` shards (stable across machines and
        runs), so ``count`` machines sharing one archive each take
        ``shard=(i, count)`` and together cover every file exactly once.
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal).
    max_pixels : int
        Larger images are refused (reported as failed) before decoding.
    **options
        Passed to `dermprep.remove_hair()`.

    Returns
    -------
    FolderReport
    """
    source_root, target_root, mask_root = _check_folders(input_dir, output_dir, masks_dir)
    workers = None if workers is None else check_positive_int(workers, "workers")
    max_pixels = check_positive_int(max_pixels, "max_pixels")
    options = _check_options(options)
    shard = _check_shard(shard)

    report = FolderReport()
    jobs = _plan_jobs(source_root, target_root, mask_root, shard, report)
    stale = remove_partial_files(path for job in jobs for path in job[1:] if path is not None)
    if stale:
        report.notes.append(f"removed {stale} half-written temporary file(s) left by an interrupted run")
    workers = _worker_count(workers, len(jobs), report)
    relative_of = {job[0]: str(Path(job[0]).relative_to(source_root)) for job in jobs}
    _run_jobs(jobs, options, max_pixels, workers, report, relative_of, progress)
    report.processed.sort()
    return report


def _check_folders(input_dir: Any, output_dir: Any, masks_dir: Any) -> tuple[Path, Path, Path | None]:
    """The input, output and masks folders, resolved: the input exists, and no two of them nest."""
    source_root = Path(input_dir).resolve()
    target_root = Path(output_dir).resolve()
    mask_root = Path(masks_dir).resolve() if masks_dir is not None else None
    if not source_root.is_dir():
        raise FileNotFoundError(f"input_dir must be an existing folder; got {str(input_dir)!r}")

    def nested(a: Path, b: Path) -> bool:
        return a == b or a in b.parents or b in a.parents

    for name, root in (("output_dir", target_root), ("masks_dir", mask_root)):
        if root is not None and nested(root, source_root):
            raise ValueError(
                f"{name} must not be input_dir or inside it (or contain it), so inputs are never "
                f"touched; got {name}={str(root)!r}, input_dir={str(source_root)!r}"
            )
    if mask_root is not None and nested(mask_root, target_root):
        raise ValueError(f"masks_dir must be a folder of its own, not output_dir or inside it (or containing it), "
                         f"so a mask never replaces an output; got masks_dir={str(mask_root)!r}, "
                         f"output_dir={str(target_root)!r}")
    return source_root, target_root, mask_root


def _check_options(options: dict[str, Any]) -> dict[str, Any]:
    """`dermprep.remove_hair()`'s options, checked; ``method`` kept only where it is not the default."""
    from .hair import check_hair_options  # noqa: PLC0415

    method = options.pop("method", "dullrazor")
    options = check_hair_options(method, **options)
    if method != "dullrazor":
        options["method"] = method
    return options


def _check_shard(shard: Any) -> tuple[int, int] | None:
    """``(index, count)`` with ``0 <= index < count``, or None."""
    if shard is None:
        return None
    if (
        not isinstance(shard, (tuple, list)) or len(shard) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in shard)
        or not 0 <= shard[0] < shard[1]
    ):
        raise ValueError(f"shard must be (index, count) with 0 <= index < count; got {shard!r}")
    return int(shard[0]), int(shard[1])


def _plan_jobs(source_root: Path, target_root: Path, mask_root: Path | None, shard: tuple[int, int] | None,
               report: FolderReport) -> list[tuple[str, str, str | None]]:
    """(source, target, mask target) of every image of this shard still to do; those done go to ``skipped``."""
    jobs: list[tuple[str, str, str | None]] = []
    for relative in find_images(source_root):
        if shard is not None and _shard_of(relative, shard[1]) != shard[0]:
            continue
        target = target_root / relative
        mask_target = mask_root / mask_name(relative) if mask_root is not None else None
        if target.exists() and (mask_target is None or mask_target.exists()):
            report.skipped.append(str(relative))
            continue
        jobs.append((str(source_root / relative), str(target), str(mask_target) if mask_target else None))
    return jobs


def _worker_count(workers: int | None, jobs: int, report: FolderReport) -> int:
    """Processes to use: as asked (default: the cores), never more than the cores or the files."""
    cores = os.cpu_count() or 1
    requested = workers or cores
    count = max(1, min(requested, cores, jobs))
    if count < requested and jobs:
        report.notes.append(f"using {count} worker process(es), not {requested}: "
                            f"{cores} cores and {jobs} file(s) to do")
    return count


def _run_jobs(jobs: list[tuple[str, str, str | None]], options: dict[str, Any], max_pixels: int, workers: int,
              report: FolderReport, relative_of: dict[str, str], progress: bool | None) -> None:
    """Do the jobs in this process (one worker) or a pool, retrying once what a crashed worker left."""
    from .progress import progress_bar  # noqa: PLC0415

    bar = progress_bar(total=len(jobs), desc="remove-hair", unit="img", enabled=progress if jobs else False)
    try:
        if workers == 1:
            for job in jobs:
                reason = _process_chunk([job], options, max_pixels)[0]
                _record(report, relative_of[job[0]], reason)
                bar.update(1)
            return
        remaining = _run_pool(jobs, options, max_pixels, workers, report, relative_of, bar)
        if remaining:  # a worker crashed: files written before stay done, the others get one more try each
            report.notes.append(f"a worker process crashed; retrying {len(remaining)} unfinished file(s) one by one")
            left = _run_pool(remaining, options, max_pixels, min(workers, len(remaining)), report, relative_of,
                             bar, chunk=1)
            for job in left:
                _record(report, relative_of[job[0]], "a worker process crashed on this file (twice)")
    finally:
        bar.close()


def _run_pool(jobs: list[tuple[str, str, str | None]], options: dict[str, Any], max_pixels: int, workers: int,
              report: FolderReport, relative_of: dict[str, str], bar: Any,
              chunk: int | None = None) -> list[tuple[str, str, str | None]]:
    """Run jobs in a process pool; return the jobs left undone by a crashed worker."""
    size = chunk or max(1, min(16, len(jobs) // (workers * 4) or 1))
    batches = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    context = multiprocessing.get_context("spawn")  # fork + OpenCV/numba threads can hang
    undone: list[tuple[str, str, str | None]] = []
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_die_with_parent,
                                initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(_process_chunk, batch, options, max_pixels): batch for batch in batches}
        for future in cf.as_completed(futures):
            batch = futures[future]
            try:
                reasons = future.result()
            except cf.process.BrokenProcessPool:
                for job in batch:  # what the dead worker finished is on disk; the rest is redone
                    done = Path(job[1]).exists() and (job[2] is None or Path(job[2]).exists())
                    if done:
                        _record(report, relative_of[job[0]], None)
                    else:
                        undone.append(job)
                bar.update(len(batch))
                continue
            except Exception as exc:  # noqa: BLE001 - an unexpected error in a worker: report its files
                reasons = [f"worker failed: {exc!r}"] * len(batch)
            for job, reason in zip(batch, reasons, strict=True):
                _record(report, relative_of[job[0]], reason)
            bar.update(len(batch))
    return undone


def _record(report: FolderReport, relative: str, reason: str | None) -> None:
    if reason is None:
        report.processed.append(relative)
    else:
        report.failed[relative] = reason
