"""The fork server's hold on the processes below it: adopting orphans, killing them all, relaying a case.

A case may leave processes behind (in a new session, or orphaned): the server is their
subreaper and kills everything below itself after every case.  The fork server
(``child.py``) loads this file by path; the grader (``autograder.sandbox``) imports it
normally for ``descendants``.  Standard library only, and no import of the autograder
package: it must load in a ``python -I -S`` process.
"""
from __future__ import annotations

import os
import select
import time

TYPE_CHECKING = False  # typing is not imported at run time: a spawned case process would pay ~13 ms for it
if TYPE_CHECKING:
    from collections.abc import Collection

PR_SET_CHILD_SUBREAPER: int = 36
KILL_SECONDS: float = 5.0  # how long the server keeps killing a case's leftover processes before giving up
READ_CHUNK: int = 1 << 16


def become_subreaper() -> bool:
    """Make this server the parent of every orphan below it (Linux 3.4+); True if it worked.

    Threat: a case's process that starts a new session and whose parent exits would be
    adopted by init and outlive the case; with this, it is adopted by the server, which
    kills everything below itself after each case (kill_descendants).
    """
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (ImportError, OSError, AttributeError):
        return False


def descendants(pid: int, spared: Collection[int] = ()) -> list[int]:
    """Every process below ``pid`` (from /proc/PID/task/TID/children; zombies included), except
    the processes ``spared`` and everything below them."""
    if not os.path.exists(f"/proc/{pid}/task/{pid}/children"):
        return descendants_by_parent(pid, spared)  # a kernel without CONFIG_PROC_CHILDREN (or pid gone)
    found, pending = [], [pid]
    while pending:
        parent = pending.pop()
        try:
            threads = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue  # gone already
        for thread in threads:
            try:
                fd = os.open(f"/proc/{parent}/task/{thread}/children", os.O_RDONLY)
            except OSError:
                continue
            try:
                children = [int(c) for c in read_all(fd).split() if int(c) not in spared]
            finally:
                os.close(fd)
            found += children
            pending += children
    return found


def descendants_by_parent(pid: int, spared: Collection[int] = ()) -> list[int]:
    """Every process below ``pid``, from the parent ids of all processes (slower: reads every /proc/N/stat)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fd = os.open(f"/proc/{name}/stat", os.O_RDONLY)
        except OSError:
            continue
        try:
            fields = read_all(fd).rpartition(b")")[2].split()  # after "(comm)", which may hold anything
        except OSError:
            continue
        finally:
            os.close(fd)
        if len(fields) > 1 and int(name) not in spared:
            children.setdefault(int(fields[1]), []).append(int(name))
    found, pending = [], [pid]
    while pending:
        kids = children.get(pending.pop(), [])
        found += kids
        pending += kids
    return found


def read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, READ_CHUNK):
        chunks.append(chunk)
    return b"".join(chunks)


def reap_children() -> None:
    """Collect every child of this process that has ended (never blocks)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def wait_for(pid: int, seconds: float) -> bool:
    """Reap the child ``pid`` once it ends, waiting at most ``seconds``; True if it was reaped."""
    give_up = time.monotonic() + seconds
    while True:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            return False
        if time.monotonic() > give_up:
            return False
        time.sleep(0.001)


def kill_descendants(seconds: float = KILL_SECONDS, spared: Collection[int] = ()) -> bool:
    """SIGKILL every process below this server until none is left (zombies reaped); True if none is.

    A process forked while the tree is read is a child of one being killed: it is adopted by
    this subreaper and found on the next pass.  Only processes below the server are touched,
    and neither the ``spared`` ones (a twin server, see child.py) nor anything below them.
    """
    me = os.getpid()
    give_up = time.monotonic() + seconds
    while True:
        reap_children()
        found = descendants(me, spared)
        if not found:
            return True
        for child in found:
            try:
                os.kill(child, 9)
            except OSError:
                pass
        if time.monotonic() > give_up:
            return False
        time.sleep(0.001)  # let the kernel finish them (and their zombies reach us)



def relay(pid: int, read_fd: int, budget: int, spared: Collection[int] = ()) -> tuple[bytes, int, bool]:
    """The case's result bytes (at most ``budget``), its exit status and whether it went over.

    Reads until the case's process has ended and every process below this server but the
    ``spared`` ones is killed (a leftover holding the pipe cannot keep it open), so the pipe ends.
    """
    try:
        ended = os.pidfd_open(pid)
    except (AttributeError, OSError):
        ended = None  # old kernel: read until the pipe ends, as before
    chunks, total, overflow, status = [], 0, False, None
    try:
        while True:
            watched = [read_fd] if ended is None or status is not None else [read_fd, ended]
            ready, _, _ = select.select(watched, [], [])
            if ended in ready and status is None:
                _, status = os.waitpid(pid, 0)
                kill_descendants(spared=spared)
                continue
            chunk = os.read(read_fd, READ_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > budget:
                overflow = True
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
                break
            chunks.append(chunk)
    finally:
        if ended is not None:
            os.close(ended)
        os.close(read_fd)
    if status is None:
        _, status = os.waitpid(pid, 0)
    kill_descendants(spared=spared)
    return b"".join(chunks), status, overflow
