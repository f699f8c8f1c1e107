"""The grading report: a typed result model, its JSON form and its human form.

``Report.to_dict()`` is validated against ``schemas/report.schema.json`` before
it is written anywhere, and ``Report.from_dict()`` reads it back (modules that read a stored
report use the model, not its keys); a report is produced even when grading itself failed
(``status: "error"`` with the reason and zero points).  ``Report.render`` is the one human
form: the staff's report, or a student's view of a report that
:func:`autograder.report.student_view.student_report` filtered.  It formats what the judge
found (``CaseResult.findings``), never reads the judge's messages back.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.util.atomic import write_json_atomic
from autograder.contract.documents import DocumentError, validate_document
from autograder.contract.fixtures import FixtureSet
from autograder.judge.compare import mismatched_elements
from autograder.judge.results import CaseResult, CaseStatus, Finding, ItemStatus
from autograder.contract.rubric import Policy, Rubric, RubricItem, Section, SectionInfo
from autograder.report.visibility import FULL, KINDS, PASSED
from autograder.util.safetext import for_terminal, indented
from autograder.sandbox.run_as import isolation_note
from autograder.sandbox.backends import PORTABLE_UNDEFENDED

HARNESS_VERSION = "1.0.0"


class ReportError(DocumentError):
    """A grading report that does not match schemas/report.schema.json."""


@dataclass
class ItemResult:
    rubric_item: RubricItem
    cases: list[CaseResult]
    recorded_seconds: float | None = None  # read back from a document (its cases' times are rounded there)

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> ItemResult:
        """An item as :meth:`to_dict` wrote it; its rubric entry as far as the report holds it (no classes)."""
        rubric_item = RubricItem(str(document.get("name", "")), Section(document.get("section", Section.MAIN)),
                                 float(document.get("max_points", 0.0)),
                                 Policy(document.get("policy", Policy.ALL_OR_NOTHING)), (), "")
        return cls(rubric_item, [CaseResult.from_dict(rubric_item.name, case) for case in document.get("cases", ())],
                   float(document.get("wall_seconds", 0.0)))

    @property
    def name(self) -> str:
        return self.rubric_item.name

    @property
    def section(self) -> Section:
        return self.rubric_item.section

    @property
    def policy(self) -> Policy:
        return self.rubric_item.policy

    @property
    def max_points(self) -> float:
        return self.rubric_item.points

    @property
    def points(self) -> float:
        return round(self.rubric_item.score(sum(c.passed for c in self.cases), len(self.cases)), 6)

    @property
    def status(self) -> ItemStatus:
        return ItemStatus.of_cases({c.status for c in self.cases})

    @property
    def wall_seconds(self) -> float:
        return self.recorded_seconds if self.recorded_seconds is not None else sum(c.wall_seconds for c in self.cases)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "section": str(self.section), "policy": str(self.policy),
                "status": str(self.status), "points": self.points, "max_points": self.max_points,
                "passed_cases": sum(c.passed for c in self.cases), "total_cases": len(self.cases),
                "wall_seconds": round(self.wall_seconds, 4), "cases": self.case_dicts()}

    def case_dicts(self) -> list[dict[str, object]]:
        """Each case with its share of the item's points (the shares add up to ``points``)."""
        passed = sum(c.passed for c in self.cases)
        share = self.points / passed if passed else 0.0
        return [{**c.to_dict(), "points": round(share, 6) if c.passed else 0.0} for c in self.cases]


UNKNOWN_RUBRIC = Rubric("", "", {section: SectionInfo(section.value.title(), 0.0) for section in Section}, ())


@dataclass
class Report:
    submission: str
    rubric: Rubric
    items: list[ItemResult] = field(default_factory=list)
    fixture_set: dict[str, Any] = field(default_factory=dict)  # describe_fixture_set(); empty: not graded against one
    status: str = "graded"
    error: str = ""
    wall_seconds: float = 0.0
    unscored: tuple[str, ...] = ()  # item names a failed grading reports with 0 when no rubric could be read
    sandbox: dict[str, Any] = field(default_factory=dict)  # kernel layers every case had; {} if no case ran
    limits: dict[str, Any] = field(default_factory=dict)  # jobs and case time limits (core.Settings.described_limits)
    isolation: str = field(default_factory=isolation_note)  # which user the cases ran as
    error_source: str = "harness"  # of an error: "submission" (about the student's own files) or "harness"
    provenance: dict[str, Any] = field(default_factory=dict)  # a batch's: what the report was graded with
    harness_version: str = HARNESS_VERSION
    # why the submission holds no gradable mytorch/, when the grading layer looked (an error of the
    # harness, e.g. no sandbox, on an upload that was not gradable anyway); PrairieLearn's document
    # says it; not part of the JSON report
    submission_problem: str | None = None

    @classmethod
    def from_results(cls, submission: str | Path, fixture_set: FixtureSet,
                     case_results: Mapping[str, list[CaseResult]], wall_seconds: float = 0.0,
                     sandbox: Mapping[str, Any] | None = None, limits: Mapping[str, Any] | None = None) -> Report:
        """The report of a grading: every item of the fixture set's rubric, with its cases' results."""
        items = [ItemResult(item, list(case_results.get(item.name, []))) for item in fixture_set.rubric.items]
        return cls(submission=str(submission), rubric=fixture_set.rubric, items=items, wall_seconds=wall_seconds,
                   fixture_set=describe_fixture_set(fixture_set), sandbox=dict(sandbox or {}),
                   limits=dict(limits or {}))

    @classmethod
    def failed(cls, submission: str | Path, rubric: Rubric | None, reason: str,
               fixture_set: FixtureSet | None = None, only: Iterable[str] = (), source: str = "harness") -> Report:
        """A valid report for a grading that could not run: every item scores 0.

        Without a rubric (the fixture set's manifest could not be trusted) the items
        asked for with ``only`` still appear in the scores, with 0.  ``source``: "submission"
        when ``reason`` is about the student's own files only (see autograder.report.student_view).
        """
        if rubric is None:
            return cls(submission=str(submission), rubric=UNKNOWN_RUBRIC, status="error", error=reason,
                       fixture_set=describe_fixture_set(fixture_set), unscored=tuple(only), error_source=source)
        rubric = rubric.restricted(only)
        return cls(submission=str(submission), rubric=rubric, items=[ItemResult(i, []) for i in rubric.items],
                   status="error", error=reason, fixture_set=describe_fixture_set(fixture_set), error_source=source)

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Report:
        """The report :meth:`to_dict` wrote (``to_dict(from_dict(d)) == d``): a batch's stored reports,
        the student view, the class report read it through the model, not by its keys.

        The rubric is what the document holds of it: its name and version, the sections' maxima
        (titled "Main" and "Bonus") and each item's section, points and policy.
        """
        totals = document.get("totals", {})
        items = [ItemResult.from_dict(item) for item in document.get("items", ())]
        sections = {Section.MAIN: SectionInfo(Section.MAIN.value.title(), float(totals.get("main_max", 0.0))),
                    Section.BONUS: SectionInfo(Section.BONUS.value.title(), float(totals.get("bonus_max", 0.0)))}
        identity = document.get("rubric", {})
        rubric = Rubric(str(identity.get("name", "")), str(identity.get("version", "")), sections,
                        tuple(item.rubric_item for item in items))
        names = {item.name for item in items}
        return cls(submission=str(document.get("submission", "")), rubric=rubric, items=items,
                   fixture_set=dict(document.get("fixture_set", {})), status=str(document.get("status", "error")),
                   error=str(document.get("error", "")), wall_seconds=float(document.get("wall_seconds", 0.0)),
                   unscored=tuple(name for name in document.get("scores", {}) if name not in names),
                   sandbox=dict(document.get("sandbox", {})), limits=dict(document.get("limits", {})),
                   isolation=str(document.get("isolation", "")),
                   error_source=str(document.get("error_source", "harness")),
                   provenance=dict(document.get("provenance", {})),
                   harness_version=str(document.get("harness_version", HARNESS_VERSION)))

    def total(self, section: str) -> float:
        return round(float(sum(i.points for i in self.items if i.section == section)), 6)

    def maximum(self, section: str) -> float:
        return float(self.rubric.sections[Section(section)].max)

    def scores(self) -> dict[str, float]:
        return {**{name: 0.0 for name in self.unscored}, **{i.name: i.points for i in self.items}}

    def to_dict(self) -> dict[str, Any]:
        document = {
            "harness_version": self.harness_version,
            "rubric": self.rubric.identity(),
            "submission": self.submission,
            "fixture_set": self.fixture_set,
            "status": self.status,
            "error": self.error,
            "totals": {"main": self.total("main"), "main_max": self.maximum("main"),
                       "bonus": self.total("bonus"), "bonus_max": self.maximum("bonus")},
            "scores": self.scores(),
            "wall_seconds": round(self.wall_seconds, 4),
            "isolation": self.isolation,
            "items": [i.to_dict() for i in self.items],
        }
        if self.sandbox:
            document["sandbox"] = dict(self.sandbox)
        if self.limits:
            document["limits"] = dict(self.limits)
        if self.status == "error":
            document["error_source"] = self.error_source
        if self.provenance:
            document["provenance"] = dict(self.provenance)
        return document

    def autolab_line(self) -> str:
        """The last stdout line: the compact JSON object Autolab reads."""
        return json.dumps({"scores": self.scores(),
                           "scoreboard": [self.total("main"), self.total("bonus")]}, separators=(",", ":"))

    def failure_details(self, verbose: bool) -> list[str]:
        """Every failing case's message; without ``verbose``, each distinct error once.

        A not-implemented item is one line; a case whose error (all but the case line) was
        already shown, e.g. the import error of a module several cases and items use, is one
        line naming where it was shown.
        """
        lines: list[str] = []
        shown_at: dict[str, tuple[str, str]] = {}  # an error's text -> (item, case) it is shown under
        for item in self.items:
            failing = [c for c in item.cases if not c.passed]
            if failing and item.status == "not_implemented" and not verbose:
                lines += ["", f"{item.name}: " + for_terminal(first_line(failing[0].body))]
                continue
            repeated: dict[tuple[str, str], list[str]] = {}
            quantities_shown: set[str] = set()  # quantities of this item already shown in full
            for case in failing:
                body = case.body
                if not verbose and body and body in shown_at:
                    repeated.setdefault(shown_at[body], []).append(f'"{case.case}"')
                    continue
                shown_at.setdefault(body, (item.name, case.case))
                message = case.message
                if not verbose and case.status is CaseStatus.FAILED:
                    message = shortened_message(case, quantities_shown)
                lines += ["", indented(message, "    ")]
                if case.output.strip():
                    lines.append("    your code printed:")
                    lines += [f"    | {for_terminal(line, newlines=True)}" for line in printed_lines(case.output)]
            for (first_item, first_case), cases in repeated.items():
                where = f'case "{first_case}"' if first_item == item.name else f'{first_item}, case "{first_case}"'
                lines += ["", f"{item.name}, case{'s' if len(cases) > 1 else ''} {', '.join(cases)}: "
                              f"the same error as {for_terminal(where)} above"]
        return lines

    def render(self, verbose: bool = False, student: str | None = None) -> str:
        """The human-readable report (every line but the final JSON one): the staff's (``student`` None),
        or a student's at the level ``student`` (:mod:`autograder.report.visibility`) of a report that
        :func:`autograder.report.student_view.student_report` filtered to what that level may show.

        Every text that may come from a student (the submission's path, the error, case messages,
        printed output) is made terminal-safe; its continuation lines are indented, so that only
        the grader's own lines start at the margin ("Total score" among them).
        """
        fixture_line = (HIDDEN_NOTES[student] if student in HIDDEN_NOTES
                        else f"fixture set {for_terminal(str(self.fixture_set.get('id', '?')))}")
        ran = any(item.cases for item in self.items)
        lines = [f"mytorch autograder {HARNESS_VERSION}: {for_terminal(self.submission)}", fixture_line,
                 *describe_sandbox(self.sandbox),
                 *([f"sandbox: {self.isolation}"] if ran and student is None else []),
                 *describe_limits(self.limits), ""]
        if self.status == "error":
            lines += [f"GRADING ERROR: {indented(self.error, '    ')}", ""]
            if not ran:  # nothing ran: no table of zeros to read through
                lines += ["No item was graded: every item scores 0."]
        lines += [self.row(item, student) for item in self.items if item.cases or self.status != "error"]
        if student is None and any(not c.passed for i in self.items for c in i.cases):
            lines += ["", "Details of what went wrong:"]
            lines += self.failure_details(verbose)
        failing = [] if student is None else self.what_failed(student)
        if failing:
            lines += ["", WHAT_FAILED[student]]
            lines += [f"  {line}" if not line.startswith(" ") else line for line in failing]
            lines += ["", DEBUG_HINT]
        lines += ["", f"Total score: {self.total('main'):g}/{self.maximum('main'):g} "
                      f"(+{self.total('bonus'):g}/{self.maximum('bonus'):g} bonus)"]
        return "\n".join(lines)

    @staticmethod
    def row(item: ItemResult, student: str | None = None) -> str:
        """An item's line of the table; the staff's has its time."""
        mark = {"passed": "PASS", "not_implemented": "TODO"}.get(item.status, "FAIL")
        note = "" if item.status in ("passed", "failed") else f"  [{item.status.replace('_', ' ')}]"
        cases = f"{sum(c.passed for c in item.cases)}/{len(item.cases)} cases"
        start = f"  {mark}  {item.name:<24} {item.points:>5g}/{item.max_points:<4g} "
        if student is None:
            return f"{start}{cases:<10} {item.wall_seconds:6.2f}s{note}"
        return for_terminal(f"{start}{cases}{note}")

    def what_failed(self, student: str) -> list[str]:
        """A student view's lines on the failing cases: one per case (or per not-implemented item at the
        ``kinds`` level), and at the ``full`` level each case's message and printed output after it."""
        lines = []
        for item in self.items:
            bad = [case for case in item.cases if not case.passed]
            if bad and item.status == "not_implemented" and student == KINDS:
                lines.append(for_terminal(f"{item.name}: not implemented"))
                continue
            for case in bad:
                lines.append(for_terminal(f'{item.name}, case "{case.case}": ' + "; ".join(failure_texts(case, student))))
            if student == FULL:
                for case in bad:
                    lines.append(indented(case.message, "    "))
                    if case.output.strip():
                        lines.append("    your code printed:")
                        lines += [f"    | {for_terminal(line, newlines=True)}" for line in printed_lines(case.output)]
        return lines


FAILURE_KINDS = {"mismatch": "wrong values", "shape": "wrong shape", "invalid": "not a valid result"}
STATUS_KINDS = {"failed": "wrong result", "timeout": "timeout", "crashed": "crashed", "error": "exception",
                "not_implemented": "not implemented", "skipped": "skipped", "passed": "passed"}
HIDDEN_NOTES = {PASSED: "fixture set: hidden (same structure as the public one, other sizes and values): only "
                        "which cases passed is shown",
                KINDS: "fixture set: hidden (same structure as the public one, other sizes and values): only which "
                       "cases failed and how is shown"}
WHAT_FAILED = {FULL: "What failed:", KINDS: "What failed (hidden fixture set: no sizes or values shown):",
               PASSED: "What failed (hidden fixture set: which cases only):"}
DEBUG_HINT = "Run 'python runner.py --only ITEM -v' on the public fixtures to see failures in full."


def failure_texts(case: CaseResult, detail: str = KINDS) -> list[str]:
    """A failing case's failures as short texts: ``wrong values: backward dLdA``, ``wrong shape: ... (expected F)``;
    ``failed`` alone at the ``passed`` level."""
    if detail == PASSED:
        return ["failed"]
    if case.status is not CaseStatus.FAILED or not case.failures:
        return [STATUS_KINDS.get(case.status, "failed")]
    texts = []
    for failure in case.failures:
        text = f"{FAILURE_KINDS.get(failure.get('kind', ''), 'wrong result')}: {failure.get('quantity', '?')}"
        if failure.get("kind") == "shape" and failure.get("formula"):
            text += f" (expected {failure['formula']})"
        if failure.get("hint"):  # a sentence of the fixture set's rubric naming a known mistake, never a value
            text += f" (likely cause: {failure['hint']})"
        texts.append(text)
    return texts


MAX_QUANTITY_LINES = 40  # lines of one quantity's mismatch shown in the summary (-v and --json have all)


def shortened_message(case: CaseResult, shown: set[str]) -> str:
    """A failed case's message as the summary shows it, in the order the program computes its quantities
    (``Finding.order``): the first wrong one in full the first time the item reports it (at most
    ``MAX_QUANTITY_LINES`` lines, its likely cause never cut), then a line saying that the others come
    later and may be wrong because of it, and each of them in one line (its first line and its count of
    mismatched elements; a likely cause the case has not named yet, in a line of its own).

    Drawn from the judge's findings (``CaseResult.findings``); ``shown`` collects the quantities
    already shown in full.  A case without findings (read back from a document) is shown whole.
    """
    if not case.findings:
        return case.message
    findings = sorted(case.findings, key=lambda finding: finding.order)
    first, later = findings[0], findings[1:]
    lines = [case.header]
    if first.quantity in shown:
        lines += one_line(first, cause=False)
    else:
        shown.add(first.quantity)
        lines += first.lines[:MAX_QUANTITY_LINES]
        if len(first.lines) > MAX_QUANTITY_LINES:
            causes = [first.lines[-1]] if first.cause else []
            lines.append(f"  ... {len(first.lines) - MAX_QUANTITY_LINES - len(causes)} more line(s) (-v shows them)")
            lines += causes  # a likely cause is never cut
    if later:
        hints = {first.hint}
        lines.append(f"{len(later)} more wrong quantit{'y' if len(later) == 1 else 'ies'}, computed after "
                     f"{first.quantity} (so possibly wrong because of it), one line each (-v shows them in full):")
        for finding in later:
            lines += ["  " + line for line in one_line(finding, cause=finding.hint not in hints)]
            hints.add(finding.hint)
    return "\n".join(lines)


def one_line(finding: Finding, cause: bool) -> list[str]:
    """A quantity's mismatch shortened to its first line and its count of mismatched elements, and, with
    ``cause``, its likely cause (a line of its own) if it has one."""
    counts = "" if finding.counts is None else "; " + lowered(mismatched_elements(*finding.counts))
    cause = cause and finding.cause
    more = len(finding.lines) > 1 + cause
    return [finding.lines[0] + counts + ("  (-v shows the details)" if more else "")] + list(finding.lines[-1:]) * cause


def lowered(text: str) -> str:
    """``text`` with its first letter in lower case, to follow a semicolon."""
    return text[:1].lower() + text[1:]


MAX_PRINTED_LINES = 20  # lines of a case's printed output shown in the report (--json has the whole head)


def printed_lines(output: str, limit: int = MAX_PRINTED_LINES) -> list[str]:
    """The first ``limit`` lines of what a case printed, and a last line saying how many more there are."""
    lines = output.rstrip().split("\n")
    if len(lines) <= limit:
        return lines
    return lines[:limit] + [f"... {len(lines) - limit:,} more line(s) not shown"]


def describe_sandbox(sandbox: Mapping[str, Any]) -> list[str]:
    """Header lines naming the backend and the layers the cases ran under, and warning about missing ones."""
    if not sandbox:
        return []
    lines, layers = [], []
    if sandbox.get("backend") == "portable":
        layers.append("portable backend (a fresh process per case)")
        lines.append(f"sandbox: WARNING: {PORTABLE_UNDEFENDED} (README, Security model)")
        if sandbox.get("allow_unsandboxed"):
            lines.append("sandbox: --allow-unsandboxed: the grader chose to grade untrusted submissions so")
    else:
        layers.append("linux backend")
        if sandbox["landlock"]:
            layers.append(f"Landlock (ABI {sandbox['landlock']})")
        else:
            lines.append("sandbox: WARNING: no Landlock in this kernel: file access is confined by the audit hook "
                         "only (README, Security model)")
        if sandbox["seccomp"]:
            layers.append(f"seccomp ({sandbox['seccomp']})")
        else:
            lines.append(f"sandbox: WARNING: no seccomp filter ({sandbox['seccomp_missing'] or 'unavailable'}): "
                         f"system calls are not filtered by the kernel (README, Security model)")
        if sandbox.get("namespaces"):
            layers.append(f"own {' and '.join(name.upper() for name in sandbox['namespaces'])} namespaces")
    layers.append("audit hook")
    if sandbox.get("rlimits", True):
        layers.append("resource limits")
    else:
        lines.append("sandbox: WARNING: no resource limits on this system: only the time limit bounds a case")
    return [f"sandbox: {', '.join(layers)}"] + lines


def describe_limits(limits: Mapping[str, Any]) -> list[str]:
    """The header's line on the jobs and the case time limits ([] when no case ran)."""
    if not limits:
        return []
    jobs, wall = limits["jobs"], limits["wall_seconds"]
    time_limit = (f"{limits['cpu_seconds']:g} s of CPU, at most {wall:g} s of wall-clock time"
                  if limits.get("cpu_seconds") is not None
                  else f"{wall:g} s of wall-clock time (this system cannot measure a case's CPU time)")
    return [f"sandbox: each case may use {time_limit}; {jobs} job{'' if jobs == 1 else 's'} at once, "
            f"this machine: {limits['capacity']}"]


def first_line(text: str) -> str:
    return text.splitlines()[0] if text else text


def describe_fixture_set(fixture_set: FixtureSet | None) -> dict[str, Any]:
    if fixture_set is None:
        return {}
    return {"id": fixture_set.id, "seed": fixture_set.seed, "manifest_sha256": fixture_set.manifest_sha256,
            "generator_version": fixture_set.generator_version, "path": str(fixture_set.root)}


def validate_report(document: dict[str, Any]) -> None:
    validate_document("report.schema.json", document, "grading report", ReportError)


def write_report(path: Path, report: Report) -> None:
    document = report.to_dict()
    validate_report(document)
    write_json_atomic(path, document)


__all__ = ["Report", "ItemResult", "CaseResult", "write_report", "validate_report"]
