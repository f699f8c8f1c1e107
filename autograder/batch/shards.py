"""One batch over many machines: shards that grade into one output folder, and the merge.

``runner.py batch SUBS --out OUT --shard I/N`` grades the submissions whose
student id falls in shard ``I`` of ``N`` (0 <= I < N; a stable hash of the id,
the same on every machine and Python) and writes their reports into ``OUT``
as a plain run does, then a shard record ``OUT/shards/I-of-N.json`` naming
every entry of the shard, the fixture set and the rubric.  Any number of
shards may run at once on one ``OUT`` (a shared folder): each holds a shared
lock on ``OUT/.lock`` and its own exclusive one, so two copies of one shard, or
a plain run beside shards, are refused.

``runner.py batch merge OUT`` rebuilds ``grades.csv`` and ``summary.json``
from the records and the reports, exactly as a plain run over all the
submissions writes them (the rows in the same order, the same numbers): it
refuses records of different shard counts, a missing shard, and records or
reports of different fixture sets, manifests, rubrics or harness versions.
"""
from __future__ import annotations

import argparse
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.util.atomic import write_json_atomic
from autograder.batch.entries import Batch, Entry, Outcome, Skipped, read_report
from autograder.config import Config
from autograder.batch.storage import OutputFolder, describe_os_error, report_path
from autograder.errors import StorageError, UsageError
from autograder.contract.fixtures import FixtureError, load_fixture_set
from autograder.report.model import HARNESS_VERSION, ReportError, validate_report
from autograder.util.safetext import for_terminal

SHARDS_FOLDER = "shards"


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``I/N`` with 0 <= I < N; ValueError with the rule otherwise."""
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"--shard {text!r}: expected I/N, e.g. 0/4 (shards are numbered from 0)") from None
        if not 0 <= index < count:
            raise ValueError(f"--shard {text!r}: I must be in 0..N-1 (shards are numbered from 0)")
        return cls(index, count)

    def holds(self, student: str) -> bool:
        digest = hashlib.sha256(student.encode("utf-8", "surrogateescape")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index

    @property
    def name(self) -> str:
        return f"{self.index}-of-{self.count}"


def record_path(out: Path, shard: Shard) -> Path:
    return Path(out) / SHARDS_FOLDER / f"{shard.name}.json"


def identity(batch: Batch) -> dict[str, Any]:
    """What every shard of one batch must share."""
    return {"fixture_set": batch.fixture_set.id, "manifest_sha256": batch.fixture_set.manifest_sha256,
            "fixtures": str(batch.config.fixtures.resolve()), "rubric_sha256": batch.rubric.sha256(),
            "harness_version": HARNESS_VERSION}


def write_record(batch: Batch, shard: Shard, entries: Sequence[Entry], skipped: Sequence[Skipped],
                 removed: Sequence[str], wall_seconds: float) -> None:
    document = {"shard": [shard.index, shard.count], **identity(batch),
                "entries": [[entry.path.name, entry.student] for entry in entries],
                "skipped": [[entry.name, entry.reason] for entry in skipped], "removed_reports": list(removed),
                "wall_seconds": round(wall_seconds, 3)}
    path = record_path(batch.out, shard)
    try:
        path.parent.mkdir(exist_ok=True)
        write_json_atomic(path, document)
    except OSError as error:
        raise StorageError(f"cannot write {for_terminal(str(path))}: {describe_os_error(error)}") from None


def read_records(out: Path, count: int | None) -> list[dict[str, Any]]:
    """Every shard's record, in shard order; UsageError when they do not make one whole batch."""
    folder = Path(out) / SHARDS_FOLDER
    records: dict[int, dict[int, dict[str, Any]]] = {}
    for path in sorted(folder.glob("*-of-*.json")):
        try:
            record, _ = read_report(path)
            index, total = record["shard"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise UsageError(f"{for_terminal(str(path))}: not a shard record ({error})") from None
        records.setdefault(total, {})[index] = record
    if not records:
        raise UsageError(f"{for_terminal(str(folder))}: no shard records: run the shards first "
                         f"(runner.py batch SUBS --out OUT --shard I/N)")
    if count is None:
        if len(records) > 1:
            raise UsageError(f"shard records of several shard counts ({', '.join(map(str, sorted(records)))}): "
                             f"say which with --shards N")
        count = next(iter(records))
    found = records.get(count, {})
    missing = [str(index) for index in range(count) if index not in found]
    if missing:
        raise UsageError(f"shard(s) {', '.join(missing)} of {count} have not finished: run them, then merge again")
    ordered = [found[index] for index in range(count)]
    keys = ("fixture_set", "manifest_sha256", "rubric_sha256", "harness_version")
    for record in ordered[1:]:
        different = [key for key in keys if record.get(key) != ordered[0].get(key)]
        if different:
            raise UsageError(f"shard {record['shard'][0]} was graded with another {', '.join(different)} "
                             f"than shard 0: grade every shard with the same fixture set and harness")
    return ordered


@dataclass
class Merged:
    outcomes: list[Outcome]
    batch: Batch
    skipped: list[Skipped]
    removed: list[str]


def merge(out: Path, count: int | None) -> Merged:
    """The outcomes of every shard's students, in the order a plain run lists them."""
    records = read_records(out, count)
    first = records[0]
    try:
        fixture_set = load_fixture_set(Path(first["fixtures"]))
    except FixtureError as error:
        raise UsageError(f"the shards' fixture set is rejected: {error}") from None
    if fixture_set.id != first["fixture_set"] or fixture_set.manifest_sha256 != first["manifest_sha256"]:
        raise UsageError(f"the fixture set at {for_terminal(first['fixtures'])} changed since the shards graded")
    batch = Batch(Config(fixtures=Path(first["fixtures"]), jobs=1), Path(out), fixture_set)
    entries = sorted((tuple(pair) for record in records for pair in record["entries"]), key=lambda pair: pair[0])
    outcomes = []
    for _, student in entries:
        path = report_path(out, student)
        try:
            document, _ = read_report(path)
            validate_report(document)
        except (OSError, ValueError, ReportError) as error:
            raise UsageError(f"{for_terminal(str(path))}: no valid report ({for_terminal(str(error))}): "
                             f"run its shard again") from None
        graded_with = document["fixture_set"].get("id")
        if graded_with not in (None, fixture_set.id):  # None: a worker that died records no fixture set
            raise UsageError(f"{for_terminal(str(path))} was graded with fixture set {for_terminal(graded_with)}, "
                             f"the shards with {fixture_set.id}")
        outcomes.append(Outcome(student, document, reused=True))
    skipped = [Skipped(name, reason) for name, reason in first["skipped"]]
    removed = sorted({student for record in records for student in record["removed_reports"]})
    return Merged(outcomes, batch, skipped, removed)


def add_merge_arguments(parser: argparse.ArgumentParser) -> None:
    """``runner.py batch merge``'s arguments."""
    parser.add_argument("out", type=Path, metavar="OUT", help="the --out folder the shards graded into")
    parser.add_argument("--shards", type=int, metavar="N", help="the shard count, when records of several exist")


def open_for_merge(out: Path) -> OutputFolder:
    folder = OutputFolder(out)
    if not folder.path.is_dir():
        raise UsageError(f"{for_terminal(str(out))}: not a batch output folder")
    folder.open()
    return folder
