"""Every Python example in README.md and docs/ runs (so the docs cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _examples():
    for path in FILES:
        for i, code in enumerate(BLOCK.findall(path.read_text())):
            yield pytest.param(code, id=f"{path.name}-{i}")


@pytest.mark.parametrize("code", list(_examples()))
def test_example_runs(code):
    exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__"})
