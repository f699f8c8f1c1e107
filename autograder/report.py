"""The grading report: a typed result model, its JSON form and its human form.

``Report.to_dict()`` is validated against ``schemas/report.schema.json`` before
it is written anywhere; a report is produced even when grading itself failed
(``status: "error"`` with the reason and zero points).
"""
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder.fixtures import validate_against
from autograder.grading import CaseResult, item_score
from autograder.sandbox import isolation_note

HARNESS_VERSION = "1.0.0"
STATUS_ORDER = ("timeout", "crashed", "error", "failed", "not_implemented", "skipped")


@dataclass
class ItemResult:
    name: str
    section: str
    policy: str
    max_points: float
    points: float
    cases: list  # CaseResult

    @property
    def status(self):
        if not self.cases:
            return "not_graded"
        statuses = {c.status for c in self.cases}
        if statuses == {"passed"}:
            return "passed"
        if statuses <= {"not_implemented", "skipped"}:
            return "not_implemented"
        for status in STATUS_ORDER:
            if status in statuses:
                return status
        return "failed"

    @property
    def wall_seconds(self):
        return sum(c.wall_seconds for c in self.cases)

    def to_dict(self):
        return {"name": self.name, "section": self.section, "policy": self.policy, "status": self.status,
                "points": self.points, "max_points": self.max_points,
                "passed_cases": sum(c.passed for c in self.cases), "total_cases": len(self.cases),
                "wall_seconds": round(self.wall_seconds, 4), "cases": self.case_dicts()}

    def case_dicts(self):
        """Each case with its share of the item's points (the shares add up to ``points``)."""
        passed = sum(c.passed for c in self.cases)
        share = self.points / passed if passed else 0.0
        return [{**c.to_dict(), "points": round(share, 6) if c.passed else 0.0} for c in self.cases]


@dataclass
class Report:
    submission: str
    rubric: dict
    items: list = field(default_factory=list)  # ItemResult
    fixture_set: dict = field(default_factory=dict)
    status: str = "graded"
    error: str = ""
    wall_seconds: float = 0.0
    isolation: str = field(default_factory=isolation_note)  # which user the cases ran as

    @classmethod
    def from_results(cls, submission, rubric, fixture_set, case_results, only=(), wall_seconds=0.0):
        """Build a report from ``{item: [CaseResult]}``; items outside ``only`` are left out."""
        items = []
        for entry in rubric["items"]:
            if only and entry["name"] not in only:
                continue
            cases = case_results.get(entry["name"], [])
            items.append(ItemResult(entry["name"], entry["section"], entry["policy"], float(entry["points"]),
                                    round(item_score(entry, cases), 6), cases))
        return cls(submission=str(submission), rubric=rubric, items=items, wall_seconds=wall_seconds,
                   fixture_set=describe_fixture_set(fixture_set))

    @classmethod
    def failed(cls, submission, rubric, reason, fixture_set=None):
        """A valid report for a grading that could not run: every item scores 0."""
        report = cls.from_results(submission, rubric, fixture_set, {})
        report.status, report.error = "error", reason
        return report

    def total(self, section):
        return round(float(sum(i.points for i in self.items if i.section == section)), 6)

    def maximum(self, section):
        return float(self.rubric["sections"][section]["max"])

    def scores(self):
        return {i.name: i.points for i in self.items}

    def to_dict(self):
        return {
            "harness_version": HARNESS_VERSION,
            "rubric": {"name": self.rubric["name"], "version": self.rubric["version"]},
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

    def autolab_line(self):
        """The last stdout line: the compact JSON object Autolab reads."""
        return json.dumps({"scores": self.scores(),
                           "scoreboard": [self.total("main"), self.total("bonus")]}, separators=(",", ":"))

    def render(self, verbose=False):
        """The human-readable report (every line but the final JSON one)."""
        lines = [f"mytorch autograder {HARNESS_VERSION}: {self.submission}",
                 f"fixture set {self.fixture_set.get('id', '?')}", f"sandbox: {self.isolation}", ""]
        if self.status == "error":
            lines += [f"GRADING ERROR: {self.error}", ""]
        for item in self.items:
            mark = {"passed": "PASS", "not_implemented": "TODO"}.get(item.status, "FAIL")
            detail = "" if item.status in ("passed", "failed") else f"  [{item.status.replace('_', ' ')}]"
            cases = f"{sum(c.passed for c in item.cases)}/{len(item.cases)} cases"
            lines.append(f"  {mark}  {item.name:<24} {item.points:>5g}/{item.max_points:<4g} "
                         f"{cases:<10} {item.wall_seconds:6.2f}s{detail}")
        failures = [(i, c) for i in self.items for c in i.cases if not c.passed]
        if failures:
            lines += ["", "Details of what went wrong:"]
            shown = set()
            for item, case in failures:
                if item.status == "not_implemented" and not verbose:
                    if item.name not in shown:
                        shown.add(item.name)
                        lines += ["", f"{item.name}: " + first_line_after_header(case.message)]
                    continue
                lines += ["", case.message.replace("\n", "\n    ")]
                if case.output.strip():
                    lines.append("    your code printed:")
                    lines += [f"    | {line}" for line in case.output.rstrip().splitlines()[:20]]
        lines += ["", f"Total score: {self.total('main'):g}/{self.maximum('main'):g} "
                      f"(+{self.total('bonus'):g}/{self.maximum('bonus'):g} bonus)"]
        return "\n".join(lines)


def first_line_after_header(message):
    parts = message.split("\n", 1)
    return parts[1].splitlines()[0] if len(parts) > 1 and parts[1] else parts[0]


def describe_fixture_set(fixture_set):
    if fixture_set is None:
        return {}
    return {"id": fixture_set.id, "seed": fixture_set.seed, "manifest_sha256": fixture_set.manifest_sha256,
            "generator_version": fixture_set.generator_version, "path": str(fixture_set.root)}


def validate_report(document):
    validate_against("report.schema.json", document, "grading report")


def write_json_atomic(path, document):
    """Write JSON to ``path`` via a temporary file and a rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=1)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_report(path, report):
    document = report.to_dict()
    validate_report(document)
    write_json_atomic(path, document)


__all__ = ["Report", "ItemResult", "CaseResult", "write_report", "write_json_atomic", "validate_report"]
