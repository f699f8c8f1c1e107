"""What a student may see of a grading report: an allow-list, not a deny-list, and how much of it.

A report graded with a *hidden* fixture set (any set but the public one in
``fixtures/``, see :func:`is_public_set`) must not let a student read the set
back: not its seed, nor a case's hyperparameters, sizes, inputs or expected
values, nor any text future messages may carry.  Student code receives the
hidden inputs, so whatever of a case's outcome it can choose is a channel: it
can pass or fail a case on purpose, and it can choose how it fails (wrong
values or a wrong shape, in which quantity, like which known mistake, an
exception, a timeout, a crash, NotImplementedError), and how long it takes.
So the student-facing views below are built from scratch out of few fields,
never by removing fields from the full report, at one of three levels
(:func:`autograder.report.visibility.student_detail` is the one place that decides which):

- ``passed`` (a hidden set, by default): the rubric (item names, sections,
  policies, points, the case names); per case, passed or not; per item, its
  points, passed/total cases and passed or failed (or not graded, when no case
  ran); the totals; a grading error's text only when it is about the student's
  own files (``error_source == "submission"``).  All of it follows from one bit
  per case: whether it passed.
- ``kinds`` (a hidden set, when the course staff choose ``--hidden-detail kinds``):
  also each failing case's kind of failure (``mismatch``, ``shape`` with the
  fixture's symbolic formula, ``invalid``, ``exception``, ``timeout``,
  ``crashed``, ``not implemented``), which quantity failed (``backward dLdA``)
  and the likely cause a known mistake's values point to: a few more bits per
  failing case, which the student's code chooses.
- ``full`` (the public set, which the student has anyway, or staff's
  ``--show-hidden-details``): also each failing case's message and printed output.

Left out at every hidden level: case messages and headers (hyperparameters, got vs
expected), what the student's code printed and its exception texts (the code
receives the hidden inputs and could print them), where the code was (the
child reports it, so student code can forge it), timings (a sleep could encode
a value: Gradescope's ``execution_time`` is 0), the fixture set's id
(``seed-<seed>-<hash>``: the seed, and a hash of a set anyone can regenerate from
a guessed seed), its path and seed.

Used by ``runner.py`` (stdout, Autolab's feedback line, Gradescope's and
PrairieLearn's files), ``runner.py batch --feedback`` (files to hand back) and
Gradescope's ``run_autograder`` (:mod:`autograder.platforms.gradescope_run`).  The staff
outputs (``--json``, the batch's ``reports/`` and ``summary.json``) keep everything.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autograder.contract.rubric import RubricItem
from autograder.judge.results import CaseResult, CaseStatus
from autograder.report.model import (HARNESS_VERSION, HIDDEN_NOTES, STATUS_KINDS, ItemResult, Report,
                                     failure_texts)
from autograder.report.visibility import FULL, HIDDEN_DETAILS, KINDS, PASSED, is_public_set
from autograder.util.safetext import for_terminal

HIDDEN_ID = "hidden"
HIDDEN_NOTE = HIDDEN_NOTES[KINDS]
HIDDEN_ERROR = "the autograder could not grade this submission; the course staff have the details"
FAILURE_FIELDS = ("quantity", "kind", "formula", "hint")  # of a failure, what the kinds level may show


def student_fixture_id(fixture_set: Mapping[str, Any]) -> str:
    """The fixture set's id as a student may see it: the public id, or ``hidden``."""
    return str(fixture_set.get("id", "?")) if is_public_set(fixture_set) else HIDDEN_ID


def student_error(document: Mapping[str, Any]) -> str:
    """A grading error as a student of a hidden set may read it."""
    return str(document.get("error", "")) if document.get("error_source") == "submission" else HIDDEN_ERROR


def student_report(report: Report, detail: str = PASSED) -> Report:
    """The filter: a new report holding only what a student may see of ``report`` at ``detail``
    (:func:`autograder.report.visibility.student_detail`), built from few fields, never by removing
    fields from the full one.  Every level: the rubric's items (name, section, points, policy),
    each case's name and whether it passed, the sandbox and the limits of the run; ``kinds`` adds each
    failing case's status and failures (their quantity, kind, formula and likely cause only); ``full``
    its message and printed output too.  No timings, ever."""
    full = detail == FULL
    items = []
    for item in report.items:
        rubric_item = RubricItem(item.name, item.section, item.max_points, item.policy, (), "")
        cases = []
        for case in item.cases:
            passed = case.passed
            status = CaseStatus.PASSED if passed else CaseStatus.FAILED if detail == PASSED else case.status
            failures = () if passed or detail == PASSED else tuple(
                {key: str(failure[key]) for key in FAILURE_FIELDS if key in failure} for failure in case.failures)
            cases.append(CaseResult(item.name, case.case, status, case.message if full and not passed else "",
                                    output=case.output if full and not passed else "", failures=failures))
        items.append(ItemResult(rubric_item, cases))
    error = (report.error if full else student_error({"error": report.error, "error_source": report.error_source})
             ) if report.status == "error" else ""
    return Report(submission=report.submission, rubric=report.rubric, items=items,
                  fixture_set={"id": str(report.fixture_set.get("id", "?")) if full
                               else student_fixture_id(report.fixture_set)},
                  status="graded" if report.status == "graded" else "error", error=error,
                  unscored=report.unscored, sandbox=dict(report.sandbox), limits=dict(report.limits), isolation="",
                  error_source=report.error_source)


def as_report(report: Report | Mapping[str, Any]) -> Report:
    return report if isinstance(report, Report) else Report.from_dict(report)


def case_line(case: CaseResult, detail: str = KINDS) -> str:
    """One line for a failing case, e.g. ``case "general": wrong shape: forward Z (expected (N, C, W))``,
    or ``case "general": failed`` at the ``passed`` level."""
    return for_terminal(f'case "{case.case}": ' + "; ".join(failure_texts(case, detail)))


def student_document(report: Report | Mapping[str, Any], detail: str = PASSED) -> dict[str, Any]:
    """The part of a report (a Report or its ``to_dict()``) a student may receive, as JSON, at ``detail``
    (see :func:`autograder.report.visibility.student_detail`): :func:`student_report`'s fields, each
    failing case's failures as texts."""
    view = student_report(as_report(report), detail)
    full = detail == FULL
    items = []
    for item in view.items:
        cases = []
        for case in item.cases:
            entry: dict[str, Any] = {"case": case.case, "status": str(case.status), "passed": case.passed}
            if not case.passed:
                entry["failures"] = failure_texts(case, detail)
                if full:
                    entry.update(message=case.message, output=case.output)
            cases.append(entry)
        items.append({"name": item.name, "section": str(item.section), "status": str(item.status),
                      "points": float(item.points), "max_points": float(item.max_points),
                      "passed_cases": sum(c.passed for c in item.cases), "total_cases": len(item.cases),
                      "cases": cases})
    return {
        "harness_version": HARNESS_VERSION,
        "fixture_set": view.fixture_set["id"],
        "status": view.status,
        "error": view.error,
        "totals": {"main": float(view.total("main")), "main_max": float(view.maximum("main")),
                   "bonus": float(view.total("bonus")), "bonus_max": float(view.maximum("bonus"))},
        "scores": {str(name): float(points) for name, points in view.scores().items()},
        "items": items,
    }


def render_student(report: Report | Mapping[str, Any], detail: str = PASSED) -> str:
    """The human report a student may read (every line but the Autolab JSON one) at ``detail``:
    the one renderer (:meth:`Report.render`) over :func:`student_report`'s filtered report."""
    return student_report(as_report(report), detail).render(student=detail)


__all__ = ["student_fixture_id", "student_error", "student_report", "student_document", "render_student",
           "case_line", "HIDDEN_ID", "HIDDEN_DETAILS", "FULL", "KINDS", "PASSED", "STATUS_KINDS"]
