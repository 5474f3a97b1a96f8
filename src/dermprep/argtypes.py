"""argparse types shared by the ``dermprep`` and ``dermmodels`` command lines: one parser per kind of value.

Each takes the option's text and returns the value, or raises
``argparse.ArgumentTypeError`` saying what was expected and what was given
(argparse turns that into a usage error, exit status 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = ["checked", "count", "count_or_auto", "fraction", "positive_float", "positive_int", "shard", "size"]


def _integer(text: str, expected: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}") from None


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _integer(text, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def count(text: str) -> int:
    """An integer >= 0."""
    value = _integer(text, "an integer >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0; got {text!r}")
    return value


def count_or_auto(text: str) -> int | str:
    """An integer >= 0, or the word ``auto`` (returned as ``"auto"``)."""
    if text == "auto":
        return text
    value = _integer(text, "an integer >= 0 or 'auto'")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0 or 'auto'; got {text!r}")
    return value


def _real(text: str, expected: str, accept: Callable[[float], bool]) -> float:
    """``text`` as a float that ``accept`` allows; otherwise "expected <expected>; got <text>"."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value != value or not accept(value):
        raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}")
    return value


def fraction(text: str) -> float:
    """A number in [0, 1)."""
    return _real(text, "a number in [0, 1)", lambda value: 0.0 <= value < 1.0)


def positive_float(text: str) -> float:
    """A positive finite number."""
    return _real(text, "a positive finite number", lambda value: 0.0 < value < float("inf"))


def size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` (at least 16x16), returned as ``(height, width)``."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 600x450; got {text!r}") from None
    if width < 16 or height < 16:
        raise argparse.ArgumentTypeError(f"size must be at least 16x16; got {text!r}")
    return height, width


def shard(text: str) -> tuple[int, int]:
    """``I/N``: part ``I`` (0-based) of ``N``."""
    try:
        index, total = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N such as 0/4; got {text!r}") from None
    if not 0 <= index < total:
        raise argparse.ArgumentTypeError(f"shard I/N needs 0 <= I < N; got {text!r}")
    return index, total


def checked(parse: Callable[[str], Any], check: Callable[[Any, str], Any], name: str,
            none: str | None = None) -> Callable[[str], Any]:
    """A parser that turns text into a value with ``parse`` and validates it with ``check(value, name)`` (a
    `dermprep.validation` check); the word ``none`` stands for ``None``.

    Examples
    --------
    >>> from dermprep.validation import check_probability
    >>> checked(float, check_probability, "p")("0.5")
    0.5
    """

    def parser(text: str) -> Any:
        if none is not None and text == none:
            return check(None, name)
        try:
            value = parse(text)
        except ValueError:
            kind = {int: "an integer", float: "a number"}.get(parse, "a value")  # type: ignore[call-overload]
            raise argparse.ArgumentTypeError(f"{name} must be {kind}; got {text!r}") from None
        try:
            return check(value, name)
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parser.__name__ = name  # argparse names the type in its messages
    return parser
