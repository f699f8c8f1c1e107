"""A process's own folder in the temporary directory, locked while the process lives and removed
by the next run if it dies: the batch's scratch area and each grader's case folders.

Threat model: whatever ends a grader (``kill -9``, a crash, a power cut) must not leave its
folders behind for good, and no run may remove a folder of another run that is still alive.
So every run makes one *run folder* (``<prefix>XXXXXXXX``, by ``mkdtemp``) holding a ``lock``
file it keeps ``flock``-ed (a byte-range lock on Windows) while it lives, and makes its
folders inside it; a lock dies with its process, so a new run removes every run folder of
its prefix whose lock it can take (:func:`remove_dead_runs`), and only those.  The lock is
taken under another name and then renamed, so a run folder being made never shows a free
lock.  Only run folders this user made as ``mkdtemp`` makes them are looked at (a real
folder owned by us, which no one else may read or write): in a shared temporary directory
another user could plant a look-alike; a folder of another user is skipped quietly, and so
is anything that cannot be removed.  Removal never follows a link (:func:`remove_tree`).

:func:`grading_folder` is the grader's own run folder (``mytorch-grading-*``): each case's
working folder (sandbox/workdir.py) and a root grader's readable copies of submissions
(run_as.py) live in it.
"""
from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import stat
import tempfile
import threading
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: byte-range locks (msvcrt), which die with their process too
    fcntl = None
try:
    import msvcrt
except ImportError:
    msvcrt = None
LOCKS = fcntl is not None or msvcrt is not None  # without either, no run can tell a dead one: none is removed

LOCK_NAME = "lock"
GRADING_PREFIX = "mytorch-grading-"
FOLDER_FLAGS = (os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
                | getattr(os, "O_CLOEXEC", 0))
BY_DESCRIPTOR = (hasattr(os, "O_DIRECTORY") and os.open in os.supports_dir_fd and os.unlink in os.supports_dir_fd
                 and os.rmdir in os.supports_dir_fd and os.scandir in os.supports_fd)
OPEN_FOLDERS = 64  # remove_tree's descriptors open at once at most (one per level of folders)


def try_lock(fd: int) -> bool:
    """Lock the open file ``fd`` exclusively, without waiting; False if another process holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        elif msvcrt is not None:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


class RunFolder:
    """A run folder ``<prefix>*`` in ``parent`` (the temporary directory), locked until :meth:`close`.

    ``mode``: the folder's permissions (0o700; a root grader's is 0o711, so its cases, running
    as another user, can reach their own folders by path, but no one can list it).
    OSError if it cannot be made.
    """

    def __init__(self, prefix: str, parent: Path | str | None = None, mode: int = 0o700) -> None:
        self.prefix = prefix
        self.parent = Path(parent or tempfile.gettempdir())
        self.removed_stale = remove_dead_runs(self.parent, prefix)
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=self.parent))
        try:
            os.chmod(self.path, mode)
            making = self.path / f"{LOCK_NAME}.new"
            self._lock_fd = os.open(making, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
            if not try_lock(self._lock_fd):
                raise OSError(f"cannot lock {making}")
            if LOCKS:  # a lock no one holds would tell every other run this live one is dead
                os.rename(making, self.path / LOCK_NAME)
        except BaseException:
            remove_tree(self.path)
            raise

    def new_folder(self, prefix: str) -> Path:
        """A fresh folder inside (``mkdtemp``: 0700, owned by us)."""
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.path))

    def close(self) -> None:
        """Release the lock, then remove the run folder and everything in it (idempotent)."""
        if self._lock_fd is None:
            return
        os.close(self._lock_fd)  # first: Windows removes no file that is open
        self._lock_fd = None
        remove_tree(self.path)


def remove_dead_runs(parent: Path | str, prefix: str) -> int:
    """Remove the run folders ``<prefix>*`` in ``parent`` whose run is gone (their lock can be taken); how many."""
    removed = 0
    uid = os.getuid() if hasattr(os, "getuid") else None
    if not LOCKS:
        return 0
    with contextlib.suppress(OSError):
        for folder in Path(parent).glob(prefix + "*"):
            try:
                info = os.lstat(folder)
            except OSError:
                continue
            if not stat.S_ISDIR(info.st_mode):
                continue
            if uid is not None and (info.st_uid != uid or info.st_mode & 0o066):
                continue  # not made by us as mkdtemp makes it: left alone
            try:
                fd = os.open(folder / LOCK_NAME, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
            except OSError:
                continue  # not a run folder of ours (or one being made)
            dead = try_lock(fd)
            os.close(fd)  # a dead run stays dead (a new one never takes its folder): Windows removes no open file
            if dead:
                remove_tree(folder)
                removed += 1
    return removed


def remove_tree(path: Path | str) -> None:
    """Remove ``path`` and everything in it, ignoring errors like ``shutil.rmtree(ignore_errors=True)``, but
    without recursion (a case may nest folders deeper than Python's recursion limit) and, where the system
    opens folders, through descriptors opened with O_NOFOLLOW: a link is removed, never followed, even
    one that replaces a folder while the tree is being removed."""
    if not BY_DESCRIPTOR:
        remove_tree_by_path(path)
        return
    path = os.path.abspath(os.fspath(path))
    try:
        top = os.open(path, FOLDER_FLAGS)
    except OSError:
        return  # gone, not a folder, or a link: nothing of it is followed
    # depth first: a descriptor per folder on the way down only, each folder's listing read whole; below
    # OPEN_FOLDERS deep, a folder is moved up into the top one instead (a rename moves a link, never follows
    # it), so a tree deeper than the limit on open files (1024 for most users) is removed all the same
    frames = [(top, listing(top), "")]  # (folder, what is left to remove in it, its name in the one above)
    lifted = itertools.count()
    while frames:
        fd, entries, _ = frames[-1]
        if entries:
            name, is_folder = entries.pop()
            if is_folder and len(frames) >= OPEN_FOLDERS:
                moved = f".removing-{os.getpid()}-{next(lifted)}"
                try:
                    os.rename(name, moved, src_dir_fd=fd, dst_dir_fd=top)
                except (OSError, NotImplementedError):  # no renameat here: removed below as far as descriptors allow
                    pass
                else:
                    frames[0][1].append((moved, True))
                    continue
            try:
                inner = os.open(name, FOLDER_FLAGS, dir_fd=fd) if is_folder else None
            except OSError:
                inner = None  # swapped for a link or a file since it was listed (or out of descriptors)
            if inner is None:
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=fd)
            else:
                frames.append((inner, listing(inner), name))
            continue
        _, _, name = frames.pop()
        os.close(fd)
        if frames:
            with contextlib.suppress(OSError):
                os.rmdir(name, dir_fd=frames[-1][0])
    with contextlib.suppress(OSError):
        os.rmdir(path)


def listing(fd: int) -> list[tuple[str, bool]]:
    """(name, is a folder and not a link) of every entry of the open folder ``fd``; [] if it cannot be listed."""
    try:
        with os.scandir(fd) as entries:
            return [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    except OSError:
        return []


def remove_tree_by_path(path: Path | str) -> None:
    """remove_tree where folders cannot be opened (Windows): by path, never into a link."""
    folders, pending = [], [os.fspath(path)]
    while pending:
        folder = pending.pop()
        folders.append(folder)
        try:
            with os.scandir(folder) as listing:
                for item in listing:
                    if item.is_dir(follow_symlinks=False) and not item.is_symlink():
                        pending.append(item.path)
                    else:
                        with contextlib.suppress(OSError):
                            os.unlink(item.path)
        except OSError:
            continue
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            os.rmdir(folder)


_grading: RunFolder | None = None
_grading_lock = threading.Lock()


def grading_folder() -> Path:
    """This grader's run folder (made on first use, removed at exit; a dead grader's by the next run's).

    A root grader's cases run as another user (run_as.case_user), which must reach its own
    folder inside: the run folder is then searchable by everyone (0o711) but listable by no one.
    """
    global _grading
    with _grading_lock:
        if _grading is None:
            root = hasattr(os, "geteuid") and os.geteuid() == 0
            _grading = RunFolder(GRADING_PREFIX, mode=0o711 if root else 0o700)
            atexit.register(_grading.close)
        return _grading.path
