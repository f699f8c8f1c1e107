"""Writing a file all at once: readers see the old file or the new one, never half of one."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from autograder.util.safetext import for_json

FILE_MODE = 0o644  # reports and grades are for course staff to read (mkstemp alone would give 0600)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.

    The folder is created if needed; on any error the temporary file is removed
    and the error propagates (the caller decides what a failed write means).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # Windows (before 3.13): no modes to set
            os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, document: Any) -> None:
    """``document`` as indented JSON (never a lone surrogate, which strict JSON readers reject)."""
    write_atomic(path, (json.dumps(for_json(document), indent=1) + "\n").encode("utf-8"))


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, text.encode("utf-8"))
