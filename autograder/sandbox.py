"""Run one fixture case of a student submission in an isolated child process.

Isolation, per case: a fresh process forked from a clean ``python -I -S``
fork server (no site-packages, so nothing but the standard library imports;
the server itself never runs student code), a new session, every process
below the server killed when the case ends (the server is their subreaper), an
unprivileged user when the grader is root, a fresh temporary working folder,
hard resource limits (address space, CPU seconds, file size, open files,
processes), Landlock and a seccomp system-call filter where the kernel has them,
and an audit hook, all set up by ``child.py``, plus a wall-clock timeout
enforced here.

Threat model for what comes back: the case controls its working folder and the
result pipe.  So the grader reads back only ``.output``, a file it created
itself, through a folder descriptor opened before the case ran, never following
a link, only if it is still that same regular file with one link, without
blocking and at most OUTPUT_HEAD_BYTES; and it reads at most a per-case result
budget (sized from the case's expected shapes) in linear time.

Only the program and its *input* arrays cross the pipe; expected values stay in
this process.  Whatever the child prints goes to a file of its own, never into
the channel the results come back on, and every result is validated by the
caller before it is compared.
"""
from __future__ import annotations

import atexit
import binascii
import json
import marshal
import math
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.processes import descendants
from autograder.compat import strict_base64
from autograder.child_messages import ChildOutcome, clean_sandbox, clean_text, interpret, parse_messages
from autograder.precompiled import MAX_RESULT_BYTES as MAX_COMPILED_BYTES
from autograder.run_as import SandboxError, case_user, readable_submission

if TYPE_CHECKING:
    from autograder.fixtures import Case

CHILD_SCRIPT = Path(__file__).resolve().parent / "child.py"
DEFAULT_JOBS = os.cpu_count() or 1  # items graded at once, each by a fork server of its own
OUTPUT_HEAD_BYTES = 4000
OUTPUT_NAME = ".output"
MiB = 1024 * 1024
SERVER_GRACE = 5.0  # seconds the fork server may take to answer outside the case's own time
TWIN_START_SECONDS = 60.0  # how long a twin may take to say it is up (its server's whole start-up)
# A float is at most 25 characters of JSON ("-1.2345678901234567e-308,"); tags and ints fit in
# the rest.  The base covers progress lines and an error report (traceback of 8000 characters,
# each escaped to at most 6).
RESULT_BYTES_PER_ELEMENT = 64
RESULT_BASE_BYTES = 256 * 1024
PRECOMPILED_BYTES = RESULT_BASE_BYTES + MAX_COMPILED_BYTES  # what the compiling step may send back
Precompiled = tuple[tuple[str, bytes, bytes], ...]  # (relative path, source, marshalled code): compile_submission


@dataclass(frozen=True)
class Limits:
    """Per-case limits. ``timeout`` is wall-clock seconds."""
    timeout: float = 10.0
    address_space: int = 1024 * MiB
    file_size: int = 16 * MiB
    open_files: int = 64
    processes: int = 0
    created_files: int = 4  # files a case may create (each at most file_size; no folders or links)

    def rlimits(self) -> dict[str, int]:
        return {"address_space": self.address_space, "cpu_seconds": int(self.timeout) + 1,
                "file_size": self.file_size, "open_files": self.open_files,
                "processes": self.processes, "core": 0}


def build_request(submission: Path | str, case: Case | None, limits: Limits,
                  user: dict[str, int] | None = None, code: Precompiled = ()) -> dict[str, Any]:
    """The child's whole input: no expected value can be in it (only ``case.inputs()``).

    ``case`` None: the grading's compiling step (see compile_submission), which runs no program;
    ``code``: what that step compiled, for the case to import from.
    """
    request = {"submission": str(Path(submission).resolve()), "limits": limits.rlimits(),
               "created_files": limits.created_files, "user": user}
    if case is None:
        request["compile"] = True
    else:
        request.update(program=case.program, code=list(code),
                       arrays={name: value.tolist() for name, value in case.inputs().items()})
    return request


def result_budget(case: Case) -> int:
    """Bytes of results the grader reads from ``case``: RESULT_BYTES_PER_ELEMENT per number an
    honest run returns, plus RESULT_BASE_BYTES.

    The numbers: every array the checks compare (an expected array, else the input the check
    names, else the filled argument of the step), plus every array of the case once more, for
    steps no check looks at (a ``step()`` that returns the weights costs nothing).
    """
    def elements(shape: list[int]) -> int:
        return math.prod(int(d) for d in shape)

    inputs = case.inputs()
    compared = 0
    for check in case.checks:
        if "expected" in check:
            compared += case.array(check["expected"]).size
        elif check.get("input") in inputs:
            compared += inputs[check["input"]].size
        else:
            args = case.program["steps"][check["step"]].get("args", [])
            compared += sum(elements(a["$fill"]["shape"]) for a in args if isinstance(a, dict) and "$fill" in a)
    total = compared + sum(array.size for array in case.arrays.values())
    return RESULT_BASE_BYTES + RESULT_BYTES_PER_ELEMENT * total


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Workdir:
    """A case's working folder, held open, and the identity of the output file the grader made in it."""
    path: str
    fd: int
    output: tuple[int, int]  # (st_dev, st_ino) of .output

    @classmethod
    def create(cls, user: dict[str, int] | None) -> Workdir:
        """A fresh folder (owned by ``user`` if any) holding an empty ``.output`` only the grader made."""
        path = tempfile.mkdtemp(prefix="mytorch-case-")
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            output = os.open(OUTPUT_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                             0o600, dir_fd=fd)
            status = os.fstat(output)
            os.close(output)
            if user is not None:
                os.chown(fd, user["uid"], user["gid"])  # .output stays the grader's: the case writes through fd 1
        except BaseException:
            os.close(fd)
            shutil.rmtree(path, ignore_errors=True)
            raise
        return cls(path, fd, (status.st_dev, status.st_ino))

    def read_output_head(self) -> str:
        """The first OUTPUT_HEAD_BYTES of what the case printed, or a note if .output is not ours any more.

        Validate, then read: never through a link (O_NOFOLLOW, relative to the folder opened
        before the case ran), never a fifo or device (checked before opening, O_NONBLOCK in
        case it changes in between), only the very file created above (same device and inode)
        with no second name, and a bounded read.
        """
        try:
            before = os.stat(OUTPUT_NAME, dir_fd=self.fd, follow_symlinks=False)
        except OSError:
            return "(the case removed its output file)"
        if not self.is_ours(before):
            return "(the case replaced its output file: not shown)"
        try:
            fd = os.open(OUTPUT_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC,
                         dir_fd=self.fd)
        except OSError:
            return "(the case replaced its output file: not shown)"
        try:
            status = os.fstat(fd)
            if not self.is_ours(status):
                return "(the case replaced its output file: not shown)"
            head = os.read(fd, OUTPUT_HEAD_BYTES + 1)
        except OSError:
            return ""
        finally:
            os.close(fd)
        text = clean_text(head[:OUTPUT_HEAD_BYTES].decode("utf-8", "replace"))
        if len(head) <= OUTPUT_HEAD_BYTES:
            return text
        hidden = max(status.st_size - OUTPUT_HEAD_BYTES, 1)
        return f"{text}\n... (output truncated: {hidden:,} more bytes not shown)"

    def is_ours(self, status: os.stat_result) -> bool:
        return (stat.S_ISREG(status.st_mode) and (status.st_dev, status.st_ino) == self.output
                and status.st_nlink == 1)

    def remove(self) -> None:
        os.close(self.fd)
        shutil.rmtree(self.path, ignore_errors=True)


def kill_tree(root: int) -> None:
    """SIGKILL ``root``'s process group and every process below ``root``, none escaping.

    Descendants are stopped first, pass after pass until no new one appears (a stopped
    process cannot fork), so killing the server cannot orphan a running one to init.
    """
    stopped = set()
    for _ in range(100):
        found = set(descendants(root)) - stopped
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError:
                pass
        stopped |= found
    kill_group(root)
    for pid in stopped:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


class ServerBroken(Exception):
    """The fork server stopped answering; it is restarted for the next case."""


# How talking to a fork server can fail (the server is then closed; the case is the sandbox's failure).
SERVER_FAILURES = (OSError, ValueError, KeyError, ServerBroken)


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
        ends = (*os.pipe(), *os.pipe()) if twin else ()  # requests to the twin, its results
        argv = ["--twin", str(ends[0]), str(ends[3])] if twin else []
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(CHILD_SCRIPT), *argv], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
                pass_fds=ends[0:4:3], env={"PATH": os.defpath, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"})
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
                    hello = self.read_frame(time.monotonic() + TWIN_START_SECONDS)
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

    def run(self, request: dict[str, Any], timeout: float, budget: int) -> tuple[bytes, str, int | None]:
        """Run one request; return (at most ``budget`` result bytes, how it ended, exit code)."""
        self.ensure_running()
        blob = marshal.dumps(request)
        started = time.monotonic()
        self.busy = True
        try:
            self.requests.write(len(blob).to_bytes(4, "big") + budget.to_bytes(8, "big") + blob)
            self.requests.flush()
            started_frame = self.read_frame(started + SERVER_GRACE)
            if started_frame is None:
                raise ServerBroken("the fork server did not start the case")
            how = "eof"
            finished = self.read_frame(started + timeout)
            if finished is None:
                how = "timeout"
                kill_group(started_frame["pid"])
                finished = self.read_frame(time.monotonic() + SERVER_GRACE)
                if finished is None:
                    raise ServerBroken("the fork server did not reap a killed case")
            kill_group(started_frame["pid"])  # anything the case left behind in its session
            if not 0 <= finished["length"] <= budget:
                raise ServerBroken("the fork server announced more than the result budget")
            payload = self.read_bytes(finished["length"], time.monotonic() + SERVER_GRACE)
            if payload is None:
                raise ServerBroken("the fork server sent a partial result")
        except SERVER_FAILURES:
            self.close()
            raise
        finally:
            self.busy = False
        if finished.get("overflow"):
            how = "overflow"
        return payload, how, finished.get("exit")


_servers = threading.local()
_all_servers = []
_spare_servers = []  # started ahead by prestart_servers, not yet any thread's
_servers_lock = threading.Lock()


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


def close_servers() -> None:
    """Stop every fork server: when no case is in flight, each is asked to end (twins first: their
    servers wait for them), so their CPU time is all counted; otherwise (an interrupted run) at once."""
    with _servers_lock:
        graceful = not any(server.busy for server in _all_servers)
        for server in sorted(_all_servers, key=lambda server: server.process is not None):
            server.close(graceful)


atexit.register(close_servers)


def prepare_request(submission: Path | str, case: Case | None, limits: Limits,
                    code: Precompiled = ()) -> tuple[dict[str, Any], Workdir]:
    """The request for ``case`` (None: the compiling step) and its fresh working folder, which the
    caller removes; OSError or SandboxError when the sandbox cannot be set up."""
    user = case_user()
    request = build_request(readable_submission(submission, user), case, limits, user, code)
    workdir = Workdir.create(user)
    request["workdir"] = workdir.path
    return request, workdir


def compile_submission(submission: Path | str, limits: Limits = Limits()) -> Precompiled:
    """The submission's Python files compiled once, in a sandboxed step (see autograder/precompiled.py).

    ``(relative path, source, marshalled code)`` for each file that compiled cleanly; empty
    if the step failed in any way (each case then compiles from source, as it always could).
    Validated as data (shape, strict base64) and never unmarshalled here.
    """
    try:
        request, workdir = prepare_request(submission, None, limits)
    except (OSError, SandboxError):
        return ()
    try:
        data, how, returncode = fork_server().run(request, limits.timeout, PRECOMPILED_BYTES)
    except SERVER_FAILURES:
        return ()
    finally:
        workdir.remove()
    return read_compiled(data) if how == "eof" and returncode == 0 else ()


def read_compiled(data: bytes) -> Precompiled:
    """What the compiling step sent (one final ``compiled`` message), checked; () if anything is off."""
    final = [m for m in parse_messages(data) if m.get("final") is True]
    modules = final[0].get("modules") if len(final) == 1 and final[0].get("status") == "compiled" else None
    if type(modules) is not list:
        return ()
    compiled = []
    try:
        for relative, source, code in modules:
            if not (type(relative) is str and type(source) is str and type(code) is str
                    and relative.endswith(".py") and not relative.startswith("/")
                    and not {"", ".", ".."} & set(relative.split("/"))):
                return ()
            compiled.append((relative, strict_base64(source),
                             strict_base64(code)))
    except (TypeError, ValueError, binascii.Error):
        return ()
    return tuple(compiled)


def run_in_sandbox(submission: Path | str, case: Case, limits: Limits = Limits(),
                   code: Precompiled = ()) -> ChildOutcome:
    """Run ``case`` against ``submission`` (a folder holding ``mytorch/``) and return a ChildOutcome.

    ``code``: what compile_submission returned for this submission (the case imports from it).
    """
    started = time.monotonic()
    try:
        request, workdir = prepare_request(submission, case, limits, code)
    except (OSError, SandboxError) as error:
        return ChildOutcome("protocol", error={"message": f"the grading sandbox failed ({error})"})
    budget = result_budget(case)
    try:
        try:
            data, how, returncode = fork_server().run(request, limits.timeout, budget)
        except SERVER_FAILURES as error:
            outcome = ChildOutcome("protocol", error={"message": f"the grading sandbox failed ({error})"})
        else:
            messages = parse_messages(data)
            outcome = interpret(messages, how, returncode, budget)
            outcome.sandbox = clean_sandbox(messages)
        outcome.output = workdir.read_output_head()
        outcome.wall_seconds = time.monotonic() - started
        return outcome
    finally:
        workdir.remove()
