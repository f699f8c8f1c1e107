"""``runner.py batch --feedback DIR``: per-student files that are safe to hand back.

For every submission of the batch (graded now or reused from an earlier run),
``DIR/<student>.txt`` (the report a student reads) and ``DIR/<student>.json``
(the same as JSON), both built by :mod:`autograder.report.student_view`: with a hidden
fixture set they say which cases passed (with ``--hidden-detail kinds``, also how
the others failed), never the set's seed, sizes, inputs or expected values; with
the public set they also carry each failing case's message, which the student
could produce locally anyway.  The
submission is named by its student id, not by the staff's path.  The staff
reports under ``--out`` keep everything.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from autograder.util.atomic import write_json_atomic, write_text_atomic
from autograder.batch.entries import Outcome
from autograder.batch.storage import REPORTS_FOLDER
from autograder.errors import UsageError
from autograder.contract.fixtures import FixtureSet
from autograder.report.visibility import PASSED, set_identity, student_detail
from autograder.report.student_view import render_student, student_document


def check_feedback_folder(feedback: Path, out: Path) -> None:
    """Refuse a feedback folder that is the output folder or lies among the staff reports (UsageError)."""
    feedback, out = Path(feedback).resolve(), Path(out).resolve()
    if feedback == out or feedback.is_relative_to(out / REPORTS_FOLDER):
        raise UsageError(f"--feedback {feedback}: must be a folder apart from --out and its {REPORTS_FOLDER}/ "
                         f"(the staff reports there keep the hidden details)")
    if feedback.exists() and not feedback.is_dir():
        raise UsageError(f"--feedback {feedback}: exists and is not a folder")


def write_feedback(feedback: Path, outcomes: Sequence[Outcome], fixture_set: FixtureSet,
                   hidden_detail: str = PASSED) -> int:
    """Write each outcome's student files into ``feedback``; return how many students got them.

    ``hidden_detail``: what they show of a hidden set (report.visibility.student_detail).  A file that
    cannot be written raises UsageError (a harness problem, not the student's).
    """
    detail = student_detail(set_identity(fixture_set.manifest_sha256, fixture_set.seed), hidden_detail)
    for outcome in outcomes:
        report = outcome.report
        report.submission = outcome.student  # named by its student id, not by the staff's path
        try:
            write_text_atomic(Path(feedback) / f"{outcome.student}.txt", render_student(report, detail) + "\n")
            write_json_atomic(Path(feedback) / f"{outcome.student}.json", student_document(report, detail))
        except OSError as error:
            raise UsageError(f"cannot write the feedback of {outcome.student} in {feedback}: "
                             f"{error.strerror or error}") from None
    return len(outcomes)


__all__ = ["check_feedback_folder", "write_feedback"]
