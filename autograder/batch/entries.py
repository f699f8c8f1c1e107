"""The entries of a batch: finding them, preparing one for grading, and deciding whether its report is up to date.

Also the batch's shared records: :class:`Batch` (resolved once from the
command line) and :class:`Outcome` (one student's report document).
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from autograder.config import Config
from autograder.errors import UsageError
from autograder.archives.extract import archive_suffix, extract_archive, strip_archive_suffix
from autograder.batch.fingerprint import FingerprintUnknown, fingerprint
from autograder.contract.fixtures import FixtureSet
from autograder.report.model import HARNESS_VERSION, Report, validate_report
from autograder.contract.rubric import Rubric
from autograder.util.safetext import for_terminal
from autograder.grading.submission import IGNORED_NAMES, SubmissionError, locate_package

MAX_REPORT_BYTES = 64 * 1024 * 1024

EntryKind = Literal["folder", "archive", "other"]


@dataclass
class Entry:
    student: str
    path: Path
    kind: EntryKind
    sha256: str | None = None  # its content's fingerprint when the batch started; None: unknown


@dataclass
class Outcome:
    student: str
    document: dict[str, Any]  # the stored report, as written (Report.to_dict(), plus the batch's provenance)
    reused: bool = False
    seconds: float = 0.0

    @property
    def report(self) -> Report:
        """The stored report read through the model (a new one each time: the document is the record)."""
        return Report.from_dict(self.document)


@dataclass(frozen=True)
class Batch:
    """One batch run, resolved once from the command line: how to grade (``config``; its ``jobs`` are the
    worker processes at once), the fixture set it grades with, and where it writes.  The state of the
    running workers is apart (autograder.batch.workers.Workers)."""
    config: Config
    out: Path
    fixture_set: FixtureSet
    regrade: bool = False
    executor: str = "local"  # or "dask": see autograder.batch.dask_executor
    scheduler: str | None = None  # with dask: the scheduler's address, or "local"

    @property
    def rubric(self) -> Rubric:
        return self.fixture_set.rubric

    @property
    def cases(self) -> int:
        return sum(len(cases) for cases in self.fixture_set.items.values())


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str


def discover(submissions: Path, out: Path, reports: Path) -> tuple[list[Entry], list[Skipped]]:
    """The submissions in the folder ``submissions``, sorted by student id, and the entries that
    are not submissions, each with the reason.  ``out``: the batch's output folder, ``reports``: its
    reports folder (neither may be read as submissions)."""
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise UsageError(f"{submissions}: not a folder of submissions")
    out_resolved = Path(out).resolve()
    reports, resolved = Path(reports).resolve(), submissions.resolve()
    if resolved in (out_resolved, reports) or reports in resolved.parents:
        raise UsageError(f"{for_terminal(str(submissions))}: the batch writes its grades.csv, summary.json and "
                         f"{reports.name}/ in --out; they would be read as submissions: choose another --out")
    entries: list[Entry] = []
    skipped: list[Skipped] = []
    seen: dict[str, list[str]] = {}
    for path in sorted(submissions.iterdir()):
        if path.name.startswith("."):
            skipped.append(Skipped(path.name, "a hidden entry (its name starts with '.')"))
            continue
        if path.name in IGNORED_NAMES:
            skipped.append(Skipped(path.name, "added by an archiver, not a submission"))
            continue
        if is_same_folder(path, out_resolved):
            skipped.append(Skipped(path.name, "the batch's own output folder (--out)"))
            continue
        if path.is_dir():
            entry = Entry(path.name, path, "folder")
        elif archive_suffix(path):
            entry = Entry(strip_archive_suffix(path.name), path, "archive")
        else:
            entry = Entry(path.name, path, "other")
        seen.setdefault(entry.student, []).append(path.name)
        entries.append(entry)
    duplicates = {student: names for student, names in seen.items() if len(names) > 1}
    if duplicates:
        listed = "; ".join(f"{student}: {', '.join(names)}" for student, names in sorted(duplicates.items()))
        raise UsageError(f"several entries give the same student id ({listed}): keep one per student")
    return entries, skipped


def is_same_folder(path: Path, resolved: Path) -> bool:
    try:
        return path.resolve() == resolved
    except (OSError, RuntimeError):  # a link loop is not the output folder
        return False


def prepare_submission(entry_path: Path, kind: str, scratch: Path) -> Path:
    """The folder to grade: the submission folder itself, or the safely extracted archive."""
    entry_path = Path(entry_path)
    if kind == "folder":
        return locate_package(entry_path)
    if kind == "archive":
        return locate_package(extract_archive(entry_path, Path(scratch) / "extracted"))
    raise SubmissionError(f"{entry_path.name}: not a folder or a .zip/.tar/.tar.gz/.tgz archive")


def read_report(path: Path) -> tuple[Any, float]:
    """The JSON document in the regular file ``path`` (never through a link, never more than
    MAX_REPORT_BYTES) and the file's modification time; raises OSError or ValueError."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path}: not a regular file")
        data = handle.read(MAX_REPORT_BYTES + 1)
    if len(data) > MAX_REPORT_BYTES:
        raise ValueError(f"{path}: larger than {MAX_REPORT_BYTES} bytes")
    return json.loads(data), info.st_mtime


def provenance(batch: Batch, submission_sha256: str) -> dict[str, str | bool]:
    """What a report was made from; a report is reused only when all of it is the same today."""
    return {"submission_sha256": submission_sha256, "fixture_set": batch.fixture_set.id,
            "manifest_sha256": batch.fixture_set.manifest_sha256, "rubric_sha256": batch.rubric.sha256(),
            "harness_version": HARNESS_VERSION, "hints": batch.config.hints, "sandbox": batch.config.sandbox,
            "allow_unsandboxed": batch.config.allow_unsandboxed}


def submission_fingerprint(entry: Entry) -> str | None:
    """The entry's content fingerprint, or None when it cannot be decided (the entry is then graded)."""
    try:
        return fingerprint(entry.path)
    except (OSError, FingerprintUnknown):
        return None


def reusable_report(path: Path, entry: Entry, batch: Batch) -> dict[str, Any] | None:
    """The existing report at ``path`` if it was made by this harness, with this fixture set and rubric,
    from a submission with the same content; None when it was not, or when anything about it cannot be
    decided (any error at all: the submission is then simply graded again)."""
    if entry.sha256 is None:
        return None
    try:
        document, _ = read_report(path)
        validate_report(document)
        same = (document.get("provenance") == provenance(batch, entry.sha256)
                and document["fixture_set"].get("id") == batch.fixture_set.id)  # a dead worker's: none
    except Exception:  # anything at all: deciding staleness must never stop the batch
        return None
    return document if same else None
