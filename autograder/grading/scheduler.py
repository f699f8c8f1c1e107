"""Running every item's cases in sandboxed children, a few items at a time."""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from autograder.contract.fixtures import FixtureSet
from autograder.judge.outcome import case_header, grade_outcome
from autograder.judge.results import CaseResult, CaseStatus
from autograder.sandbox.messages import ChildOutcome, weakest_sandbox
from autograder.sandbox import Limits, Precompiled, compile_submission, run_in_sandbox


class Scheduler:
    """Runs every item's cases in child processes, ``jobs`` items at a time.

    An item's cases run in order; after a timeout the item's remaining cases
    are skipped (the item is lost anyway), and a module that failed to import
    is not imported again for later cases that need it.
    """

    def __init__(self, submission: Path, fixture_set: FixtureSet, limits: Limits, jobs: int,
                 hints: bool = True, backend: str | None = None) -> None:
        self.submission = Path(submission)
        self.fixture_set = fixture_set
        self.limits = limits
        self.jobs = max(1, jobs)
        self.hints = hints
        self.backend = backend  # linux or portable (None: the one auto picks; autograder/sandbox/backends.py)
        self.results: dict[str, list[CaseResult]] = {}
        self.sandbox: dict[str, object] = {}  # the layers every case had (see child_messages.clean_sandbox)
        self._import_failures: dict[str, ChildOutcome] = {}
        self._code: Precompiled | None = None  # the submission compiled once (compile_submission), when first needed
        self._code_lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        self._queue: deque[Task] = deque()  # tasks no thread has taken yet, largest first
        self._lock = threading.Lock()

    def run(self, items: list[str]) -> dict[str, list[CaseResult]]:
        """Grade ``items`` and return every item's case results.

        Only the ``jobs`` threads grade (each with its own fork server): this thread waits, it
        does not take an item that has not started (as ``item_results`` does for the pytest
        view), which would start one more fork server and run one more item at a time.
        """
        self.start(items)
        try:
            return {item: self._tasks[item].result() for item in items}
        finally:
            self.shutdown()

    def start(self, items: list[str]) -> None:
        """Start grading ``items`` (names) in the background, largest fixtures first, on ``jobs`` threads.

        (Plain threads and a queue rather than concurrent.futures, whose import with logging's
        costs a run ~9 ms of CPU.)
        """
        ordered = sorted(items, key=lambda item: -sum(sum(a.size for a in c.arrays.values())
                                                       for c in self.fixture_set.items[item]))
        with self._lock:
            for item in ordered:
                self._tasks[item] = task = Task(item)
                self._queue.append(task)
        for number in range(min(self.jobs, len(ordered))):
            threading.Thread(target=self._work, name=f"grader_{number}").start()

    def _work(self) -> None:
        """A grading thread: take the next task nobody has taken, until there is none."""
        while True:
            with self._lock:
                if not self._queue:
                    return
                task = self._queue.popleft()
                if task.state != "queued":
                    continue
                task.state = "thread"
            task.run(self.grade_item)

    def item_results(self, item: str) -> list[CaseResult]:
        """Results of all cases of ``item``, running it now if it has not started."""
        task = self._tasks.get(item)
        if task is not None:
            with self._lock:
                if task.state == "queued":
                    task.state = "caller"
                running = task.state == "thread"
            if running:
                return task.result()
        return self.grade_item(item)

    def case_result(self, item: str, case_name: str) -> CaseResult:
        return next(r for r in self.item_results(item) if r.case == case_name)

    def shutdown(self) -> None:
        """Start no more tasks (a task already running finishes its current item)."""
        with self._lock:
            for task in self._queue:
                if task.state == "queued":
                    task.state = "caller"  # whoever asks for it grades it then
            self._queue.clear()

    def compiled(self) -> Precompiled:
        """The submission compiled once, by the first item to start (the others wait for it)."""
        with self._code_lock:
            if self._code is None:
                self._code = compile_submission(self.submission, self.limits, self.backend)
            return self._code

    def grade_item(self, item: str) -> list[CaseResult]:
        with self._lock:
            if item in self.results:
                return self.results[item]
        code = self.compiled()
        results, timed_out = [], False
        for case in self.fixture_set.items[item]:
            if timed_out:
                header = case_header(case)
                results.append(CaseResult(item, case.name, CaseStatus.SKIPPED,
                                          f"{header}\nnot run: an earlier case of {item} timed out", header=header))
                continue
            module = case.program["module"]
            failure = self._import_failures.get(module)
            outcome = failure or run_in_sandbox(self.submission, case, self.limits, code, self.backend)
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


class Task:
    """One item's grading, taken either by a grading thread or by the caller who needs it first."""

    def __init__(self, item: str) -> None:
        self.item = item
        self.state = "queued"  # then "thread" (a grading thread runs it) or "caller" (whoever asks), under the lock
        self._done = threading.Event()
        self._results: list[CaseResult] = []
        self._error: BaseException | None = None

    def run(self, grade: Callable[[str], list[CaseResult]]) -> None:
        try:
            self._results = grade(self.item)
        except BaseException as error:  # given to whoever waits for the results, as a Future would
            self._error = error
        finally:
            self._done.set()

    def result(self) -> list[CaseResult]:
        while not self._done.wait(0.25):  # in slices: Ctrl-C interrupts a wait on Windows only between them
            pass
        if self._error is not None:
            raise self._error
        return self._results
