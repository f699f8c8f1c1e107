"""Canvas gradebook import from a graded batch (course staff).

    python runner.py batch export --canvas roster.csv --assignment "HW2P1 (1234)" OUT [--score total|main]
        [--points-possible P] [--csv PATH] [--unmatched PATH]

Reads ``OUT/grades.csv`` and ``OUT/summary.json`` (written by ``runner.py batch ... --out OUT``)
and a roster exported from Canvas (its gradebook export: columns ``Student``, ``ID``,
``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per assignment; a
``Points Possible`` row under the header; rows such as ``Manual Posting`` and
Canvas's ``Test Student`` are ignored).  The export may be comma- or semicolon-separated
(Canvas's option for locales that write decimal commas): the delimiter is the one
that splits the header into Canvas's columns, and a semicolon export's decimal
commas are read as numbers.  A byte-order mark is allowed.

``--assignment`` must be a column of the roster (Canvas would otherwise create a new
assignment): a name that is not is refused with the closest columns ("did you mean").
Its points possible are the roster's ``Points Possible`` cell for that column, or
``--points-possible`` (which wins, with a note when the two differ); neither, or a
read-only column (``Current Score``...), is a usage error.  The scores are the
grader's points, never rescaled (a note says so when the assignment's points
possible are not the batch's maximum).

Writes ``OUT/canvas_import.csv`` with the roster's delimiter: the five roster columns
and the assignment's (the roster's own spelling), the ``Points Possible`` row second,
then one row per matched student graded, in roster order.  Canvas matches the
assignment column by the ``(1234)`` in its name (the assignment's id in its URL).

Matching rule: a batch student id (the submission's name) is compared, trimmed and
case-insensitively, with the roster's ``SIS Login ID``, then ``SIS User ID``, then
``ID``; the first column with a match decides.  Two roster rows matching in that column,
or a roster row already matched by another submission, leave the submission unmatched.

Listed on stderr and in ``OUT/canvas_unmatched.csv``: roster students with no graded
submission (no submission, or a submission that could not be graded: status ``error``,
whose cell is left out so that Canvas keeps what it has) and submissions with no roster
match.  Exit status: 0 everyone matched, 1 some listed, 2 usage (a missing or malformed
file, an assignment that is not a roster column, no points possible, a bad option).
Every cell goes through :func:`autograder.util.safetext.for_csv`.
"""
from __future__ import annotations

import argparse
import csv
import difflib
import io
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autograder import errors
from autograder.errors import GraderError, exit_status
from autograder.util.atomic import write_text_atomic
from autograder.util.safetext import FORMULA_GUARD, FORMULA_STARTS, for_csv, for_terminal

ROSTER_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MATCH_ORDER = ("SIS Login ID", "SIS User ID", "ID")
POINTS_POSSIBLE = "    Points Possible"  # as Canvas writes it in its own exports
TEST_STUDENTS = ("student, test", "test student")
DELIMITERS = (",", ";", "\t")  # Canvas exports with commas, or semicolons where the locale writes decimal commas
NOT_STUDENT_ROW = re.compile(r"^\s*(Muted|Manual Posting.*)?\s*$", re.IGNORECASE)  # Canvas's own rule
READ_ONLY = re.compile(r"read\s+only", re.IGNORECASE)
OTHER_STUDENT_COLUMNS = ("LastName", "FirstName", "Integration ID", "Root Account")  # Canvas's, besides ours
COMPUTED = re.compile(r"Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|"
                      r"Override Score|Override Grade|Override Status")  # Canvas's columns that are no assignment
EXIT_OK, EXIT_UNMATCHED, EXIT_USAGE = errors.GRADED, errors.UNMATCHED, errors.USAGE  # autograder/errors.py


class ExportError(GraderError):
    """A usage error: a missing or malformed input file."""

    exit_code = errors.USAGE


@dataclass
class Grade:
    student: str
    score: float | None  # None: the submission could not be graded
    status: str


@dataclass
class Roster:
    """A Canvas gradebook export: its columns (stripped), student rows, Points Possible row and delimiter."""
    columns: list[str]
    students: list[dict[str, str]]
    points_possible: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","


def normalized(value: str) -> str:
    return value.strip().casefold()


def unguarded(cell: str) -> str:
    """A grades.csv id as the batch saw it: without the ``'`` for_csv puts before a formula-like id."""
    if cell.startswith(FORMULA_GUARD) and cell[1:].lstrip(" ").startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ExportError(f"cannot read the {what} {path}: {getattr(error, 'strerror', None) or error}") from None


def parse_rows(text: str, delimiter: str = ",") -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = [{key.strip(): (value or "") for key, value in row.items() if key is not None} for row in reader]
    return [name.strip() for name in reader.fieldnames or []], rows


def read_csv_rows(path: Path, what: str) -> tuple[list[str], list[dict[str, str]]]:
    return parse_rows(read_text(path, what))


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header line into the most of Canvas's roster columns (ties: the
    most columns, then the comma)."""
    header = text.split("\n", 1)[0]
    def fit(delimiter: str) -> tuple[int, int]:
        cells = [cell.strip() for cell in next(csv.reader([header], delimiter=delimiter), [])]
        return sum(name in cells for name in ROSTER_COLUMNS), len(cells)
    return max(DELIMITERS, key=fit)  # max keeps the first of equals: the comma


def number(cell: str) -> float | None:
    """A Canvas number cell (``100``, ``100.00``, ``12,5`` from a semicolon export), or None."""
    text = cell.strip()
    if re.fullmatch(r"[+-]?\d+,\d+", text):
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


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


def read_roster(path: Path) -> Roster:
    text = read_text(path, "Canvas roster")
    delimiter = sniff_delimiter(text)
    columns, rows = parse_rows(text, delimiter)
    missing = [name for name in ROSTER_COLUMNS if name not in columns]
    if missing:
        raise ExportError(f"{path}: not a Canvas roster export (no column {', '.join(missing)}; "
                          f"expected {', '.join(ROSTER_COLUMNS)}, separated by commas or semicolons)")
    roster = Roster(columns, [], delimiter=delimiter)
    for row in rows:
        name = row["Student"].strip()
        if "Points Possible" in name:
            roster.points_possible = row
        elif all(NOT_STUDENT_ROW.match(value) for value in row.values()) or normalized(name) in TEST_STUDENTS \
                or not (name or row["ID"].strip()):
            continue
        else:
            roster.students.append(row)
    return roster


def assignment_column(roster: Roster, assignment: str, path: Path) -> str:
    """The roster's column named ``assignment`` (trimmed); refused with the closest assignment columns
    otherwise (Canvas would create a new assignment for a column it does not know)."""
    wanted = assignment.strip()
    if not wanted:
        raise ExportError("--assignment is empty: give the Canvas column name, e.g. \"HW2P1 (1234)\"")
    if wanted in (*ROSTER_COLUMNS, *OTHER_STUDENT_COLUMNS) or COMPUTED.search(wanted) and wanted in roster.columns:
        raise ExportError(f"--assignment {for_terminal(wanted)!r} is a column Canvas computes or keeps for "
                          f"students, not an assignment")
    candidates = [column for column in roster.columns if column and column not in ROSTER_COLUMNS
                  and column not in OTHER_STUDENT_COLUMNS and not COMPUTED.search(column)]
    if wanted in candidates:
        return wanted
    folded = wanted.casefold()
    close = [column for column in candidates if column.casefold() == folded]
    if not close:  # the name without its (id), else the most similar one
        close = [column for column in candidates if column.casefold().startswith(folded + " (")]
        by_folded = {column.casefold(): column for column in candidates}
        close += [by_folded[name] for name in difflib.get_close_matches(folded, list(by_folded), n=1, cutoff=0.6)
                  if by_folded[name] not in close]
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else \
        f" (its assignment columns: {', '.join(repr(c) for c in candidates) or 'none'})"
    raise ExportError(f"--assignment {wanted!r} is not a column of {path}: Canvas would create a new "
                      f"assignment{hint}".replace("\n", " "))


def points_possible(roster: Roster, column: str, given: float | None) -> float:
    """The assignment's points possible: ``given`` (``--points-possible``), else the roster's Points Possible
    cell for ``column``; a read-only column, or no value at all, is refused."""
    cell = roster.points_possible.get(column, "").strip()
    if READ_ONLY.search(cell):
        raise ExportError(f"{column!r} is read only in Canvas (a computed column, not an assignment)")
    if given is not None:
        if given < 0 or number(str(given)) is None:
            raise ExportError(f"--points-possible must be a number of 0 or more, not {given:g}")
        found = number(cell)
        if found is not None and found != given:
            print(f"note: --points-possible {given:g} replaces the roster's {found:g} for {for_terminal(column)}",
                  file=sys.stderr)
        return given
    found = number(cell)
    if found is None:
        where = "has no Points Possible row" if not roster.points_possible else \
            f"has no points possible for {column!r}"
        raise ExportError(f"the roster {where}: give --points-possible (the assignment's points in Canvas)")
    return found


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


def number_cell(value: float, delimiter: str) -> str:
    """A number as Canvas writes it with this delimiter (a decimal comma in a semicolon file)."""
    text = for_csv(value)
    return text.replace(".", ",") if delimiter == ";" else text


def import_csv(roster: Roster, matched: dict[int, Grade], assignment: str, points: float) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=roster.delimiter, lineterminator="\n")
    writer.writerow([for_csv(cell) for cell in (*ROSTER_COLUMNS, assignment)])
    writer.writerow([POINTS_POSSIBLE, "", "", "", "", number_cell(points, roster.delimiter)])
    for index, row in enumerate(roster.students):
        grade = matched.get(index)
        if grade is not None and grade.score is not None:
            writer.writerow([for_csv(row[column]) for column in ROSTER_COLUMNS]
                            + [number_cell(grade.score, roster.delimiter)])
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
           unmatched_path: Path | None = None, points: float | None = None) -> list[tuple[str, str, str]]:
    """Write the Canvas import CSV and the unmatched list; return the unmatched list."""
    if not assignment.strip():
        raise ExportError("--assignment is empty: give the Canvas column name, e.g. \"HW2P1 (1234)\"")
    grades, main_max = read_grades(out, score)
    roster = read_roster(roster_path)
    column = assignment_column(roster, assignment, roster_path)
    possible = points_possible(roster, column, points)
    if possible != main_max:
        print(f"note: {for_terminal(column)} is worth {possible:g} points in Canvas and the batch's main maximum is "
              f"{main_max:g}: the scores are written as graded, not rescaled", file=sys.stderr)
    matched, unmatched = match(grades, roster.students)
    listed = unmatched_rows(roster.students, matched, unmatched)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["kind", "who", "reason"])
    writer.writerows([for_csv(cell) for cell in row] for row in listed)
    write_text_atomic(csv_path or out / "canvas_import.csv", import_csv(roster, matched, column, possible))
    write_text_atomic(unmatched_path or out / "canvas_unmatched.csv", buffer.getvalue())
    return listed


DESCRIPTION = "Write a Canvas gradebook import CSV from a graded batch."


def main(argv: Sequence[str] | None = None) -> int:
    """``runner.py batch export ARGS`` alone: the exit status."""
    parser = argparse.ArgumentParser(prog="python runner.py batch export", description=DESCRIPTION)
    add_arguments(parser)
    return exit_status(export_command, parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``runner.py batch export``'s arguments."""
    parser.add_argument("out", type=Path, metavar="OUT", help="the batch's --out folder (grades.csv, summary.json)")
    parser.add_argument("--canvas", type=Path, required=True, metavar="ROSTER.csv",
                        help="the gradebook (roster) CSV exported from Canvas")
    parser.add_argument("--assignment", required=True, help='the Canvas column, e.g. "HW2P1 (1234)"')
    parser.add_argument("--score", choices=("total", "main"), default="total",
                        help="total: main + bonus (default); main: the main section only")
    parser.add_argument("--points-possible", type=float, metavar="P",
                        help="the assignment's points in Canvas (default: the roster's Points Possible row)")
    parser.add_argument("--csv", type=Path, help="the import file (default OUT/canvas_import.csv)")
    parser.add_argument("--unmatched", type=Path, help="the unmatched list (default OUT/canvas_unmatched.csv)")


def export_command(args: argparse.Namespace) -> int:
    """Write the import file and the unmatched list; 1 when some students are listed as unmatched."""
    try:
        listed = export(args.out, args.canvas, args.assignment, args.score, args.csv, args.unmatched,
                        args.points_possible)
    except OSError as error:
        raise ExportError(f"cannot write the export: {error}") from None
    for kind, who, reason in listed:
        print(f"  {kind}: {for_terminal(who)}: {for_terminal(reason)}", file=sys.stderr)
    csv_path, unmatched_path = args.csv or args.out / "canvas_import.csv", args.unmatched or args.out / \
        "canvas_unmatched.csv"
    print(f"wrote {for_terminal(str(csv_path))}; {len(listed)} to check, listed in "
          f"{for_terminal(str(unmatched_path))}")
    return EXIT_UNMATCHED if listed else EXIT_OK


__all__ = ["export", "match", "read_roster", "read_grades", "main", "add_arguments", "export_command", "ExportError", "Roster", "sniff_delimiter"]
