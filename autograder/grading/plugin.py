"""The pytest view: every fixture case of the fixture set becomes one test of ``test_graded.py``.

The cases run in the sandbox exactly as ``runner.py`` runs them (the same
scheduler and checks); the plugin only maps them to tests: it parametrises
``case``, starts the selected items in the background as soon as collection is
done, puts a pytest-timeout guard on every test, fails a test with the
student's message, and ends with a score section for what was selected.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder import ROOT
from autograder.config import Config, default_jobs
from autograder.contract.fixtures import DEFAULT_FIXTURES, Case, FixtureSet, load_fixture_set
from autograder.case.processes import WAIT_CAP
from autograder.sandbox import Limits
from autograder.grading.scheduler import Scheduler
from autograder.errors import GraderError
from autograder.grading.submission import locate_package

PLUGIN_NAME = "mytorch-grading"
DEFAULT_SUBMISSION = ROOT / "student_template"
OUTER_TIMEOUT_MARGIN = 30.0  # pytest-timeout's guard on one test, beyond the item's own case timeouts


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("mytorch", "mytorch autograder")
    group.addoption("--submission", default=str(DEFAULT_SUBMISSION),
                    help="folder holding the mytorch/ package to grade (default: student_template/)")
    group.addoption("--fixture-set", default=str(DEFAULT_FIXTURES),
                    help="fixture folder with manifest.json (default: fixtures/)")
    group.addoption("--case-timeout", type=float, default=Limits.timeout,
                    help="CPU seconds allowed for one case (default %(default)s; see runner.py --help)")
    group.addoption("--no-hints", dest="grading_hints", action="store_false",
                    help="no 'likely cause' lines naming a known mistake in failure messages")
    # --jobs as runner.py spells it (--grading-jobs: the old spelling, for one release); --fixtures and --timeout
    # cannot be: pytest's own --fixtures and pytest-timeout's --timeout have them
    group.addoption("--jobs", "--grading-jobs", dest="grading_jobs", type=int, default=default_jobs(),
                    help="items graded in parallel (default: what the CPUs and memory really available allow, "
                         "%(default)s here)")


class GradingPlugin:
    def __init__(self, submission: Path, fixture_set: FixtureSet, config: Config) -> None:
        self.fixture_set = fixture_set
        self.config = config
        self.limits = config.limits
        self.scheduler = Scheduler(submission, fixture_set, self.limits, config.jobs, config.hints)
        self.selected: list[Case] = []
        self.ran: list[Case] = []  # the cases whose test ran (-x may stop early)

    @classmethod
    def from_options(cls, config: pytest.Config) -> GradingPlugin:
        """Every option resolved once; a submission or fixture set that cannot be graded stops pytest."""
        try:
            grading = Config(fixtures=Path(config.getoption("fixture_set")), timeout=config.getoption("case_timeout"),
                             jobs=config.getoption("grading_jobs"), hints=config.getoption("grading_hints"))
            return cls(locate_package(Path(config.getoption("submission"))), load_fixture_set(grading.fixtures),
                       grading)
        except (GraderError, ValueError) as error:
            raise pytest.UsageError(f"cannot grade: {error}") from None

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "case" in metafunc.fixturenames:
            cases = [case for cases in self.fixture_set.items.values() for case in cases]
            metafunc.parametrize("case", cases, ids=[f"{case.item}-{case.name}" for case in cases])

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """``session.items`` is final here (after -k, -m, --lf): start grading what they need."""
        for test in session.items:
            case = getattr(test, "callspec", None) and test.callspec.params.get("case")
            if isinstance(case, Case):
                item_cases = len(self.fixture_set.items[case.item])
                # each case may take its wall-clock backstop, plus the time it waits for a CPU (WAIT_CAP)
                test.add_marker(pytest.mark.timeout(WAIT_CAP * self.limits.wall * item_cases
                                                    + OUTER_TIMEOUT_MARGIN))
                self.selected.append(case)
        self.scheduler.start(list(dict.fromkeys(case.item for case in self.selected)))

    def pytest_sessionfinish(self) -> None:
        self.scheduler.shutdown()

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.ran:
            return
        terminalreporter.section("mytorch score")
        for item in self.fixture_set.rubric.items:
            chosen = [case for case in self.ran if case.item == item.name]
            results = self.scheduler.results.get(item.name)
            if not chosen or results is None:
                continue
            passed = sum(result.passed for result in results if result.case in {case.name for case in chosen})
            total = len(self.fixture_set.items[item.name])
            if len(chosen) == total:
                terminalreporter.write_line(f"{item.name:<24} {item.score(passed, total):g}/{item.points:g}")
            else:
                terminalreporter.write_line(f"{item.name:<24} {passed}/{len(chosen)} cases run passed "
                                            f"(the item's {item.points:g} points need all its {total} cases)")

    def grade(self, case: Case) -> None:
        """Grade one case (already running in the background); fail the test with the student message."""
        self.ran.append(case)
        result = self.scheduler.case_result(case.item, case.name)
        if not result.passed:
            pytest.fail(result.message, pytrace=False)
