"""Where a batch writes: the output folder (checked, locked, tidied) and the scratch area of its workers.

A failure to write is the harness's, never a student's: :class:`StorageError`
stops the batch (exit 2) with the reports written so far kept, and is never
recorded as a submission's error.

- The output folder is checked before any grading (a file, an unwritable or
  full folder stops at once), and locked for the whole run with ``flock`` on
  ``OUT/.lock``: a second batch on the same folder is refused, naming the
  first one's process.  The lock dies with its process, so a killed batch never
  leaves a stale lock behind.
- Reports of students who are no longer among the submissions are moved to
  ``OUT/removed/`` (not deleted: a TA may have removed the wrong folder) and
  listed.
- Workers' scratch folders live in one run folder ``mytorch-batch-*`` in the
  temporary directory, holding a ``lock`` file the batch keeps ``flock``-ed
  while it runs; a new batch removes every run folder whose lock it can take
  (its batch is dead: ``kill -9`` leaves nothing behind for long).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
from pathlib import Path

from autograder.batch_entries import REPORTS_FOLDER, UsageError
from autograder.safetext import for_terminal

LOCK_NAME = ".lock"
REMOVED_FOLDER = "removed"  # OUT/removed/<student>.json: reports of students no longer submitted
RUN_PREFIX = "mytorch-batch-"


class StorageError(Exception):
    """The batch cannot write where it must (the output folder, the temporary directory)."""


def describe_os_error(error: OSError) -> str:
    return f"{error.strerror or error} ({errno.errorcode.get(error.errno or 0, error.errno)})"


class OutputFolder:
    """``--out``: made, checked writable and locked by :meth:`open`; unlocked by :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.reports = self.path / REPORTS_FOLDER
        self._lock_fds: list[int] = []

    def open(self, shard: str | None = None) -> None:
        """Make the folder, take its lock (UsageError if another batch holds it) and check that files
        can be written in it (StorageError if not).

        A whole batch (or a merge) locks ``OUT/.lock`` exclusively; shard ``shard`` shares that lock
        with the other shards and locks ``OUT/.lock-<shard>`` exclusively."""
        shown = for_terminal(str(self.path))
        if self.path.exists() and not self.path.is_dir():
            raise UsageError(f"--out {shown}: not a folder (the batch writes grades.csv, summary.json and "
                             f"{REPORTS_FOLDER}/ in it)")
        try:
            self.reports.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(f"cannot write in --out {shown}: {describe_os_error(error)}") from None
        self.lock(LOCK_NAME, fcntl.LOCK_EX if shard is None else fcntl.LOCK_SH)
        if shard is not None:
            self.lock(f"{LOCK_NAME}-{shard}", fcntl.LOCK_EX)
        try:
            fd = self._lock_fds[-1]
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            for folder in (self.path, self.reports):
                probe = folder / f".write-check-{os.getpid()}"
                with open(probe, "wb") as handle:
                    handle.write(b"\0" * 4096)
                    handle.flush()
                    os.fsync(handle.fileno())
                probe.unlink()
        except OSError as error:
            self.close()
            raise StorageError(f"cannot write in --out {shown}: {describe_os_error(error)}") from None

    def lock(self, name: str, mode: int) -> None:
        shown = for_terminal(str(self.path))
        try:
            fd = os.open(self.path / name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as error:
            self.close()
            raise StorageError(f"cannot write in --out {shown}: {describe_os_error(error)}") from None
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            self.close()
            raise UsageError(f"--out {shown} is in use by another batch (process {for_terminal(holder)}); "
                             f"wait for it to finish or choose another --out") from None
        self._lock_fds.append(fd)

    def close(self) -> None:
        while self._lock_fds:
            os.close(self._lock_fds.pop())  # releases the flock

    def set_aside_reports(self, students: set[str]) -> list[str]:
        """Move the reports of students not in ``students`` to ``OUT/removed/``; their ids, sorted."""
        moved = []
        try:
            listed = sorted(self.reports.iterdir())
        except OSError as error:
            raise StorageError(f"cannot list {for_terminal(str(self.reports))}: {describe_os_error(error)}") from None
        for path in listed:
            if path.suffix != ".json" or path.stem in students or path.name.startswith("."):
                continue
            try:
                (self.path / REMOVED_FOLDER).mkdir(exist_ok=True)
                os.replace(path, self.path / REMOVED_FOLDER / path.name)
            except FileNotFoundError:  # another shard moved it first
                continue
            except OSError as error:
                raise StorageError(f"cannot move {for_terminal(str(path))} aside: {describe_os_error(error)}") from None
            moved.append(path.stem)
        return moved


class ScratchArea:
    """The run folder for the workers' scratch folders, removed at the end and by the next batch if we die."""

    def __init__(self, parent: Path | None = None) -> None:
        self.parent = Path(parent or tempfile.gettempdir())
        self.removed_stale = remove_dead_runs(self.parent)
        try:
            self.path = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=self.parent))
            # the lock is taken under a name remove_dead_runs ignores, then renamed: another batch (or a Dask
            # worker) cleaning the same temporary directory never finds our lock free and removes a live run
            making = self.path / "lock.new"
            self._lock_fd = os.open(making, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(making, self.path / "lock")
        except OSError as error:
            raise StorageError(f"cannot make a scratch folder in {for_terminal(str(self.parent))}: "
                               f"{describe_os_error(error)}") from None

    def new_folder(self) -> Path:
        try:
            return Path(tempfile.mkdtemp(prefix="worker-", dir=self.path))
        except OSError as error:
            raise StorageError(f"cannot make a scratch folder in {for_terminal(str(self.path))}: "
                               f"{describe_os_error(error)}") from None

    def close(self) -> None:
        remove_tree(self.path)
        os.close(self._lock_fd)


def remove_dead_runs(parent: Path) -> int:
    """Remove the run folders in ``parent`` whose batch is gone (their lock can be taken); how many.

    Only folders this user made as ``mkdtemp`` makes them (a real folder, owned by us, closed to
    everyone else): in a shared temporary directory another user could plant a look-alike whose
    insides change while it is being removed.
    """
    removed = 0
    with contextlib.suppress(OSError):
        for folder in parent.glob(RUN_PREFIX + "*"):
            try:
                info = os.lstat(folder)
            except OSError:
                continue
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
                continue
            try:
                fd = os.open(folder / "lock", os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError:
                continue  # not a run folder of ours (or an older layout): left alone
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue  # its batch is running
            remove_tree(folder)
            os.close(fd)
            removed += 1
    return removed


def remove_tree(path: Path) -> None:
    """Remove ``path`` and everything in it, ignoring errors like ``shutil.rmtree(ignore_errors=True)``
    but without recursion: a case may nest folders deeper than Python's recursion limit."""
    folders, pending = [], [os.fspath(path)]
    while pending:
        folder = pending.pop()
        folders.append(folder)
        try:
            with os.scandir(folder) as listing:
                for item in listing:
                    if item.is_dir(follow_symlinks=False):
                        pending.append(item.path)
                    else:
                        with contextlib.suppress(OSError):
                            os.unlink(item.path)
        except OSError:
            continue
    for folder in reversed(folders):  # every folder after everything listed inside it
        with contextlib.suppress(OSError):
            os.rmdir(folder)
