"""The entries of a batch: finding them, preparing one for grading, and deciding whether its report is up to date.

Also the batch's shared records: :class:`Settings` (resolved once from the
command line) and :class:`Outcome` (one student's report document).
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from autograder.archives import archive_suffix, extract_archive, strip_archive_suffix
from autograder.fixtures import FixtureSet
from autograder.report import HARNESS_VERSION, validate_report
from autograder.rubric import Rubric
from autograder.safetext import for_terminal
from autograder.submission import IGNORED_NAMES, SubmissionError, locate_package

REPORTS_FOLDER = "reports"  # OUT/reports/<student>.json; OUT itself holds only grades.csv and summary.json
MAX_STALENESS_ENTRIES = 10_000  # files and folders looked at to decide whether a report is out of date
MAX_REPORT_BYTES = 64 * 1024 * 1024

EntryKind = Literal["folder", "archive", "other"]


class UsageError(Exception):
    """The batch itself cannot run (bad folder, duplicate ids, rejected fixture set)."""


@dataclass
class Entry:
    student: str
    path: Path
    kind: EntryKind


@dataclass
class Outcome:
    student: str
    document: dict[str, Any]
    reused: bool = False
    seconds: float = 0.0


@dataclass
class Settings:
    out: Path
    fixtures: Path
    fixture_set: FixtureSet
    rubric: Rubric
    case_timeout: float
    submission_timeout: float
    jobs: int
    regrade: bool = False
    hints: bool = True  # likely-cause hints in the failure messages
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # student -> worker process
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: bool = False


def discover(submissions: Path, out: Path) -> list[Entry]:
    """The submissions in the folder ``submissions``, sorted by student id."""
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise UsageError(f"{submissions}: not a folder of submissions")
    out_resolved = Path(out).resolve()
    reports, resolved = out_resolved / REPORTS_FOLDER, submissions.resolve()
    if resolved in (out_resolved, reports) or reports in resolved.parents:
        raise UsageError(f"{for_terminal(str(submissions))}: the batch writes its grades.csv, summary.json and "
                         f"{REPORTS_FOLDER}/ in --out; they would be read as submissions: choose another --out")
    entries: list[Entry] = []
    seen: dict[str, list[str]] = {}
    for path in sorted(submissions.iterdir()):
        if path.name.startswith(".") or path.name in IGNORED_NAMES or is_same_folder(path, out_resolved):
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
    return entries


def is_same_folder(path: Path, resolved: Path) -> bool:
    try:
        return path.resolve() == resolved
    except (OSError, RuntimeError):  # a link loop is not the output folder
        return False


def report_path(out: Path, student: str) -> Path:
    """Where the report of ``student`` lives: in a folder of its own, apart from the batch's files."""
    return Path(out) / REPORTS_FOLDER / f"{student}.json"


def prepare_submission(entry_path: Path, kind: str, scratch: Path) -> Path:
    """The folder to grade: the submission folder itself, or the safely extracted archive."""
    entry_path = Path(entry_path)
    if kind == "folder":
        return locate_package(entry_path)
    if kind == "archive":
        return locate_package(extract_archive(entry_path, Path(scratch) / "extracted"))
    raise SubmissionError(f"{entry_path.name}: not a folder or a .zip/.tar/.tar.gz/.tgz archive")


class StalenessUnknown(Exception):
    """Whether a report is up to date cannot be decided: the submission is graded again."""


def last_change(path: Path, limit: int = MAX_STALENESS_ENTRIES) -> float:
    """The latest modification or status change of ``path`` or anything inside it.

    The walk is iterative (any depth), never follows links, and raises StalenessUnknown after
    ``limit`` entries; an entry that cannot be examined raises OSError.  Status changes count
    because tools that restore modification times (unzip, cp -p, rsync -t) cannot restore them.
    """
    top = os.lstat(path)
    newest = max(top.st_mtime, top.st_ctime)
    pending = [os.fspath(path)] if stat.S_ISDIR(top.st_mode) else []
    seen = 0
    while pending:
        with os.scandir(pending.pop()) as listing:
            for item in listing:
                seen += 1
                if seen > limit:
                    raise StalenessUnknown(f"more than {limit} files and folders")
                info = item.stat(follow_symlinks=False)
                newest = max(newest, info.st_mtime, info.st_ctime)
                if stat.S_ISDIR(info.st_mode):
                    pending.append(item.path)
    return newest


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


def reusable_report(path: Path, entry: Entry, settings: Settings) -> dict[str, Any] | None:
    """The existing report at ``path`` if it was made by this harness, with this fixture set and rubric,
    after the submission last changed; None when it is not, or when anything about it cannot be
    decided (any error at all: the submission is then simply graded again)."""
    try:
        document, written = read_report(path)
        if last_change(entry.path) > written:
            return None
        validate_report(document)
        same = (document["harness_version"] == HARNESS_VERSION
                and document["fixture_set"].get("id") == settings.fixture_set.id
                and document["rubric"] == settings.rubric.identity())
    except Exception:  # anything at all: deciding staleness must never stop the batch
        return None
    return document if same else None
