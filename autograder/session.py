"""Grade one submission: run the graded pytest suite in-process and build the Report.

The pytest process is the *scoring* process: it never imports student code
(every case runs in a sandboxed child), and the report is always built, even
when pytest or the fixture set fails.
"""
import contextlib
import io
import os
import time
from pathlib import Path

import pytest

from autograder.fixtures import DEFAULT_FIXTURES, FixtureError
from autograder.grading import CaseResult, load_rubric
from autograder.plugin import PLUGIN_NAME, GradingPlugin
from autograder.report import Report
from autograder.sandbox import Limits

AUTOGRADER_DIR = Path(__file__).resolve().parent
AUTOLOAD_VARIABLE = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"
PYTEST_OK = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)


class SubmissionError(Exception):
    """The submission folder cannot be graded at all (no mytorch/ package)."""


def check_submission(submission):
    submission = Path(submission)
    if not (submission / "mytorch").is_dir():
        raise SubmissionError(f"{submission}: no mytorch/ package folder in it "
                              f"(pass the folder that CONTAINS mytorch/)")
    return submission


def grade_submission(submission, fixtures=DEFAULT_FIXTURES, only=(), limits=Limits(), jobs=2,
                     pytest_output=None, extra_pytest_args=()):
    """Grade ``submission`` and return a Report (status "error" if grading could not run).

    Raises FixtureError for a fixture set that cannot be trusted: the caller
    decides how to report it (no score is ever computed from such fixtures).
    """
    rubric = load_rubric()
    started = time.monotonic()
    plugin = GradingPlugin(submission, fixtures, limits, jobs, only=only, rubric=rubric)
    plugin.__name__ = PLUGIN_NAME  # pytest registers a plugin object under its __name__
    args = [str(AUTOGRADER_DIR), "-q", "-p", "no:cacheprovider", "-p", "pytest_timeout", "--rootdir", str(AUTOGRADER_DIR.parent),
            "--submission", str(submission), "--fixture-set", str(fixtures),
            "--case-timeout", str(limits.timeout), "--grading-jobs", str(jobs), *extra_pytest_args]
    sink = pytest_output if pytest_output is not None else io.StringIO()
    with contextlib.redirect_stdout(sink), plugin_autoload_disabled():
        exit_code = pytest.main(args, plugins=[plugin])
    results = collect_results(plugin)
    report = Report.from_results(submission, rubric, plugin.fixture_set, results, only=only,
                                 wall_seconds=time.monotonic() - started, sandbox=plugin.scheduler.sandbox)
    if exit_code not in PYTEST_OK:
        report.status = "error"
        report.error = f"the graded test suite did not run to completion (pytest exit code {int(exit_code)})"
    return report


@contextlib.contextmanager
def plugin_autoload_disabled():
    """Only the plugins the grader names run in the scoring process (and none is imported for nothing)."""
    previous = os.environ.get(AUTOLOAD_VARIABLE)
    os.environ[AUTOLOAD_VARIABLE] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(AUTOLOAD_VARIABLE, None)
        else:
            os.environ[AUTOLOAD_VARIABLE] = previous


def collect_results(plugin):
    """Case results by item; a test pytest itself failed (e.g. its outer timeout) counts as an error."""
    results = {item: list(cases) for item, cases in plugin.scheduler.results.items()}
    for item, case_name in plugin.collected:
        cases = results.setdefault(item, [])
        if any(c.case == case_name for c in cases):
            continue
        text = plugin.reports.get((item, case_name), "the test did not run")
        cases.append(CaseResult(item, case_name, "error", f"{item}, case \"{case_name}\": {text}"))
    return results


__all__ = ["grade_submission", "check_submission", "SubmissionError", "FixtureError"]
