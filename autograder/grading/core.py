"""The grading core: ``grade(submission, fixture_set, settings) -> Report``.

Used by ``runner.py``, by each ``runner.py batch`` worker and (case by case)
by the pytest view in ``autograder/conftest.py``.  No pytest here: the score
is decided by the checks (:mod:`autograder.judge.checks`) of every case, run in
sandboxed children (:mod:`autograder.grading.scheduler`), and the item policies of the
fixture set's rubric (:mod:`autograder.contract.rubric`).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from autograder.contract.fixtures import FixtureSet
from autograder.report.model import Report
from autograder.sandbox import Limits
from autograder.sandbox.backends import resolve
from autograder.sandbox.capacity import available
from autograder.grading.scheduler import Scheduler

__all__ = ["Settings", "default_jobs", "grade"]


def default_jobs() -> int:
    """Items graded at once by default: what the CPUs and memory really available allow (capacity.py)."""
    return available().jobs


@dataclass(frozen=True)
class Settings:
    """How to grade, resolved once from the command line (runner, batch worker or pytest options).

    ``concurrent``: how many jobs run at once on this machine while this grading runs (a batch's
    workers each grade with one job); None: ``jobs``.  With the CPUs really available it sets the
    cases' contention, and so their wall-clock backstop (``Limits.wall``), unless ``limits`` has one.
    """
    limits: Limits = field(default_factory=Limits)
    jobs: int = field(default_factory=default_jobs)
    hints: bool = True  # likely-cause hints: name a known mistake when a wrong quantity equals its value
    sandbox: str = "auto"  # the backend asked for: auto, linux or portable (autograder/sandbox/backends.py)
    allow_unsandboxed: bool = False  # untrusted code may be graded by the portable backend (batch, platforms)
    concurrent: int | None = None
    backend: str = field(init=False)  # the backend ``sandbox`` resolves to here: linux or portable

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {self.jobs}")
        if not self.limits.timeout > 0:
            raise ValueError(f"the case timeout must be positive, not {self.limits.timeout}")
        if self.limits.contention is None:
            contention = available().contention(self.concurrent or self.jobs)
            object.__setattr__(self, "limits", replace(self.limits, contention=contention))
        object.__setattr__(self, "backend", resolve(self.sandbox))  # BackendError (a ValueError) if it cannot run

    def described_limits(self) -> dict[str, Any]:
        """The jobs and the case time limits, for the report (its header and ``limits``)."""
        capacity = available()
        cpu_measured = self.backend == "linux" or hasattr(os, "wait4")  # Windows: a case's wall-clock time only
        return {"jobs": self.concurrent or self.jobs, "cpus": capacity.cpus, "capacity": capacity.why,
                "cpu_seconds": self.limits.timeout if cpu_measured else None,
                "wall_seconds": round(self.limits.wall, 3)}


def grade(submission: Path, fixture_set: FixtureSet, settings: Settings) -> Report:
    """Grade every item of ``fixture_set`` (its rubric says which) against ``submission``.

    ``submission`` is the folder that contains ``mytorch/`` (see
    :func:`autograder.grading.submission.locate_package`).  Student code only ever runs
    in the sandboxed children; this process validates and compares.
    """
    started = time.monotonic()
    scheduler = Scheduler(submission, fixture_set, settings.limits, settings.jobs, settings.hints, settings.backend)
    results = scheduler.run(list(fixture_set.items))
    sandbox = dict(scheduler.sandbox, **({"allow_unsandboxed": True} if settings.allow_unsandboxed else {}))
    return Report.from_results(submission, fixture_set, results, wall_seconds=time.monotonic() - started,
                               sandbox=sandbox if scheduler.sandbox else {}, limits=settings.described_limits())
