"""The fork server's hold on the processes below it: adopting orphans, killing them all, relaying a case.

A case may leave processes behind (in a new session, or orphaned): the server is their
subreaper and kills everything below itself after every case.  While it relays a case, the
server also watches its own request input (the grader gone: the case is killed and the
server ends), the case's CPU time (read from /proc/PID/stat, outside the case's reach: the
case is killed once it has used its CPU limit), its wall-clock time (a sleeping case spends
no CPU: the server kills it a little after the grader's backstop would have) and the end of
the case's final result line (a short grace, then the case is killed: see relay).  The fork server (``child.py``) loads this file
by path; the grader imports it normally: the sandbox (``autograder.sandbox``) for ``FinalLine`` and
``kill_tree``, the batch (``autograder.batch.workers``) for ``kill_tree`` and ``kill_below``: the one walker
of a process tree, with one round limit (STOP_ROUNDS).  Standard library only, and no import of the autograder package: it must
load in a ``python -I -S`` process.
"""
from __future__ import annotations

import os
import select
import signal
import time

TYPE_CHECKING = False  # typing is not imported at run time: a spawned case process would pay ~13 ms for it
if TYPE_CHECKING:
    from collections.abc import Callable, Collection

PR_SET_PDEATHSIG: int = 1
PR_SET_CHILD_SUBREAPER: int = 36
SIGKILL: int = 9
KILL_SECONDS: float = 5.0  # how long the server keeps killing a case's leftover processes before giving up
READ_CHUNK: int = 1 << 16
# How many times stop_descendants lists the processes below a root before giving up on finding more (the
# stricter of the grader's two former limits, 20 and 100).  Each listing stops every process it finds and a
# stopped process forks no more, so only a process forked between a listing and its parent's stop is new in
# the next one: a tree still growing after 20 listings is outrunning the walk, and what was found is killed.
STOP_ROUNDS: int = 20
FINAL_GRACE: float = 0.5  # seconds a case may take to end once its final result line is complete
WALL_MARGIN: float = 2.0  # the server kills a case this long after the grader's own wall-clock limit would have
CPU_POLL: tuple[float, float] = (0.02, 0.5)  # the shortest and longest wall-clock wait between two reads of a case's CPU time
CLOCK_TICKS: int = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # the unit of /proc/PID/stat's times
WAIT_CAP: float = 4.0  # a case's wall-clock time is at most this many times its backstop, however long it waited for a CPU
# How the case's final line starts (child.py emit, wire.to_json), in two parts joined only by a FinalLine
# (in the server's relay or the grader): no case finds those bytes in this module (hostile_proc_frames).
FINAL_MARK: tuple[bytes, bytes] = (b'\n{"final"', b":true")


def prctl_function() -> object | None:
    """The C library's ``prctl`` (through ctypes), or None where there is none."""
    try:
        import ctypes
        prctl = ctypes.CDLL(None, use_errno=True).prctl
        prctl.restype = ctypes.c_int
        prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
        return prctl
    except (ImportError, OSError, AttributeError):
        return None


def become_subreaper() -> bool:
    """Make this server the parent of every orphan below it (Linux 3.4+); True if it worked.

    Threat: a case's process that starts a new session and whose parent exits would be
    adopted by init and outlive the case; with this, it is adopted by the server, which
    kills everything below itself after each case (kill_descendants).
    """
    prctl = prctl_function()
    return prctl is not None and prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def die_with_parent(prctl: object | None, parent: int) -> None:
    """In a case, after its last credential change: SIGKILL when its parent (the fork server,
    ``parent``) ends, and an end at once if it has ended already.

    The kernel clears the parent-death signal on every change of credentials (the switch to
    the case user), so it is set after it; and the parent may have died before it was set, so
    the parent is checked after.  Only the case's own parent is watched (it is the server's
    single thread that forks it, so no thread's end can fire it early).  A case that is
    process 1 of a PID namespace of its own (namespaces.py) sees no parent (``getppid()`` is 0
    whether the server lives or not): the signal is set all the same (the kernel sends it
    across namespaces), and if the server died in between, its grader kills the case's
    process group when it finds the server gone (sandbox/forkserver.py).  Without ``prctl``
    (None) nothing is set: the server's own watch on its grader (relay) still ends the case.
    """
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
    if os.getppid() != parent and os.getpid() != 1:
        os._exit(SIGKILL + 128)


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


def stop_descendants(root: int) -> list[int]:
    """SIGSTOP every process below ``root``, listing again until a listing finds nothing new (at most
    STOP_ROUNDS listings); the processes stopped, in the order found.

    A stopped process forks no more, so a process forked while the tree was read (by one not yet
    stopped) is found by the next listing instead of being orphaned to init by the kill that follows.
    """
    stopped: list[int] = []
    seen: set[int] = set()
    for _ in range(STOP_ROUNDS):
        new = [pid for pid in descendants(root) if pid not in seen]
        if not new:
            break
        for pid in new:
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError:
                pass
        seen.update(new)
        stopped += new
    return stopped


def kill_tree(root: int) -> None:
    """SIGKILL ``root``'s process group, every process below ``root`` and the process groups they lead
    (except the caller's own group), none escaping.

    The grader's side: a fork server and what its cases left (sandbox/forkserver.py), a batch worker
    and its sandbox's processes, which live in sessions of their own (batch/workers.py).  ``root`` is
    the leader of its own group (started with ``start_new_session``).  Its group is stopped first, then
    everything below it (stop_descendants), then all of it is killed.
    """
    try:
        os.killpg(root, signal.SIGSTOP)  # no new children from the root's group while we look
    except OSError:
        pass
    kill_below(root)
    try:
        os.killpg(root, signal.SIGKILL)
    except OSError:
        pass


def kill_below(root: int) -> None:
    """SIGKILL every process below ``root`` and the process groups they lead (neither ``root``'s group nor
    the caller's): stop_descendants first, then the kill."""
    own_group = os.getpgrp()
    for pid in stop_descendants(root):
        try:
            group = os.getpgid(pid)
            if group not in (own_group, root):
                os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


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



def cpu_time(pid: int) -> float | None:
    """The CPU seconds (user and system, every thread) the process ``pid`` has used so far, from
    /proc/PID/stat; None where that cannot be read (no /proc: RLIMIT_CPU alone ends the case then).

    Read from outside the case: nothing the case does changes it but using CPU (its name, between
    parentheses, may hold anything: the fields are read after the last ")")."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        fields = read_all(fd).rpartition(b")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return None
    finally:
        os.close(fd)


def waited(pid: int) -> float:
    """The seconds the process ``pid`` (its main thread) has spent runnable but waiting for a CPU: its run
    queue delay in /proc/PID/schedstat, which holds the time a cgroup's CPU quota kept it throttled too;
    0.0 where the kernel does not say (no /proc, a kernel without scheduler statistics)."""
    try:
        fd = os.open(f"/proc/{pid}/schedstat", os.O_RDONLY)
    except OSError:
        return 0.0
    try:
        return int(read_all(fd).split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0
    finally:
        os.close(fd)


def wall_allowed(pid: int, seconds: float) -> float:
    """The wall-clock seconds the case ``pid`` may take so far: ``seconds`` (its backstop, Limits.wall)
    plus the time it has spent waiting for a CPU (other jobs, other processes, a small CPU quota: never
    the case's own doing), at most WAIT_CAP x ``seconds`` in all.

    Only a case that sleeps or blocks uses up its backstop; one that computes is ended by its CPU time.
    The cap bounds a case that would starve itself (lowered its own priority on a busy machine)."""
    return min(seconds + waited(pid), WAIT_CAP * seconds)


def reaped(pid: int) -> tuple[int, float]:
    """Wait for the child ``pid``: its wait status and the CPU seconds it used (its rusage)."""
    _, status, usage = os.wait4(pid, 0)
    return status, usage.ru_utime + usage.ru_stime


def kill(pid: int) -> None:
    try:
        os.kill(pid, SIGKILL)
    except OSError:
        pass


class FinalLine:
    """Spots, in a case's result stream fed chunk by chunk, the end of its final line.

    The case's harness writes every message as ``\\n`` + one JSON line + ``\\n`` and its last
    one starts with ``{"final":true`` (child.py emit); JSON escapes every newline inside a
    line, so the next newline after that start ends it.  Student code may write the same
    bytes on the pipe: it can only end its own case early (the grader validates every line).
    """

    def __init__(self) -> None:
        self.mark = b"".join(FINAL_MARK)
        self.tail = b""  # the end of what was fed, where a mark may have started
        self.marked = False  # the mark was seen: only the line's end is looked for now
        self.complete = False

    def feed(self, chunk: bytes) -> bool:
        """Take the next bytes of the stream; True once the final line is complete."""
        if self.complete:
            return True
        data = self.tail + chunk
        if not self.marked:
            at = data.find(self.mark)
            if at < 0:
                self.tail = data[-(len(self.mark) - 1):]
                return False
            self.marked, data = True, data[at + len(self.mark):]
        self.tail = b""
        self.complete = b"\n" in data
        return self.complete


def relay(pid: int, read_fd: int, budget: int, spared: Collection[int] = (), watched: int | None = None,
          seconds: float | None = None, on_final: Callable[[], None] | None = None,
          cpu_seconds: float | None = None) -> tuple[bytes, int, bool, str, float]:
    """The case's result bytes (at most ``budget``), its exit status, whether it went over, why
    the server ended it, and the CPU seconds it used (its rusage once reaped).  Why: "" (it ended
    by itself, or FINAL_GRACE after its final line), "cpu" (it used ``cpu_seconds`` of CPU time
    without sending its final line, measured here while it runs, or it was killed at RLIMIT_CPU),
    "wall" (``seconds`` of wall-clock time, plus the time it waited for a CPU (wall_allowed), then
    WALL_MARGIN, passed) or "gone" (``watched``,
    the server's request input, became readable: its grader is gone or broke the protocol;
    the status is then the killed case's).

    Reads until the case's process has ended and every process below this server but the
    ``spared`` ones is killed (a leftover holding the pipe cannot keep it open), so the pipe ends.

    Threat: the grader is killed (``kill -9``) while a case sleeps, or is stuck; the case spends
    no CPU, so no rlimit ends it, and its grader will never kill it.  The server's request input
    is a pipe only the grader writes, and only between cases: during a case, end of file or any
    byte on it means the grader is gone (its end of the pipe closed with it) or broke the
    protocol; either way the case is killed at once.  A case that sent its final result and
    then spins (in a replaced ``sys.stdout.flush``, a signal handler...) cannot hold the grader
    either: FINAL_GRACE after its final line it is killed, and its result stands; ``on_final`` is
    called then, once (the server tells its grader, whose own time limit then waits for the grace).

    Threat: a case that computes for ever; its CPU time is read here, from /proc/PID/stat, no
    sooner than it could have reached ``cpu_seconds`` (and at least every CPU_POLL[1] seconds):
    contention (other jobs, a small CPU quota) slows it down but never counts against it.
    """
    try:
        ended = os.pidfd_open(pid)
    except (AttributeError, OSError):
        ended = None  # old kernel: read until the pipe ends, as before
    chunks, total, overflow, status, stopped, cpu = [], 0, False, None, "", 0.0
    final = FinalLine()
    started = time.monotonic()
    give_up = started + seconds + WALL_MARGIN if seconds is not None else None
    # when its CPU time is read next: no sooner than it could have used its limit (or CPU_POLL[1])
    check_cpu = started + min(max(cpu_seconds, CPU_POLL[0]), CPU_POLL[1]) if cpu_seconds is not None else None
    pipe_open = True
    try:
        while pipe_open or status is None:
            waiting = [read_fd] if pipe_open else []
            if status is None:
                waiting += [fd for fd in (ended, watched) if fd is not None]
            deadlines = [when for when in (give_up, check_cpu) if when is not None]
            limit = None if not deadlines or status is not None else max(0.0, min(deadlines) - time.monotonic())
            ready, _, _ = select.select(waiting, [], [], limit)
            if not ready and status is None:
                now = time.monotonic()
                if give_up is not None and now >= give_up and not final.complete and seconds is not None:
                    give_up = max(give_up, started + wall_allowed(pid, seconds) + WALL_MARGIN)  # its wait for a CPU
                if give_up is not None and now >= give_up:  # its time, or the grace after its final line, is over
                    stopped = stopped or ("" if final.complete else "wall")
                    kill(pid)  # reaped below, then what it left is killed (kill_descendants would reap it first)
                    give_up = check_cpu = None
                elif check_cpu is not None and now >= check_cpu:
                    used = cpu_time(pid)
                    if used is None:
                        check_cpu = None  # not readable here: RLIMIT_CPU ends it (see below)
                    elif used >= cpu_seconds:
                        stopped = "cpu"
                        kill(pid)
                        give_up = check_cpu = None
                    else:
                        check_cpu = now + min(max(cpu_seconds - used, CPU_POLL[0]), CPU_POLL[1])
                continue
            if watched in ready and status is None:
                stopped = "gone"
                kill(pid)
                status, cpu = reaped(pid)
                break
            if ended in ready and status is None:
                status, cpu = reaped(pid)
                kill_descendants(spared=spared)
                continue
            if read_fd not in ready:
                continue
            chunk = os.read(read_fd, READ_CHUNK)
            if not chunk:
                pipe_open = False
                if ended is None and status is None:
                    break  # no pidfd (Linux before 5.3): the status is waited for below, as before
                continue
            total += len(chunk)
            if total > budget:
                overflow = True
                kill(pid)
                break
            chunks.append(chunk)
            if not final.complete and final.feed(chunk):
                give_up = min(give_up, time.monotonic() + FINAL_GRACE) if give_up else time.monotonic() + FINAL_GRACE
                check_cpu = None  # its result is in: what it spends in the grace is never a timeout
                if on_final is not None:
                    on_final()
    finally:
        if ended is not None:
            os.close(ended)
        os.close(read_fd)
    if status is None:
        status, cpu = reaped(pid)
    kill_descendants(spared=spared)
    if not stopped and not final.complete and cpu_seconds is not None and cpu >= cpu_seconds:
        stopped = "cpu"  # the kernel ended it at RLIMIT_CPU before it was read here
    return b"".join(chunks), status, overflow, stopped, cpu
