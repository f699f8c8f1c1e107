"""Canvas gradebook import from a graded batch (course staff).

    python runner.py batch export --canvas roster.csv --assignment "HW2P1 (1234)" OUT [--score total|main]
        [--csv PATH] [--unmatched PATH]

Reads ``OUT/grades.csv`` and ``OUT/summary.json`` (written by ``runner.py batch ... --out OUT``)
and a roster exported from Canvas (its gradebook export: columns ``Student``, ``ID``,
``SIS User ID``, ``SIS Login ID``, ``Section``; other columns are ignored, as are its
``Points Possible`` row and Canvas's ``Test Student``), and writes
``OUT/canvas_import.csv``: the five roster columns and the assignment's, the
``Points Possible`` row (the main maximum) second, then one row per matched student
graded, in roster order.  Canvas matches the assignment column by the ``(1234)`` in its
name (the assignment's id in its URL).

Matching rule: a batch student id (the submission's name) is compared, trimmed and
case-insensitively, with the roster's ``SIS Login ID``, then ``SIS User ID``, then
``ID``; the first column with a match decides.  Two roster rows matching in that column,
or a roster row already matched by another submission, leave the submission unmatched.

Listed on stderr and in ``OUT/canvas_unmatched.csv``: roster students with no graded
submission (no submission, or a submission that could not be graded: status ``error``,
whose cell is left out so that Canvas keeps what it has) and submissions with no roster
match.  Exit status: 0 everyone matched, 1 some listed, 2 usage (a missing or malformed
file, a bad option).  Every cell goes through :func:`autograder.safetext.for_csv`.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from autograder.atomic import write_text_atomic
from autograder.safetext import FORMULA_GUARD, FORMULA_STARTS, for_csv, for_terminal

ROSTER_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MATCH_ORDER = ("SIS Login ID", "SIS User ID", "ID")
POINTS_POSSIBLE = "    Points Possible"  # as Canvas writes it in its own exports
TEST_STUDENTS = ("student, test", "test student")
EXIT_OK, EXIT_UNMATCHED, EXIT_USAGE = 0, 1, 2


class ExportError(Exception):
    """A usage error: a missing or malformed input file."""


@dataclass
class Grade:
    student: str
    score: float | None  # None: the submission could not be graded
    status: str


def normalized(value: str) -> str:
    return value.strip().casefold()


def unguarded(cell: str) -> str:
    """A grades.csv id as the batch saw it: without the ``'`` for_csv puts before a formula-like id."""
    if cell.startswith(FORMULA_GUARD) and cell[1:].lstrip(" ").startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def read_csv_rows(path: Path, what: str) -> tuple[list[str], list[dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ExportError(f"cannot read the {what} {path}: {getattr(error, 'strerror', None) or error}") from None
    reader = csv.DictReader(io.StringIO(text))
    rows = [{key: (value or "") for key, value in row.items() if key is not None} for row in reader]
    return [name.strip() for name in reader.fieldnames or []], rows


def read_grades(out: Path, score: str) -> tuple[list[Grade], float]:
    """The batch's grades (``score``: ``total`` = main + bonus, or ``main``) and the main maximum."""
    columns, rows = read_csv_rows(out / "grades.csv", "batch grades (run 'runner.py batch' first)")
    missing = {"student", "main", "bonus", "status"} - set(columns)
    if missing:
        raise ExportError(f"{out / 'grades.csv'}: not a batch grades.csv (no column {', '.join(sorted(missing))})")
    try:
        summary = json.loads((out / "summary.json").read_text())
        main_max = float(summary["main_max"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ExportError(f"cannot read the main maximum from {out / 'summary.json'}: {error}") from None
    grades = []
    for row in rows:
        try:
            value = float(row["main"]) + (float(row["bonus"]) if score == "total" else 0.0)
        except ValueError:
            raise ExportError(f"{out / 'grades.csv'}: a score of {for_terminal(row['student'])} is not a number") \
                from None
        graded = row["status"] == "graded"
        grades.append(Grade(unguarded(row["student"]), round(value, 6) if graded else None, row["status"]))
    return grades, main_max


def read_roster(path: Path) -> list[dict[str, str]]:
    columns, rows = read_csv_rows(path, "Canvas roster")
    missing = [name for name in ROSTER_COLUMNS if name not in columns]
    if missing:
        raise ExportError(f"{path}: not a Canvas roster export (no column {', '.join(missing)}; "
                          f"expected {', '.join(ROSTER_COLUMNS)})")
    students = []
    for row in rows:
        row = {key.strip(): value for key, value in row.items()}
        name = row["Student"].strip()
        if name == POINTS_POSSIBLE.strip() or normalized(name) in TEST_STUDENTS or not (name or row["ID"].strip()):
            continue
        students.append(row)
    return students


def match(grades: Sequence[Grade], roster: Sequence[dict[str, str]]) -> tuple[dict[int, Grade], list[tuple[str, str]]]:
    """{roster index: grade} and the unmatched submissions with the reason, by the module's rule."""
    matched: dict[int, Grade] = {}
    unmatched: list[tuple[str, str]] = []
    for grade in grades:
        key = normalized(grade.student)
        for column in MATCH_ORDER:
            hits = [i for i, row in enumerate(roster) if key and normalized(row[column]) == key]
            if hits:
                break
        if not hits:
            unmatched.append((grade.student, "no roster row has this SIS Login ID, SIS User ID or ID"))
        elif len(hits) > 1:
            unmatched.append((grade.student, f"{len(hits)} roster rows have this {column}"))
        elif hits[0] in matched:
            unmatched.append((grade.student, f"its roster row ({column}) is already matched by "
                                             f"{matched[hits[0]].student}"))
        else:
            matched[hits[0]] = grade
    return matched, unmatched


def import_csv(roster: Sequence[dict[str, str]], matched: dict[int, Grade], assignment: str,
               points_possible: float) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([for_csv(cell) for cell in (*ROSTER_COLUMNS, assignment)])
    writer.writerow([POINTS_POSSIBLE, "", "", "", "", for_csv(points_possible)])
    for index, row in enumerate(roster):
        grade = matched.get(index)
        if grade is not None and grade.score is not None:
            writer.writerow([for_csv(row[column]) for column in ROSTER_COLUMNS] + [for_csv(grade.score)])
    return buffer.getvalue()


def unmatched_rows(roster: Sequence[dict[str, str]], matched: dict[int, Grade],
                   unmatched: Sequence[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(kind, who, reason) for everything a TA must look at."""
    listed = []
    for index, row in enumerate(roster):
        grade = matched.get(index)
        who = f"{row['Student']} (SIS Login ID {row['SIS Login ID'] or '-'}, ID {row['ID'] or '-'})"
        if grade is None:
            listed.append(("roster student without submission", who, "no submission matched"))
        elif grade.score is None:
            listed.append(("roster student not graded", who,
                           f"submission {grade.student} has status {grade.status}: see its report"))
    listed += [("submission without roster student", student, reason) for student, reason in unmatched]
    return listed


def export(out: Path, roster_path: Path, assignment: str, score: str = "total", csv_path: Path | None = None,
           unmatched_path: Path | None = None) -> list[tuple[str, str, str]]:
    """Write the Canvas import CSV and the unmatched list; return the unmatched list."""
    if not assignment.strip():
        raise ExportError("--assignment is empty: give the Canvas column name, e.g. \"HW2P1 (1234)\"")
    grades, main_max = read_grades(out, score)
    roster = read_roster(roster_path)
    matched, unmatched = match(grades, roster)
    listed = unmatched_rows(roster, matched, unmatched)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["kind", "who", "reason"])
    writer.writerows([for_csv(cell) for cell in row] for row in listed)
    write_text_atomic(csv_path or out / "canvas_import.csv", import_csv(roster, matched, assignment, main_max))
    write_text_atomic(unmatched_path or out / "canvas_unmatched.csv", buffer.getvalue())
    return listed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python runner.py batch export",
                                     description="Write a Canvas gradebook import CSV from a graded batch.")
    parser.add_argument("out", type=Path, metavar="OUT", help="the batch's --out folder (grades.csv, summary.json)")
    parser.add_argument("--canvas", type=Path, required=True, metavar="ROSTER.csv",
                        help="the gradebook (roster) CSV exported from Canvas")
    parser.add_argument("--assignment", required=True, help='the Canvas column, e.g. "HW2P1 (1234)"')
    parser.add_argument("--score", choices=("total", "main"), default="total",
                        help="total: main + bonus (default); main: the main section only")
    parser.add_argument("--csv", type=Path, help="the import file (default OUT/canvas_import.csv)")
    parser.add_argument("--unmatched", type=Path, help="the unmatched list (default OUT/canvas_unmatched.csv)")
    args = parser.parse_args(argv)
    try:
        listed = export(args.out, args.canvas, args.assignment, args.score, args.csv, args.unmatched)
    except ExportError as error:
        print(f"error: {for_terminal(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(f"error: cannot write the export: {for_terminal(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    for kind, who, reason in listed:
        print(f"  {kind}: {for_terminal(who)}: {for_terminal(reason)}", file=sys.stderr)
    csv_path, unmatched_path = args.csv or args.out / "canvas_import.csv", args.unmatched or args.out / \
        "canvas_unmatched.csv"
    print(f"wrote {for_terminal(str(csv_path))}; {len(listed)} to check, listed in "
          f"{for_terminal(str(unmatched_path))}")
    return EXIT_UNMATCHED if listed else EXIT_OK


__all__ = ["export", "match", "read_roster", "read_grades", "main", "ExportError"]
