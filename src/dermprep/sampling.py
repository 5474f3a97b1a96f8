"""Class balancing in NumPy: exact per-epoch quotas, class weights, distributions.

The tf.data face is `dermprep.tfdata.balance()`; this module holds the
sampling logic it runs (and that users can call on label arrays directly).

An *epoch* of a balanced dataset holds exactly ``targets[c]`` elements of
class ``c``. Each element of a class is repeated as evenly as possible:
with ``n`` elements and a target ``t``, every element appears ``t // n``
times and ``t % n`` distinct elements, drawn at random, once more (so no
element is used twice before every element has been used once). The epoch
is then shuffled. Everything is drawn from ``numpy.random.default_rng([seed,
epoch])``: reproducible under a seed, different from epoch to epoch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .validation import check_labels, check_positive_int, check_seed

__all__ = [
    "STRATEGIES",
    "as_class_indices",
    "class_counts",
    "class_weights",
    "epoch_indices",
    "format_distribution",
    "plot_class_distribution",
    "target_counts",
]

#: Accepted values of ``strategy``.
STRATEGIES = ("oversample", "undersample", "target")


def _check_labels(labels: Any, num_classes: int | None) -> tuple[np.ndarray, int]:
    """Class indices from int labels or strict one-hot rows, and the number of classes."""
    labels = np.asarray(labels)
    if labels.ndim == 2:  # one-hot
        labels = _decode_one_hot(labels, num_classes)
    elif labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D array of class indices or a 2-D one-hot array; got shape {labels.shape}")
    if num_classes is not None:
        num_classes = check_positive_int(num_classes, "num_classes", minimum=1, maximum=1_000_000)
    labels = check_labels(labels, num_classes=num_classes)
    if num_classes is None:
        num_classes = check_positive_int(int(labels.max()) + 1, "num_classes", minimum=1, maximum=1_000_000)
    return labels, num_classes


def _decode_one_hot(labels: np.ndarray, num_classes: int | None) -> np.ndarray:
    if labels.shape[1] < 2:
        raise ValueError(f"one-hot labels must have at least 2 columns; got shape {labels.shape}")
    if num_classes is not None and labels.shape[1] != num_classes:
        raise ValueError(f"one-hot labels have {labels.shape[1]} columns; expected num_classes={num_classes}")
    hot = (labels == 1).sum(axis=1)
    binary = ((labels == 0) | (labels == 1)).sum(axis=1) == labels.shape[1]
    bad = np.flatnonzero((hot != 1) | ~binary)
    if bad.size:
        raise ValueError(
            f"one-hot labels must hold exactly one 1 and zeros per row; rows {bad[:5].tolist()} do not "
            f"(e.g. {labels[bad[0]].tolist()}): soft or smoothed labels cannot be counted or balanced on "
            "(balance the hard labels, then smooth)"
        )
    return labels.argmax(axis=1)


def as_class_indices(labels: Any, num_classes: int | None = None) -> np.ndarray:
    """Integer class indices from int labels, integral floats or strict one-hot rows (checked).

    Examples
    --------
    >>> as_class_indices([[0, 1], [1, 0]]).tolist()
    [1, 0]
    """
    return _check_labels(labels, num_classes)[0]


def class_counts(labels: Any, num_classes: int | None = None) -> np.ndarray:
    """Number of elements of each class.

    Parameters
    ----------
    labels : array_like, shape (N,) int or (N, C) one-hot
    num_classes : int, optional
        Defaults to ``max(labels) + 1`` (or C for one-hot labels).

    Returns
    -------
    ndarray of int64, shape (num_classes,)

    Examples
    --------
    >>> class_counts([0, 2, 2, 1, 2], num_classes=4).tolist()
    [1, 1, 3, 0]
    """
    labels, num_classes = _check_labels(labels, num_classes)
    return np.bincount(labels, minlength=num_classes).astype(np.int64)


def _check_counts(values: Any, name: str) -> np.ndarray:
    """A non-empty 1-D sequence of non-negative integers (2.7 is not a count)."""
    array = np.asarray(values)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of non-negative integers; got {values!r}")
    if array.dtype.kind == "f" and np.isfinite(array).all() and np.all(array == np.round(array)):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers; got {array.tolist()} ({array.dtype})")
    if (array < 0).any():
        raise ValueError(f"{name} must be non-negative; got {array.tolist()}")
    return array.astype(np.int64)


def target_counts(
    counts: Sequence[int] | np.ndarray, strategy: str = "oversample", *, count: int | None = None,
    target: Mapping[int, int] | Sequence[int] | Sequence[float] | None = None, size: int | None = None,
) -> np.ndarray:
    """Elements of each class in one balanced epoch.

    Parameters
    ----------
    counts : sequence of int
        Elements available per class (`class_counts()`).
    strategy : {"oversample", "undersample", "target"}
        ``"oversample"``: every class up to ``count`` (default: the largest
        class). ``"undersample"``: every class down to ``count`` (default: the
        smallest non-empty class). ``"target"``: explicit ``target``.
    count : int, optional
        Per-class count for over/undersampling.
    target : dict or sequence, optional
        With ``strategy="target"``: per-class counts (``{class: count}`` or a
        sequence of ints), or a distribution (a sequence of floats summing
        to 1) scaled to ``size`` elements (default: the number available) by
        largest remainders.
    size : int, optional
        Epoch size for a target distribution.

    Returns
    -------
    ndarray of int64, shape (num_classes,)

    Raises
    ------
    ValueError
        Unknown strategy, negative or impossible counts, or a class with no
        elements but a positive target (there is nothing to repeat).

    Examples
    --------
    >>> target_counts([5, 1, 3]).tolist()
    [5, 5, 5]
    >>> target_counts([5, 1, 3], "undersample").tolist()
    [1, 1, 1]
    >>> target_counts([5, 1, 3], "target", target=[0.5, 0.25, 0.25], size=8).tolist()
    [4, 2, 2]
    """
    counts = _check_counts(counts, "counts")
    _check_strategy(counts, strategy, count, target)
    if strategy in ("oversample", "undersample"):
        return _equal_targets(counts, strategy, count)
    targets = _explicit_targets(counts, target, size)
    empty = np.nonzero((targets > 0) & (counts == 0))[0].tolist()
    if empty:
        raise ValueError(f"classes {empty} have no elements but a positive target; set their target to 0")
    if targets.sum() == 0:
        raise ValueError("the target asks for an empty epoch (all counts are 0)")
    return targets


def _check_strategy(counts: np.ndarray, strategy: Any, count: Any, target: Any) -> None:
    """A known strategy with the settings it uses (and none it ignores), over at least one element."""
    if counts.sum() == 0:
        raise ValueError(f"counts must hold at least one element; got {counts.tolist()} (every class empty)")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}; got {strategy!r}")
    if strategy != "target" and target is not None:
        raise ValueError(f"target is only used with strategy='target'; got strategy={strategy!r}")
    if strategy == "target" and count is not None:
        raise ValueError("count is only used with strategy='oversample' or 'undersample'")
    if strategy == "target" and target is None:
        raise ValueError("strategy='target' needs target= (per-class counts or a distribution)")


def _equal_targets(counts: np.ndarray, strategy: str, count: int | None) -> np.ndarray:
    """Every non-empty class up (oversample) or down (undersample) to ``count``."""
    present = counts > 0
    if count is None:
        count = int(counts.max()) if strategy == "oversample" else int(counts[present].min())
    count = check_positive_int(count, "count", minimum=1)
    targets = np.where(present, count, 0)
    if strategy == "undersample" and (targets > counts).any():
        too_few = np.nonzero(targets > counts)[0].tolist()
        raise ValueError(
            f"undersampling to count={count} needs at least {count} elements per class; "
            f"classes {too_few} have {counts[too_few].tolist()} (use 'oversample' or a smaller count)"
        )
    return targets.astype(np.int64)


def _explicit_targets(counts: np.ndarray, target: Any, size: int | None) -> np.ndarray:
    """Per-class counts as given, or a distribution scaled to ``size`` elements by largest remainders."""
    if isinstance(target, Mapping):
        values = np.zeros(counts.size, np.float64)
        for key, value in target.items():
            if not isinstance(key, (int, np.integer)) or not 0 <= key < counts.size:
                raise ValueError(f"target keys must be class indices in [0, {counts.size - 1}]; got {key!r}")
            values[key] = value
    else:
        values = np.asarray(target, dtype=np.float64)
        if values.shape != counts.shape:
            raise ValueError(f"target must have one entry per class ({counts.size}); got {len(values)}")
    if (values < 0).any() or not np.isfinite(values).all():
        raise ValueError(f"target entries must be finite and >= 0; got {values.tolist()}")
    is_distribution = np.any(values != np.round(values)) or (np.isclose(values.sum(), 1.0) and values.max() < 1)
    if not is_distribution:
        if size is not None:
            raise ValueError("size is only used with a target distribution, not with per-class counts")
        return values.astype(np.int64)
    if not np.isclose(values.sum(), 1.0):
        raise ValueError(f"a target distribution must sum to 1; got {values.sum():.6g}")
    size = int(counts.sum()) if size is None else check_positive_int(size, "size")
    raw = values * size
    targets = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - targets), kind="stable")
    targets[order[: size - int(targets.sum())]] += 1
    return targets


def epoch_indices(labels: Any, targets: Sequence[int] | np.ndarray | None, *, seed: int = 0,
                  epoch: int = 0) -> np.ndarray:
    """Indices (into ``labels``) of one shuffled epoch: exact per-class counts, or every element once.

    Every epoch order in dermprep is this function (`dermprep.tfdata.balance()`,
    ``from_records(shuffle_seed=)``, ``from_arrays(sampling=)``).

    Parameters
    ----------
    labels : array_like, shape (N,) or (N, C) one-hot
    targets : sequence of int, or None
        Elements of each class in the epoch (`target_counts()`); ``None``:
        every element once, in the order ``default_rng([seed, epoch]).permutation(N)``.
    seed, epoch : int
        The epoch's randomness is ``default_rng([seed, epoch])``.

    Returns
    -------
    ndarray of int64, shape (sum(targets),) or (N,)

    Examples
    --------
    >>> labels = [0, 0, 0, 1]
    >>> idx = epoch_indices(labels, [3, 3], seed=0)
    >>> sorted(idx.tolist())
    [0, 1, 2, 3, 3, 3]
    """
    if targets is not None:
        targets = _check_counts(targets, "targets")
    labels, num_classes = _check_labels(labels, None if targets is None else targets.size)
    rng = np.random.default_rng([check_seed(seed), check_seed(epoch, "epoch")])
    if targets is None:
        return rng.permutation(labels.size).astype(np.int64)
    chosen = []
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        t = int(targets[c])
        if t == 0:
            continue
        if members.size == 0:
            raise ValueError(f"class {c} has no elements but a target of {t}")
        repeats, extra = divmod(t, members.size)
        chosen.append(np.repeat(members, repeats))
        if extra:
            chosen.append(rng.choice(members, size=extra, replace=False))
    indices = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)
    return rng.permutation(indices).astype(np.int64)


def class_weights(labels: Any, num_classes: int | None = None) -> dict[int, float]:
    """Loss weights ``n_samples / (n_classes * n_c)`` per class (scikit-learn's "balanced").

    For Keras' ``fit(class_weight=...)``, as an alternative to resampling.
    Classes without elements get weight 0.0 (they never occur in the loss).

    Examples
    --------
    >>> class_weights([0, 0, 0, 1])
    {0: 0.6666666666666666, 1: 2.0}
    """
    labels, num_classes = _check_labels(labels, num_classes)
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    present = counts > 0
    # divided by the number of classes present, as scikit-learn's compute_class_weight("balanced")
    weights = np.where(present, labels.size / (int(present.sum()) * np.maximum(counts, 1.0)), 0.0)
    return {c: float(w) for c, w in enumerate(weights)}


def format_distribution(columns: Mapping[str, Sequence[int]], class_names: Sequence[str]) -> str:
    """A text table of class counts, one column per named distribution (e.g. before / after)."""
    names = list(columns)
    width = max(8, *(len(n) for n in names))
    lines = [f"{'class':8s} " + " ".join(f"{n:>{width}s}" for n in names)]
    for i, cls in enumerate(class_names):
        lines.append(f"{cls:8s} " + " ".join(f"{int(columns[n][i]):>{width}d}" for n in names))
    lines.append(f"{'total':8s} " + " ".join(f"{int(np.sum(columns[n])):>{width}d}" for n in names))
    return "\n".join(lines)


def plot_class_distribution(
    columns: Mapping[str, Sequence[int]],
    class_names: Sequence[str],
    path: str | os.PathLike[str],
    *,
    title: str = "Class distribution",
) -> None:
    """Save a grouped bar chart of class counts (e.g. before and after balancing) as PNG (needs matplotlib)."""
    from .figures import new_figure, save_figure  # noqa: PLC0415

    x = np.arange(len(class_names))
    width = 0.8 / max(1, len(columns))
    fig = new_figure(7, 3.5)
    ax = fig.subplots()
    for i, (name, counts) in enumerate(columns.items()):
        ax.bar(x + (i - (len(columns) - 1) / 2) * width, counts, width, label=name)
    ax.set_xticks(x, list(class_names))
    ax.set_ylabel("images")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
