"""Turning child outcomes into graded case results, and scheduling the child runs.

Scoring happens here, in the grader's process; student code only ever runs in
the children started by :mod:`autograder.sandbox`.
"""
import json
import re
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.compare import Mismatch, assert_close, check_drop_rate, dropped_channels, to_array
from autograder.fixtures import FixtureError, validate_against
from autograder.sandbox import Limits, run_in_sandbox, weakest_sandbox

RUBRIC_PATH = Path(__file__).resolve().parent / "rubric.json"


@dataclass
class CaseResult:
    item: str
    case: str
    status: str
    message: str = ""
    wall_seconds: float = 0.0
    student_seconds: float = 0.0
    output: str = ""

    @property
    def passed(self):
        return self.status == "passed"

    def to_dict(self):
        return {"case": self.case, "status": self.status, "message": self.message,
                "wall_seconds": round(self.wall_seconds, 4), "student_seconds": round(self.student_seconds, 4),
                "output": self.output}


# ----------------------------------------------------------------------------- rubric

def load_rubric(path=RUBRIC_PATH):
    path = Path(path)
    try:
        rubric = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise FixtureError(f"{path}: cannot read the rubric ({error})") from None
    validate_against("rubric.schema.json", rubric, str(path))
    return rubric


def item_score(rubric_item, case_results):
    """Points earned by one item under its policy."""
    if not case_results:
        return 0.0
    passed = sum(r.passed for r in case_results)
    if rubric_item["policy"] == "proportional":
        return rubric_item["points"] * passed / len(case_results)
    return float(rubric_item["points"]) if passed == len(case_results) else 0.0


# ----------------------------------------------------------------------------- one case

def case_header(case):
    hyper = ", ".join(f"{k}={v}" for k, v in case.hyperparameters.items())
    return f'{case.item}, case "{case.name}" ({case.description}; {hyper})'


def run_check(case, check, results):
    """Run one check of a case; raise Mismatch with a student-facing message."""
    quantity = check["quantity"]
    value = results[check["step"]]
    tol = case.tolerance
    kind = check["kind"]
    if kind == "allclose":
        expected = case.array(check["expected"])
        got = to_array(value, expected.shape, quantity, check.get("formula"))
        assert_close(got, expected, tol["rtol"], tol["atol"], quantity)
    elif kind == "dropout_forward":
        x = case.inputs()[check["input"]]
        dropped_channels(to_array(value, x.shape, quantity), x, check["p"], tol["rtol"], tol["atol"], quantity)
    elif kind == "dropout_backward":
        delta = case.inputs()[check["input"]]
        forward_check = next(c for c in case.checks if c["kind"] == "dropout_forward"
                             and c["step"] == check["forward_step"])
        x = case.inputs()[forward_check["input"]]
        try:
            forward = to_array(results[check["forward_step"]], x.shape, "forward output")
            dropped = dropped_channels(forward, x, check["p"], tol["rtol"], tol["atol"], "forward output")
        except Mismatch:
            raise Mismatch(f"{quantity}: cannot be checked because the training forward output is wrong") from None
        keep = (~dropped).astype(float)[(...,) + (None,) * (x.ndim - 2)]
        expected = delta * keep / (1.0 - check["p"])
        got = to_array(value, delta.shape, quantity)
        assert_close(got, expected, tol["rtol"], tol["atol"],
                     f"{quantity} (must be delta/(1-p) on the channels kept by the last forward, 0 elsewhere)")
    elif kind == "dropout_rate":
        shape = tuple(case.program["steps"][check["step"]]["args"][0]["$fill"]["shape"])
        ones = np.ones(shape)
        dropped = dropped_channels(to_array(value, shape, quantity), ones, check["p"],
                                   tol["rtol"], tol["atol"], quantity)
        check_drop_rate(dropped, check["p"], check["max_sigma"], quantity)
    else:
        raise FixtureError(f"unknown check kind {kind!r} in item {case.item}")


FORBIDDEN_IMPORT = re.compile(r"No module named '([^']+)'")


def explain_error(case, outcome):
    """Status and message for a child whose student code raised."""
    error = outcome.error
    where = outcome.describe_where()
    if error.get("type") == "NotImplementedError":
        return "not_implemented", f"not implemented yet ({where}): {error.get('message', '')}"
    match = FORBIDDEN_IMPORT.search(error.get("message", ""))
    if error.get("type") == "ModuleNotFoundError" and match and not match.group(1).startswith("mytorch"):
        return "error", (f"{where}: your code imports '{match.group(1)}', which is not available while grading: "
                         f"mytorch may only use the Python standard library.\n{error.get('traceback', '')}")
    return "error", f"{error.get('type', 'Error')} raised {where}:\n{error.get('traceback', error.get('message', ''))}"


def signal_name(returncode):
    if returncode is not None and returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def grade_outcome(case, outcome, limits):
    """A CaseResult from a ChildOutcome: validation and comparison happen here only."""
    status, message = "passed", ""
    if outcome.status == "ok":
        problems = []
        if len(outcome.results) != len(case.program["steps"]):
            problems.append("the grading child returned the wrong number of results")
        else:
            for check in case.checks:
                try:
                    run_check(case, check, outcome.results)
                except Mismatch as mismatch:
                    problems.append(str(mismatch))
        if problems:
            status, message = "failed", "\n".join(problems)
    elif outcome.status == "error":
        status, message = explain_error(case, outcome)
    elif outcome.status == "timeout":
        status, message = "timeout", (f"timed out after {limits.timeout:g} s {outcome.describe_where()} "
                                      f"(infinite loop, or far too slow)")
    elif outcome.status == "crashed":
        status, message = "crashed", (f"the process running your code ended without reporting a result "
                                      f"({signal_name(outcome.returncode)}) {outcome.describe_where()}: "
                                      f"os._exit, a hard crash, or a resource limit "
                                      f"(memory {limits.address_space // 2**20} MiB, "
                                      f"files {limits.file_size // 2**20} MiB)")
    else:
        status, message = "error", f"{outcome.error.get('message', 'unreadable result')} {outcome.describe_where()}"
    if message:
        message = f"{case_header(case)}\n{message}"
    return CaseResult(case.item, case.name, status, message, outcome.wall_seconds, outcome.student_seconds,
                      outcome.output)


# ----------------------------------------------------------------------------- scheduling

class Scheduler:
    """Runs every item's cases in child processes, ``jobs`` items at a time.

    An item's cases run in order; after a timeout the item's remaining cases
    are skipped (the item is lost anyway), and a module that failed to import
    is not imported again for later cases that need it.
    """

    def __init__(self, submission, fixture_set, limits=Limits(), jobs=2):
        self.submission = Path(submission)
        self.fixture_set = fixture_set
        self.limits = limits
        self.jobs = max(1, jobs)
        self.results = {}
        self.sandbox = {}  # the kernel layers every case had (see sandbox.clean_sandbox)
        self._import_failures = {}
        self._executor = None
        self._futures = {}
        self._lock = threading.Lock()

    def start(self, items):
        """Start grading ``items`` (names) in the background, largest fixtures first."""
        self._executor = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="grader")
        ordered = sorted(items, key=lambda item: -sum(sum(a.size for a in c.arrays.values())
                                                       for c in self.fixture_set.items[item]))
        for item in ordered:
            self._futures[item] = self._executor.submit(self.grade_item, item)

    def item_results(self, item):
        """Results of all cases of ``item``, running it now if it has not started."""
        future = self._futures.get(item)
        if future is None or future.cancel():
            return self.grade_item(item)
        return future.result()

    def case_result(self, item, case_name):
        return next(r for r in self.item_results(item) if r.case == case_name)

    def shutdown(self):
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def grade_item(self, item):
        with self._lock:
            if item in self.results:
                return self.results[item]
        results, timed_out = [], False
        for case in self.fixture_set.items[item]:
            if timed_out:
                results.append(CaseResult(item, case.name, "skipped",
                                          f"{case_header(case)}\nnot run: an earlier case of {item} timed out"))
                continue
            module = case.program["module"]
            failure = self._import_failures.get(module)
            outcome = failure or run_in_sandbox(self.submission, case, self.limits)
            with self._lock:
                self.sandbox = weakest_sandbox(self.sandbox, outcome.sandbox)
            if outcome.where.get("phase") == "import" and outcome.status in ("error", "timeout", "crashed"):
                self._import_failures.setdefault(module, outcome)
            result = grade_outcome(case, outcome, self.limits)
            timed_out = result.status == "timeout"
            results.append(result)
        with self._lock:
            self.results[item] = results
        return results
