"""Run a command line with some optional packages made unimportable, as in an environment without that extra.

    python -m tests.support.without_extras skimage,matplotlib dermprep.cli demo --out DIR

A finder first on ``sys.meta_path`` answers every import of a blocked top-level package (and
``importlib.util.find_spec`` of it) with ``ModuleNotFoundError``, exactly what Python raises where the
package is not installed. The entry point's ``main(argv)`` return value becomes the exit status.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys


class _Absent(importlib.abc.MetaPathFinder):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def main() -> int:
    blocked, module, *argv = sys.argv[1:]
    sys.meta_path.insert(0, _Absent({name for name in blocked.split(",") if name}))
    return importlib.import_module(module).main(argv)


if __name__ == "__main__":
    sys.exit(main())
