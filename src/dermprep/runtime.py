"""Process-level set-up that the command lines (and notebooks, worker pools) rely on.

- `import_tensorflow_quietly()`: TensorFlow without its C++ start-up
  notices drowning progress output.
- `require()` / `available()`: optional dependencies (the ``plots``,
  ``quality`` and ``tf`` extras) imported in one place, so a missing one is
  a `MissingDependencyError` whose message is the ``pip install`` that adds
  it, never a bare ``ModuleNotFoundError`` from deep inside a function.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable
from types import ModuleType

__all__ = ["EXTRAS", "MissingDependencyError", "available", "import_tensorflow_quietly", "missing_dependency",
           "require", "run_command"]

#: Each optional top-level module: (the PyPI package that provides it, the dermprep extra that installs it).
EXTRAS: dict[str, tuple[str, str]] = {
    "matplotlib": ("matplotlib", "plots"),
    "skimage": ("scikit-image", "quality"),
    "tensorflow": ("TensorFlow", "tf"),
    "keras": ("TensorFlow", "tf"),
    "sklearn": ("scikit-learn", "tf"),
    "ai_edge_litert": ("ai-edge-litert", "tf"),
}


class MissingDependencyError(ImportError):
    """An optional dependency is not installed; the message says what needs it and the ``pip install`` that adds it.

    Attributes
    ----------
    package : str
        The PyPI package that is missing.
    extra : str
        The dermprep extra that installs it (``pip install "dermprep[extra]"``).
    """

    def __init__(self, purpose: str, module: str) -> None:
        package, extra = EXTRAS.get(module.split(".")[0], (module.split(".")[0], "tf"))
        self.package, self.extra = package, extra
        super().__init__(f'{purpose} needs {package}, which is not installed: pip install "dermprep[{extra}]"',
                         name=module)


def available(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it when it is not yet loaded)."""
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, purpose: str) -> ModuleType:
    """Import an optional dependency, or raise `MissingDependencyError` naming ``purpose`` and the fix.

    Examples
    --------
    >>> require("numpy", "this example").__name__
    'numpy'
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or module
        if missing.split(".")[0] != module.split(".")[0] and missing.split(".")[0] not in EXTRAS:
            raise  # a broken installation of the package itself, not a missing extra
        raise MissingDependencyError(purpose, missing) from None


def missing_dependency(exc: BaseException) -> str | None:
    """The one-line message for a command line when ``exc`` is a missing optional dependency, else ``None``.

    Command lines print it and exit with status 2 instead of a traceback.
    """
    if isinstance(exc, MissingDependencyError):
        return str(exc)
    if isinstance(exc, ModuleNotFoundError) and exc.name and exc.name.split(".")[0] in EXTRAS:
        return str(MissingDependencyError("this command", exc.name))
    return None

# Lines TensorFlow's C++ side prints on import whatever TF_CPP_MIN_LOG_LEVEL says (absl logs them before
# its log level is read). Everything else printed during the import is passed on.
_IMPORT_NOTICES = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "oneDNN custom operations are on",
)


def import_tensorflow_quietly() -> ModuleType:
    """Import TensorFlow with its log level at warnings-off and its import notices filtered out.

    ``TF_CPP_MIN_LOG_LEVEL`` is set to 2 unless the user set it. The C++
    notices in ``_IMPORT_NOTICES`` ignore that variable, so the import runs
    with the process' stderr (file descriptor 2) sent to a temporary file;
    afterwards every other line is written to stderr as it was.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            import tensorflow  # noqa: PLC0415
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            log.seek(0)
            for line in log.read().decode(errors="replace").splitlines(keepends=True):
                if not any(notice in line for notice in _IMPORT_NOTICES):
                    sys.stderr.write(line)
            sys.stderr.flush()
    return tensorflow


def run_command(program: str, command: str, action: Callable[[], int], *,
                usage_errors: tuple[type[BaseException], ...] = ()) -> int:
    """Run one command-line command with the exit statuses both command lines promise.

    ``action()``'s own status; a missing optional dependency (the ``pip
    install`` that adds it) or one of ``usage_errors``: one line, 2; an
    expected failure (``OSError``, ``ValueError``, ``TypeError``,
    ``RuntimeError``): one line, 1; Ctrl-C: one line, 130. Never a traceback
    for these; anything else is a bug and keeps its traceback.
    """
    try:
        return action()
    except usage_errors as exc:
        print(f"{program} {command}: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        message = missing_dependency(exc)
        if message is None:
            raise
        print(f"{program} {command}: error: {message}", file=sys.stderr)
        return 2
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        print(f"{program} {command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{program} {command}: interrupted", file=sys.stderr)
        return 130
