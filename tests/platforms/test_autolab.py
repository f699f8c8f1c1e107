"""Autolab: the generated lab folder, and simulated Tango runs of its Makefile (``autograder/platforms/autolab.py``).

Autolab's contract (docs/lab.md): for each submission Autolab copies the handin file (renamed to the
lab's handin name), ``autograde.tar`` and ``autograde-Makefile`` (renamed ``Makefile``) into an empty
folder and runs ``make``; Tango's autodriver writes make's stdout and stderr to one file, and Autolab
reads its last line as ``{"scores": {...}}``, whose names must be exactly the lab's problems.  The lab
is built with a trimmed grading set (one case per item) and a short case limit.
"""
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

from autograder.platforms import autolab
from autograder.platforms.common import TimeBudget
from helpers import COMPLETE, MAX_POINTS, RUBRIC, SUBMISSIONS, TEMPLATE, trimmed_fixtures

CASE_LIMIT = 2.0
JOBS = 2
LAB = "hw2p1"
NAMES = RUBRIC.names
BONUS = {item.name for item in RUBRIC.items if str(item.section) == "bonus"}
YAML_LINE = re.compile(r'^(---|[a-z_]+:( .+)?|  [a-z_]+: .+|- [a-z_]+: .+)$')


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("autolab")
    fixtures = trimmed_fixtures(base / "trimmed")
    out = base / "out"
    assert autolab.main(["--out", str(out), "--fixtures", str(fixtures), "--timeout", str(CASE_LIMIT),
                         "--jobs", str(JOBS)]) == 0
    return out


def read_yaml(text):
    """The subset of YAML the lab's .yml uses (block mappings, lists of mappings, JSON scalars)."""
    lines = text.splitlines()
    assert lines[0] == "---" and all(YAML_LINE.match(line) for line in lines), text
    document, key = {}, None
    for line in lines[1:]:
        if not line.startswith((" ", "-")):
            key = line.rstrip(":")
            document[key] = None
            continue
        name, value = line.lstrip("- ").split(": ", 1)
        if line.startswith("- "):
            document[key] = (document[key] or []) + [{}]
        target = document[key][-1] if isinstance(document[key], list) else document.setdefault(key, None)
        if target is None:
            target = document[key] = {}
        target[name] = json.loads(value)
    return document


def test_the_lab_lists_the_21_problems_with_the_rubrics_names_and_points(lab):
    folder = lab / LAB
    assert {path.name for path in folder.iterdir()} == {f"{LAB}.yml", "autograde-Makefile", "autograde.tar",
                                                         "problems.csv"}
    assessment = read_yaml((folder / f"{LAB}.yml").read_text())
    assert [p["name"] for p in assessment["problems"]] == NAMES and len(NAMES) == 21
    for problem in assessment["problems"]:
        assert problem["max_score"] == MAX_POINTS[problem["name"]]
        assert problem["optional"] is (problem["name"] in BONUS)
    general = assessment["general"]
    assert general["name"] == LAB and general["handin_filename"] == "handin.zip" and general["display_name"]
    cases = len(NAMES)  # one case per item in the trimmed set
    assert assessment["autograder"]["autograde_timeout"] == TimeBudget(cases, CASE_LIMIT, JOBS).seconds
    assert assessment["autograder"]["release_score"] is True
    rows = [line.split(",")[:3] for line in (folder / "problems.csv").read_text().splitlines()[1:]]
    assert rows == [[name, f"{MAX_POINTS[name]:g}", str(name in BONUS).lower()] for name in NAMES]


def test_the_tarball_imports_as_one_assessment_folder(lab):
    with tarfile.open(lab / f"{LAB}.tar") as archive:
        names = archive.getnames()
        assert all(name == LAB or name.startswith(f"{LAB}/") for name in names)
        assert archive.extractfile(f"{LAB}/{LAB}.yml").read() == (lab / LAB / f"{LAB}.yml").read_bytes()
    with tarfile.open(lab / LAB / "autograde.tar") as archive:
        tops = {name.split("/")[0] for name in archive.getnames()}
        config = json.loads(archive.extractfile(autolab.CONFIG_NAME).read())
    assert tops == {"autograder", "fixtures", "grading_fixtures", "student_template", "runner.py",
                    "requirements.txt", autolab.CONFIG_NAME}
    assert config["problems"] == NAMES and config["handin"] == "handin.zip"


# ------------------------------------------------------------------------------- simulated Tango runs


def zip_bytes(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def targz_bytes(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def package(source, prefix="mytorch/"):
    return {prefix + path.name: path.read_bytes() for path in sorted((source / "mytorch").glob("*.py"))}


def tango(tmp_path, lab, handin, make_args=(), autograde_tar=None):
    """What Tango does: an empty folder with the handin (renamed handin.zip), autograde.tar and the
    Makefile; ``make``, its stdout and stderr in one file.  Returns make's exit status and the lines."""
    if shutil.which("make") is None:
        pytest.skip("no make on this machine: Tango runs the lab's Makefile with make")
    work = tmp_path / "job"
    work.mkdir()
    shutil.copy(lab / LAB / "autograde-Makefile", work / "Makefile")
    shutil.copy(autograde_tar or lab / LAB / "autograde.tar", work / "autograde.tar")
    if handin is not None:
        (work / "handin.zip").write_bytes(handin)
    with open(tmp_path / "output.log", "wb") as output:
        done = subprocess.run(["make", f"PYTHON={sys.executable}", *make_args], cwd=work, stdout=output,
                              stderr=subprocess.STDOUT, timeout=300)
    return done.returncode, (tmp_path / "output.log").read_text().splitlines()


def scores(lines):
    """The last line, which Autolab reads: a JSON object with exactly the 21 problems."""
    last = json.loads(lines[-1])
    assert list(last["scores"]) == NAMES, lines[-1]
    return last["scores"]


@pytest.mark.slow
def test_complete_zip_gets_full_marks(tmp_path, lab):
    status, lines = tango(tmp_path, lab, zip_bytes(package(COMPLETE)))
    assert status == 0 and scores(lines) == MAX_POINTS
    feedback = json.loads(lines[-2])  # Autolab's formatted feedback, just before the scores
    assert feedback["_presentation"] == "semantic" and feedback["stages"] == ["Main", "Bonus"]


@pytest.mark.slow
def test_template_tar_gz_one_folder_down_gets_0(tmp_path, lab):
    status, lines = tango(tmp_path, lab, targz_bytes(package(TEMPLATE, "handin/mytorch/")))
    assert status == 0 and set(scores(lines).values()) == {0.0}
    assert any("Total score: 0/100 (+0/15 bonus)" in line for line in lines)


@pytest.mark.slow
def test_module_files_without_a_folder_are_completed_by_the_template(tmp_path, lab):
    with tarfile.open(lab / LAB / "autograde.tar") as archive:
        graded = json.loads(archive.extractfile(autolab.CONFIG_NAME).read())["graded_files"]
    files = {name: data for name, data in package(COMPLETE, "").items() if name in graded}
    status, lines = tango(tmp_path, lab, zip_bytes(files))
    assert status == 0 and scores(lines) == MAX_POINTS


@pytest.mark.slow
@pytest.mark.parametrize("handin, reason", [
    (zip_bytes({"notes.txt": b"forgot the code"}), "no mytorch/ folder"),
    (b"def forward(self, A):\n    return A\n", "not a .zip, .tar or .tar.gz archive"),
    (zip_bytes({"../escape/mytorch/conv1d.py": b"x = 1\n"}), "'..' path component"),
], ids=["no_package", "not_an_archive", "unsafe_archive"])
def test_a_handin_that_cannot_be_graded_scores_0_and_says_why(tmp_path, lab, handin, reason):
    status, lines = tango(tmp_path, lab, handin)
    assert status == 0 and set(scores(lines).values()) == {0.0}
    assert any(reason in line for line in lines[:-1]), lines
    assert not (tmp_path / "escape").exists() and not (tmp_path / "job" / "escape").exists()


@pytest.mark.slow
def test_a_looping_submission_still_ends_with_the_scores(tmp_path, lab):
    files = package(COMPLETE)
    files["mytorch/flatten.py"] = (SUBMISSIONS / "hostile_loop_forward" / "mytorch" / "flatten.py").read_bytes()
    status, lines = tango(tmp_path, lab, zip_bytes(files))
    result = scores(lines)
    assert status == 0 and result["Flatten"] == 0 and result["Conv1d"] == MAX_POINTS["Conv1d"]


def edited_autograde_tar(lab, target, edit):
    """A copy of autograde.tar with ``edit({name: bytes})`` applied."""
    with tarfile.open(lab / LAB / "autograde.tar") as archive:
        files = {member.name: archive.extractfile(member).read() for member in archive.getmembers() if member.isfile()}
    edit(files)
    target.write_bytes(autolab.tar_bytes(files))
    return target


@pytest.mark.slow
def test_a_grading_past_the_deadline_is_stopped_and_the_scores_still_come_last(tmp_path, lab):
    def slow(files):
        config = json.loads(files[autolab.CONFIG_NAME])
        files[autolab.CONFIG_NAME] = json.dumps({**config, "timeout": 60, "deadline": 4}).encode()
    files = package(COMPLETE)
    files["mytorch/flatten.py"] = (SUBMISSIONS / "hostile_loop_forward" / "mytorch" / "flatten.py").read_bytes()
    status, lines = tango(tmp_path, lab, zip_bytes(files), autograde_tar=edited_autograde_tar(lab, tmp_path / "a.tar", slow))
    assert status == 0 and set(scores(lines).values()) == {0.0}
    assert any("Grading failed: grading did not finish within 4 s" in line for line in lines)


@pytest.mark.slow
def test_a_harness_error_says_grading_failed_and_the_scores_come_last(tmp_path, lab):
    def tamper(files):
        manifest = "grading_fixtures/manifest.json"
        files[manifest] = files[manifest].replace(b'"seed"', b'"seed_"', 1)
    status, lines = tango(tmp_path, lab, zip_bytes(package(COMPLETE)),
                          autograde_tar=edited_autograde_tar(lab, tmp_path / "a.tar", tamper))
    assert status == 0 and set(scores(lines).values()) == {0.0}
    assert any(line.startswith("GRADING ERROR: ") and "course staff" in line for line in lines)


def test_python_that_cannot_start_still_ends_with_the_scores(tmp_path, lab):
    status, lines = tango(tmp_path, lab, zip_bytes(package(COMPLETE)), [f"PYTHON={tmp_path / 'no-such-python'}"])
    assert status == 0 and set(scores(lines).values()) == {0.0}
    assert "Grading failed: the autograder did not finish (see above); every problem scores 0." in lines


def test_a_missing_handin_still_ends_with_the_scores(tmp_path, lab):
    status, lines = tango(tmp_path, lab, None)
    assert status == 0 and set(scores(lines).values()) == {0.0}
    assert any("handin file handin.zip is not in the grading folder" in line for line in lines)


@pytest.mark.slow
def test_driver_exit_status_and_the_scores_line_repeated_after_late_output(tmp_path, lab, capsys):
    """``grade`` itself: 0 for a result (graded, or the student's own files), 2 when grading failed (the
    Makefile succeeds either way); a grader whose scores line is followed by other output gets its
    scores line printed again, last."""
    harness = tmp_path / "harness"
    with tarfile.open(lab / LAB / "autograde.tar") as archive:
        archive.extractall(harness, filter="data") if sys.version_info >= (3, 12) else archive.extractall(harness)
    handin = tmp_path / "handin.zip"
    handin.write_bytes(zip_bytes(package(TEMPLATE)))
    assert autolab.grade(handin, harness) == 0
    handin.write_bytes(zip_bytes({"a.txt": b"x"}))
    assert autolab.grade(handin, harness) == 0
    line = json.dumps({"scores": {name: 1.0 for name in NAMES}})
    late = tmp_path / "late-python"
    late.write_text(f"#!/bin/sh\necho '{line}'\necho 'a warning at exit' >&2\n")
    late.chmod(0o755)
    handin.write_bytes(zip_bytes(package(COMPLETE)))
    capsys.readouterr()
    assert autolab.grade(handin, harness, python=str(late)) == 0  # the grader's own result, repeated last
    assert capsys.readouterr().out.splitlines()[-3:] == [line, "a warning at exit", line]
    assert autolab.grade(tmp_path / "nothing.zip", harness) == 2
    assert os.path.isdir(harness / "autograder")
