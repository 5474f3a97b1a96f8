"""Public NumPy API of hair removal: `remove_hair()` and `hair_mask()`."""

from __future__ import annotations

import functools
import itertools
import os
import threading
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

import cv2
import numba
import numpy as np

from ..validation import (
    check_bool,
    check_choice,
    check_image,
    check_label_mask,
    check_number,
    check_positive_int,
    is_integer,
)
from . import _kernels, _workspace
from ._lesion import LESION_MARGIN, lesion_grid
from ._opencv import opencv_hair_mask, opencv_remove_hair

__all__ = ["DullRazorParams", "check_hair_options", "dull_razor_params", "hair_mask", "remove_hair", "METHODS"]

#: Methods accepted by ``method=``.
METHODS = ("dullrazor", "opencv")

_REFERENCE_SHORT_SIDE = 450.0  # parameters below are tuned at HAM10000's 600x450 and scaled
_MIN_SIZE = 16


@dataclass(frozen=True)
class DullRazorParams:
    """Parameters of the Dull Razor algorithm, in pixels of the image processed.

    Use `dull_razor_params()` to get the defaults for an image size; any
    field can be overridden through the keyword arguments of
    `remove_hair()` and `hair_mask()`.

    Attributes
    ----------
    line_length : int
        Length of the linear structuring elements (odd). Must exceed the width
        of the thickest hair; 11 at 600x450.
    threshold : int
        Closing residue (grey levels, 0-255) above which a pixel is a dark-hair
        candidate.
    lesion_threshold : int
        The same inside the lesion region (stricter: the lesion's own dark
        structures are there).
    light_threshold : int
        Opening residue above which a pixel is a light-hair candidate.
    low_threshold : int
        Residue above which pixels next to verified hair are added to it
        (hysteresis: catches tapering tips and anti-aliased edges).
    lesion_low_threshold : int
        The same for dark residues inside the lesion region (light ones keep
        ``low_threshold``). The lesion's own texture exceeds ``low_threshold``
        nearly everywhere there, so growth at it joined a hair to that
        texture, and lesion safety then left the whole as the lesion's own (a
        mesh, not a line).
    thick_hair_threshold : int
        Mean dark residue at or above which a long structure touching the
        lesion region counts as hair although it is wider than a thin line
        (up to ``max_width`` on average instead of 0.6 of it): thick dark hair
        lying inside a lesion, far darker against its surroundings than the
        lesion's own network.
    detect_light : bool
        Also detect light (blond, grey, white) hair with grey openings.
    min_length : int
        Shortest straight run (pixels) a structure must have to count as hair.
    edge_min_length : int
        The same for hair cut by the image border, which shows only a stub:
        a connected group of candidates touching the border (at most
        ``min_length`` x ``max_width`` pixels, on the pooled level where
        ``pool`` is 2) is hair as a whole when, in the orientation in which it
        is narrowest, it is at least this long, at most half as wide (and
        ``max_width``), at least 11.25 degrees off each edge it touches, and
        darker than the skin by ``threshold`` on average, with red and blue
        darkened in proportion as hair darkens them (not a red vessel, not
        ink, not light hair). At ``min_length`` or more (after pooling), the
        border is like any other end of a run: no stubs.
    max_width : int
        Widest a structure may be (pixels) to count as hair.
    pool : int
        Morphology and verification run on a ``pool`` x ``pool`` min-pooled
        (dark hair) and max-pooled (light hair) pyramid level; 2 for images
        whose short side is at least 300 px, else 1 (full resolution). The
        final mask is decided per full-resolution pixel.
    grow : int
        Hysteresis growth steps (pixels).
    dilation : int
        Radius (pixels) by which the hair mask is dilated before replacement,
        so that hair borders are replaced too.
    smooth : bool
        Smooth replaced pixels with a 3x3 mean (the last step of Lee et al.'s
        Dull Razor; off by default: the push-pull fill is smooth already).
    edge_threshold : int
        Pixels connected to hair that it still darkens (or lightens) by more
        than this against the background are its soft edges, shadow and
        tapering tips: replaced too, but not counted in the hair mask.
    edge_radius : int
        How far (pixels, stepping through such faint pixels) they are
        followed from the hair mask; 0 turns it off. Never into the lesion.
    lesion_safety : bool
        Leave the lesion's own structures alone: inside the lesion (the
        ``protect`` mask where given, else `estimate_lesion()`), only
        structures that continue outside it, or that are long, thin and dark,
        count as hair; pigment network, dots, globules, streaks and white
        lines do not.
    """

    line_length: int = 13
    threshold: int = 20
    lesion_threshold: int = 23
    light_threshold: int = 32
    low_threshold: int = 10
    lesion_low_threshold: int = 15
    thick_hair_threshold: int = 50
    detect_light: bool = True
    min_length: int = 30
    edge_min_length: int = 10
    max_width: int = 14
    pool: int = 2
    grow: int = 2
    dilation: int = 1
    smooth: bool = False
    edge_threshold: int = 6
    edge_radius: int = 2
    lesion_safety: bool = True
    detect_thickets: bool = True
    thicket_density: float = 0.25

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            _check_field(name, value)


def _check_field(name: str, value: Any) -> None:
    """Check one `DullRazorParams` field (the same rules for parameters and user overrides)."""
    if name in ("detect_light", "smooth", "lesion_safety", "detect_thickets"):
        check_bool(value, name)
    elif name == "thicket_density":
        check_number(value, name, lower=0.0, upper=1.0, lower_open=True)
    elif name in ("threshold", "lesion_threshold", "light_threshold", "low_threshold", "lesion_low_threshold",
                  "thick_hair_threshold", "edge_threshold"):
        if not is_integer(value):
            raise TypeError(f"{name} must be an integer grey level in [0, 254]; got {value!r} ({type(value).__name__})")
        if not 0 <= value <= 254:
            raise ValueError(f"{name} must be an integer grey level in [0, 254]; got {value!r}")
    elif name in ("grow", "dilation", "edge_radius"):
        check_positive_int(value, name, minimum=0)
    else:
        check_positive_int(value, name, minimum=1)
        if name == "line_length" and (value % 2 == 0 or value < 3):
            raise ValueError(f"line_length must be an odd integer >= 3; got {value!r}")


_FIELDS = tuple(f.name for f in fields(DullRazorParams))

#: The one parameter record the kernels receive (numba types a namedtuple by its fields): every
#: `DullRazorParams` field by name, plus what each call decides: ``replace`` (replace hair, or only detect
#: it) and ``rounding`` (0.5 for uint8 output, 0 for float32). It is built from the dataclass by keyword,
#: so a new field reaches the kernels without plumbing and no argument order can be wrong.
KernelParams = namedtuple("KernelParams", [*_FIELDS, "replace", "rounding"])  # type: ignore[misc]

# Each field in the type of its default (a NumPy integer would make numba compile another signature).
_FIELD_TYPES = {f.name: type(f.default) for f in fields(DullRazorParams)}


def kernel_params(params: DullRazorParams, *, replace_hair: bool, rounding: float) -> Any:
    """The `KernelParams` record of ``params`` for one call of the kernels."""
    values = {name: _FIELD_TYPES[name](getattr(params, name)) for name in _FIELDS}
    return KernelParams(**values, replace=bool(replace_hair), rounding=float(rounding))


def check_hair_options(method: Any = "dullrazor", **options: Any) -> dict[str, Any]:
    """Validate a hair-removal method and its option overrides without an image; return the options.

    Raises the same errors `remove_hair()` would: an unknown method, an
    unknown option name, a value of the wrong type or range, or options
    given to ``method="opencv"`` (which has none).

    Examples
    --------
    >>> check_hair_options(threshold=20)
    {'threshold': 20}
    """
    method = _check_method(method)
    if method == "opencv":
        _check_opencv_call(options, None)
        return {}
    unknown = sorted(set(options) - set(_FIELDS))
    if unknown:
        raise TypeError(f"unknown Dull Razor option(s) {unknown}; expected any of {sorted(_FIELDS)}")
    for name, value in options.items():
        _check_field(name, value)
    return dict(options)


def dull_razor_params(shape: tuple[int, ...], **overrides: Any) -> DullRazorParams:
    """Default Dull Razor parameters for an image of the given shape.

    Lengths are tuned on HAM10000's 600x450 images and scaled with the short
    side, so a 224x224 image gets roughly half of them.

    Parameters
    ----------
    shape : tuple
        ``(H, W)``, ``(H, W, 3)`` or ``(N, H, W, 3)``.
    **overrides
        Any `DullRazorParams` field.

    Returns
    -------
    DullRazorParams

    Examples
    --------
    >>> dull_razor_params((450, 600, 3)).line_length
    13
    >>> dull_razor_params((224, 224, 3)).line_length
    7
    """
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"shape must be a tuple (H, W), (H, W, 3) or (N, H, W, 3); got {shape!r}")
    if len(shape) not in (2, 3, 4):
        raise ValueError(f"shape must be (H, W), (H, W, 3) or (N, H, W, 3); got {tuple(shape)}")
    height, width = shape[:2] if len(shape) == 2 else shape[-3:-1]
    for name, value in (("height", height), ("width", width)):
        check_positive_int(value, f"shape {name}", minimum=_MIN_SIZE)
    scale = min(height, width) / _REFERENCE_SHORT_SIDE
    half = max(2, int(round(6 * scale)))
    pool = 2 if min(height, width) >= 300 else 1
    defaults = DullRazorParams(
        line_length=2 * half + 1,
        min_length=max(8, int(round(30 * scale))),
        edge_min_length=max(4, int(round(10 * scale))),
        max_width=max(5, int(round(14 * scale))),
        pool=pool,
        grow=max(1, int(round(2 * scale))),
        dilation=1,
        edge_radius=max(1, int(round(2 * scale))),
    )
    return replace(defaults, **check_hair_options(**overrides))


def orientations(params: DullRazorParams) -> int:
    """How many orientations (over 180 degrees) the straight-run test walks for these parameters.

    32 (5.6 degrees apart) on the 2x2 pooled level with runs of 12 cells or more (600x450 images: 15), else
    16. A thin hair at an angle between two of 16 orientations drifts off their digital lines before a run
    of 15 cells ends, and was missed; with 32 it stays within a pixel for runs up to about 20 cells (at
    1024 px and more the runs are longer and the drift comes back). Images worked at full resolution (short
    side under 300 px, such as HAM10000's 200x150 copies) keep 16: there, 32 erased a small dark lesion
    that 16 leaves alone, and nothing was measured in their favour (docs/hair-removal.md).
    """
    run = max(2, -(-params.min_length // params.pool))
    return 32 if params.pool >= 2 and run >= 12 else 16


@functools.lru_cache(maxsize=32)
def line_offsets(directions: int, length: int) -> np.ndarray:
    """(directions, length + 1, 2) int64 (dy, dx) of digital lines through the origin."""
    angles = np.arange(directions) * np.pi / directions
    t = np.arange(length + 1)
    dy = np.rint(np.outer(np.sin(angles), t)).astype(np.int64)
    dx = np.rint(np.outer(np.cos(angles), t)).astype(np.int64)
    table = np.stack([dy, dx], axis=-1)
    table.setflags(write=False)
    return table


def lesion_grids(detect: np.ndarray, params: DullRazorParams, protect: np.ndarray | None) -> np.ndarray:
    """The protected region of every image at the kernels' (pooled) resolution."""
    n, height, width = detect.shape[:3]
    pool = params.pool
    hc, wc = (height + pool - 1) // pool, (width + pool - 1) // pool
    if protect is not None:  # a pooled cell is protected when any of its pixels is
        padded = np.zeros((n, hc * pool, wc * pool), bool)
        padded[:, :height, :width] = protect
        cells = padded.reshape(n, hc, pool, wc, pool).any(axis=(2, 4)).astype(np.uint8)
        # grown like the estimate: network and streaks reach past a drawn border
        grow = max(1, round(LESION_MARGIN * min(hc, wc)))
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        return np.ascontiguousarray(np.stack([cv2.dilate(c, disc) for c in cells]).astype(bool))
    if not params.lesion_safety:
        return np.zeros((n, hc, wc), bool)
    return np.stack([lesion_grid(d, (hc, wc)) for d in detect])


def _check_protect(protect: Any, image: np.ndarray) -> np.ndarray | None:
    if protect is None:
        return None
    mask = check_label_mask(protect, image.shape[:-1], "protect")
    return mask.reshape((-1, *image.shape[-3:-1])) > 0


def _run(image: np.ndarray, params: DullRazorParams, replace_hair: bool,
         protect: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    batch = image if image.ndim == 4 else image[None]
    if batch.dtype == np.uint8:
        detect = batch
        rounding = 0.5
    else:
        detect = np.clip(np.rint(batch * np.float32(255.0)), 0, 255).astype(np.uint8)
        rounding = 0.0
    offsets = line_offsets(orientations(params), max(params.min_length, params.max_width) + 2)
    masks = np.zeros(batch.shape[:3], np.bool_)
    # Detection only: the kernel never touches ``out``, so an empty array stands in.
    out = np.empty_like(batch) if replace_hair else np.empty((batch.shape[0], 0, 0, 3), batch.dtype)
    p = kernel_params(params, replace_hair=replace_hair, rounding=rounding)
    if batch.shape[0] == 1:  # in the calling thread (tf.data calls it from several threads at once)
        _run_images(p, (detect, batch, masks, out), offsets, params, protect, slice(0, 1))
    else:
        _run_batch(p, (detect, batch, masks, out), offsets, params, protect)
    if image.ndim == 3:
        return out[0], masks[0]
    return out, masks


def _run_images(p: Any, arrays: tuple[np.ndarray, ...], offsets: np.ndarray, params: DullRazorParams,
                protect: np.ndarray | None, images: slice) -> None:
    """The lesion estimate and the serial kernel on ``images`` of the batch, in the calling thread."""
    detect, batch, masks, out = arrays
    lesions = lesion_grids(detect[images], params, None if protect is None else protect[images])
    work = _borrow_workspace()
    try:
        _kernels.process_serial(p, detect[images], batch[images], offsets, lesions, masks[images], out[images],
                                work)
    finally:
        _give_back_workspace(work)


# Free workspaces for the kernels (`._workspace`), lent to one call at a time: a batch worker or a tf.data call
# borrows one per image and gives it back. A pool rather than one per thread: tf.data runs Python in its own
# threads, whose thread-local state Python drops after every call.
_WORKSPACES: list[np.ndarray] = []
_WORKSPACES_LOCK = threading.Lock()
#: The largest workspace kept (17 bytes per pixel on the 2x2 pooled level, 46 below 300 px: 4.6 MB at 600x450,
#: 1.4 MB at 200x150; experiments/hair_workspace.py); a larger image's working arrays are allocated afresh, as every image's were before.
_WORKSPACE_LIMIT = 64 << 20
#: The most workspaces kept: as many as calls can run at once here (batch workers, tf.data's calls); more are
#: dropped when given back.
_WORKSPACES_KEPT = max(numba.config.NUMBA_NUM_THREADS, os.cpu_count() or 1)


def _borrow_workspace() -> np.ndarray:
    """A free workspace (the one given back last), or an empty one that the first image measures for."""
    with _WORKSPACES_LOCK:
        if _WORKSPACES:
            return _WORKSPACES.pop()
    return np.zeros(_workspace.HEADER, np.uint8)


def _give_back_workspace(work: np.ndarray) -> None:
    """After an image: keep the workspace, grown to what the image needed (up to `_WORKSPACE_LIMIT`)."""
    need = _workspace.needed(work)
    if work.size < need <= _WORKSPACE_LIMIT:
        work = np.zeros(need, np.uint8)
    with _WORKSPACES_LOCK:
        if len(_WORKSPACES) < _WORKSPACES_KEPT:
            _WORKSPACES.append(work)


def _forget_workspaces() -> None:
    """In a forked child: a new lock (the parent's may have been held by a thread the child lacks), no workspaces."""
    global _WORKSPACES_LOCK
    _WORKSPACES_LOCK = threading.Lock()
    _WORKSPACES.clear()


os.register_at_fork(after_in_child=_forget_workspaces)


def _run_batch(p: Any, arrays: tuple[np.ndarray, ...], offsets: np.ndarray, params: DullRazorParams,
               protect: np.ndarray | None) -> None:
    """Every image of the batch on `numba.get_num_threads()` of the process' batch workers (`_batch_workers()`).

    Each worker takes the next image, estimates its lesion (Python and OpenCV) and runs the serial kernel on it
    (``nogil``), so nothing waits at a barrier: an image that takes longer holds up only its own worker. The
    earlier driver ran a parallel kernel over chunks of twice the threads, each ending when its slowest image
    did (a fifth of two cores idle, `docs/hair-removal.md`). After an error or Ctrl-C no worker starts another
    image of this batch.
    """
    count = arrays[0].shape[0]
    next_image = itertools.count()  # next() on it is one C call: atomic under the GIL
    stop = threading.Event()
    errors: list[BaseException] = []  # in the order they were raised

    def work() -> None:
        while not stop.is_set():
            n = next(next_image)
            if n >= count:
                return
            try:
                _run_images(p, arrays, offsets, params, protect, slice(n, n + 1))
            except BaseException as error:  # raised in the caller's thread below
                errors.append(error)
                stop.set()
                return

    try:
        workers = _batch_workers()
        tasks = [workers.submit(work) for _ in range(min(numba.get_num_threads(), count))]
        for task in tasks:
            task.result()
    except BaseException:  # Ctrl-C while waiting: no worker starts another image of this batch
        stop.set()
        raise
    if errors:
        raise errors[0]


_WORKERS: list[ThreadPoolExecutor] = []  # the process' batch workers, made at first use
_WORKERS_LOCK = threading.Lock()


def _batch_workers() -> ThreadPoolExecutor:
    """The threads every batch of the process runs on: as many as numba may use (``NUMBA_NUM_THREADS``, the
    cores by default), shared, so batches from many threads at once (a tf.data map) never start more. Nothing
    these threads run may start a batch of its own: it would wait for workers that are waiting for it."""
    with _WORKERS_LOCK:
        if not _WORKERS:
            _WORKERS.append(ThreadPoolExecutor(max_workers=numba.config.NUMBA_NUM_THREADS,
                                               thread_name_prefix="dermprep-hair"))
        return _WORKERS[0]


def _forget_batch_workers() -> None:
    """In a forked child: the parent's workers are not there (a fork copies only the calling thread)."""
    global _WORKERS_LOCK
    _WORKERS.clear()
    _WORKERS_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_batch_workers)


def _check_method(method: Any) -> str:
    return str(check_choice(method, "method", METHODS))


def _check_opencv_call(options: dict[str, Any], protect: np.ndarray | None) -> None:
    """``method="opencv"`` is the fixed recipe: no Dull Razor options and no lesion safety."""
    if options:
        raise TypeError(f"method='opencv' takes no options; got {sorted(options)}")
    if protect is not None:
        raise TypeError("method='opencv' takes no protect mask (it has no lesion safety)")


def hair_mask(
    image: np.ndarray,
    *,
    method: Literal["dullrazor", "opencv"] = "dullrazor",
    protect: np.ndarray | None = None,
    **options: Any,
) -> np.ndarray:
    """Find hair in a dermoscopic image.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3) or (N, H, W, 3)
        RGB, uint8 in [0, 255] or float32 in [0, 1]. Any memory layout;
        never modified.
    method : {"dullrazor", "opencv"}
        ``"dullrazor"`` (default): Lee et al.'s algorithm (per-channel grey
        closings with linear elements, verification that candidates are long
        and thin), plus light-hair detection. ``"opencv"``: the common
        black-hat + threshold recipe, for comparison.
    protect : ndarray of bool, shape (H, W) or (N, H, W), optional
        The lesion, where known (e.g. a segmentation), grown by 7 % of the
        short side (network and streaks reach past a drawn border): inside
        it only structures that continue outside it, or that are long, thin
        and dark, are hair. Without it, the lesion is estimated
        (`estimate_lesion()`; ``lesion_safety=False`` turns this off).
    **options
        Overrides of `DullRazorParams` (``dullrazor`` only).

    Returns
    -------
    ndarray of bool, shape (H, W) or (N, H, W)

    Raises
    ------
    TypeError, ValueError
        For a wrong dtype, shape, channel count, size, non-finite or
        out-of-range values, an unknown method or option.

    Examples
    --------
    >>> from dermprep import hair_mask
    >>> from dermprep.synthetic import make_sample
    >>> sample = make_sample((225, 300), rng=3)
    >>> mask = hair_mask(sample.image)
    >>> mask.shape, mask.dtype
    ((225, 300), dtype('bool'))
    """
    image = check_image(image, "image", min_size=_MIN_SIZE)
    method = _check_method(method)
    protect = _check_protect(protect, image)
    if method == "opencv":
        _check_opencv_call(options, protect)
        return _opencv_apply(image, want_image=False)
    params = dull_razor_params(image.shape, **options)
    return _run(image, params, replace_hair=False, protect=protect)[1]


def remove_hair(
    image: np.ndarray,
    *,
    method: Literal["dullrazor", "opencv"] = "dullrazor",
    return_mask: bool = False,
    protect: np.ndarray | None = None,
    **options: Any,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Remove hair from a dermoscopic image (Dull Razor).

    Hair is found as in `hair_mask()`; the hair, its border and faint edges
    (and thickets entire) are filled from the hair-free pixels around them by
    pyramid push-pull, which has no preferred direction. Pixels away from
    hair are returned bit-for-bit unchanged.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3) or (N, H, W, 3)
        RGB, uint8 in [0, 255] or float32 in [0, 1], any memory layout, never
        modified. A batch runs one image at a time on each of numba's threads
        (all cores by default; ``NUMBA_NUM_THREADS``, `numba.set_num_threads()`).
        The process keeps the kernels' working arrays for the next image: one
        set per call that ran at once, at most one per core (17 bytes per
        pixel at 600x450, 4.6 MB; 46 below 300 px; none over 64 MB).
    method : {"dullrazor", "opencv"}
        ``"opencv"``: the black-hat + ``cv2.inpaint`` recipe (uint8 inside; slow).
    return_mask : bool
        Also return the hair mask.
    protect : ndarray of bool, shape (H, W) or (N, H, W), optional
        The lesion, where known: as in `hair_mask()`.
    **options
        Overrides of `DullRazorParams`, e.g. ``threshold=15``.

    Returns
    -------
    restored : ndarray, the shape and dtype of ``image``
    mask : ndarray of bool, shape (H, W) or (N, H, W), only with ``return_mask=True``

    References
    ----------
    .. [1] Lee T., Ng V., Gallagher R., Coldman A., McLean D. "DullRazor: A
       software approach to hair removal from images." Computers in Biology
       and Medicine 27(6):533-543, 1997. doi:10.1016/S0010-4825(97)00020-6

    Examples
    --------
    >>> import numpy as np
    >>> from dermprep.synthetic import make_sample
    >>> sample = make_sample((225, 300), rng=3)
    >>> error = lambda x: np.abs(x.astype(int) - sample.clean).mean()
    >>> bool(error(remove_hair(sample.image)) < error(sample.image) / 2)
    True
    """
    image = check_image(image, "image", min_size=_MIN_SIZE)
    method = _check_method(method)
    check_bool(return_mask, "return_mask")
    protect = _check_protect(protect, image)
    if method == "opencv":
        _check_opencv_call(options, protect)
        restored, mask = _opencv_apply(image, want_image=True)
    else:
        params = dull_razor_params(image.shape, **options)
        restored, mask = _run(image, params, replace_hair=True, protect=protect)
    return (restored, mask) if return_mask else restored


def _opencv_apply(image: np.ndarray, *, want_image: bool) -> Any:
    batch = image if image.ndim == 4 else image[None]
    is_float = batch.dtype == np.float32
    images, masks = [], []
    for item in batch:
        u8 = np.clip(np.rint(item * 255.0), 0, 255).astype(np.uint8) if is_float else item
        if want_image:
            restored, mask = opencv_remove_hair(u8)
            images.append(restored.astype(np.float32) / np.float32(255.0) if is_float else restored)
        else:
            mask = opencv_hair_mask(u8)
        masks.append(mask)
    mask_out = np.stack(masks) if image.ndim == 4 else masks[0]
    if not want_image:
        return mask_out
    image_out = np.stack(images) if image.ndim == 4 else images[0]
    return image_out, mask_out
