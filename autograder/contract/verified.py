"""A record of the documents that already passed their schema, so that a run need not check them again.

Checking the fixture manifest against its schema costs a run most of its own start-up
(jsonschema's import and its walk of the manifest).  Once a manifest has passed, an empty
marker file named after the sha256 of the schema and of the manifest's exact bytes says
so; later runs that find the marker skip the schema check (and the import).  Everything
else about the fixture set (the sha256 of every fixture file, the section maxima, the
arrays' shapes) is still checked on every run.

Threat model: a tampered or malformed manifest has other bytes, so another name, and is
checked in full (and, refused, leaves no marker).  The folder (``MYTORCH_GRADER_CACHE``,
else ``$XDG_CACHE_HOME/mytorch-grader``, else ``~/.cache/mytorch-grader``; ``off``
disables the record) belongs to the grading user: a marker counts only if it is a
regular file owned by this user, in a folder owned by this user that nobody else may
write.  Sandboxed cases cannot write there (another user, Landlock, the audit hook).
Any trouble with the folder means checking again, never trusting.
"""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

CACHE_ENV = "MYTORCH_GRADER_CACHE"
FOLDER_NAME = "mytorch-grader"


def cache_folder() -> Path | None:
    """Where markers live, or None when the record is turned off."""
    chosen = os.environ.get(CACHE_ENV, "")
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / FOLDER_NAME


def marker_name(schema: bytes, document: bytes) -> str:
    """The marker of ``document`` (exact bytes) passing ``schema`` (exact bytes)."""
    digest = hashlib.sha256()
    for part in (schema, document):
        digest.update(hashlib.sha256(part).digest())
    return f"verified-{digest.hexdigest()}"


def trusted_folder(folder: Path) -> bool:
    """True if ``folder`` is a real folder of this user that no one else may write (never on a system
    whose files have no owner uid, as on Windows: every run checks the schema there)."""
    if not hasattr(os, "geteuid"):
        return False
    try:
        status = os.lstat(folder)
    except OSError:
        return False
    return (stat.S_ISDIR(status.st_mode) and status.st_uid == os.geteuid()
            and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def is_verified(schema: bytes, document: bytes) -> bool:
    """True if a marker says these exact bytes passed this exact schema before."""
    folder = cache_folder()
    if folder is None or not trusted_folder(folder):
        return False
    try:
        status = os.lstat(folder / marker_name(schema, document))
    except OSError:
        return False
    return stat.S_ISREG(status.st_mode) and status.st_uid == os.geteuid()


def remember(schema: bytes, document: bytes) -> None:
    """Leave the marker (best effort: a folder that cannot be made or written only costs speed)."""
    folder = cache_folder()
    if folder is None or not hasattr(os, "geteuid"):
        return
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not trusted_folder(folder):
            return
        fd = os.open(folder / marker_name(schema, document),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        os.close(fd)
    except OSError:
        pass  # already there (another run), read-only home, no room: the next run checks again
