"""Canvas gradebook import: ``python runner.py batch export --canvas ROSTER --assignment NAME OUT``
(``autograder/canvas.py``)."""
import csv
import io
import json
import shutil

import pytest

from autograder import batch, canvas
from conftest import COMPLETE
from test_batch import trimmed_fixtures

ROSTER = """\
Student,ID,SIS User ID,SIS Login ID,Section,HW1 (1000)
    Points Possible,,,,,100
"Smith, Alice",101,S001,alice,Section A,90
"Jones, Bob",102,S002,BOB@school.edu,Section A,
"Brown, Carol",103,carol,c.brown,Section B,
"Doe, Dave",104,S004,dave,Section B,
"=Eve, Mallory",105,S005,-mallory,Section B,
"Student, Test",999,,test1,Section A,
"""
GRADES = """\
student,Conv1d,main,bonus,status
alice,5,80,5,graded
bob@school.edu,5,70,0,graded
carol,0,60,10,graded
dave,0,0,0,error
'-mallory,0,50,0,graded
zed,5,100,15,graded
"""


def batch_out(tmp_path, grades=GRADES, main_max=100.0):
    out = tmp_path / "out"
    out.mkdir()
    (out / "grades.csv").write_text(grades)
    (out / "summary.json").write_text(json.dumps({"main_max": main_max}))
    roster = tmp_path / "roster.csv"
    roster.write_text("\ufeff" + ROSTER)  # Canvas exports start with a byte-order mark
    return out, roster


def rows(path):
    return list(csv.reader(io.StringIO(path.read_text())))


def test_export_matches_by_login_then_sis_id_then_id(tmp_path, capsys):
    out, roster = batch_out(tmp_path)
    code = canvas.main([str(out), "--canvas", str(roster), "--assignment", "HW2P1 (1234)"])
    assert code == 1  # dave was not graded, zed has no roster row
    written = rows(out / "canvas_import.csv")
    assert written[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW2P1 (1234)"]
    assert written[1] == ["    Points Possible", "", "", "", "", "100"]
    by_id = {row[1]: row for row in written[2:]}
    assert by_id["101"][-1] == "85"        # alice: SIS Login ID, total = main + bonus
    assert by_id["102"][-1] == "70"        # bob: SIS Login ID, case-insensitive
    assert by_id["103"][-1] == "70"        # carol: SIS User ID (her login is c.brown)
    assert by_id["105"][-1] == "50"        # '-mallory in grades.csv is the id -mallory
    assert by_id["105"][0] == "'=Eve, Mallory" and by_id["105"][3] == "'-mallory"  # never a formula
    assert "104" not in by_id and "999" not in by_id  # dave: status error, left out; the test student skipped
    unmatched = rows(out / "canvas_unmatched.csv")
    assert unmatched[0] == ["kind", "who", "reason"]
    kinds = {(row[0], row[1].split(" (")[0]) for row in unmatched[1:]}
    assert kinds == {("roster student not graded", "Doe, Dave"), ("submission without roster student", "zed")}
    err = capsys.readouterr().err
    assert "zed" in err and "Doe, Dave" in err


def test_export_main_score_and_ambiguity(tmp_path):
    grades = GRADES.replace("zed,", "s00,").replace("carol,", "103,")
    out, roster = batch_out(tmp_path, grades)
    roster.write_text(ROSTER + '"Twin, One",106,X,s00,A\n"Twin, Two",107,Y,S00,A\n')
    assert canvas.main([str(out), "--canvas", str(roster), "--assignment", "HW2P1", "--score", "main"]) == 1
    by_id = {row[1]: row for row in rows(out / "canvas_import.csv")[2:]}
    assert by_id["101"][-1] == "80" and by_id["103"][-1] == "60"  # carol by Canvas ID
    unmatched = rows(out / "canvas_unmatched.csv")
    assert ["submission without roster student", "s00", "2 roster rows have this SIS Login ID"] in unmatched


def test_everyone_matched_exits_0(tmp_path):
    out, roster = batch_out(tmp_path, "student,main,bonus,status\nalice,80,0,graded\n")
    roster.write_text('Student,ID,SIS User ID,SIS Login ID,Section\n"Smith, Alice",101,S001,alice,A\n')
    assert canvas.main([str(out), "--canvas", str(roster), "--assignment", "HW2P1 (1)"]) == 0
    assert rows(out / "canvas_unmatched.csv") == [["kind", "who", "reason"]]


@pytest.mark.parametrize("damage, message", [
    (lambda out, roster: (out / "grades.csv").unlink(), "cannot read the batch grades"),
    (lambda out, roster: (out / "summary.json").unlink(), "main maximum"),
    (lambda out, roster: roster.write_text("Name,Email\nx,y\n"), "not a Canvas roster export"),
    (lambda out, roster: (out / "grades.csv").write_text("a,b\n1,2\n"), "not a batch grades.csv"),
])
def test_usage_errors_exit_2(tmp_path, capsys, damage, message):
    out, roster = batch_out(tmp_path)
    damage(out, roster)
    assert canvas.main([str(out), "--canvas", str(roster), "--assignment", "HW2P1 (1234)"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not (out / "canvas_import.csv").exists()


def test_runner_batch_export_after_a_real_batch(tmp_path, runner_run):
    fixtures = trimmed_fixtures(tmp_path / "fixtures")
    subs = tmp_path / "subs"
    shutil.copytree(COMPLETE / "mytorch", subs / "alice" / "mytorch", ignore=shutil.ignore_patterns("__pycache__"))
    (subs / "nobody").mkdir(parents=True)
    out = tmp_path / "out"
    run = runner_run("batch", subs, "--out", out, "--fixtures", fixtures, "--jobs", "2", timeout=300)
    assert run.returncode == 1, run.stderr  # nobody has no mytorch/
    roster = tmp_path / "roster.csv"
    roster.write_text('Student,ID,SIS User ID,SIS Login ID,Section\n"Smith, Alice",101,S001,alice,A\n'
                      '"Ng, Nobody",102,S002,nobody,A\n')
    run = runner_run("batch", "export", "--canvas", roster, "--assignment", "HW2P1 (1234)", out)
    assert run.returncode == 1 and "Ng, Nobody" in run.stderr
    written = rows(out / "canvas_import.csv")
    summary = json.loads((out / "summary.json").read_text())
    assert written[1][-1] == f"{summary['main_max']:g}"
    assert written[2:] == [["Smith, Alice", "101", "S001", "alice", "A", f"{summary['main_max'] + summary['bonus_max']:g}"]]


def test_a_submissions_folder_named_export_is_still_a_batch(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:  # batch's own option check, not the export's parser
        batch.main(["export", "--out", str(tmp_path / "out"), "--jobs", "0"])
    assert exit_info.value.code == 2 and "--jobs must be at least 1" in capsys.readouterr().err
