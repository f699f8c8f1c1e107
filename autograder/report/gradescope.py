"""Report formats for course platforms: Gradescope's ``results.json``.

``runner.py --format gradescope`` calls :func:`write_gradescope`.  The file
follows Gradescope's autograder results format (top-level ``score``,
``execution_time``, ``output`` and ``tests``, one test per rubric item with
``name``, ``score``, ``max_score``, ``status``, ``output`` and ``visibility``)
and is validated against ``schemas/gradescope.schema.json`` before it is
written.  Whatever goes wrong, a valid file is written: a grading error (or a
failure to convert the report) gives ``score`` 0 and a test entry that explains
what happened.

Failure details and the public fixture set: with the public fixtures every
failing case's full diagnostics go into the test output.  With any other
fixture set (a hidden one) the output says only which cases failed (the
allow-list of :mod:`autograder.report.student_view`, whose ``student_detail`` decides;
with the staff's ``--hidden-detail kinds`` also how: wrong values or shape of
which quantity, exception, timeout, ... and a likely cause), never the values,
sizes, messages or timings (``execution_time`` is 0), so the hidden fixtures
cannot be read back through the autograder's feedback; the staff-side JSON
report (``--json``) keeps everything.

With details, a test's output is Markdown (``output_format: md``): each case's
message sits in a fenced code block, so that the character map of where an
array differs (``autograder/judge/diffmap.py``) keeps its columns aligned; everything
outside the fences is the grader's own text.  Every other field is plain text
(``output_format``, ``test_output_format``, ``test_name_format``, each test's
``name_format`` and ``output_format`` are ``text``): what a student wrote (a file
name, an exception) is never rendered as HTML (Gradescope's default for the
top-level output is ``simple_format``, which lets HTML through).
"""
from __future__ import annotations

import re
import traceback
from pathlib import Path
from typing import Any

from autograder.contract.documents import DocumentError, validate_document
from autograder.util.atomic import write_json_atomic
from autograder.report.model import HARNESS_VERSION, ItemResult, Report, printed_lines
from autograder.report.student_view import HIDDEN_ID, case_line, student_error
from autograder.report.visibility import FULL, student_detail

MAX_TEST_OUTPUT = 20_000
VISIBILITY = "visible"
TEXT, MARKDOWN = "text", "md"  # Gradescope's output formats used here: never html or simple_format
TEXT_FORMATS = {"output_format": TEXT, "test_output_format": TEXT, "test_name_format": TEXT}
PUBLIC_HINT = "Run 'python runner.py -v' locally to see every failing case in full."
HIDDEN_HINT = ("This submission was graded with a hidden fixture set (same structure as the public one, other "
               "sizes and values): failure details are not shown here. Run 'python runner.py --only ITEM -v' "
               "locally on the public fixtures to debug.")


class GradescopeError(DocumentError):
    """A results.json document that does not match schemas/gradescope.schema.json."""


def clip(text: str, limit: int = MAX_TEST_OUTPUT) -> str:
    return text if len(text) <= limit else text[:limit] + "\n... (output truncated)"


def fenced(text: str) -> list[str]:
    """``text`` as a Markdown code block whose fence is longer than any run of backticks inside it."""
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return [fence, text, fence]


def item_output(item: ItemResult, detail: str) -> str:
    """A test's output: Markdown with every failing case's message in a code block (``detail`` full),
    or one plain line per failing case (a hidden fixture set; with its kind and likely causes at
    the ``kinds`` level)."""
    details = detail == FULL
    passed = sum(c.passed for c in item.cases)
    lines = [f"{passed}/{len(item.cases)} cases passed ({item.policy.replace('_', ' ')}); "
             f"{item.points:g}/{item.max_points:g} points."]
    failing = [c for c in item.cases if not c.passed]
    if not item.cases:
        lines.append("Not graded.")
    for case in failing:
        if details:
            printed = ["Your code printed:", *(f"| {line}" for line in printed_lines(case.output))]
            lines += ["", *fenced("\n".join([case.message, *(printed if case.output.strip() else [])]))]
        else:
            lines.append(case_line(case, detail))
    if failing:
        lines += ["", PUBLIC_HINT if details else HIDDEN_HINT]
    return clip("\n".join(lines))


def gradescope_document(report: Report, detail: str | None = None) -> dict[str, Any]:
    """Build the results.json document for ``report`` (a Report).

    ``detail`` (:func:`autograder.report.visibility.student_detail`): ``full`` includes every failing
    case's diagnostics and the run's time; default: full only when the report was graded with the
    public fixture set, else which cases passed.
    """
    if detail is None:
        detail = student_detail(report.fixture_set)
    details = detail == FULL
    main, bonus = report.total("main"), report.total("bonus")
    error = report.error if details else student_error({"error": report.error, "error_source": report.error_source})
    tests = []
    if report.status == "error":
        tests.append({"name": "Grading error", "name_format": TEXT, "score": 0.0, "max_score": 0.0,
                      "status": "failed", "visibility": VISIBILITY, "output_format": TEXT,
                      "output": clip(f"The autograder could not grade this submission: {error}\n"
                                     f"No points were awarded. If the cause is not clear from this message, "
                                     f"contact the course staff.")})
    for number, item in enumerate(report.items, 1):
        name = item.name if item.section == "main" else f"{item.name} (bonus)"
        tests.append({"name": name, "name_format": TEXT, "number": str(number),
                      "score": item.points if report.status == "graded" else 0.0, "max_score": item.max_points,
                      "status": "passed" if item.status == "passed" and report.status == "graded" else "failed",
                      "visibility": VISIBILITY, "output": item_output(item, detail),
                      "output_format": MARKDOWN if details else TEXT})
    score = main + bonus if report.status == "graded" else 0.0
    if report.status == "graded":
        summary = (f"Total score: {main:g}/{report.maximum('main'):g} "
                   f"(+{bonus:g}/{report.maximum('bonus'):g} bonus).")
    else:
        summary = f"Grading error: {error}\nScore: 0."
    return {
        "score": round(score, 6),
        "execution_time": round(report.wall_seconds, 3) if details else 0.0,  # a sleep could encode a value
        "output": clip(summary),
        **TEXT_FORMATS,
        "visibility": VISIBILITY,
        "tests": tests,
        "extra_data": {"harness_version": HARNESS_VERSION, "status": report.status,
                       "fixture_set": report.fixture_set.get("id", "") if details else HIDDEN_ID,
                       "main": main, "bonus": bonus},
    }


def failure_document(reason: str) -> dict[str, Any]:
    """A valid results.json for when no report could be converted at all."""
    return {
        "score": 0.0,
        "execution_time": 0.0,
        "output": clip(f"Grading error: {reason}\nScore: 0."),
        **TEXT_FORMATS,
        "visibility": VISIBILITY,
        "tests": [{"name": "Grading error", "name_format": TEXT, "score": 0.0, "max_score": 0.0, "status": "failed",
                   "visibility": VISIBILITY, "output_format": TEXT,
                   "output": clip(f"The autograder itself failed while writing the results: {reason}\n"
                                  f"No points were awarded; please contact the course staff.")}],
        "extra_data": {"harness_version": HARNESS_VERSION, "status": "error"},
    }


def validate_gradescope(document: dict[str, Any]) -> None:
    """Raise GradescopeError if ``document`` does not match schemas/gradescope.schema.json."""
    validate_document("gradescope.schema.json", document, "gradescope results", GradescopeError)


def write_gradescope(path: Path, report: Report, detail: str | None = None) -> dict[str, Any]:
    """Write ``report`` as Gradescope's results.json at ``path``; always writes a valid file."""
    try:
        document = gradescope_document(report, detail)
        validate_gradescope(document)
    except Exception as error:  # the file Gradescope reads must exist and be valid, whatever happened
        reason = f"{type(error).__name__}: {error}"
        document = failure_document(reason + "\n" + "".join(traceback.format_exc(limit=3)))
        validate_gradescope(document)
    write_json_atomic(Path(path), document)
    return document


__all__ = ["write_gradescope", "gradescope_document", "validate_gradescope", "failure_document", "GradescopeError"]
