"""Running every item's cases in sandboxed children, a few items at a time."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from autograder.fixtures import FixtureSet
from autograder.outcome import case_header, grade_outcome
from autograder.results import CaseResult, CaseStatus
from autograder.child_messages import ChildOutcome, weakest_sandbox
from autograder.sandbox import Limits, Precompiled, compile_submission, run_in_sandbox


class Scheduler:
    """Runs every item's cases in child processes, ``jobs`` items at a time.

    An item's cases run in order; after a timeout the item's remaining cases
    are skipped (the item is lost anyway), and a module that failed to import
    is not imported again for later cases that need it.
    """

    def __init__(self, submission: Path, fixture_set: FixtureSet, limits: Limits, jobs: int,
                 hints: bool = True) -> None:
        self.submission = Path(submission)
        self.fixture_set = fixture_set
        self.limits = limits
        self.jobs = max(1, jobs)
        self.hints = hints
        self.results: dict[str, list[CaseResult]] = {}
        self.sandbox: dict[str, object] = {}  # the kernel layers every case had (see child_messages.clean_sandbox)
        self._import_failures: dict[str, ChildOutcome] = {}
        self._code: Precompiled | None = None  # the submission compiled once (compile_submission), when first needed
        self._code_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._futures: dict[str, Future[list[CaseResult]]] = {}
        self._lock = threading.Lock()

    def run(self, items: list[str]) -> dict[str, list[CaseResult]]:
        """Grade ``items`` and return every item's case results.

        Only the ``jobs`` threads grade (each with its own fork server): this thread waits, it
        does not take an item that has not started (as ``item_results`` does for the pytest
        view), which would start one more fork server and run one more item at a time.
        """
        self.start(items)
        try:
            return {item: self._futures[item].result() for item in items}
        finally:
            self.shutdown()

    def start(self, items: list[str]) -> None:
        """Start grading ``items`` (names) in the background, largest fixtures first."""
        self._executor = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="grader")
        ordered = sorted(items, key=lambda item: -sum(sum(a.size for a in c.arrays.values())
                                                       for c in self.fixture_set.items[item]))
        for item in ordered:
            self._futures[item] = self._executor.submit(self.grade_item, item)

    def item_results(self, item: str) -> list[CaseResult]:
        """Results of all cases of ``item``, running it now if it has not started."""
        future = self._futures.get(item)
        if future is None or future.cancel():
            return self.grade_item(item)
        return future.result()

    def case_result(self, item: str, case_name: str) -> CaseResult:
        return next(r for r in self.item_results(item) if r.case == case_name)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def compiled(self) -> Precompiled:
        """The submission compiled once, by the first item to start (the others wait for it)."""
        with self._code_lock:
            if self._code is None:
                self._code = compile_submission(self.submission, self.limits)
            return self._code

    def grade_item(self, item: str) -> list[CaseResult]:
        with self._lock:
            if item in self.results:
                return self.results[item]
        code = self.compiled()
        results, timed_out = [], False
        for case in self.fixture_set.items[item]:
            if timed_out:
                results.append(CaseResult(item, case.name, CaseStatus.SKIPPED,
                                          f"{case_header(case)}\nnot run: an earlier case of {item} timed out"))
                continue
            module = case.program["module"]
            failure = self._import_failures.get(module)
            outcome = failure or run_in_sandbox(self.submission, case, self.limits, code)
            with self._lock:
                self.sandbox = weakest_sandbox(self.sandbox, outcome.sandbox)
            if outcome.where.get("phase") == "import" and outcome.status in ("error", "timeout", "crashed"):
                self._import_failures.setdefault(module, outcome)
            result = grade_outcome(case, outcome, self.limits, self.hints)
            timed_out = result.status is CaseStatus.TIMEOUT
            results.append(result)
        with self._lock:
            self.results[item] = results
        return results
