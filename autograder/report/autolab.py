"""Autolab's optional formatted feedback: ``runner.py --autolab-feedback``.

Autolab reads the last stdout line, ``{"scores": ..., "scoreboard": ...}``
(:meth:`autograder.report.model.Report.autolab_line`, unchanged).  With formatted
feedback (docs.autolabproject.com/features/formatted-feedback) the line before
it is one more JSON object that Autolab renders as a table of stages and tests::

    {"_presentation": "semantic", "stages": ["Main", "Bonus"],
     "Main": {"Conv1d": {"passed": true, "hint": "3/3 cases passed ..."}, ...},
     "Bonus": {...}, "_scores_order": ["Downsampling1d", ...]}

One stage per rubric section, one test per item (``passed``: every case
passed), its ``hint`` one line: how many cases passed and the points, plus the
first failing case's status (with a hidden set only "failed", unless the staff
chose ``--hidden-detail kinds``; never values or mismatch details, which the
printed report above shows for the public set).  A grading error is a stage of
its own with the reason.  The document is validated against
``schemas/autolab_feedback.schema.json``; if that fails, the minimal
``{"_presentation": "semantic"}`` is printed instead, so the line is always valid.
"""
from __future__ import annotations

import json
from typing import Any

from autograder.contract.documents import DocumentError, validate_document
from autograder.report.model import Report
from autograder.util.safetext import for_json, for_terminal
from autograder.report.student_view import student_error
from autograder.report.visibility import FULL, PASSED

MAX_HINT = 300
ERROR_STAGE = "Grading error"
MINIMAL = {"_presentation": "semantic"}


class AutolabFeedbackError(DocumentError):
    """A feedback document that does not match schemas/autolab_feedback.schema.json."""


def one_line(text: str, limit: int = MAX_HINT) -> str:
    text = for_terminal(" ".join(str(text).split()))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def item_hint(item: Any, detail: str = FULL) -> str:
    if not item.cases:
        return f"not graded; 0/{item.max_points:g} points"
    passed = sum(c.passed for c in item.cases)
    hint = (f"{passed}/{len(item.cases)} cases passed ({item.policy.replace('_', ' ')}); "
            f"{item.points:g}/{item.max_points:g} points")
    failing = [c for c in item.cases if not c.passed]
    if failing:
        status = "failed" if detail == PASSED else failing[0].status.replace("_", " ")
        hint += f"; first failing case {failing[0].case}: {status}"
    return one_line(hint)


def feedback_document(report: Report, detail: str = FULL) -> dict[str, Any]:
    """The formatted-feedback object for ``report`` at ``detail`` (:func:`autograder.report.visibility.student_detail`:
    with a hidden set, a grading error is shown only when it is about the student's own files)."""
    details = detail == FULL
    document: dict[str, Any] = {"_presentation": "semantic", "stages": []}
    if report.status == "error":
        error = report.error if details else student_error({"error": report.error,
                                                            "error_source": report.error_source})
        document["stages"].append(ERROR_STAGE)
        document[ERROR_STAGE] = {"Grading": {"passed": False, "hint": one_line(error)}}
    graded = report.status == "graded"
    for section, info in report.rubric.sections.items():
        items = [item for item in report.items if item.section is section]
        if not items:
            continue
        document["stages"].append(info.title)
        document[info.title] = {item.name: {"passed": graded and item.status == "passed",
                                            "hint": item_hint(item, detail)}
                                for item in items}
    document["_scores_order"] = list(report.scores())
    return document


def validate_feedback(document: dict[str, Any]) -> None:
    """Raise AutolabFeedbackError if ``document`` does not match schemas/autolab_feedback.schema.json."""
    validate_document("autolab_feedback.schema.json", document, "autolab feedback", AutolabFeedbackError)
    missing = [stage for stage in document.get("stages", []) if stage not in document]
    if missing:
        raise AutolabFeedbackError(f"autolab feedback: stage(s) {', '.join(missing)} listed but missing")


def feedback_line(report: Report, detail: str = FULL) -> str:
    """The one-line JSON to print just before the ``{"scores": ...}`` line; always valid."""
    try:
        document = feedback_document(report, detail)
        validate_feedback(document)
    except Exception:  # the line before the scores must parse, whatever happened
        document = dict(MINIMAL)
    return json.dumps(for_json(document), separators=(",", ":"))


__all__ = ["feedback_line", "feedback_document", "validate_feedback", "AutolabFeedbackError"]
