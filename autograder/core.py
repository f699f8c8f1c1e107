"""The grading core: ``grade(submission, fixture_set, settings) -> Report``.

Used by ``runner.py``, by each ``runner.py batch`` worker and (case by case)
by the pytest view in ``autograder/conftest.py``.  No pytest here: the score
is decided by the checks (:mod:`autograder.checks`) of every case, run in
sandboxed children (:mod:`autograder.scheduler`), and the item policies of the
fixture set's rubric (:mod:`autograder.rubric`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.fixtures import FixtureSet
from autograder.report import Report
from autograder.sandbox import DEFAULT_JOBS, Limits
from autograder.sandbox.backends import resolve
from autograder.scheduler import Scheduler

__all__ = ["DEFAULT_JOBS", "Settings", "grade"]  # DEFAULT_JOBS: items graded at once (each case by case)


@dataclass(frozen=True)
class Settings:
    """How to grade, resolved once from the command line (runner, batch worker or pytest options)."""
    limits: Limits = field(default_factory=Limits)
    jobs: int = DEFAULT_JOBS
    hints: bool = True  # likely-cause hints: name a known mistake when a wrong quantity equals its value
    sandbox: str = "auto"  # the backend asked for: auto, linux or portable (autograder/sandbox/backends.py)
    allow_unsandboxed: bool = False  # untrusted code may be graded by the portable backend (batch, platforms)
    backend: str = field(init=False)  # the backend ``sandbox`` resolves to here: linux or portable

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {self.jobs}")
        if not self.limits.timeout > 0:
            raise ValueError(f"the case timeout must be positive, not {self.limits.timeout}")
        object.__setattr__(self, "backend", resolve(self.sandbox))  # BackendError (a ValueError) if it cannot run


def grade(submission: Path, fixture_set: FixtureSet, settings: Settings) -> Report:
    """Grade every item of ``fixture_set`` (its rubric says which) against ``submission``.

    ``submission`` is the folder that contains ``mytorch/`` (see
    :func:`autograder.submission.locate_package`).  Student code only ever runs
    in the sandboxed children; this process validates and compares.
    """
    started = time.monotonic()
    scheduler = Scheduler(submission, fixture_set, settings.limits, settings.jobs, settings.hints, settings.backend)
    results = scheduler.run(list(fixture_set.items))
    sandbox = dict(scheduler.sandbox, **({"allow_unsandboxed": True} if settings.allow_unsandboxed else {}))
    return Report.from_results(submission, fixture_set, results, wall_seconds=time.monotonic() - started,
                               sandbox=sandbox if scheduler.sandbox else {})
