"""Hidden means hidden: with a fixture set other than the public one, nothing a student sees reveals it.

A hidden set (seed ``SEED``) is generated in a temporary folder; a shape mutant, a
value mutant, the template and a submission that prints and raises its (hidden)
inputs are graded through every student-visible output: runner.py's stdout and
stderr (Autolab shows them), Gradescope's results.json and the batch's
``--feedback`` files.  None may hold the seed, the set's id or hash, a case's
hyperparameters, description or array shapes, or any input or expected value as
the grader or the student's code would print it.  The staff outputs (``--json``,
the batch's reports and summary) must still carry them.
"""
import json
import re
import shutil
import subprocess
import sys

import pytest

from autograder.compare import format_shape
from autograder.fixtures import load_fixture_set
from autograder.student_view import render_student, student_document
from conftest import COMPLETE, ROOT, TEMPLATE, run_runner, submission

SEED = 918273
ONLY = ["Downsampling1d", "Conv1d", "MeanPool2d_stride1", "Flatten"]
LEAKY_FLATTEN = '''

_Flatten = Flatten


class Flatten(_Flatten):
    """Prints its (hidden) input and raises an exception that carries it."""

    def forward(self, A):
        print("my input:", A, flush=True)
        raise ValueError(f"cannot flatten {A!r}")
'''
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@pytest.fixture(scope="module")
def hidden(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hidden") / "set"
    done = subprocess.run([sys.executable, "-m", "reference.generate", "--seed", str(SEED), "--out", str(folder)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    leaky = tmp_path_factory.mktemp("leaky")
    shutil.copytree(COMPLETE / "mytorch", leaky / "mytorch", ignore=shutil.ignore_patterns("__pycache__"))
    flatten = leaky / "mytorch" / "flatten.py"
    flatten.write_text(flatten.read_text() + LEAKY_FLATTEN)
    return {"shape": submission("mutant_downsample1d_floor"), "values": submission("mutant_meanpool_no_divide"),
            "template": TEMPLATE, "leaky": leaky}


def number_texts(value):
    """Every way the grader or a student's print shows a float, when long enough not to be a point total."""
    value = float(value)
    texts = {f"{value:.10g}", f"{value:.6g}", repr(value), str(value), f"{value:.9g}"}
    return {text for text in texts if len(re.sub(r"[^0-9]", "", text.lstrip("-0."))) >= 5}


def secrets(fixture_folder, items=None):
    """(texts, numbers) a student must never see: the set's identity and every case's particulars."""
    fixture_set = load_fixture_set(fixture_folder)
    texts = {str(SEED), fixture_set.id, fixture_set.manifest_sha256[:12], str(fixture_folder)}
    numbers = set()
    for item, cases in fixture_set.items.items():
        if items is not None and item not in items:
            continue
        for case in cases:
            texts.add(case.description)
            texts.update(f"{key}={value}" for key, value in case.hyperparameters.items())
            for array in case.arrays.values():
                if array.ndim:
                    texts.add(format_shape(array.shape))
                numbers.update(text for value in array.ravel() for text in number_texts(value))
    return texts, numbers


def leaks(text, secret):
    texts, numbers = secret
    found = sorted(t for t in texts if t in text)
    found += sorted(set(NUMBER.findall(text)) & numbers)
    return found


@pytest.fixture(scope="module")
def runner_runs(hidden, submissions, tmp_path_factory):
    """Each submission graded by runner.py on the hidden set: (stdout + stderr, results.json text, --json text)."""
    folder = tmp_path_factory.mktemp("runs")
    runs = {}
    for name, path in submissions.items():
        results, staff = folder / f"{name}.results.json", folder / f"{name}.report.json"
        run = run_runner("--submission", path, "--fixtures", hidden, "--only", ",".join(ONLY),
                         "--format", "gradescope", "--gradescope-out", results, "--jobs", "2", json_path=staff)
        assert run.returncode == 0, run.stderr
        runs[name] = (run.stdout + run.stderr, results.read_text(), staff.read_text(), run)
    return runs


def test_runner_outputs_show_what_failed_and_nothing_of_the_hidden_set(hidden, runner_runs):
    secret = secrets(hidden, ONLY)
    assert len(secret[1]) > 1000  # the check has teeth: many hidden values to look for
    for name, (console, results, _, _) in runner_runs.items():
        assert leaks(console, secret) == [], (name, console)
        assert leaks(results, secret) == [], (name, results)
        assert "fixture set: hidden" in console and json.loads(results)["extra_data"]["fixture_set"] == "hidden"
    shape_console = runner_runs["shape"][0]
    assert 'Downsampling1d, case "odd_width_remainder": wrong shape: forward output Z (expected (N, C, ceil(W/k)))' \
        in shape_console
    assert "wrong values: backward dLdA" in runner_runs["values"][0]
    assert "Flatten: not implemented" in runner_runs["template"][0]
    assert re.search(r'Flatten, case "\w+": exception', runner_runs["leaky"][0])
    tests = {t["name"]: t for t in json.loads(runner_runs["shape"][1])["tests"]}
    assert "wrong shape: forward output Z (expected (N, C, ceil(W/k)))" in tests["Downsampling1d"]["output"]
    for name, (_, _, _, run) in runner_runs.items():  # the Autolab line is unchanged
        assert set(run.last_line["scores"]) == set(ONLY)


def test_staff_json_keeps_the_details(hidden, runner_runs):
    texts, numbers = secrets(hidden, ONLY)
    values = runner_runs["values"][2]
    report = json.loads(values)
    assert report["fixture_set"]["seed"] == SEED
    assert set(NUMBER.findall(values)) & numbers  # the got-vs-expected values are there
    assert any(f"{key}=" in values for key in ("kernel", "input_shape"))
    assert "my input:" in runner_runs["leaky"][2] and "cannot flatten" in runner_runs["leaky"][2]
    assert "(expected (N, C, ceil(W/k)))" in runner_runs["shape"][2]


def test_staff_option_shows_hidden_details(hidden, submissions):
    run = run_runner("--submission", submissions["shape"], "--fixtures", hidden, "--only", "Downsampling1d",
                     "--show-hidden-details")
    assert run.returncode == 0 and f"seed-{SEED}-" in run.stdout and "but the reference has shape" in run.stdout


def test_batch_feedback_is_safe_to_return(hidden, submissions, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name, path in submissions.items():
        shutil.copytree(path, subs / name, ignore=shutil.ignore_patterns("__pycache__"))
    (subs / "empty").mkdir()
    out, feedback = tmp_path / "out", tmp_path / "feedback"
    run = run_runner("batch", subs, "--out", out, "--fixtures", hidden, "--jobs", "2", "--feedback", feedback,
                     timeout=600)
    assert run.returncode == 1, run.stderr  # "empty" has no mytorch/: not graded, listed
    secret = secrets(hidden)
    students = {*submissions, "empty"}
    assert {p.name for p in feedback.iterdir()} == {f"{s}.{suffix}" for s in students for suffix in ("txt", "json")}
    for path in feedback.iterdir():
        text = path.read_text()
        assert leaks(text, secret) == [], (path.name, text)
        assert str(subs) not in text or path.stem == "empty"  # named by student id (an error names the folder)
    assert "wrong shape: forward output Z (expected (N, C, ceil(W/k)))" in (feedback / "shape.txt").read_text()
    assert "no mytorch/ package" in (feedback / "empty.txt").read_text()  # the student's own problem is shown
    document = json.loads((feedback / "values.json").read_text())
    assert document["fixture_set"] == "hidden" and document["status"] == "graded"
    # the staff outputs keep everything
    assert json.loads((out / "summary.json").read_text())["fixture_set"]["seed"] == SEED
    staff = (out / "reports" / "values.json").read_text()
    assert set(NUMBER.findall(staff)) & secret[1]


def test_feedback_folder_must_be_apart_from_the_staff_reports(hidden, tmp_path):
    (tmp_path / "subs").mkdir()
    for feedback in (tmp_path / "out", tmp_path / "out" / "reports"):
        run = run_runner("batch", tmp_path / "subs", "--out", tmp_path / "out", "--fixtures", hidden,
                         "--feedback", feedback)
        assert run.returncode == 2 and "--feedback" in run.stderr


def test_student_view_is_an_allow_list():
    """Fields the view does not know (a future "likely cause", a character map) never reach it."""
    document = {"submission": "s", "status": "graded", "fixture_set": {"id": "seed-1-abc", "seed": 1},
                "totals": {"main": 0, "main_max": 100, "bonus": 0, "bonus_max": 15}, "scores": {"A": 0.0},
                "likely_cause": "SECRET-1", "items": [{
                    "name": "A", "section": "main", "status": "failed", "points": 0, "max_points": 5,
                    "passed_cases": 0, "total_cases": 1, "hint": "SECRET-2", "cases": [{
                        "case": "c", "status": "failed", "message": "SECRET-3", "output": "SECRET-4",
                        "character_map": "SECRET-5", "failures": [{"quantity": "forward Z", "kind": "mismatch",
                                                                   "expected": "SECRET-6"}]}]}]}
    for text in (render_student(document), json.dumps(student_document(document))):
        assert "SECRET" not in text and "seed-1" not in text
        assert "wrong values: forward Z" in text
    assert "SECRET-3" in render_student(document, details=True)  # the public set: messages are shown


def test_a_grading_error_is_shown_only_when_it_is_about_the_students_files():
    base = {"submission": "s", "status": "error", "fixture_set": {}, "scores": {}, "items": [],
            "totals": {"main": 0, "main_max": 100, "bonus": 0, "bonus_max": 15}}
    harness = {**base, "error": f"/staff/hidden-{SEED}/manifest.json: cannot read", "error_source": "harness"}
    own = {**base, "error": "alice: no mytorch/ package folder in it", "error_source": "submission"}
    legacy = {**base, "error": f"seed {SEED}"}  # a report without error_source counts as the harness's
    for document in (harness, legacy):
        for text in (render_student(document), json.dumps(student_document(document))):
            assert str(SEED) not in text and "course staff have the details" in text
    assert "no mytorch/ package" in render_student(own)
