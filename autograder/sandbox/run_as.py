"""Which user a case runs as, and a copy of the submission that user can read.

Threat model: as root, RLIMIT_NPROC does not apply and every file is readable, so a root
grader runs its cases as an unprivileged user; a submission that user cannot read (a TA's
0700 home, an archive unpacked with umask 077) is graded from a bounded, link-free copy.
"""
from __future__ import annotations

import functools
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from autograder.case.case_user import permits, reachable
from autograder.sandbox.run_folders import grading_folder

MiB = 1024 * 1024
CASE_UID_VARIABLE = "MYTORCH_CASE_UID"  # who cases run as when the grader is root
DEFAULT_CASE_UID = 65534  # nobody


class SandboxError(Exception):
    """The sandbox cannot be set up as configured (an unusable MYTORCH_CASE_UID)."""


def case_user() -> dict[str, int] | None:
    """The unprivileged user cases run as ({"uid", "gid"}), or None when the grader is not root.

    Threat: as root, RLIMIT_NPROC does not apply and file permissions do not either.  Not
    root, the grader cannot switch (and its own user already has those limits).
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:  # Windows has no uid to switch from
        return None
    text = os.environ.get(CASE_UID_VARIABLE, str(DEFAULT_CASE_UID))
    if not text.isdigit() or not 0 < int(text) < 2 ** 32 - 1:
        raise SandboxError(f"{CASE_UID_VARIABLE}={text!r}: expected a user id other than 0 (root)")
    uid = int(text)
    return {"uid": uid, "gid": primary_group(uid)}


@functools.lru_cache(maxsize=None)
def primary_group(uid: int) -> int:
    """The group of ``uid`` in the password database, else the same number (nobody: nogroup)."""
    try:
        import pwd  # POSIX only, and only as root
        return pwd.getpwuid(uid).pw_gid
    except (ImportError, KeyError):
        return uid


def isolation_note() -> str:
    """One line for the report: which user the cases ran as."""
    try:
        user = case_user()
    except SandboxError as error:
        return f"cases cannot run: {error}"
    if user is None and not hasattr(os, "geteuid"):
        return "cases ran as the grader's own user (this system has no switch to an unprivileged user)"
    if user is None:
        return (f"cases ran as the grader's own user (uid {os.geteuid()}): not root, so no switch "
                f"to an unprivileged user")
    return f"cases ran as the unprivileged uid {user['uid']} (gid {user['gid']}), not as root"


_copies = {}
_copies_lock = threading.Lock()


def readable_submission(submission: Path | str, user: dict[str, int] | None) -> Path:
    """``submission`` if ``user`` can read all of it, else a readable copy made once per grading.

    A TA's submissions often sit in a 0700 home or were unpacked with umask 077; the case,
    running as ``user``, could not import them.  The copy keeps the folder's name (tracebacks
    stay recognisable) and holds only folders and regular files with a single link: a link in
    the submission is never followed by the grader (as root it could read anything).
    """
    submission = Path(submission).resolve()
    if user is None:
        return submission
    uid, gid = user["uid"], user["gid"]
    with _copies_lock:
        if submission in _copies:
            return _copies[submission]
        if all_readable(submission, uid, gid):
            _copies[submission] = submission
            return submission
        base = Path(tempfile.mkdtemp(prefix="mytorch-submission-", dir=grading_folder()))  # removed with it
        base.chmod(0o755)
        copy = base / submission.name
        copy_plain_tree(submission, copy)
        _copies[submission] = copy
        return copy


COPY_MAX_DEPTH = 32  # folders below a submission that a readable copy reaches (mytorch/ is at the top)
COPY_MAX_ENTRIES = 10_000  # files and folders looked at, or copied
COPY_MAX_BYTES = 64 * MiB  # bytes copied


def plain_entries(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(relative path, lstat) of what lies below ``root``, breadth first and iteratively, within the copy limits.

    A hostile submission may nest folders thousands deep or hold millions of files: the walk
    never recurses and stops at COPY_MAX_DEPTH and COPY_MAX_ENTRIES (what lies beyond is left out).
    """
    pending, seen = [("", 0)], 0
    while pending:
        relative, depth = pending.pop(0)
        try:
            names = sorted(os.listdir(os.path.join(root, relative) if relative else root))
        except OSError:
            continue
        for name in names:
            seen += 1
            if seen > COPY_MAX_ENTRIES:
                return
            path = os.path.join(relative, name) if relative else name
            try:
                status = os.lstat(os.path.join(root, path))
            except OSError:
                continue
            yield path, status
            if stat.S_ISDIR(status.st_mode) and depth + 1 < COPY_MAX_DEPTH:
                pending.append((path, depth + 1))


def all_readable(root: Path, uid: int, gid: int) -> bool:
    """Whether ``uid``/``gid`` can reach ``root`` and read everything the copy limits would look at."""
    if not reachable(str(root), uid, gid):
        return False
    return all(permits(status, uid, gid, 5 if stat.S_ISDIR(status.st_mode) else 4)
               for _, status in plain_entries(root))


def copy_plain_tree(source: Path | str, target: Path | str) -> None:
    """Folders (0755) and single-link regular files (0644) of ``source``, within the copy limits; nothing else."""
    os.mkdir(target, 0o755)
    copied = 0
    for relative, status in plain_entries(Path(source)):
        destination = os.path.join(target, relative)
        if not os.path.isdir(os.path.dirname(destination)):
            continue  # its folder was left out
        if stat.S_ISDIR(status.st_mode):
            os.mkdir(destination, 0o755)
        elif stat.S_ISREG(status.st_mode) and status.st_nlink == 1 and copied + status.st_size <= COPY_MAX_BYTES:
            fd = os.open(os.path.join(source, relative), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    continue
                with open(fd, "rb", closefd=False) as source_file, open(destination, "xb") as target_file:
                    copied += shutil.copyfileobj(source_file, target_file) or status.st_size
                os.chmod(destination, 0o644)
            finally:
                os.close(fd)


