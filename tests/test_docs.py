"""Every example in README.md and docs/ works, so the docs cannot rot.

Python blocks are executed. Command lines of ``dermprep`` and ``dermmodels`` in bash blocks are parsed by
the real argument parsers (running them would need the data they name).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHON = re.compile(r"```python\n(.*?)```", re.S)
BASH = re.compile(r"```bash\n(.*?)```", re.S)


def _examples():
    for path in FILES:
        for i, code in enumerate(PYTHON.findall(path.read_text())):
            yield pytest.param(code, id=f"{path.name}-{i}")


def _command_lines():
    for path in FILES:
        for block in BASH.findall(path.read_text()):
            for line in block.replace("\\\n", " ").splitlines():
                words = shlex.split(re.sub(r"\$\{\w+\}", "0", line), comments=True)
                if words and Path(words[0]).name in ("dermprep", "dermmodels"):  # also .venv/bin/dermprep
                    yield pytest.param(Path(words[0]).name, words[1:], id=f"{path.name}: {' '.join(words[:3])}")


@pytest.mark.parametrize("code", list(_examples()))
def test_example_runs(code):
    exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__"})


@pytest.mark.parametrize(("program", "args"), list(_command_lines()))
def test_documented_command_line_parses(program, args):
    if program == "dermprep":
        from dermprep.cli import _parser
    else:
        from dermmodels.cli import _parser
    if "--help" in args:
        with pytest.raises(SystemExit) as excinfo:
            _parser().parse_args(args)
        assert excinfo.value.code == 0
    else:
        _parser().parse_args(args)


def test_every_docs_page_is_in_the_site_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in (ROOT / "docs").glob("*.md"):
        assert page.name in nav, f"{page.name} is not in mkdocs.yml's nav"
