"""The grading core: ``grade(submission, fixture_set, config) -> Report``.

Used by ``runner.py``, by each ``runner.py batch`` worker and (case by case)
by the pytest view in ``autograder/conftest.py``.  No pytest here: the score
is decided by the checks (:mod:`autograder.judge.checks`) of every case, run in
sandboxed children (:mod:`autograder.grading.scheduler`), and the item policies of the
fixture set's rubric (:mod:`autograder.contract.rubric`).
"""
from __future__ import annotations

import time
from pathlib import Path

from autograder.config import Config
from autograder.contract.fixtures import FixtureSet
from autograder.grading.scheduler import Scheduler
from autograder.report.model import Report

__all__ = ["grade"]


def grade(submission: Path, fixture_set: FixtureSet, config: Config) -> Report:
    """Grade every item of ``fixture_set`` (its rubric says which) against ``submission``.

    ``submission`` is the folder that contains ``mytorch/`` (see
    :func:`autograder.grading.submission.locate_package`).  Student code only ever runs
    in the sandboxed children; this process validates and compares.
    """
    started = time.monotonic()
    scheduler = Scheduler(submission, fixture_set, config.limits, config.jobs, config.hints, config.backend)
    results = scheduler.run(list(fixture_set.items))
    sandbox = dict(scheduler.sandbox, **({"allow_unsandboxed": True} if config.allow_unsandboxed else {}))
    return Report.from_results(submission, fixture_set, results, wall_seconds=time.monotonic() - started,
                               sandbox=sandbox if scheduler.sandbox else {}, limits=config.described_limits())
