"""The pytest plugin behind the graded tests in ``autograder/test_*.py``.

Registered by ``autograder/conftest.py`` (``pytest autograder/``) or by
``runner.py`` (which builds it from its own options).  It parametrises every
test marked ``@pytest.mark.grades(ITEM)`` over the item's fixture cases, starts
the child runs in the background as soon as collection is done, puts a
pytest-timeout guard on every graded test, and keeps each case's result for
the score.
"""
import os
from pathlib import Path

import pytest

from autograder.fixtures import DEFAULT_FIXTURES, FixtureError, load_fixture_set
from autograder.grading import Scheduler, item_score, load_rubric
from autograder.sandbox import Limits

PLUGIN_NAME = "mytorch-grading"
DEFAULT_SUBMISSION = Path(__file__).resolve().parent.parent / "student_template"
OUTER_TIMEOUT_MARGIN = 30.0


def add_options(parser):
    group = parser.getgroup("mytorch", "mytorch autograder")
    group.addoption("--submission", default=str(DEFAULT_SUBMISSION),
                    help="folder holding the mytorch/ package to grade (default: student_template/)")
    group.addoption("--fixture-set", default=str(DEFAULT_FIXTURES),
                    help="fixture folder with manifest.json (default: fixtures/)")
    group.addoption("--case-timeout", type=float, default=Limits.timeout,
                    help="wall-clock seconds allowed for one case (default %(default)s)")
    group.addoption("--grading-jobs", type=int, default=os.cpu_count() or 1,
                    help="cases run in parallel, one item per job (default: number of CPUs)")


class GradingPlugin:
    def __init__(self, submission, fixtures_dir, limits, jobs, only=None, rubric=None):
        self.rubric = rubric or load_rubric()
        self.only = set(only or ())
        self.fixture_set = load_fixture_set(fixtures_dir, only=self.only or None)
        self.scheduler = Scheduler(submission, self.fixture_set, limits, jobs)
        self.reports = {}  # (item, case) -> failing pytest report text, for failures outside the grader
        self.collected = []  # (item, case) in collection order

    @classmethod
    def from_options(cls, config):
        try:
            return cls(config.getoption("submission"), config.getoption("fixture_set"),
                       Limits(timeout=config.getoption("case_timeout")), config.getoption("grading_jobs"))
        except FixtureError as error:
            raise pytest.UsageError(f"fixture set rejected: {error}") from None

    # ------------------------------------------------------------------ pytest hooks

    def pytest_generate_tests(self, metafunc):
        marker = metafunc.definition.get_closest_marker("grades")
        if marker is None or "case" not in metafunc.fixturenames:
            return
        cases = self.fixture_set.items.get(marker.args[0], [])
        metafunc.parametrize("case", cases, ids=[c.name for c in cases])

    def pytest_collection_modifyitems(self, config, items):
        selected, deselected = [], []
        for test in items:
            marker = test.get_closest_marker("grades")
            callspec = getattr(test, "callspec", None)
            if marker is None or callspec is None or "case" not in callspec.params:
                selected.append(test)
                continue
            item = marker.args[0]
            if self.only and item not in self.only:
                deselected.append(test)
                continue
            cases = self.fixture_set.items[item]
            test.add_marker(pytest.mark.timeout(config.getoption("case_timeout", Limits.timeout) * len(cases)
                                                + OUTER_TIMEOUT_MARGIN))
            self.collected.append((item, callspec.params["case"].name))
            selected.append(test)
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = selected
        self.scheduler.start(dict.fromkeys(item for item, _ in self.collected))

    def pytest_runtest_logreport(self, report):
        if report.failed and hasattr(report, "mytorch_case"):
            self.reports[report.mytorch_case] = report.longreprtext

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        case = getattr(item, "callspec", None) and item.callspec.params.get("case")
        if case is not None:
            outcome.get_result().mytorch_case = (case.item, case.name)

    def pytest_sessionfinish(self):
        self.scheduler.shutdown()

    def pytest_terminal_summary(self, terminalreporter):
        if not self.collected:
            return
        terminalreporter.section("mytorch score")
        for rubric_item in self.rubric["items"]:
            results = self.scheduler.results.get(rubric_item["name"])
            if results:
                terminalreporter.write_line(f"{rubric_item['name']:<24} "
                                            f"{item_score(rubric_item, results):g}/{rubric_item['points']:g}")

    # ------------------------------------------------------------------ used by the graded tests

    def grade(self, case):
        """Grade one case (already running in the background); fail the test with the student message."""
        result = self.scheduler.case_result(case.item, case.name)
        if not result.passed:
            pytest.fail(result.message, pytrace=False)
