"""The portable backend: one freshly spawned ``python -I -S`` process per case (child.py ``serve_spawned``).

For systems without the Linux backend's kernel layers or ``fork`` (Windows, macOS, Linux
without Landlock and seccomp; see autograder.sandbox.backends).  Everything that is not
kernel-specific is the Linux backend's: the same child (child.py ``run_case``: the
switch to an unprivileged user as root, resource limits where the system has them, the
audit hook, the program interpreter, the wire format), the same request and result
budget, the same per-case time limits, enforced here by killing the process: its CPU time,
read from /proc/PID/stat where there is one (Linux), else ended by RLIMIT_CPU (macOS), and
known from its rusage once reaped (``os.wait4``); the wall-clock backstop.  Windows has
neither: there the wall-clock limit alone ends a case (the report's header says so).

A case process is spawned ahead of its case: while one case runs, the next process starts
its interpreter and the harness's own modules, and says it is ready with one byte before
it gets a request, so its start-up is never counted in a case's time.  It serves exactly
one request and is then killed with its process group (POSIX) or its job (Windows, see
windows_job.py): when it ends, when its time is over, or FINAL_GRACE after its final result
line (a case that spins once its result is sent cannot hold the grader; its result stands);
and so is every process still alive when the grader ends or is interrupted (``close_all``).
A grader that dies without any of that (``kill -9``) leaves nothing running either: a case
process waiting for its request reads end of file and exits, and one running a case ends
itself once its grader is gone (child.py ``watchdog``: it watches its parent, not a
parent-death signal, which would fire when the grader's *thread* that spawned it ends).

Not defended (stated in every report's header): native code reached from a submission
(ctypes without an import) is not stopped by any kernel layer here.
"""
from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from autograder.case.processes import CPU_POLL, FINAL_GRACE, FinalLine, cpu_time, wall_allowed
from autograder.sandbox.protocol import (CHILD_SCRIPT, SERVER_GRACE, START_SECONDS, ServerBroken, child_env,
                                         request_frame)

# How a case process starts: child.py loaded through the bytecode cache, as its siblings are (run as
# a script, it would be compiled again by every process: ~5 ms of CPU each), then serve_spawned.
BOOT = ("import sys\n"
        "from importlib.machinery import SourceFileLoader\n"
        "child = type(sys)('mytorch_case_child')\n"
        "child.__file__ = sys.argv[1]\n"
        "exec(SourceFileLoader(child.__name__, sys.argv[1]).get_code(child.__name__), child.__dict__)\n"
        "child.serve_spawned()\n")
READY = b"\x00"  # the byte a case process writes once it is ready for its request
WATCHDOG_EXIT = 71  # how a case process ends itself when its time is over (child.py watchdog)
READ_CHUNK = 1 << 16

_live: set[CaseProcess] = set()  # every case process not yet killed and reaped
_live_lock = threading.Lock()
_closing = threading.Event()  # set by close_all: no new case process starts from then on
_spares: list[CaseProcess] = []  # started ahead, waiting for a request (at most one per grading thread)


class CaseProcess:
    """One spawned case process, for exactly one request."""

    def __init__(self) -> None:
        if _closing.is_set():
            raise ServerBroken("the grader is stopping")
        options: dict[str, Any] = {}
        if os.name == "nt":  # Ctrl-C reaches the grader, never the student's code; the grader then kills it
            options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        else:
            options["start_new_session"] = True  # its own process group, killed as one
        self.process = subprocess.Popen([sys.executable, "-I", "-S", "-c", BOOT, str(CHILD_SCRIPT)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        env=child_env(), **options)
        self.job = None
        with _live_lock:
            _live.add(self)
        if os.name == "nt":
            from autograder.sandbox.windows_job import contain
            self.job = contain(self.process)
        self.chunks: list[bytes] = []
        self.total = 0
        self.overflow = False
        self.ready = threading.Event()
        self.settled = threading.Event()  # its final result line is complete, or its output ended
        self.final = FinalLine()
        self.started = False  # the process said it is ready
        self.cpu: float | None = None  # the CPU seconds it used, once reaped (POSIX: its rusage)
        self.reader: threading.Thread | None = None
        self.lock = threading.Lock()

    def run(self, request: dict[str, Any], budget: int, cpu_seconds: float,
            wall_seconds: float) -> tuple[bytes, str, int | None, float | None]:
        """Run one request; return (at most ``budget`` result bytes, how it ended, exit code, the CPU
        seconds the case used: its rusage on POSIX, None on Windows, where only ``wall_seconds`` ends it)."""
        if self.job is not None and self.job.limit(request["limits"]):
            request = {**request, "job_limits": True}  # the case says so in its first line (rlimits)
        self.reader = threading.Thread(target=self._read, args=(budget,), name="case-reader", daemon=True)
        self.reader.start()
        try:
            self.ready.wait(START_SECONDS)
            if not self.started:
                raise ServerBroken("the case process did not start")
            started = time.monotonic()
            try:
                self.process.stdin.write(request_frame(request, budget, wall_seconds, cpu_seconds))
                self.process.stdin.close()
            except OSError as error:
                raise ServerBroken(f"the case process ended before its request ({error})") from error
            how = self._wait(started, cpu_seconds, wall_seconds)
            if how == "eof" and self.process.returncode == WATCHDOG_EXIT and time.monotonic() > started + wall_seconds:
                how = "timeout"  # its own watchdog ended it, this thread having been held up past its time
            self.kill()  # the case's whole group (or job): nothing it started outlives it
            self._wait_reaped(time.monotonic() + SERVER_GRACE)  # its rusage, before close() reaps it without
            self.reader.join(SERVER_GRACE)
            with self.lock:
                payload, overflow = b"".join(self.chunks), self.overflow
                self.chunks = []
                self.overflow = True  # a reader still held by a leftover process stores nothing more
        finally:
            self.close()
        return payload, "overflow" if overflow else how, self.process.returncode, self.cpu

    def _wait(self, started: float, cpu_seconds: float, wall_seconds: float) -> str:
        """Wait until the case process has ended ("eof") or must be ended ("timeout": it has used
        ``cpu_seconds`` of CPU time, read from /proc/PID/stat where there is one, else ended by
        RLIMIT_CPU; or ``wall_seconds`` of wall-clock time have passed, not counting the time it waited
        for a CPU where /proc says).  FINAL_GRACE after its final line it is ended too, never as a timeout."""
        deadline = started + wall_seconds
        check_cpu: float | None = started + min(max(cpu_seconds, CPU_POLL[0]), CPU_POLL[1])
        grace = False
        pause = 0.0005
        while not self._reaped():
            now = time.monotonic()
            if self.final.complete and not grace:  # a short grace to end by itself, never counted as a timeout
                grace, deadline, check_cpu = True, now + FINAL_GRACE, None
            if now >= deadline and not grace:  # the time it waited for a CPU does not count (processes.wall_allowed)
                deadline = max(deadline, started + wall_allowed(self.process.pid, wall_seconds))
            if now >= deadline:
                return "eof" if self.final.complete else "timeout"
            if check_cpu is not None and now >= check_cpu:
                used = cpu_time(self.process.pid)
                if used is None:
                    check_cpu = None  # no /proc (macOS): RLIMIT_CPU ends it
                elif used >= cpu_seconds:
                    return "timeout"
                else:
                    check_cpu = now + min(max(cpu_seconds - used, CPU_POLL[0]), CPU_POLL[1])
            until = min(deadline, check_cpu) if check_cpu is not None else deadline
            if not self.settled.is_set():
                self.settled.wait(max(0.0, until - now))  # its output ends when it does
            else:  # its output ended (or its final line came): it is ending, or spinning in its grace
                time.sleep(max(0.0, min(pause, until - now)))
                pause = min(2 * pause, 0.05)
        return "eof"

    def _reaped(self) -> bool:
        """Whether the case process has ended; reaped with its rusage (``self.cpu``) where there is wait4."""
        if self.process.returncode is not None:
            return True
        if not hasattr(os, "wait4"):  # Windows: no rusage, the process handle says only whether it ended
            return self.process.poll() is not None
        try:
            pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
        except (ChildProcessError, ImportError):  # reaped by Popen in another thread (close_all), or no
            return self.process.poll() is not None  # resource module for the rusage: no CPU time then
        if pid == 0:
            return False
        self.process.returncode = os.waitstatus_to_exitcode(status)
        self.cpu = usage.ru_utime + usage.ru_stime
        return True

    def _wait_reaped(self, deadline: float) -> None:
        while not self._reaped() and time.monotonic() < deadline:
            time.sleep(0.001)

    def _read(self, budget: int) -> None:
        """The reader thread: the ready byte, then at most ``budget`` bytes (more: overflow, and the case is killed)."""
        fd = self.process.stdout.fileno()
        try:
            first = os.read(fd, 1)
            if first != READY:
                return
            self.started = True
            self.ready.set()
            while True:
                chunk = os.read(fd, READ_CHUNK)
                if not chunk:
                    return
                with self.lock:
                    if self.overflow:
                        return
                    self.total += len(chunk)
                    if self.total > budget:
                        self.overflow = True
                        self.chunks = []
                    else:
                        self.chunks.append(chunk)
                if self.overflow:
                    self.kill()
                    return
                if not self.final.complete and self.final.feed(chunk):
                    self.settled.set()  # the grace after the final line starts (run)
        except OSError:
            return
        finally:
            self.ready.set()  # whatever happened, nobody waits for a start that will not come
            self.settled.set()

    def kill(self) -> None:
        """Kill the case process and everything in its process group (POSIX) or job (Windows)."""
        if self.job is not None:
            self.job.terminate()
        elif hasattr(os, "killpg"):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # its session's group: the process itself too
                return  # (Popen.kill would reap it first, and its rusage, the CPU it used, with it)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.process.kill()
        except OSError:
            pass

    def close(self) -> None:
        """Kill, reap and forget this process (idempotent)."""
        self.kill()
        try:
            self.process.wait(SERVER_GRACE)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self.job is not None:
            self.job.close()
        with _live_lock:
            _live.discard(self)


class Spawner:
    """Runs each case in a process of its own; the process for a thread's next case starts while this one runs."""

    def run(self, request: dict[str, Any], budget: int, cpu_seconds: float,
            wall_seconds: float) -> tuple[bytes, str, int | None, float | None]:
        case = take_spare()
        prestart(1)
        return case.run(request, budget, cpu_seconds, wall_seconds)


SPAWNER = Spawner()


def take_spare() -> CaseProcess:
    """A process started ahead that is still waiting for its request, else a new one."""
    while True:
        with _live_lock:
            case = _spares.pop() if _spares else None
        if case is None:
            return CaseProcess()
        if case.process.poll() is None:
            return case
        case.close()


def prestart(count: int) -> None:
    """Start ``count`` case processes ahead (their start-up runs while the grader works)."""
    for _ in range(count):
        try:
            case = CaseProcess()
        except (OSError, ServerBroken):
            return  # the case that needs one tries again, and reports why it cannot run
        with _live_lock:
            _spares.append(case)


def close_all(final: bool = False) -> None:
    """Kill every case process (and what its group or job holds); ``final``: start none again in this
    process (at exit, or when grading is interrupted: the grading threads' later cases fail at once)."""
    _closing.set()
    with _live_lock:
        live = list(_live)
        _spares.clear()
    for case in live:
        case.close()
    if not final:
        _closing.clear()


atexit.register(close_all, True)
