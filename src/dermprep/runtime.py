"""Process-level set-up that the command lines (and notebooks, worker pools) rely on.

- `import_tensorflow_quietly()`: TensorFlow without its C++ start-up
  notices drowning progress output.
"""

from __future__ import annotations

import os
import sys
import tempfile
from types import ModuleType

__all__ = ["import_tensorflow_quietly"]

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
