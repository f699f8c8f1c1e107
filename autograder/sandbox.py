"""Run one fixture case of a student submission in an isolated child process.

Isolation, per case: a fresh process forked from a clean ``python -I -S``
fork server (no site-packages, so nothing but the standard library imports;
the server itself never runs student code), a new session (its whole process
group is killed afterwards), a fresh temporary working folder, hard resource
limits (address space, CPU seconds, file size, open files, processes), Landlock
and a seccomp system-call filter where the kernel has them, and an audit hook,
all set up by ``child.py``, plus a wall-clock timeout enforced here.

Only the program and its *input* arrays cross the pipe; expected values stay in
this process.  Whatever the child prints goes to a file of its own, never into
the channel the results come back on, and every result is validated by the
caller before it is compared.
"""
import atexit
import json
import marshal
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CHILD_SCRIPT = Path(__file__).resolve().parent / "child.py"
MAX_RESULT_BYTES = 64 * 1024 * 1024
OUTPUT_HEAD_BYTES = 4000
MiB = 1024 * 1024
SERVER_GRACE = 5.0  # seconds the fork server may take to answer outside the case's own time


@dataclass(frozen=True)
class Limits:
    """Per-case limits. ``timeout`` is wall-clock seconds."""
    timeout: float = 10.0
    address_space: int = 1024 * MiB
    file_size: int = 16 * MiB
    open_files: int = 64
    processes: int = 0

    def rlimits(self):
        return {"address_space": self.address_space, "cpu_seconds": int(self.timeout) + 1,
                "file_size": self.file_size, "open_files": self.open_files,
                "processes": self.processes, "core": 0}


@dataclass
class ChildOutcome:
    """What came back from one child run, before any comparison.

    ``status`` is ``ok`` (results holds one encoded value per program step),
    ``error`` (the student's code raised; ``error`` holds type, message and
    traceback), ``timeout``, ``crashed`` (the process ended without a final
    message: os._exit, a signal, the memory limit...) or ``protocol`` (the
    child's messages were unreadable).
    """
    status: str
    results: list = field(default_factory=list)
    error: dict = field(default_factory=dict)
    where: dict = field(default_factory=dict)
    returncode: int | None = None
    output: str = ""
    wall_seconds: float = 0.0
    student_seconds: float = 0.0
    sandbox: dict = field(default_factory=dict)  # kernel layers in force, see clean_sandbox()

    def describe_where(self):
        """Where the child was: 'while importing mytorch.conv1d', 'in forward (step 1)'."""
        phase = self.where.get("phase")
        if phase == "import":
            return f"while importing {self.where.get('module')}"
        if phase == "construct":
            return f"while constructing {self.where.get('class')}"
        if phase == "set":
            return f"while setting {self.where.get('path')}"
        if phase == "step":
            what = "calling" if self.where.get("kind") == "call" else "reading"
            return f"while {what} {self.where.get('label')} (step {self.where.get('step', 0) + 1})"
        return "while starting up"


def build_request(submission, case, limits):
    """The child's whole input: no expected value can be in it (only ``case.inputs()``)."""
    return {"submission": str(Path(submission).resolve()), "limits": limits.rlimits(),
            "program": case.program,
            "arrays": {name: value.tolist() for name, value in case.inputs().items()}}


def parse_messages(data):
    """Split the result channel into JSON messages; unreadable lines are skipped."""
    messages = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(message, dict):
            messages.append(message)
    return messages


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def read_output_head(path):
    try:
        with open(path, "rb") as handle:
            head = handle.read(OUTPUT_HEAD_BYTES + 1)
    except OSError:
        return ""
    text = clean_text(head[:OUTPUT_HEAD_BYTES].decode("utf-8", "replace"))
    return text + ("\n... (output truncated)" if len(head) > OUTPUT_HEAD_BYTES else "")


class ServerBroken(Exception):
    """The fork server stopped answering; it is restarted for the next case."""


class ForkServer:
    """A ``python -I -S child.py`` process that forks one fresh child per case (see child.py)."""

    def __init__(self):
        self.process = None
        self.buffer = b""

    def ensure_running(self):
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(CHILD_SCRIPT)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
                env={"PATH": os.defpath, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"})
            self.buffer = b""

    def close(self):
        if self.process is not None:
            kill_group(self.process.pid)
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                stream.close()
            self.process = None

    def read_bytes(self, size, deadline):
        """Exactly ``size`` bytes from the server, or None at the deadline."""
        fd = self.process.stdout.fileno()
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
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_frame(self, deadline):
        size = self.read_bytes(4, deadline)
        if size is None:
            return None
        header = self.read_bytes(int.from_bytes(size, "big"), deadline + SERVER_GRACE)
        if header is None:
            raise ServerBroken("the fork server sent a partial frame")
        return json.loads(header)

    def run(self, request, timeout):
        """Run one request; return (child's result bytes, how it ended, exit code)."""
        self.ensure_running()
        blob = marshal.dumps(request)
        started = time.monotonic()
        try:
            self.process.stdin.write(len(blob).to_bytes(4, "big") + blob)
            self.process.stdin.flush()
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
            payload = self.read_bytes(finished["length"], time.monotonic() + SERVER_GRACE)
            if payload is None:
                raise ServerBroken("the fork server sent a partial result")
        except (OSError, ValueError, KeyError, ServerBroken):
            self.close()
            raise
        if finished.get("overflow"):
            how = "overflow"
        return payload, how, finished.get("exit")


_servers = threading.local()
_all_servers = []
_servers_lock = threading.Lock()


def fork_server():
    """This thread's fork server (one case at a time each)."""
    server = getattr(_servers, "server", None)
    if server is None:
        server = _servers.server = ForkServer()
        with _servers_lock:
            _all_servers.append(server)
    return server


def close_servers():
    with _servers_lock:
        for server in _all_servers:
            server.close()


atexit.register(close_servers)


def run_in_sandbox(submission, case, limits=Limits()):
    """Run ``case`` against ``submission`` (a folder holding ``mytorch/``) and return a ChildOutcome."""
    workdir = tempfile.mkdtemp(prefix="mytorch-case-")
    request = build_request(submission, case, limits)
    request.update(workdir=workdir, max_result_bytes=MAX_RESULT_BYTES)
    started = time.monotonic()
    try:
        try:
            data, how, returncode = fork_server().run(request, limits.timeout)
        except (OSError, ValueError, KeyError, ServerBroken) as error:
            outcome = ChildOutcome("protocol", error={"message": f"the grading sandbox failed ({error})"})
        else:
            messages = parse_messages(data)
            outcome = interpret(messages, how, returncode)
            outcome.sandbox = clean_sandbox(messages)
        outcome.output = read_output_head(os.path.join(workdir, ".output"))
        outcome.wall_seconds = time.monotonic() - started
        return outcome
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ----------------------------------------------------------------------------- untrusted child messages
#
# Student code can write anything to the result pipe (it is an inherited descriptor), so every
# field is checked here before the grader uses it: a forged message can only spoil the case it
# was written in, never raise in the grader, put non-finite numbers or unprintable text into
# the report, or claim more than the comparison with the expected values gives.

CONTROL_CHARACTERS = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7f, 0xa0)] if chr(c) not in "\n\t"}
WHERE_FIELDS = {"phase": str, "module": str, "class": str, "path": str, "label": str, "kind": str, "step": int}
ERROR_FIELDS = {"type": 200, "message": 2000, "traceback": 8000}  # longest text kept
MAX_RESULT_DEPTH = 16  # child.py nests lists at most MAX_DEPTH (8) deep, then tags


def clean_text(text, limit=None):
    """Text that is safe to print and to put in JSON: no lone surrogates, no terminal control codes."""
    from autograder.safetext import for_terminal
    text = text if limit is None else text[:limit]
    return for_terminal(text.encode("utf-8", "replace").decode("utf-8"), newlines=True)


def clean_where(message):
    """A progress message as ``describe_where`` needs it, or None if any of its fields is ill-typed."""
    if not isinstance(message, dict) or type(message.get("phase")) is not str:
        return None
    where = {}
    for key, kind in WHERE_FIELDS.items():
        if key in message:
            if type(message[key]) is not kind:
                return None
            where[key] = clean_text(message[key], 200) if kind is str else message[key]
    return where


def clean_results(value, depth=0):
    """``value`` if it is something child.encode() can produce (tags' texts cleaned), else raise ValueError."""
    kind = type(value)
    if kind is float or kind is int or value is None:
        return value
    if kind is list and depth < MAX_RESULT_DEPTH:
        return [clean_results(v, depth + 1) for v in value]
    if kind is dict and set(value) <= {"$type", "$base", "$repr"} and type(value.get("$type")) is str:
        base = value.get("$base", [])
        if type(value.get("$repr", "")) is str and type(base) is list and all(type(b) is str for b in base):
            return {"$type": clean_text(value["$type"], 200), "$base": [clean_text(b, 200) for b in base[:4]],
                    "$repr": clean_text(value.get("$repr", ""), 200)}
    raise ValueError("malformed value")


def clean_sandbox(messages: list) -> dict:
    """Which kernel layers the case had, from the child's first line (written before any student code ran).

    ``{"landlock": ABI version or 0, "seccomp": architecture or "", "seccomp_missing": why not}``,
    or {} when the child never got that far.  Only the first message counts: student code can
    write lines of its own, but only after this one.
    """
    first = messages[0].get("sandbox") if messages else None
    if not isinstance(first, dict):
        return {}
    landlock, seccomp, missing = first.get("landlock"), first.get("seccomp"), first.get("seccomp_missing", "")
    if type(landlock) is not int or type(seccomp) is not str or type(missing) is not str:
        return {}
    return {"landlock": max(0, landlock), "seccomp": clean_text(seccomp, 40),
            "seccomp_missing": clean_text(missing, 200)}


def weakest_sandbox(one: dict, other: dict) -> dict:
    """The layers every case had: the lower Landlock ABI, seccomp only if both had it."""
    if not one or not other:
        return one or other
    seccomp = other if one["seccomp"] else one  # the one without, if either is
    return {"landlock": min(one["landlock"], other["landlock"]), "seccomp": seccomp["seccomp"],
            "seccomp_missing": seccomp["seccomp_missing"]}


def clean_seconds(value):
    return float(value) if type(value) in (int, float) and math.isfinite(value) and value >= 0 else 0.0


def interpret(messages, how, returncode):
    """Turn the child's messages into an outcome; only a well-formed final message counts."""
    where = {}
    for message in messages:
        if "phase" in message and not message.get("final"):
            where = clean_where(message) or where
    final = next((m for m in reversed(messages) if m.get("final") is True), None)
    if how == "overflow":
        return ChildOutcome("protocol", where=where, returncode=returncode,
                            error={"message": f"the results were larger than {MAX_RESULT_BYTES // MiB} MiB"})
    if final is not None:
        status = final.get("status")
        seconds = clean_seconds(final.get("student_seconds"))
        error = final.get("error")
        try:
            if status == "ok" and isinstance(final.get("results"), list):
                return ChildOutcome("ok", results=clean_results(final["results"]), where=where,
                                    returncode=returncode, student_seconds=seconds)
            error_where = clean_where(final.get("where"))
            if (status == "error" and isinstance(error, dict) and error_where is not None
                    and all(type(error.get(key, "")) is str for key in ERROR_FIELDS)):
                error = {key: clean_text(error.get(key, ""), limit) for key, limit in ERROR_FIELDS.items()}
                return ChildOutcome("error", error=error, where=error_where, returncode=returncode,
                                    student_seconds=seconds)
        except (ValueError, RecursionError):
            pass
        return ChildOutcome("protocol", where=where, returncode=returncode,
                            error={"message": "the grading child sent a malformed result"})
    if how == "timeout":
        return ChildOutcome("timeout", where=where, returncode=returncode)
    return ChildOutcome("crashed", where=where, returncode=returncode)
