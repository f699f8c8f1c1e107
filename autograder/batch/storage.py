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
  (its batch is dead: ``kill -9`` leaves nothing behind for long).  The
  mechanism is :mod:`autograder.sandbox.run_folders`, which each grader's case folders
  use too.
"""
from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from pathlib import Path

from autograder.errors import StorageError, UsageError
from autograder.sandbox.run_folders import RunFolder
from autograder.sandbox.run_folders import remove_dead_runs as remove_dead_runs_of
from autograder.util.safetext import for_terminal

LOCK_NAME = ".lock"
REMOVED_FOLDER = "removed"  # OUT/removed/<student>.json: reports of students no longer submitted
RUN_PREFIX = "mytorch-batch-"
REPORTS_FOLDER = "reports"  # OUT/reports/<student>.json; OUT itself holds only grades.csv and summary.json


def report_path(out: Path, student: str) -> Path:
    """Where the report of ``student`` lives: in a folder of its own, apart from the batch's files."""
    return Path(out) / REPORTS_FOLDER / f"{student}.json"


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
    """The run folder for the workers' scratch folders, removed at the end and by the next batch if we die
    (:mod:`autograder.sandbox.run_folders`)."""

    def __init__(self, parent: Path | None = None) -> None:
        self.parent = Path(parent or tempfile.gettempdir())
        try:
            self.run = RunFolder(RUN_PREFIX, self.parent)
        except OSError as error:
            raise StorageError(f"cannot make a scratch folder in {for_terminal(str(self.parent))}: "
                               f"{describe_os_error(error)}") from None
        self.path, self.removed_stale = self.run.path, self.run.removed_stale

    def new_folder(self) -> Path:
        try:
            return self.run.new_folder("worker-")
        except OSError as error:
            raise StorageError(f"cannot make a scratch folder in {for_terminal(str(self.path))}: "
                               f"{describe_os_error(error)}") from None

    def close(self) -> None:
        self.run.close()


def remove_dead_runs(parent: Path) -> int:
    """Remove the batches' run folders in ``parent`` whose batch is gone (run_folders.remove_dead_runs); how many."""
    return remove_dead_runs_of(parent, RUN_PREFIX)
