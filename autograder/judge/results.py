"""What grading one case, and one item, gives: statuses and the case result."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from autograder.util.compat import StrEnum


class CaseStatus(StrEnum):
    """How one fixture case ended; the order of the failing ones is the order of their gravity."""
    PASSED = "passed"
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    ERROR = "error"
    FAILED = "failed"
    NOT_IMPLEMENTED = "not_implemented"
    SKIPPED = "skipped"


class ItemStatus(StrEnum):
    PASSED = "passed"
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    ERROR = "error"
    FAILED = "failed"
    NOT_IMPLEMENTED = "not_implemented"
    NOT_GRADED = "not_graded"

    @classmethod
    def of_cases(cls, statuses: set[CaseStatus]) -> ItemStatus:
        """An item's status from its cases': passed, not implemented, or the gravest failure."""
        if not statuses:
            return cls.NOT_GRADED
        if statuses == {CaseStatus.PASSED}:
            return cls.PASSED
        if statuses <= {CaseStatus.NOT_IMPLEMENTED, CaseStatus.SKIPPED}:
            return cls.NOT_IMPLEMENTED
        for status in CaseStatus:
            if status in statuses and status not in (CaseStatus.PASSED, CaseStatus.SKIPPED):
                return cls(status.value)
        return cls.FAILED


@dataclass(frozen=True)
class Finding:
    """One failed check of a case as the judge worded it (``autograder.judge.compare.Mismatch.finding``):
    what a renderer needs to shorten a failure message without reading it.

    ``quantity``: what was compared, as the message names it; ``lines``: its part of the message
    (the first names the quantity, the others are indented details); ``counts``: (mismatched, total)
    elements of a values mismatch; ``cause``: whether the last line names a likely cause, ``hint`` the
    sentence it names;
    ``order``: where the program computes the quantity (:func:`autograder.judge.outcome.program_order`;
    the smallest comes first).
    """
    quantity: str
    lines: tuple[str, ...]
    counts: tuple[int, int] | None = None
    cause: bool = False
    hint: str = ""
    order: tuple[int, ...] = ()


@dataclass
class CaseResult:
    item: str
    case: str
    status: CaseStatus
    message: str = ""
    wall_seconds: float = 0.0
    student_seconds: float = 0.0
    output: str = ""
    # what failed, for the views that may not show the message (hidden sets): one {"quantity", "kind"
    # (mismatch, shape or invalid) and, for a shape, "formula"} per failed check, from the fixture only
    failures: tuple[dict[str, str], ...] = ()
    mismatches: list[dict[str, Any]] = field(default_factory=list)  # where arrays differ (diffmap.picture)
    # the message's parts, from the judge (not in the JSON form): its first line, naming the case, and
    # each failed check's Finding; a case read back from a document has neither
    header: str = ""
    findings: tuple[Finding, ...] = ()

    @property
    def body(self) -> str:
        """The message without the case's header line: the error itself (the whole message when the
        header is not known)."""
        return self.message[len(self.header) + 1:] if self.header and self.message else self.message

    @property
    def passed(self) -> bool:
        return self.status is CaseStatus.PASSED

    @classmethod
    def from_dict(cls, item: str, document: Mapping[str, Any]) -> CaseResult:
        """A case of item ``item`` as :meth:`to_dict` wrote it (its ``points`` are the item's to share)."""
        return cls(item, str(document.get("case", "")), CaseStatus(document.get("status", CaseStatus.ERROR)), str(document.get("message", "")),
                   float(document.get("wall_seconds", 0.0)), float(document.get("student_seconds", 0.0)),
                   str(document.get("output", "")), tuple(dict(f) for f in document.get("failures", ())),
                   [dict(m) for m in document.get("mismatches", ())])

    def to_dict(self) -> dict[str, object]:
        return {"case": self.case, "status": str(self.status), "message": self.message,
                "wall_seconds": round(self.wall_seconds, 4), "student_seconds": round(self.student_seconds, 4),
                "output": self.output, **({"failures": [dict(f) for f in self.failures]} if self.failures else {}),
                **({"mismatches": self.mismatches} if self.mismatches else {})}
