"""A case's result from what its sandboxed child reported: the status and the student's message."""
from __future__ import annotations

import dataclasses
import re
import signal
from collections.abc import Mapping, Sequence
from typing import Any

from autograder.judge.checks import run_check
from autograder.judge.compare import Mismatch
from autograder.contract.fixtures import Case
from autograder.judge.results import CaseResult, CaseStatus, Finding
from autograder.sandbox.messages import ChildOutcome
from autograder.sandbox import Limits


def case_header(case: Case) -> str:
    hyper = ", ".join(f"{k}={v}" for k, v in case.hyperparameters.items())
    return f'{case.item}, case "{case.name}" ({case.description}; {hyper})'


FORBIDDEN_IMPORT = re.compile(r"No module named '([^']+)'")


def explain_error(outcome: ChildOutcome) -> tuple[CaseStatus, str]:
    """Status and message for a child whose student code raised."""
    error = outcome.error
    where = outcome.describe_where()
    if error.get("type") == "NotImplementedError":
        return CaseStatus.NOT_IMPLEMENTED, f"not implemented yet ({where}): {error.get('message', '')}"
    match = FORBIDDEN_IMPORT.search(error.get("message", ""))
    if error.get("type") == "ModuleNotFoundError" and match and not match.group(1).startswith("mytorch"):
        return CaseStatus.ERROR, (
            f"{where}: your code imports '{match.group(1)}', which is not available while grading: "
            f"mytorch may only use the Python standard library.\n{error.get('traceback', '')}")
    return CaseStatus.ERROR, (f"{error.get('type', 'Error')} raised {where}:\n"
                              f"{error.get('traceback', error.get('message', ''))}")


def signal_name(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def timeout_message(outcome: ChildOutcome, limits: Limits) -> str:
    """Which time limit ended the case: its CPU time (``limits.timeout``), or the wall-clock backstop
    (``limits.wall``) while it used little CPU (it slept or waited), or, where a case's CPU time
    cannot be measured (Windows), the wall-clock limit alone."""
    where = outcome.describe_where()
    used = outcome.cpu_seconds
    if used is None:
        return (f"timed out {where}: took more than {limits.wall:g} s of wall-clock time (infinite loop, or far too "
                f"slow; this system cannot measure a case's CPU time, so the limit is wall-clock time)")
    if used >= limits.timeout:
        return f"timed out {where}: used {limits.timeout:g} s of CPU (infinite loop, or far too slow)"
    return (f"timed out {where}: took more than {limits.wall:g} s of wall-clock time while using only "
            f"{used:.2g} s of CPU (it sleeps or waits; a case may use {limits.timeout:g} s of CPU)")


def grade_outcome(case: Case, outcome: ChildOutcome, limits: Limits, hints: bool = True) -> CaseResult:
    """A CaseResult from a ChildOutcome: validation and comparison happen here only.

    ``hints``: name a known mistake when a wrong quantity equals its value (``autograder.judge.hints``).
    """
    status, message = CaseStatus.PASSED, ""
    failures: list[dict[str, str]] = []
    findings: list[Finding] = []
    pictures = []
    if outcome.status == "ok":
        if len(outcome.results) != len(case.program["steps"]):
            wrong_count = "the grading child returned the wrong number of results"
            findings.append(Finding(wrong_count, (wrong_count,)))
            failures.append({"quantity": "results", "kind": "invalid"})
        else:
            for check in case.checks:
                try:
                    run_check(case, check, outcome.results, hints)
                except Mismatch as mismatch:
                    findings.append(dataclasses.replace(mismatch.finding(),
                                                        order=program_order(case.program["steps"], check["step"])))
                    failures.append(failure_of(check, mismatch))
                    if mismatch.picture is not None:
                        pictures.append(mismatch.picture)
        if findings:
            status, message = CaseStatus.FAILED, "\n".join(line for finding in findings for line in finding.lines)
    elif outcome.status == "error":
        status, message = explain_error(outcome)
    elif outcome.status == "timeout":
        status, message = CaseStatus.TIMEOUT, timeout_message(outcome, limits)
    elif outcome.status == "crashed":
        status, message = CaseStatus.CRASHED, (f"the process running your code ended without reporting a result "
                                      f"({signal_name(outcome.returncode)}) {outcome.describe_where()}: "
                                      f"os._exit, a hard crash, or a resource limit "
                                      f"(memory {limits.address_space // 2**20} MiB, "
                                      f"files {limits.file_size // 2**20} MiB)")
    else:
        status, message = CaseStatus.ERROR, f"{outcome.error.get('message', 'unreadable result')} {outcome.describe_where()}"
    header = case_header(case) if message else ""
    if message:
        message = f"{header}\n{message}"
    return CaseResult(case.item, case.name, status, message, outcome.wall_seconds, outcome.student_seconds,
                      outcome.output, tuple(failures), pictures, header, tuple(findings))


def program_order(steps: Sequence[Mapping[str, Any]], step: int) -> tuple[int, int, int]:
    """Where the program computes the result of ``steps[step]``, as a key that sorts in that order.

    A value belongs to the call it comes from: the call's own result, or an attribute read after it
    (before the next call).  Calls run in the order of the program.  After a forward-style call its
    result comes first, then the attributes as read; a backward pass runs from the output towards
    the input, so after a ``backward`` call the attributes come in the reverse of their reading order
    (the layers nearest the loss first: a model's reads go from its first layer to its last), then
    the call's own result (the gradient of the input, computed last)."""
    call = max((index for index in range(step + 1) if "call" in steps[index]), default=-1)
    backward = call >= 0 and "backward" in str(steps[call]["call"])
    if step == call:
        return (call, 1, 0) if backward else (call, 0, 0)
    return (call, 0, -step) if backward else (call, 1, step)


def failure_of(check: Mapping[str, Any], mismatch: Mismatch) -> dict[str, str]:
    """What a failed check is, from the fixture's check and the kind of the Mismatch only (never its message)."""
    failure = {"quantity": str(check["quantity"]), "kind": mismatch.kind}
    if mismatch.kind == "shape" and check.get("formula"):
        failure["formula"] = str(check["formula"])
    if mismatch.hint is not None:  # a sentence from the fixture's rubric, naming a known mistake
        failure["hint"] = mismatch.hint
    return failure
