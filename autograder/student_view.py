"""What a student may see of a grading report: an allow-list, not a deny-list.

A report graded with a *hidden* fixture set (any set but the public one in
``fixtures/``, see :func:`is_public_set`) must not let a student read the set
back: not its seed, nor a case's hyperparameters, sizes, inputs or expected
values, nor any text future messages may carry.  So the student-facing views
below are built from scratch out of the few fields that are safe whatever the
set holds, never by removing fields from the full report:

- the rubric: item names, sections, policies, points, the case names;
- per case: passed or not, and the *kind* of failure: ``mismatch`` (values
  differ), ``shape`` (with the fixture's symbolic formula, e.g.
  ``(N, C, ceil(W/k))``), ``invalid`` (None, a wrong type, NaN...),
  ``exception``, ``timeout``, ``crashed``, ``not implemented``; and which
  quantity (``backward dLdA``) failed, as the fixture names it;
- the totals; a grading error's text only when it is about the student's own
  files (``error_source == "submission"``).

Left out on purpose: case messages and headers (hyperparameters, got vs
expected), what the student's code printed and its exception texts (the code
receives the hidden inputs and could print them), where the code was (the
child reports it, so student code can forge it), timings (a sleep could encode
a value), the fixture set's id (``seed-<seed>-<hash>``: the seed, and a hash of
a set anyone can regenerate from a guessed seed), its path and seed.

Used by ``runner.py`` (stdout for hidden sets), ``runner.py batch --feedback``
(files to hand back) and :mod:`autograder.formats` (Gradescope tests).  The
staff outputs (``--json``, the batch's ``reports/`` and ``summary.json``) keep
everything.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from autograder.fixtures import DEFAULT_FIXTURES, MANIFEST_NAME, PUBLIC_SEED
from autograder.report import HARNESS_VERSION, describe_sandbox, printed_lines
from autograder.safetext import for_terminal, indented

HIDDEN_ID = "hidden"
FAILURE_KINDS = {"mismatch": "wrong values", "shape": "wrong shape", "invalid": "not a valid result"}
STATUS_KINDS = {"failed": "wrong result", "timeout": "timeout", "crashed": "crashed", "error": "exception",
                "not_implemented": "not implemented", "skipped": "skipped", "passed": "passed"}
ITEM_STATUSES = {"passed", "failed", "not_implemented", "error", "timeout", "crashed", "skipped", "not_graded"}
HIDDEN_NOTE = ("fixture set: hidden (same structure as the public one, other sizes and values): only which cases "
               "failed and how is shown")
HIDDEN_ERROR = "the autograder could not grade this submission; the course staff have the details"
DEBUG_HINT = "Run 'python runner.py --only ITEM -v' on the public fixtures to see failures in full."


@lru_cache(maxsize=1)
def public_manifest_sha256() -> str | None:
    """sha256 of the public ``fixtures/manifest.json``; None when it cannot be read."""
    try:
        return hashlib.sha256((DEFAULT_FIXTURES / MANIFEST_NAME).read_bytes()).hexdigest()
    except OSError:
        return None


def is_public_set(fixture_set: Mapping[str, Any]) -> bool:
    """Whether a report's ``fixture_set`` (``describe_fixture_set``) is the public set a student has anyway.

    Both must hold: the manifest is byte for byte the one in ``fixtures/`` and its seed is the
    public seed (a hidden set written over ``fixtures/`` with ``--force`` stays hidden).  An empty
    or unknown description counts as hidden.
    """
    digest = fixture_set.get("manifest_sha256")
    return digest is not None and digest == public_manifest_sha256() and fixture_set.get("seed") == PUBLIC_SEED


def student_fixture_id(fixture_set: Mapping[str, Any]) -> str:
    """The fixture set's id as a student may see it: the public id, or ``hidden``."""
    return str(fixture_set.get("id", "?")) if is_public_set(fixture_set) else HIDDEN_ID


def student_error(document: Mapping[str, Any]) -> str:
    """A grading error as a student of a hidden set may read it."""
    return str(document.get("error", "")) if document.get("error_source") == "submission" else HIDDEN_ERROR


def case_failures(case: Mapping[str, Any]) -> list[str]:
    """A failing case's failures as short texts: ``wrong values: backward dLdA``, ``wrong shape: ... (expected F)``."""
    status = str(case.get("status", ""))
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


def case_line(case: Mapping[str, Any]) -> str:
    """One line for a failing case, e.g. ``case "general": wrong shape: forward Z (expected (N, C, W))``."""
    return for_terminal(f'case "{case.get("case", "?")}": ' + "; ".join(case_failures(case)))


def student_document(document: Mapping[str, Any], details: bool = False) -> dict[str, Any]:
    """The part of a report document (``Report.to_dict()``) a student may receive, as JSON.

    ``details``: also each failing case's message and printed output (the public set only).
    """
    items = []
    for item in document.get("items", []):
        cases = []
        for case in item.get("cases", []):
            status = str(case.get("status"))
            entry: dict[str, Any] = {"case": str(case.get("case", "")),
                                     "status": status if status in STATUS_KINDS else "failed",
                                     "passed": status == "passed"}
            if case.get("status") != "passed":
                entry["failures"] = case_failures(case)
                if details:
                    entry.update(message=str(case.get("message", "")), output=str(case.get("output", "")))
            cases.append(entry)
        status = str(item.get("status"))
        items.append({"name": str(item.get("name", "")), "section": str(item.get("section", "")),
                      "status": status if status in ITEM_STATUSES else "failed",
                      "points": float(item.get("points", 0.0)), "max_points": float(item.get("max_points", 0.0)),
                      "passed_cases": int(item.get("passed_cases", 0)), "total_cases": int(item.get("total_cases", 0)),
                      "cases": cases})
    status = "graded" if document.get("status") == "graded" else "error"
    fixture_set = document.get("fixture_set", {})
    totals = document.get("totals", {})
    return {
        "harness_version": HARNESS_VERSION,
        "fixture_set": fixture_set.get("id", "?") if details else student_fixture_id(fixture_set),
        "status": status,
        "error": (str(document.get("error", "")) if details else student_error(document)) if status == "error" else "",
        "totals": {key: float(totals.get(key, 0.0)) for key in ("main", "main_max", "bonus", "bonus_max")},
        "scores": {str(name): float(points) for name, points in document.get("scores", {}).items()},
        "items": items,
    }


def render_student(document: Mapping[str, Any], details: bool = False) -> str:
    """The human report a student may read (every line but the Autolab JSON one).

    ``details``: the public set; each failing case's message and printed output follow its line.
    """
    view = student_document(document, details)
    totals = view["totals"]
    header = f"fixture set {for_terminal(view['fixture_set'])}" if details else HIDDEN_NOTE
    lines = [f"mytorch autograder {HARNESS_VERSION}: {for_terminal(str(document.get('submission', '')))}",
             header, *describe_sandbox(document.get("sandbox", {})), ""]
    if view["status"] == "error":
        lines += [f"GRADING ERROR: {indented(view['error'], '    ')}", ""]
    failing = []
    for item in view["items"]:
        if view["status"] == "error" and not item["cases"]:
            continue
        mark = {"passed": "PASS", "not_implemented": "TODO"}.get(item["status"], "FAIL")
        detail = "" if item["status"] in ("passed", "failed") else f"  [{item['status'].replace('_', ' ')}]"
        cases = f"{item['passed_cases']}/{item['total_cases']} cases"
        lines.append(for_terminal(f"  {mark}  {item['name']:<24} {item['points']:>5g}/{item['max_points']:<4g} "
                                  f"{cases}{detail}"))
        bad = [case for case in item["cases"] if not case["passed"]]
        if bad and item["status"] == "not_implemented" and not details:
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
        lines += ["", "What failed:" if details else "What failed (hidden fixture set: no sizes or values shown):"]
        lines += [f"  {line}" if not line.startswith(" ") else line for line in failing]
        lines += ["", DEBUG_HINT]
    lines += ["", f"Total score: {totals['main']:g}/{totals['main_max']:g} "
                  f"(+{totals['bonus']:g}/{totals['bonus_max']:g} bonus)"]
    return "\n".join(lines)


__all__ = ["is_public_set", "student_fixture_id", "student_error", "student_document", "render_student",
           "case_line", "HIDDEN_ID"]
