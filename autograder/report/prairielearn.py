"""PrairieLearn external-grader results: ``runner.py --format prairielearn [--prairielearn-out PATH]``.

The document follows PrairieLearn's external grading results format
(``gradable``, ``score`` in [0, 1], ``message``, ``output``, ``format_errors``,
and ``tests`` with ``name``, ``description``, ``points``, ``max_points``,
``message`` and ``output``), validated against
``schemas/prairielearn.schema.json`` before it is written.

- ``score`` is the main total over the main maximum, clamped to [0, 1]; the bonus
  items are tests of their own (their points are not in ``score``).
- A submission that cannot be graded gives ``gradable: false`` (PrairieLearn then
  shows "invalid, not gradable", awards and removes no points and does not count the
  attempt) with the reason in ``format_errors`` and ``message``: the student's own
  files (no ``mytorch/`` package: the reason in full), or a failure of the grading
  itself (a fixture set that does not verify, no sandbox, a crash): "grading failed"
  with the reason as the student may read it (:func:`autograder.report.student_view.student_error`),
  never a score of 0 for a grading that did not happen.
- Failure details follow the Gradescope rules (:func:`autograder.report.gradescope.item_output`):
  in full with the public fixtures, which cases passed only with a hidden set (with
  ``--hidden-detail kinds``, also how each failed).
- PrairieLearn rejects results over 1 MB: texts are clipped, then clipped harder
  until the encoded file fits in :data:`MAX_BYTES`.

Whatever goes wrong, a valid file is written (:func:`write_prairielearn`).
"""
from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any

from autograder.util.atomic import write_json_atomic
from autograder.contract.documents import DocumentError, validate_document
from autograder.report.model import Report
from autograder.util.safetext import for_json

MAX_BYTES = 900_000  # PrairieLearn's limit is 1 MB; leave room
MAX_TEXT = 20_000
MIN_TEXT = 200
TRUNCATED = "\n... (truncated)"


class PrairieLearnError(DocumentError):
    """A results.json document that does not match schemas/prairielearn.schema.json."""


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:max(limit - len(TRUNCATED), 0)] + TRUNCATED


def prairielearn_document(report: Report, detail: str | None = None) -> dict[str, Any]:
    """The results.json document for ``report`` (texts not yet clipped to the size limit); ``detail``:
    see :func:`autograder.report.visibility.student_detail` (default: the one the report's fixture set gets)."""
    from autograder.report.gradescope import item_output
    from autograder.report.student_view import student_error
    from autograder.report.visibility import FULL, student_detail
    if detail is None:
        detail = student_detail(report.fixture_set)
    details = detail == FULL
    if report.status != "graded" and report.error_source == "submission":
        problem: str | None = report.error
    elif report.status == "error" and not any(item.cases for item in report.items):
        problem = report.submission_problem  # a grading that did not run may still be the upload's fault
    else:
        problem = None
    if problem is not None:
        return {"gradable": False, "score": 0.0, "format_errors": [problem],
                "message": f"Your submission could not be graded: {problem}", "output": "", "tests": []}
    if report.status != "graded":
        error = report.error if details else student_error({"error": report.error, "error_source": report.error_source})
        return not_gradable(error)
    main, main_max = report.total("main"), report.maximum("main")
    score = min(max(main / main_max, 0.0), 1.0) if main_max > 0 else 0.0
    tests = []
    for item in report.items:
        output = item_output(item, detail)
        tests.append({"name": item.name if item.section == "main" else f"{item.name} (bonus)",
                      "description": f"{item.policy.replace('_', ' ')}; classes {', '.join(item.rubric_item.classes)}",
                      "points": item.points, "max_points": item.max_points,
                      "message": output.split("\n", 1)[0], "output": output})
    message = (f"Total score: {main:g}/{main_max:g} "
               f"(+{report.total('bonus'):g}/{report.maximum('bonus'):g} bonus).")
    return {"gradable": True, "score": round(score, 6), "message": message, "output": "", "tests": tests}


GRADING_FAILED = "Grading failed"
NOT_COUNTED = ("This attempt was not graded and does not count: no points were awarded or lost. "
               "Please contact the course staff.")


def not_gradable(reason: str) -> dict[str, Any]:
    """PrairieLearn's way of saying that grading failed: ``gradable: false`` (no points awarded or
    lost, the attempt not counted) with the reason in ``format_errors`` and ``message``."""
    return {"gradable": False, "score": 0.0, "format_errors": [clip(f"{GRADING_FAILED}: {reason}", MAX_TEXT)],
            "message": clip(f"{GRADING_FAILED}: {reason}\n{NOT_COUNTED}", MAX_TEXT), "output": "", "tests": []}


def failure_document(reason: str) -> dict[str, Any]:
    """A valid results.json saying that grading failed, for when no report could be converted."""
    return not_gradable(f"the autograder itself failed while writing the results: {reason}")


def encoded_size(document: dict[str, Any]) -> int:
    return len(json.dumps(for_json(document), indent=1).encode("utf-8"))


def fit(document: dict[str, Any], max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """``document`` with every text clipped so that the encoded file is at most ``max_bytes``."""
    limit = MAX_TEXT
    while True:
        fitted = dict(document)
        fitted["message"] = clip(document["message"], limit)
        fitted["output"] = clip(document["output"], limit)
        fitted["format_errors"] = [clip(e, limit) for e in document.get("format_errors", [])]
        if not fitted["format_errors"]:
            del fitted["format_errors"]
        fitted["tests"] = [{**test, "message": clip(test["message"], limit), "output": clip(test["output"], limit)}
                           for test in document["tests"]]
        if encoded_size(fitted) <= max_bytes or limit <= MIN_TEXT:
            break
        limit //= 2
    if encoded_size(fitted) > max_bytes:  # pathological: many tests; keep the scores only
        fitted["tests"] = [{**test, "message": "", "output": ""} for test in fitted["tests"]]
        fitted["output"] = ""
    return fitted


def validate_prairielearn(document: dict[str, Any]) -> None:
    """Raise PrairieLearnError if ``document`` does not match schemas/prairielearn.schema.json."""
    validate_document("prairielearn.schema.json", document, "prairielearn results", PrairieLearnError)


def write_prairielearn(path: Path, report: Report, detail: str | None = None) -> dict[str, Any]:
    """Write ``report`` as PrairieLearn's results.json at ``path``; always writes a valid file."""
    try:
        document = fit(prairielearn_document(report, detail))
        validate_prairielearn(document)
    except Exception as error:  # the file PrairieLearn reads must exist and be valid, whatever happened
        document = failure_document(f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=3)}")
        validate_prairielearn(document)
    write_json_atomic(Path(path), document)
    return document


__all__ = ["write_prairielearn", "prairielearn_document", "validate_prairielearn", "fit", "not_gradable",
           "failure_document", "PrairieLearnError", "GRADING_FAILED"]
