"""Run one fixture case of a student submission in an isolated child process.

Isolation, per case: a fresh process (forked from a clean ``python -I -S`` fork server by
the ``linux`` backend, spawned as ``python -I -S child.py --case`` by the ``portable`` one:
see backends.py), no site-packages (nothing but the standard library imports), a process
group or session of its own killed when the case ends, an unprivileged user when the
grader is root (POSIX), a fresh temporary working folder, hard resource limits where the
system has them (address space, CPU seconds, file size, open files, processes), Landlock
and a seccomp system-call filter where the kernel has them (``linux`` backend), and an
audit hook, all set up by ``child.py``, plus the case's time limits: CPU seconds of the case
(measured from outside it: the fork server's ``/proc/PID/stat`` and ``wait4``, or this process's
for a spawned case; ``RLIMIT_CPU`` behind them) and a wall-clock backstop that grows with the
contention on this machine (``Limits.wall``), for a case that sleeps or waits.

Threat model for what comes back: the case controls its working folder and the result
pipe.  So the grader reads back only ``.output``, a file it created itself (workdir.py),
and it reads at most a per-case result budget (sized from the case's expected shapes) in
linear time.

Only the program and its *input* arrays cross the pipe; expected values stay in
this process.  Whatever the child prints goes to a file of its own, never into
the channel the results come back on, and every result is validated by the
caller before it is compared.
"""
from __future__ import annotations

import binascii
import math
import os  # noqa: F401  (tests patch sandbox.os)
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.sandbox.messages import ChildOutcome, clean_sandbox, interpret, parse_messages
from autograder.util.compat import strict_base64
from autograder.case.precompiled import MAX_RESULT_BYTES as MAX_COMPILED_BYTES
from autograder.sandbox.run_as import SandboxError, case_user, readable_submission
from autograder.sandbox.backends import BackendError, resolve
from autograder.sandbox.capacity import available
from autograder.sandbox.protocol import SERVER_FAILURES
from autograder.sandbox.workdir import OUTPUT_HEAD_BYTES, OUTPUT_NAME, Workdir

if TYPE_CHECKING:
    from autograder.contract.fixtures import Case

MiB = 1024 * 1024
WALL_FACTOR = 2.0  # the wall-clock backstop: the CPU limit times the contention times this
RESULT_BYTES_PER_ELEMENT = 64
RESULT_BASE_BYTES = 256 * 1024
PRECOMPILED_BYTES = RESULT_BASE_BYTES + MAX_COMPILED_BYTES  # what the compiling step may send back
Precompiled = tuple[tuple[str, bytes, bytes], ...]  # (relative path, source, marshalled code): compile_submission


@dataclass(frozen=True)
class Limits:
    """Per-case limits.  ``timeout`` is CPU seconds of the case (``--timeout``); ``wall`` is the
    wall-clock backstop, for a case that sleeps or waits: ``timeout`` x ``contention`` x WALL_FACTOR.

    ``contention``: how many cases share each CPU while this grading runs, at least 1 (the jobs
    running at once on this machine over the CPUs really available: ``capacity.Capacity.contention``;
    set by ``config.Config.limits``); None: one job on this machine.  A case that computes is ended by its
    CPU time, which contention does not change; only the backstop grows with it.
    """
    timeout: float = 10.0
    contention: float | None = None
    address_space: int = 1024 * MiB
    file_size: int = 16 * MiB
    open_files: int = 64
    processes: int = 0
    created_files: int = 4  # files a case may create (each at most file_size; no folders or links)

    @property
    def wall(self) -> float:
        """The case's wall-clock backstop, in seconds."""
        contention = self.contention if self.contention is not None else available().contention(1)
        return self.timeout * max(1.0, contention) * WALL_FACTOR

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


def prepare_request(submission: Path | str, case: Case | None, limits: Limits,
                    code: Precompiled = ()) -> tuple[dict[str, Any], Workdir]:
    """The request for ``case`` (None: the compiling step) and its fresh working folder, which the
    caller removes; OSError or SandboxError when the sandbox cannot be set up.

    A submission graded from a readable copy (run_as.readable_submission) is named in the request
    too (``original``): the case names its files so in what the student sees (wire.shown_paths).
    """
    user = case_user()
    graded = readable_submission(submission, user)
    request = build_request(graded, case, limits, user, code)
    if graded != Path(submission).resolve():
        request["original"] = str(Path(submission).resolve())
    workdir = Workdir.create(user)
    request["workdir"] = workdir.path
    return request, workdir


def case_runner(backend: str | None = None) -> Any:
    """What runs this thread's next case (``.run(request, budget, cpu_seconds, wall_seconds)``): its fork server
    (``linux``) or a freshly spawned process (``portable``); ``None``: the backend ``auto`` picks."""
    if (backend or resolve()) == "linux":
        from autograder.sandbox.forkserver import fork_server
        return fork_server()
    from autograder.sandbox.spawned import SPAWNER
    return SPAWNER


def prestart_servers(count: int, backend: str | None = None) -> None:
    """Start ``count`` case processes ahead (fork servers, or spawned case processes), for the first
    threads that need one: their start-up then runs while the grader imports NumPy and loads the fixtures."""
    if (backend or resolve()) == "linux":
        from autograder.sandbox.forkserver import prestart_servers as start
    else:
        from autograder.sandbox.spawned import prestart as start
    start(count)


def close_servers(final: bool = False) -> None:
    """Stop every case process and fork server this process started (each backend also does at exit);
    ``final``: start none again (an interrupted grading: its threads' later cases fail at once)."""
    for name, close in (("autograder.sandbox.forkserver", "close_servers"),
                        ("autograder.sandbox.spawned", "close_all")):
        module = sys.modules.get(name)
        if module is not None:
            getattr(module, close)(final)


def compile_submission(submission: Path | str, limits: Limits = Limits(), backend: str | None = None) -> Precompiled:
    """The submission's Python files compiled once, in a sandboxed step (see autograder/case/precompiled.py).

    ``(relative path, source, marshalled code)`` for each file that compiled cleanly; empty
    if the step failed in any way (each case then compiles from source, as it always could).
    Validated as data (shape, strict base64) and never unmarshalled here.
    """
    try:
        request, workdir = prepare_request(submission, None, limits)
    except (OSError, SandboxError):
        return ()
    try:
        data, how, returncode, _ = case_runner(backend).run(request, PRECOMPILED_BYTES, limits.timeout, limits.wall)
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
            compiled.append((relative, strict_base64(source), strict_base64(code)))
    except (TypeError, ValueError, binascii.Error):
        return ()
    return tuple(compiled)


def run_in_sandbox(submission: Path | str, case: Case, limits: Limits = Limits(),
                   code: Precompiled = (), backend: str | None = None) -> ChildOutcome:
    """Run ``case`` against ``submission`` (a folder holding ``mytorch/``) and return a ChildOutcome.

    ``code``: what compile_submission returned for this submission (the case imports from it);
    ``backend``: "linux" or "portable" (None: the one ``auto`` picks, see backends.py).
    """
    started = time.monotonic()
    try:
        request, workdir = prepare_request(submission, case, limits, code)
    except (OSError, SandboxError) as error:
        return ChildOutcome("protocol", error={"message": f"the grading sandbox failed ({error})"})
    budget = result_budget(case)
    try:
        try:
            data, how, returncode, cpu = case_runner(backend).run(request, budget, limits.timeout, limits.wall)
        except SERVER_FAILURES as error:
            outcome = ChildOutcome("protocol", error={"message": f"the grading sandbox failed ({error})"})
        else:
            if how == "eof" and cpu is not None and cpu >= limits.timeout and (returncode is None or returncode < 0):
                how = "timeout"  # killed by the kernel at RLIMIT_CPU before anyone measured it
            messages = parse_messages(data)
            outcome = interpret(messages, how, returncode, budget)
            outcome.sandbox = clean_sandbox(messages)
            outcome.cpu_seconds = cpu
        outcome.output = workdir.read_output_head()
        outcome.wall_seconds = time.monotonic() - started
        return outcome
    finally:
        workdir.remove()


def __getattr__(name: str) -> Any:
    """The Linux backend's parts under their old names (tests and tools that drive a fork server)."""
    if name in ("ForkServer", "kill_group", "fork_server", "_servers", "_all_servers",
                "_spare_servers", "ServerBroken"):
        from autograder.sandbox import forkserver
        return getattr(forkserver, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BackendError", "Limits", "OUTPUT_HEAD_BYTES", "OUTPUT_NAME", "Precompiled",
           "SERVER_FAILURES", "Workdir", "build_request", "case_runner", "close_servers", "compile_submission",
           "prepare_request", "prestart_servers", "read_compiled", "result_budget", "run_in_sandbox"]
