"""The Linux backend: fork servers that fork one fresh, kernel-confined process per case.

A ``python -I -S child.py`` fork server (see child.py: Landlock, the seccomp filter, the
switch to an unprivileged user, the subreaper) per grading thread; a case is a process
forked from it, in a session of its own, killed with everything below it when it ends.
Used where the kernel has these layers (see autograder.sandbox.backends); imported only then.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from autograder.case.processes import FINAL_GRACE, kill_tree, wall_allowed
from autograder.sandbox.protocol import (CHILD_SCRIPT, SERVER_FAILURES, SERVER_GRACE, START_SECONDS, ServerBroken,
                                         child_env, request_frame)



def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass



class ForkServer:
    """A ``python -I -S child.py`` process that forks one fresh child per case (see child.py),
    or the twin such a server forks for a second thread once prepared (``start(twin=True)``),
    which saves that thread a server's start-up (an interpreter, the standard modules, the
    seccomp filter: about 75 ms of CPU)."""

    def __init__(self) -> None:
        self.process = None  # a server started here; None for a twin (its first server's child)
        self.requests = None  # where requests are written (a binary file)
        self.results = -1  # the descriptor frames are read from
        self.twin_pending = False  # a twin that has not said it is up yet
        self.twin_pid: int | None = None  # a twin's process id, as it said when it came up
        self.busy = False  # a case is in flight
        self.buffer = bytearray()  # appended to and consumed from the front in linear time

    def start(self, twin: bool = False) -> ForkServer | None:
        """Start this server; with ``twin``, return a second one, which it forks once prepared."""
        if _closing.is_set():
            raise ServerBroken("the grader is stopping")
        ends = (*os.pipe(), *os.pipe()) if twin else ()  # requests to the twin, its results
        argv = ["--twin", str(ends[0]), str(ends[3])] if twin else []
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(CHILD_SCRIPT), *argv], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
                pass_fds=ends[0:4:3], env=child_env())
        except BaseException:
            for fd in ends:
                os.close(fd)
            raise
        for fd in ends[0:4:3]:
            os.close(fd)  # the server's ends, now its own
        self.requests, self.results, self.buffer = self.process.stdin, self.process.stdout.fileno(), bytearray()
        if not twin:
            return None
        other = ForkServer()
        other.requests, other.results, other.twin_pending = os.fdopen(ends[1], "wb"), ends[2], True
        return other

    def ensure_running(self) -> None:
        if self.process is None and self.requests is not None:  # a twin
            if self.twin_pending:
                try:
                    hello = self.read_frame(time.monotonic() + START_SECONDS)
                except (OSError, ValueError, ServerBroken):
                    hello = None
                self.twin_pending = False
                if isinstance(hello, dict) and type(hello.get("twin")) is int:
                    self.twin_pid = hello["twin"]
                    return
            elif not select.select([self.results], [], [], 0)[0]:
                return  # nothing to read between cases: still serving (a twin's end shows as end of file)
            self.close()  # a twin that never came up or has ended: a server of this thread's own from now on
        if self.process is None or self.process.poll() is not None:
            self.start()

    def close(self, graceful: bool = False) -> None:
        """Stop this server: killed with everything below it, or, ``graceful``, asked to end first
        (its input closed: it reaps its twin, kills what is left below it and exits), so that the
        CPU time of a twin and its cases is counted in the server's, as a child's is."""
        if self.process is not None:
            if graceful:
                try:
                    self.process.stdin.close()
                    self.process.wait(timeout=SERVER_GRACE)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            if self.process.poll() is None:  # not reaped yet, so its pid is still its own
                kill_tree(self.process.pid)  # the server and anything a case left below it (its twin too)
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                stream.close()
            self.process = None
        elif self.requests is not None:
            # A twin: with its input closed it ends; its first server's close kills what is left.
            try:
                self.requests.close()
            except OSError:
                pass
            os.close(self.results)
        self.requests, self.results, self.twin_pending = None, -1, False

    def read_bytes(self, size: int, deadline: float) -> bytes | None:
        """Exactly ``size`` bytes from the server, or None at the deadline."""
        fd = self.results
        while len(self.buffer) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, max(1 << 16, size - len(self.buffer)))
                if not chunk:
                    raise ServerBroken("the fork server closed its output")
                self.buffer += chunk
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def read_frame(self, deadline: float) -> dict[str, Any] | None:
        size = self.read_bytes(4, deadline)
        if size is None:
            return None
        header = self.read_bytes(int.from_bytes(size, "big"), deadline + SERVER_GRACE)
        if header is None:
            raise ServerBroken("the fork server sent a partial frame")
        return json.loads(header)

    def read_finished(self, deadline: float) -> dict[str, Any] | None:
        """The frame that says how the case ended, or None at ``deadline``.  Once the server says the
        case's final result is complete (``{"final": true}``), the deadline becomes the grace the
        server gives the case to end (FINAL_GRACE, and SERVER_GRACE for the frames): a case whose
        result came in time is never a timeout because of what it did afterwards."""
        while True:
            frame = self.read_frame(deadline)
            if not (isinstance(frame, dict) and frame.get("final") is True and "exit" not in frame):
                return frame
            deadline = max(deadline, time.monotonic() + FINAL_GRACE + SERVER_GRACE)

    def run(self, request: dict[str, Any], budget: int, cpu_seconds: float,
            wall_seconds: float) -> tuple[bytes, str, int | None, float | None]:
        """Run one request; return (at most ``budget`` result bytes, how it ended, exit code, the CPU
        seconds the case used).  The server ends the case at ``cpu_seconds`` of its CPU time; this
        thread, at ``wall_seconds`` of wall-clock time (the backstop for a case that sleeps), not
        counting the time the case waited for a CPU (processes.wall_allowed)."""
        self.ensure_running()
        started = time.monotonic()
        self.busy = True
        started_frame = None
        try:
            self.requests.write(request_frame(request, budget, wall_seconds, cpu_seconds))
            self.requests.flush()
            started_frame = self.read_frame(started + SERVER_GRACE)
            if started_frame is None:
                raise ServerBroken("the fork server did not start the case")
            how = "eof"
            finished = self.read_finished(started + wall_seconds)
            while finished is None:  # the time the case waited for a CPU does not count (processes.wall_allowed)
                later = started + wall_allowed(started_frame["pid"], wall_seconds)
                if later <= time.monotonic():
                    break
                finished = self.read_finished(later)
            if finished is None:
                how = "timeout"
                kill_group(started_frame["pid"])
                finished = self.read_finished(time.monotonic() + SERVER_GRACE)
                if finished is None:
                    raise ServerBroken("the fork server did not reap a killed case")
            kill_group(started_frame["pid"])  # anything the case left behind in its session
            if not 0 <= finished["length"] <= budget:
                raise ServerBroken("the fork server announced more than the result budget")
            payload = self.read_bytes(finished["length"], time.monotonic() + SERVER_GRACE)
            if payload is None:
                raise ServerBroken("the fork server sent a partial result")
        except SERVER_FAILURES:
            if isinstance(started_frame, dict) and type(started_frame.get("pid")) is int:
                kill_group(started_frame["pid"])  # a server that broke mid-case leaves no case behind
            self.close()
            raise
        finally:
            self.busy = False
        if finished.get("timeout"):  # the server ended it: its CPU limit, or its own wall-clock limit (a stuck grader)
            how = "timeout"
        if finished.get("overflow"):
            how = "overflow"
        cpu = finished.get("cpu")
        return payload, how, finished.get("exit"), float(cpu) if type(cpu) in (int, float) else None


_servers = threading.local()
_all_servers = []
_spare_servers = []  # started ahead by prestart_servers, not yet any thread's
_servers_lock = threading.Lock()
_closing = threading.Event()  # set by a final close_servers: no server starts again


def prestart_servers(count: int) -> None:
    """Start ``count`` fork servers now, for the first threads that need one: pairs of a
    server and its twin (see ForkServer).

    Their start-up (an interpreter, the standard modules, the seccomp filter) then runs on
    the other cores while the grader imports NumPy and loads the fixtures.
    """
    with _servers_lock:
        needed = count - len(_spare_servers)
        while needed > 0:
            server = ForkServer()
            try:
                twin = server.start(twin=needed > 1)
            except OSError:
                return  # the first case tries again, and reports why it cannot run
            started = [server] if twin is None else [server, twin]
            _spare_servers.extend(started)
            _all_servers.extend(started)
            needed -= len(started)


def fork_server() -> ForkServer:
    """This thread's fork server (one case at a time each)."""
    server = getattr(_servers, "server", None)
    if server is None:
        with _servers_lock:
            if _spare_servers:
                server = _spare_servers.pop()
            else:
                server = ForkServer()
                _all_servers.append(server)
        _servers.server = server
    return server


def close_servers(final: bool = False) -> None:
    """Stop every fork server: when no case is in flight, each is asked to end (twins first: their
    servers wait for them), so their CPU time is all counted; otherwise (an interrupted run) at once.
    ``final``: no server starts again in this process (Ctrl-C: the grading threads' later cases fail at once)."""
    if final:
        _closing.set()
    with _servers_lock:
        graceful = not any(server.busy for server in _all_servers)
        for server in sorted(_all_servers, key=lambda server: server.process is not None):
            server.close(graceful)


atexit.register(close_servers)
