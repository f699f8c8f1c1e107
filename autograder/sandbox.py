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
import atexit
import functools
import json
import marshal
import math
import os
import pwd
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.case_user import permits, reachable
from autograder.processes import descendants

CHILD_SCRIPT = Path(__file__).resolve().parent / "child.py"
OUTPUT_HEAD_BYTES = 4000
OUTPUT_NAME = ".output"
MiB = 1024 * 1024
SERVER_GRACE = 5.0  # seconds the fork server may take to answer outside the case's own time
# A float is at most 25 characters of JSON ("-1.2345678901234567e-308,"); tags and ints fit in
# the rest.  The base covers progress lines and an error report (traceback of 8000 characters,
# each escaped to at most 6).
RESULT_BYTES_PER_ELEMENT = 64
RESULT_BASE_BYTES = 256 * 1024
CASE_UID_VARIABLE = "MYTORCH_CASE_UID"  # who cases run as when the grader is root
DEFAULT_CASE_UID = 65534  # nobody


@dataclass(frozen=True)
class Limits:
    """Per-case limits. ``timeout`` is wall-clock seconds."""
    timeout: float = 10.0
    address_space: int = 1024 * MiB
    file_size: int = 16 * MiB
    open_files: int = 64
    processes: int = 0
    created_files: int = 4  # files a case may create (each at most file_size; no folders or links)

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


def build_request(submission, case, limits, user=None):
    """The child's whole input: no expected value can be in it (only ``case.inputs()``)."""
    return {"submission": str(Path(submission).resolve()), "limits": limits.rlimits(),
            "created_files": limits.created_files, "user": user,
            "program": case.program,
            "arrays": {name: value.tolist() for name, value in case.inputs().items()}}


def result_budget(case) -> int:
    """Bytes of results the grader reads from ``case``: RESULT_BYTES_PER_ELEMENT per number an
    honest run returns, plus RESULT_BASE_BYTES.

    The numbers: every array the checks compare (an expected array, else the input the check
    names, else the filled argument of the step), plus every array of the case once more, for
    steps no check looks at (a ``step()`` that returns the weights costs nothing).
    """
    def elements(shape):
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


class SandboxError(Exception):
    """The sandbox cannot be set up as configured (an unusable MYTORCH_CASE_UID)."""


def case_user() -> dict | None:
    """The unprivileged user cases run as ({"uid", "gid"}), or None when the grader is not root.

    Threat: as root, RLIMIT_NPROC does not apply and file permissions do not either.  Not
    root, the grader cannot switch (and its own user already has those limits).
    """
    if os.geteuid() != 0:
        return None
    text = os.environ.get(CASE_UID_VARIABLE, str(DEFAULT_CASE_UID))
    if not text.isdigit() or not 0 < int(text) < 2 ** 32 - 1:
        raise SandboxError(f"{CASE_UID_VARIABLE}={text!r}: expected a user id other than 0 (root)")
    uid = int(text)
    return {"uid": uid, "gid": primary_group(uid)}


@functools.lru_cache(maxsize=None)
def primary_group(uid):
    """The group of ``uid`` in the password database, else the same number (nobody: nogroup)."""
    try:
        return pwd.getpwuid(uid).pw_gid
    except KeyError:
        return uid


def isolation_note() -> str:
    """One line for the report: which user the cases ran as."""
    try:
        user = case_user()
    except SandboxError as error:
        return f"cases cannot run: {error}"
    if user is None:
        return (f"cases ran as the grader's own user (uid {os.geteuid()}): not root, so no switch "
                f"to an unprivileged user")
    return f"cases ran as the unprivileged uid {user['uid']} (gid {user['gid']}), not as root"


_copies = {}
_copies_lock = threading.Lock()


def readable_submission(submission, user) -> Path:
    """``submission`` if ``user`` can read all of it, else a readable copy made once per grading.

    A TA's submissions often sit in a 0700 home or were unpacked with umask 077; the case,
    running as ``user``, could not import them.  The copy keeps the folder's name (tracebacks
    stay recognisable) and holds only folders and regular files with a single link: a link in
    the submission is never followed by the grader (as root it could read anything).
    """
    submission = Path(submission).resolve()
    if user is None:
        return submission
    uid, gid = user["uid"], user["gid"]
    with _copies_lock:
        if submission in _copies:
            return _copies[submission]
        if all_readable(submission, uid, gid):
            _copies[submission] = submission
            return submission
        base = Path(tempfile.mkdtemp(prefix="mytorch-submission-"))
        atexit.register(shutil.rmtree, base, True)
        base.chmod(0o755)
        copy = base / submission.name
        copy_plain_tree(submission, copy)
        _copies[submission] = copy
        return copy


COPY_MAX_DEPTH = 32  # folders below a submission that a readable copy reaches (mytorch/ is at the top)
COPY_MAX_ENTRIES = 10_000  # files and folders looked at, or copied
COPY_MAX_BYTES = 64 * MiB  # bytes copied


def plain_entries(root: Path):
    """(relative path, lstat) of what lies below ``root``, breadth first and iteratively, within the copy limits.

    A hostile submission may nest folders thousands deep or hold millions of files: the walk
    never recurses and stops at COPY_MAX_DEPTH and COPY_MAX_ENTRIES (what lies beyond is left out).
    """
    pending, seen = [("", 0)], 0
    while pending:
        relative, depth = pending.pop(0)
        try:
            names = sorted(os.listdir(os.path.join(root, relative) if relative else root))
        except OSError:
            continue
        for name in names:
            seen += 1
            if seen > COPY_MAX_ENTRIES:
                return
            path = os.path.join(relative, name) if relative else name
            try:
                status = os.lstat(os.path.join(root, path))
            except OSError:
                continue
            yield path, status
            if stat.S_ISDIR(status.st_mode) and depth + 1 < COPY_MAX_DEPTH:
                pending.append((path, depth + 1))


def all_readable(root, uid, gid) -> bool:
    """Whether ``uid``/``gid`` can reach ``root`` and read everything the copy limits would look at."""
    if not reachable(str(root), uid, gid):
        return False
    return all(permits(status, uid, gid, 5 if stat.S_ISDIR(status.st_mode) else 4)
               for _, status in plain_entries(root))


def copy_plain_tree(source, target) -> None:
    """Folders (0755) and single-link regular files (0644) of ``source``, within the copy limits; nothing else."""
    os.mkdir(target, 0o755)
    copied = 0
    for relative, status in plain_entries(Path(source)):
        destination = os.path.join(target, relative)
        if not os.path.isdir(os.path.dirname(destination)):
            continue  # its folder was left out
        if stat.S_ISDIR(status.st_mode):
            os.mkdir(destination, 0o755)
        elif stat.S_ISREG(status.st_mode) and status.st_nlink == 1 and copied + status.st_size <= COPY_MAX_BYTES:
            fd = os.open(os.path.join(source, relative), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    continue
                with open(fd, "rb", closefd=False) as source_file, open(destination, "xb") as target_file:
                    copied += shutil.copyfileobj(source_file, target_file) or status.st_size
                os.chmod(destination, 0o644)
            finally:
                os.close(fd)


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


@dataclass
class Workdir:
    """A case's working folder, held open, and the identity of the output file the grader made in it."""
    path: str
    fd: int
    output: tuple  # (st_dev, st_ino) of .output

    @classmethod
    def create(cls, user):
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
            if not self.is_ours(os.fstat(fd)):
                return "(the case replaced its output file: not shown)"
            head = os.read(fd, OUTPUT_HEAD_BYTES + 1)
        except OSError:
            return ""
        finally:
            os.close(fd)
        text = clean_text(head[:OUTPUT_HEAD_BYTES].decode("utf-8", "replace"))
        return text + ("\n... (output truncated)" if len(head) > OUTPUT_HEAD_BYTES else "")

    def is_ours(self, status):
        return (stat.S_ISREG(status.st_mode) and (status.st_dev, status.st_ino) == self.output
                and status.st_nlink == 1)

    def remove(self):
        os.close(self.fd)
        shutil.rmtree(self.path, ignore_errors=True)


def kill_tree(root):
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


class ForkServer:
    """A ``python -I -S child.py`` process that forks one fresh child per case (see child.py)."""

    def __init__(self):
        self.process = None
        self.buffer = bytearray()  # appended to and consumed from the front in linear time

    def ensure_running(self):
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(CHILD_SCRIPT)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
                env={"PATH": os.defpath, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"})
            self.buffer = bytearray()

    def close(self):
        if self.process is not None:
            kill_tree(self.process.pid)  # the server and anything a case left below it
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
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def read_frame(self, deadline):
        size = self.read_bytes(4, deadline)
        if size is None:
            return None
        header = self.read_bytes(int.from_bytes(size, "big"), deadline + SERVER_GRACE)
        if header is None:
            raise ServerBroken("the fork server sent a partial frame")
        return json.loads(header)

    def run(self, request, timeout, budget):
        """Run one request; return (at most ``budget`` result bytes, how it ended, exit code)."""
        self.ensure_running()
        blob = marshal.dumps(request)
        started = time.monotonic()
        try:
            self.process.stdin.write(len(blob).to_bytes(4, "big") + budget.to_bytes(8, "big") + blob)
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
            if not 0 <= finished["length"] <= budget:
                raise ServerBroken("the fork server announced more than the result budget")
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
    started = time.monotonic()
    try:
        user = case_user()
        request = build_request(readable_submission(submission, user), case, limits, user)
        workdir = Workdir.create(user)
    except (OSError, SandboxError) as error:
        return ChildOutcome("protocol", error={"message": f"the grading sandbox failed ({error})"})
    request["workdir"] = workdir.path
    budget = result_budget(case)
    try:
        try:
            data, how, returncode = fork_server().run(request, limits.timeout, budget)
        except (OSError, ValueError, KeyError, ServerBroken) as error:
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


# ----------------------------------------------------------------------------- untrusted child messages
#
# Student code can write anything to the result pipe (it is an inherited descriptor), so every
# field is checked here before the grader uses it: a forged message can only spoil the case it
# was written in, never raise in the grader, put non-finite numbers or unprintable text into
# the report, or claim more than the comparison with the expected values gives.

CONTROL_CHARACTERS = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7f, 0xa0)] if chr(c) not in "\n\t"}
WHERE_FIELDS = {"phase": str, "module": str, "class": str, "path": str, "label": str, "kind": str, "step": int}
ERROR_FIELDS = {"type": 200, "message": 2000, "traceback": 8000}  # longest text kept
MAX_RESULT_DEPTH = 16  # wire.py nests lists at most MAX_DEPTH (8) deep, then tags


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
    """``value`` if it is something wire.encode() can produce (tags' texts cleaned), else raise ValueError."""
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


def interpret(messages, how, returncode, budget=0):
    """Turn the child's messages into an outcome; only a well-formed final message counts."""
    where = {}
    for message in messages:
        if "phase" in message and not message.get("final"):
            where = clean_where(message) or where
    final = next((m for m in reversed(messages) if m.get("final") is True), None)
    if how == "overflow":
        return ChildOutcome("protocol", where=where, returncode=returncode,
                            error={"message": f"the results were larger than the {budget // 1024} KiB this "
                                              f"case's expected values need"})
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
