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

from autograder.report.visibility import FULL, HIDDEN_DETAILS, KINDS, PASSED, is_public_set
from autograder.report.model import HARNESS_VERSION, describe_limits, describe_sandbox, printed_lines
from autograder.util.safetext import for_terminal, indented

HIDDEN_ID = "hidden"
FAILURE_KINDS = {"mismatch": "wrong values", "shape": "wrong shape", "invalid": "not a valid result"}
STATUS_KINDS = {"failed": "wrong result", "timeout": "timeout", "crashed": "crashed", "error": "exception",
                "not_implemented": "not implemented", "skipped": "skipped", "passed": "passed"}
ITEM_STATUSES = {"passed", "failed", "not_implemented", "error", "timeout", "crashed", "skipped", "not_graded"}
HIDDEN_NOTES = {PASSED: "fixture set: hidden (same structure as the public one, other sizes and values): only "
                        "which cases passed is shown",
                KINDS: "fixture set: hidden (same structure as the public one, other sizes and values): only which "
                       "cases failed and how is shown"}
HIDDEN_NOTE = HIDDEN_NOTES[KINDS]
HIDDEN_ERROR = "the autograder could not grade this submission; the course staff have the details"
DEBUG_HINT = "Run 'python runner.py --only ITEM -v' on the public fixtures to see failures in full."


def student_fixture_id(fixture_set: Mapping[str, Any]) -> str:
    """The fixture set's id as a student may see it: the public id, or ``hidden``."""
    return str(fixture_set.get("id", "?")) if is_public_set(fixture_set) else HIDDEN_ID


def student_error(document: Mapping[str, Any]) -> str:
    """A grading error as a student of a hidden set may read it."""
    return str(document.get("error", "")) if document.get("error_source") == "submission" else HIDDEN_ERROR


def case_failures(case: Mapping[str, Any], detail: str = KINDS) -> list[str]:
    """A failing case's failures as short texts: ``wrong values: backward dLdA``, ``wrong shape: ... (expected F)``;
    ``failed`` alone at the ``passed`` level."""
    status = str(case.get("status", ""))
    if detail == PASSED:
        return ["failed"]
    if status != "failed" or not case.get("failures"):
        return [STATUS_KINDS.get(status, "failed")]
    texts = []
    for failure in case["failures"]:
        kind = FAILURE_KINDS.get(failure.get("kind"), "wrong result")
        text = f"{kind}: {failure.get('quantity', '?')}"
        if failure.get("kind") == "shape" and failure.get("formula"):
            text += f" (expected {failure['formula']})"
        if failure.get("hint"):  # a sentence of the fixture set's rubric naming a known mistake, never a value
            text += f" (likely cause: {failure['hint']})"
        texts.append(text)
    return texts


def case_line(case: Mapping[str, Any], detail: str = KINDS) -> str:
    """One line for a failing case, e.g. ``case "general": wrong shape: forward Z (expected (N, C, W))``,
    or ``case "general": failed`` at the ``passed`` level."""
    return for_terminal(f'case "{case.get("case", "?")}": ' + "; ".join(case_failures(case, detail)))


def item_status(item: Mapping[str, Any], detail: str) -> str:
    """An item's status as ``detail`` shows it: at the ``passed`` level passed, failed, or not graded
    (no case ran: nothing of the set was used), whatever way its cases failed."""
    status = str(item.get("status"))
    if detail == PASSED and status not in ("passed", "not_graded"):
        return "not_graded" if not item.get("cases") else "failed"
    return status if status in ITEM_STATUSES else "failed"


def student_document(document: Mapping[str, Any], detail: str = PASSED) -> dict[str, Any]:
    """The part of a report document (``Report.to_dict()``) a student may receive, as JSON, at ``detail``
    (see :func:`autograder.report.visibility.student_detail`): ``full`` adds each failing case's message and printed output,
    ``passed`` keeps only whether each case passed."""
    full = detail == FULL
    items = []
    for item in document.get("items", []):
        cases = []
        for case in item.get("cases", []):
            status = str(case.get("status"))
            passed = status == "passed"
            entry: dict[str, Any] = {"case": str(case.get("case", "")), "status": (
                                         "passed" if passed else "failed" if detail == PASSED
                                         else status if status in STATUS_KINDS else "failed"),
                                     "passed": passed}
            if not passed:
                entry["failures"] = case_failures(case, detail)
                if full:
                    entry.update(message=str(case.get("message", "")), output=str(case.get("output", "")))
            cases.append(entry)
        items.append({"name": str(item.get("name", "")), "section": str(item.get("section", "")),
                      "status": item_status(item, detail),
                      "points": float(item.get("points", 0.0)), "max_points": float(item.get("max_points", 0.0)),
                      "passed_cases": int(item.get("passed_cases", 0)), "total_cases": int(item.get("total_cases", 0)),
                      "cases": cases})
    status = "graded" if document.get("status") == "graded" else "error"
    fixture_set = document.get("fixture_set", {})
    totals = document.get("totals", {})
    return {
        "harness_version": HARNESS_VERSION,
        "fixture_set": fixture_set.get("id", "?") if full else student_fixture_id(fixture_set),
        "status": status,
        "error": (str(document.get("error", "")) if full else student_error(document)) if status == "error" else "",
        "totals": {key: float(totals.get(key, 0.0)) for key in ("main", "main_max", "bonus", "bonus_max")},
        "scores": {str(name): float(points) for name, points in document.get("scores", {}).items()},
        "items": items,
    }


def render_student(document: Mapping[str, Any], detail: str = PASSED) -> str:
    """The human report a student may read (every line but the Autolab JSON one) at ``detail``.

    ``full``: the public set; each failing case's message and printed output follow its line.
    """
    view = student_document(document, detail)
    details = detail == FULL
    totals = view["totals"]
    header = f"fixture set {for_terminal(view['fixture_set'])}" if details else HIDDEN_NOTES[detail]
    lines = [f"mytorch autograder {HARNESS_VERSION}: {for_terminal(str(document.get('submission', '')))}",
             header, *describe_sandbox(document.get("sandbox", {})), *describe_limits(document.get("limits", {})), ""]
    if view["status"] == "error":
        lines += [f"GRADING ERROR: {indented(view['error'], '    ')}", ""]
    failing = []
    for item in view["items"]:
        if view["status"] == "error" and not item["cases"]:
            continue
        mark = {"passed": "PASS", "not_implemented": "TODO"}.get(item["status"], "FAIL")
        note = "" if item["status"] in ("passed", "failed") else f"  [{item['status'].replace('_', ' ')}]"
        cases = f"{item['passed_cases']}/{item['total_cases']} cases"
        lines.append(for_terminal(f"  {mark}  {item['name']:<24} {item['points']:>5g}/{item['max_points']:<4g} "
                                  f"{cases}{note}"))
        bad = [case for case in item["cases"] if not case["passed"]]
        if bad and item["status"] == "not_implemented" and detail == KINDS:
            failing.append(for_terminal(f"{item['name']}: not implemented"))
        else:
            failing += [for_terminal(f'{item["name"]}, case "{case["case"]}": ' + "; ".join(case["failures"]))
                        for case in bad]
            if details:
                for case in bad:
                    failing.append(indented(case["message"], "    "))
                    if case["output"].strip():
                        failing.append("    your code printed:")
                        failing += [f"    | {for_terminal(line, newlines=True)}"
                                    for line in printed_lines(case["output"])]
    if view["status"] == "error" and not any(item["cases"] for item in view["items"]):
        lines.append("No item was graded: every item scores 0.")
    if failing:
        lines += ["", "What failed:" if details else "What failed (hidden fixture set: no sizes or values shown):"
                  if detail == KINDS else "What failed (hidden fixture set: which cases only):"]
        lines += [f"  {line}" if not line.startswith(" ") else line for line in failing]
        lines += ["", DEBUG_HINT]
    lines += ["", f"Total score: {totals['main']:g}/{totals['main_max']:g} "
                  f"(+{totals['bonus']:g}/{totals['bonus_max']:g} bonus)"]
    return "\n".join(lines)


__all__ = ["student_fixture_id", "student_error", "student_document",
           "render_student", "case_line", "HIDDEN_ID", "HIDDEN_DETAILS", "FULL", "KINDS", "PASSED"]
