"""What a batch shows and writes besides the reports: the progress line, ``grades.csv`` and ``summary.json``.

Student ids reach the terminal and ``grades.csv`` only through
:mod:`autograder.util.safetext`; the summary is validated against
``schemas/batch_summary.schema.json`` before it is written.
"""
from __future__ import annotations

import csv
import io
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from autograder.batch.entries import Batch, Outcome, Skipped
from autograder.contract.documents import DocumentError, validate_document
from autograder.report.model import HARNESS_VERSION
from autograder.contract.rubric import Rubric, Section
from autograder.util.safetext import for_csv, for_terminal


class Progress:
    """One progress line on stderr: done/total, rate, ETA (rewritten in place on a terminal)."""

    RECENT = 10  # the rate (and so the ETA) is that of the last RECENT submissions graded

    def __init__(self, total: int, reused: Sequence[Outcome], stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        stream = sys.stderr if stream is None else stream
        self.total, self.done = total, len(reused)
        self.reused = len(reused)
        self.errors = sum(outcome.report.status == "error" for outcome in reused)
        self.stream = stream
        self.clock = clock
        self.started = clock()
        self.finished: deque[float] = deque([self.started], maxlen=self.RECENT + 1)  # when each was done
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def rate(self) -> float:
        """Submissions per second over the last RECENT graded ones (the start counts as one end)."""
        span = self.finished[-1] - self.finished[0]
        return (len(self.finished) - 1) / span if span > 0 else 0.0

    def line(self, last: str = "") -> str:
        graded = self.done - self.reused
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.rate()
        remaining = self.total - self.done
        eta = f"ETA {format_seconds(remaining / rate)}" if graded and remaining and rate else \
            ("ETA ?" if remaining else f"took {format_seconds(elapsed)}")
        parts = [f"batch: {self.done}/{self.total} done", f"{self.errors} error(s)"]
        if self.reused:
            parts.append(f"{self.reused} reused")
        parts += [f"{rate * 60:.1f} submissions/min", eta]
        return ", ".join(parts) + (f"  [{last}]" if last else "")

    def show(self, last: str = "") -> None:
        text = self.line(last)
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def update(self, outcome: Outcome) -> None:
        self.done += 1
        self.finished.append(self.clock())
        report = outcome.report
        if report.status == "error":
            self.errors += 1
        score = f"{report.total('main'):g}+{report.total('bonus'):g}" if report.status == "graded" else "error"
        last = f"{for_terminal(outcome.student)}: {score} in {outcome.seconds:.1f}s"
        self.show(last)

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def grades_csv(outcomes: Sequence[Outcome], rubric: Rubric) -> str:
    items = rubric.names
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *items, "main", "bonus", "status"])
    for outcome in outcomes:
        report = outcome.report
        scores = report.scores()
        row = [outcome.student, *(scores.get(item, 0.0) for item in items),
               report.total("main"), report.total("bonus"), report.status]
        writer.writerow([for_csv(cell) for cell in row])
    return buffer.getvalue()


def describe(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"mean": round(statistics.fmean(values), 6), "median": round(statistics.median(values), 6),
            "min": min(values), "max": max(values)}


def build_summary(outcomes: Sequence[Outcome], batch: Batch, wall_seconds: float,
                  skipped: Sequence[Skipped] = (), removed_reports: Sequence[str] = ()) -> dict[str, Any]:
    """Statistics over every submission (an error counts with its recorded total, 0); item pass
    rates over the submissions that graded."""
    reports = [o.report for o in outcomes]
    graded = [r for r in reports if r.status == "graded"]
    items = {}
    for entry in batch.rubric.items:
        statuses = [next((str(i.status) for i in r.items if i.name == entry.name), "not_graded") for r in graded]
        passed = statuses.count("passed")
        items[entry.name] = {"section": str(entry.section), "max_points": entry.points,
                                "passed": passed, "graded": len(graded),
                                "pass_rate": round(passed / len(graded), 6) if graded else None}
    fixture_set = batch.fixture_set
    return {
        "harness_version": HARNESS_VERSION,
        "rubric": batch.rubric.identity(),
        "fixture_set": {"id": fixture_set.id, "seed": fixture_set.seed,
                        "manifest_sha256": fixture_set.manifest_sha256, "path": str(fixture_set.root)},
        "count": len(reports),
        "graded": len(graded),
        "errors": len(reports) - len(graded),
        "reused": sum(o.reused for o in outcomes),
        "main": describe([r.total("main") for r in reports]),
        "main_max": batch.rubric.sections[Section.MAIN].max,
        "bonus": describe([r.total("bonus") for r in reports]),
        "bonus_max": batch.rubric.sections[Section.BONUS].max,
        "items": items,
        "skipped": [{"entry": entry.name, "reason": entry.reason} for entry in skipped],
        "removed_reports": list(removed_reports),
        "failed_to_grade": [{"student": o.student, "submission": r.submission, "reason": r.error}
                            for o, r in zip(outcomes, reports, strict=True) if r.status == "error"],
        "wall_seconds": round(wall_seconds, 3),
    }


class SummaryError(DocumentError):
    """A batch summary that does not match schemas/batch_summary.schema.json."""


def validate_summary(document: dict[str, Any]) -> None:
    validate_document("batch_summary.schema.json", document, "batch summary", SummaryError)
