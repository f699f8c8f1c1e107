"""Run one fixture case of a student submission in an isolated child process.

Isolation, per case: a fresh ``python -I -S`` (no site-packages, so nothing but
the standard library imports), a new session (its whole process group is
killed afterwards), a fresh temporary working folder, hard resource limits
(address space, CPU seconds, file size, open files, processes) and an audit
hook set up by ``child.py``, plus a wall-clock timeout enforced here.

Only the program and its *input* arrays cross the pipe; expected values stay in
this process.  Whatever the child prints goes to a file of its own, never into
the channel the results come back on, and every result is validated by the
caller before it is compared.
"""
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHILD_SCRIPT = Path(__file__).resolve().parent / "child.py"
MAX_RESULT_BYTES = 64 * 1024 * 1024
OUTPUT_HEAD_BYTES = 4000
MiB = 1024 * 1024
FINAL_PREFIX = b'{"final": true'  # child.py writes the final message with this key first


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


def read_channel(fd, deadline):
    """Read the result pipe until EOF, the deadline, or the size cap."""
    data = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return bytes(data), "timeout"
            if not selector.select(remaining):
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return bytes(data), "eof"
            data += chunk
            if len(data) > MAX_RESULT_BYTES:
                return bytes(data), "overflow"
            if data.endswith(b"\n") and data[data.rfind(b"\n", 0, -1) + 1:].startswith(FINAL_PREFIX):
                return bytes(data), "eof"  # the final message is in: stop waiting for EOF


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
    text = head[:OUTPUT_HEAD_BYTES].decode("utf-8", "replace")
    return text + ("\n... (output truncated)" if len(head) > OUTPUT_HEAD_BYTES else "")


def run_in_sandbox(submission, case, limits=Limits()):
    """Run ``case`` against ``submission`` (a folder holding ``mytorch/``) and return a ChildOutcome."""
    request = json.dumps(build_request(submission, case, limits)).encode()
    workdir = tempfile.mkdtemp(prefix="mytorch-case-")
    output_path = os.path.join(workdir, ".output")
    started = time.monotonic()
    read_fd, write_fd = os.pipe()
    try:
        with open(output_path, "wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(CHILD_SCRIPT), str(write_fd)],
                stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT, cwd=workdir,
                pass_fds=(write_fd,), start_new_session=True,
                env={"PATH": os.defpath, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"})
        os.close(write_fd)
        write_fd = None
        try:
            process.stdin.write(request)
            process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        data, how = read_channel(read_fd, started + limits.timeout)
        if how == "eof":
            try:
                process.wait(timeout=max(0.05, started + limits.timeout - time.monotonic()))
            except subprocess.TimeoutExpired:
                how = "timeout"
        kill_group(process.pid)
        process.wait()
        outcome = interpret(parse_messages(data), how, process.returncode)
        outcome.output = read_output_head(output_path)
        outcome.wall_seconds = time.monotonic() - started
        return outcome
    finally:
        os.close(read_fd)
        if write_fd is not None:
            os.close(write_fd)
        shutil.rmtree(workdir, ignore_errors=True)


def interpret(messages, how, returncode):
    """Turn the child's messages into an outcome; only a well-formed final message counts."""
    where = {}
    for message in messages:
        if "phase" in message and not message.get("final"):
            where = message
    final = next((m for m in reversed(messages) if m.get("final") is True), None)
    if how == "overflow":
        return ChildOutcome("protocol", where=where, returncode=returncode,
                            error={"message": f"the results were larger than {MAX_RESULT_BYTES // MiB} MiB"})
    if final is not None:
        status = final.get("status")
        seconds = final.get("student_seconds")
        seconds = float(seconds) if isinstance(seconds, (int, float)) else 0.0
        if status == "ok" and isinstance(final.get("results"), list):
            return ChildOutcome("ok", results=final["results"], where=where, returncode=returncode,
                                student_seconds=seconds)
        if status == "error" and isinstance(final.get("error"), dict) and isinstance(final.get("where"), dict):
            return ChildOutcome("error", error=final["error"], where=final["where"], returncode=returncode,
                                student_seconds=seconds)
        return ChildOutcome("protocol", where=where, returncode=returncode,
                            error={"message": "the grading child sent a malformed result"})
    if how == "timeout":
        return ChildOutcome("timeout", where=where, returncode=returncode)
    return ChildOutcome("crashed", where=where, returncode=returncode)
