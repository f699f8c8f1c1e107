"""Canvas gradebook import: ``python runner.py batch export --canvas ROSTER --assignment NAME OUT``
(``autograder/platforms/canvas.py``), against exports laid out as Canvas writes them (a byte-order mark, the
``Points Possible`` row, a ``Manual Posting`` row, ``Integration ID``, read-only score columns, quoted
names with commas, comma- or semicolon-separated) and read back by Canvas's own import rules."""
import csv
import io
import json
import shutil

import pytest

from autograder.batch import main as batch

from autograder.platforms import canvas
from helpers import COMPLETE, trimmed_fixtures

HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section", "HW1 (1000)",
          "HW2P1 (1234)", "Lab 1, part 2 (1400)", "Current Score", "Unposted Current Score", "Final Score"]
POINTS = ["    Points Possible", "", "", "", "", "", "10.00", "50.00", "5.00", "(read only)", "(read only)",
          "(read only)"]
MANUAL = ["", "", "", "", "", "", "", "Manual Posting", "", "", "", ""]
STUDENTS = [
    ["Smith, Alice", "101", "S001", "alice", "", "Section A", "9.00", "", "4.50", "90.00", "90.00", "90.00"],
    ["Jones, Bob", "102", "S002", "BOB@school.edu", "", "Section A", "", "", "", "", "", ""],
    ["Brown, Carol", "103", "carol", "c.brown", "", "Section B", "", "", "", "", "", ""],
    ["Doe, Dave", "104", "S004", "dave", "", "Section B", "", "", "", "", "", ""],
    ["=Eve, Mallory", "105", "S005", "-mallory", "", "Section B", "", "", "", "", "", ""],
    ["Student, Test", "999", "", "test1", "", "Section A", "", "", "", "", "", ""],
]
GRADES = """\
student,Conv1d,main,bonus,status
alice,5,80,5.5,graded
bob@school.edu,5,70,0,graded
carol,0,60,10,graded
dave,0,0,0,error
'-mallory,0,50,0,graded
zed,5,100,15,graded
"""
ASSIGNMENT = "HW2P1 (1234)"


def export_text(delimiter=",", rows=None, decimal="."):
    """A gradebook export as Canvas writes it: every cell quoted where it must be, numbers with ``decimal``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    for row in rows if rows is not None else [HEADER, MANUAL, POINTS, *STUDENTS]:
        writer.writerow([cell.replace(".", decimal) if cell[:1].isdigit() else cell for cell in row])
    return "\ufeff" + buffer.getvalue()  # Canvas exports start with a byte-order mark


def batch_out(tmp_path, grades=GRADES, main_max=100.0, roster=None):
    out = tmp_path / "out"
    out.mkdir()
    (out / "grades.csv").write_text(grades)
    (out / "summary.json").write_text(json.dumps({"main_max": main_max}))
    path = tmp_path / "roster.csv"
    path.write_text(export_text() if roster is None else roster)
    return out, path


def canvas_reads(path):
    """The import file read by Canvas's rules (GradebookImporter): the delimiter that gives every one of the
    first three lines the same number of fields (semicolon only when it gives more), a header whose first
    cell holds ``Student`` and second ``ID`` and whose student columns end with ``Section``, the row whose
    first cell holds ``Points Possible``, decimal commas read as points.  Returns
    ({assignment: points possible}, {student ID: {assignment: grade}})."""
    text = path.read_text(encoding="utf-8-sig")
    first = text.splitlines()[:3]
    counts = {}
    for separator in (";", ","):
        fields = {len(next(csv.reader([line], delimiter=separator))) for line in first}
        counts[separator] = fields.pop() if len(fields) == 1 else 0
    separator = ";" if counts[";"] > counts[","] else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=separator))
    header = rows[0]
    assert "Student" in header[0] and "ID" in header[1]
    assert header[2:5] == ["SIS User ID", "SIS Login ID", "Section"]  # the last student column is Section
    assignments = header[5:]
    points, grades = {}, {}
    for row in rows[1:]:
        assert len(row) == len(header)
        if "Points Possible" in row[0]:
            points = {name: float(value.replace(",", ".")) for name, value in zip(assignments, row[5:])}
        else:
            grades[row[1]] = {name: float(value.replace(",", ".")) for name, value in zip(assignments, row[5:])}
    return points, grades


def rows(path):
    return list(csv.reader(io.StringIO(path.read_text())))


def test_export_reads_the_points_possible_and_matches_by_login_then_sis_id_then_id(tmp_path, capsys):
    out, roster = batch_out(tmp_path)
    code = canvas.main([str(out), "--canvas", str(roster), "--assignment", ASSIGNMENT])
    assert code == 1  # dave was not graded, zed has no roster row
    written = rows(out / "canvas_import.csv")
    assert written[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert written[1] == ["    Points Possible", "", "", "", "", "50"]  # the assignment's, not the batch's 100
    by_id = {row[1]: row for row in written[2:]}
    assert by_id["101"][-1] == "85.5"      # alice: SIS Login ID, total = main + bonus
    assert by_id["102"][-1] == "70"        # bob: SIS Login ID, case-insensitive
    assert by_id["103"][-1] == "70"        # carol: SIS User ID (her login is c.brown)
    assert by_id["105"][-1] == "50"        # '-mallory in grades.csv is the id -mallory
    assert by_id["105"][0] == "'=Eve, Mallory" and by_id["105"][3] == "'-mallory"  # never a formula
    assert "104" not in by_id and "999" not in by_id  # dave: status error, left out; the test student skipped
    assert "" not in by_id  # neither the Manual Posting row nor the Points Possible row is a student
    points, grades = canvas_reads(out / "canvas_import.csv")
    assert points == {ASSIGNMENT: 50.0} and grades["101"] == {ASSIGNMENT: 85.5} and set(grades) == set(by_id)
    unmatched = rows(out / "canvas_unmatched.csv")
    assert unmatched[0] == ["kind", "who", "reason"]
    kinds = {(row[0], row[1].split(" (")[0]) for row in unmatched[1:]}
    assert kinds == {("roster student not graded", "Doe, Dave"), ("submission without roster student", "zed")}
    err = capsys.readouterr().err
    assert "zed" in err and "Doe, Dave" in err
    assert "worth 50 points in Canvas and the batch's main maximum is 100" in err  # said, never rescaled


def test_a_semicolon_export_is_read_and_answered_in_kind(tmp_path):
    out, roster = batch_out(tmp_path, roster=export_text(";", decimal=","))
    assert canvas.sniff_delimiter(roster.read_text(encoding="utf-8-sig")) == ";"
    assert canvas.main([str(out), "--canvas", str(roster), "--assignment", ASSIGNMENT]) == 1
    text = (out / "canvas_import.csv").read_text()
    assert text.splitlines()[0] == ";".join(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT])
    assert text.splitlines()[1] == "    Points Possible;;;;;50"
    assert "Smith, Alice;101;S001;alice;Section A;85,5" in text.splitlines()  # a decimal comma, as Canvas writes
    points, grades = canvas_reads(out / "canvas_import.csv")
    assert points == {ASSIGNMENT: 50.0} and grades["101"] == {ASSIGNMENT: 85.5} and grades["103"] == {ASSIGNMENT: 70}
    comma_out = tmp_path / "comma"
    comma_out.mkdir()
    comma_out, comma_roster = batch_out(comma_out)
    canvas.main([str(comma_out), "--canvas", str(comma_roster), "--assignment", ASSIGNMENT])
    assert canvas_reads(comma_out / "canvas_import.csv") == (points, grades)  # the same grades either way


def test_quoted_names_and_an_assignment_name_with_a_comma(tmp_path):
    out, roster = batch_out(tmp_path)
    assert canvas.main([str(out), "--canvas", str(roster), "--assignment", "Lab 1, part 2 (1400)"]) == 1
    written = rows(out / "canvas_import.csv")
    assert written[0][-1] == "Lab 1, part 2 (1400)" and written[1][-1] == "5"
    assert ["Smith, Alice", "101", "S001", "alice", "Section A", "85.5"] in written
    assert canvas_reads(out / "canvas_import.csv")[0] == {"Lab 1, part 2 (1400)": 5.0}


@pytest.mark.parametrize("given, suggestion", [
    ("HW2P1", "did you mean 'HW2P1 (1234)'?"),            # Canvas's name without the id
    ("HW2P1 (1243)", "did you mean 'HW2P1 (1234)'?"),     # a mistyped id
    ("hw1 (1000)", "did you mean 'HW1 (1000)'?"),
    ("Project 3 (2000)", "(its assignment columns: 'HW1 (1000)', 'HW2P1 (1234)', 'Lab 1, part 2 (1400)')"),
])
def test_an_assignment_that_is_not_a_roster_column_is_refused(tmp_path, capsys, given, suggestion):
    out, roster = batch_out(tmp_path)
    assert canvas.main([str(out), "--canvas", str(roster), "--assignment", given]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a column of" in err[0] and "Canvas would create a new assignment" in err[0]
    assert suggestion in err[0]
    assert not (out / "canvas_import.csv").exists()


def test_points_possible_given_missing_or_read_only(tmp_path, capsys):
    out, roster = batch_out(tmp_path)
    assert canvas.main([str(out), "--canvas", str(roster), "--assignment", ASSIGNMENT,
                        "--points-possible", "100"]) == 1
    assert rows(out / "canvas_import.csv")[1][-1] == "100"
    err = capsys.readouterr().err
    assert "--points-possible 100 replaces the roster's 50" in err and "not rescaled" not in err

    assert canvas.main([str(out), "--canvas", str(roster), "--assignment", "Current Score"]) == 2
    assert "a column Canvas computes" in capsys.readouterr().err
    notes = [HEADER[:6] + ["Notes", ASSIGNMENT], POINTS[:6] + ["(read only)", "50.00"]]  # the course's own column
    roster.write_text(export_text(rows=[*notes, *(row[:8] for row in STUDENTS)]))
    assert canvas.main([str(out), "--canvas", str(roster), "--assignment", "Notes"]) == 2
    assert "'Notes' is read only in Canvas" in capsys.readouterr().err

    (out / "canvas_import.csv").unlink()
    roster.write_text(export_text(rows=[HEADER, *STUDENTS]))  # no Points Possible row
    assert canvas.main([str(out), "--canvas", str(roster), "--assignment", ASSIGNMENT]) == 2
    assert "no Points Possible row: give --points-possible" in capsys.readouterr().err
    assert not (out / "canvas_import.csv").exists()
    assert canvas.main([str(out), "--canvas", str(roster), "--assignment", ASSIGNMENT,
                        "--points-possible", "12.5"]) == 1
    assert canvas_reads(out / "canvas_import.csv")[0] == {ASSIGNMENT: 12.5}


def test_export_main_score_and_ambiguity(tmp_path):
    grades = GRADES.replace("zed,", "s00,").replace("carol,", "103,")
    twins = [["Twin, One", "106", "X", "s00", "", "A", *[""] * 6], ["Twin, Two", "107", "Y", "S00", "", "A", *[""] * 6]]
    out, roster = batch_out(tmp_path, grades, roster=export_text(rows=[HEADER, POINTS, *STUDENTS, *twins]))
    assert canvas.main([str(out), "--canvas", str(roster), "--assignment", ASSIGNMENT, "--score", "main"]) == 1
    by_id = {row[1]: row for row in rows(out / "canvas_import.csv")[2:]}
    assert by_id["101"][-1] == "80" and by_id["103"][-1] == "60"  # carol by Canvas ID
    unmatched = rows(out / "canvas_unmatched.csv")
    assert ["submission without roster student", "s00", "2 roster rows have this SIS Login ID"] in unmatched


def test_everyone_matched_exits_0(tmp_path):
    roster = 'Student,ID,SIS User ID,SIS Login ID,Section,HW2P1 (1)\n    Points Possible,,,,,100\n' \
             '"Smith, Alice",101,S001,alice,A,\n'
    out, path = batch_out(tmp_path, "student,main,bonus,status\nalice,80,0,graded\n", roster=roster)
    assert canvas.main([str(out), "--canvas", str(path), "--assignment", "HW2P1 (1)"]) == 0
    assert rows(out / "canvas_unmatched.csv") == [["kind", "who", "reason"]]


@pytest.mark.parametrize("damage, message", [
    (lambda out, roster: (out / "grades.csv").unlink(), "cannot read the batch grades"),
    (lambda out, roster: (out / "summary.json").unlink(), "main maximum"),
    (lambda out, roster: roster.write_text("Name,Email\nx,y\n"), "not a Canvas roster export"),
    (lambda out, roster: roster.write_text("Name;Email\nx;y\n"), "not a Canvas roster export"),
    (lambda out, roster: (out / "grades.csv").write_text("a,b\n1,2\n"), "not a batch grades.csv"),
])
def test_usage_errors_exit_2(tmp_path, capsys, damage, message):
    out, roster = batch_out(tmp_path)
    damage(out, roster)
    assert canvas.main([str(out), "--canvas", str(roster), "--assignment", ASSIGNMENT]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not (out / "canvas_import.csv").exists()


@pytest.mark.slow
def test_runner_batch_export_after_a_real_batch(tmp_path, runner_run):
    fixtures = trimmed_fixtures(tmp_path / "fixtures")
    subs = tmp_path / "subs"
    shutil.copytree(COMPLETE / "mytorch", subs / "alice" / "mytorch", ignore=shutil.ignore_patterns("__pycache__"))
    (subs / "nobody").mkdir(parents=True)
    out = tmp_path / "out"
    run = runner_run("batch", subs, "--out", out, "--fixtures", fixtures, "--jobs", "2", timeout=300)
    assert run.returncode == 1, run.stderr  # nobody has no mytorch/
    summary = json.loads((out / "summary.json").read_text())
    feedback = json.loads((out / "reports" / "nobody.json").read_text())["error"]
    assert "your upload has no mytorch/ package folder" in feedback and "pass the folder" not in feedback
    roster = tmp_path / "roster.csv"
    roster.write_text(export_text(";", decimal=",", rows=[
        HEADER[:6] + [ASSIGNMENT], POINTS[:6] + [f"{summary['main_max']:.2f}"],
        STUDENTS[0][:6] + [""], ["Ng, Nobody", "102", "S002", "nobody", "", "A", ""]]))
    run = runner_run("batch", "export", "--canvas", roster, "--assignment", ASSIGNMENT, out)
    assert run.returncode == 1 and "Ng, Nobody" in run.stderr and "rescaled" not in run.stderr
    points, grades = canvas_reads(out / "canvas_import.csv")
    assert points == {ASSIGNMENT: summary["main_max"]}
    assert grades == {"101": {ASSIGNMENT: summary["main_max"] + summary["bonus_max"]}}


def test_a_submissions_folder_named_export_is_still_a_batch(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:  # batch's own option check, not the export's parser
        batch.main(["export", "--out", str(tmp_path / "out"), "--jobs", "0"])
    assert exit_info.value.code == 2 and "--jobs must be at least 1" in capsys.readouterr().err
