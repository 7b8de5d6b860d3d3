"""Keep stdout for the one JSON object a benchmark prints (TensorFlow and absl write logs there).

    import _jsonout; _jsonout.reserve()   # before importing TensorFlow
    ...
    _jsonout.emit(result)
"""

from __future__ import annotations

import json
import os
import sys

_fd: int | None = None


def reserve() -> None:
    """Send everything printed from now on (Python or C++) to stderr; keep stdout for emit()."""
    global _fd
    _fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr


def emit(result: dict) -> None:
    """Write ``result`` as indented JSON to the reserved stdout."""
    os.write(1 if _fd is None else _fd, (json.dumps(result, indent=2) + "\n").encode())
