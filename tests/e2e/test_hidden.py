"""Hidden means hidden: with a fixture set other than the public one, nothing a student sees reveals it.

A hidden set (seed ``SEED``) is generated in a temporary folder; a shape mutant, a
value mutant, the template and a submission that prints and raises its (hidden)
inputs are graded through every student-visible output: runner.py's stdout and
stderr (Autolab shows them), Autolab's feedback line, Gradescope's and
PrairieLearn's results.json and the batch's ``--feedback`` files.  None may hold
the seed, the set's id or hash, a case's hyperparameters, description or array
shapes, or any input or expected value as the grader or the student's code would
print it; and by default not how a case failed either (its kind, quantity, likely
cause, exception, timeout...), which the student's code could choose to spell out
the inputs: only whether each case passed, one bit per case, and no timing.  With
the staff's ``--hidden-detail kinds`` the kinds are shown, still no value.  The
staff outputs (``--json``, the batch's reports and summary) must still carry everything.
"""
import json
import re
import shutil
import subprocess
import sys

import pytest

from autograder.judge.compare import format_shape
from autograder.contract.fixtures import load_fixture_set
from autograder.report.student_view import render_student, student_document
from helpers import COMPLETE, ROOT, TEMPLATE, run_runner, submission

pytestmark = pytest.mark.slow  # hidden fixture sets graded in full

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
# How a case failed, as any student-visible output of a hidden set at the "kinds" level would say it
FAILURE_KINDS = ("wrong values", "wrong shape", "not a valid result", "wrong result", "exception", "timeout",
                 "timed out", "crashed", "not implemented", "not_implemented", "likely cause", "(expected",
                 "forward output", "backward dLd", "dLdA", "ValueError", "NotImplementedError", "TODO", "skipped")


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
            "relation": submission("mutant_meanpool_forward_sums"), "template": TEMPLATE, "leaky": leaky}


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


def kinds_shown(text):
    """The words of FAILURE_KINDS in ``text`` (a student-visible output of a hidden set)."""
    return [kind for kind in FAILURE_KINDS if kind in text]


def grade_everywhere(path, hidden, folder, name, *options):
    """runner.py on the hidden set, writing every student-visible output at once: (stdout + stderr with
    Autolab's feedback line, Gradescope's results.json text, PrairieLearn's results.json text, --json
    text, the run).  One run per platform format (--format takes one)."""
    staff, gradescope, prairielearn = (folder / f"{name}.{kind}.json" for kind in ("report", "gs", "pl"))
    common = ["--submission", path, "--fixtures", hidden, "--only", ",".join(ONLY), "--jobs", "2", *options]
    run = run_runner(*common, "--format", "gradescope", "--gradescope-out", gradescope, "--autolab-feedback",
                     json_path=staff)
    assert run.returncode == 0, run.stderr
    other = run_runner(*common, "--format", "prairielearn", "--prairielearn-out", prairielearn)
    assert other.returncode == 0, other.stderr
    return (run.stdout + run.stderr + other.stdout + other.stderr, gradescope.read_text(), prairielearn.read_text(),
            staff.read_text(), run)


@pytest.fixture(scope="module")
def runner_runs(hidden, submissions, tmp_path_factory):
    """Each submission graded by runner.py on the hidden set (see grade_everywhere), as by default."""
    folder = tmp_path_factory.mktemp("runs")
    return {name: grade_everywhere(path, hidden, folder, name) for name, path in submissions.items()}


def test_runner_outputs_show_which_cases_passed_and_nothing_else_of_the_hidden_set(hidden, runner_runs):
    """Terminal (with Autolab's feedback line), Gradescope and PrairieLearn: per case passed or failed,
    never how it failed, a value or a time."""
    secret = secrets(hidden, ONLY)
    assert len(secret[1]) > 1000  # the check has teeth: many hidden values to look for
    for name, (console, gradescope, prairielearn, _, run) in runner_runs.items():
        for text in (console, gradescope, prairielearn):
            assert leaks(text, secret) == [], (name, text)
            assert kinds_shown(text) == [], (name, text)
        assert "fixture set: hidden" in console and "only which cases passed is shown" in console
        document = json.loads(gradescope)
        assert document["extra_data"]["fixture_set"] == "hidden" and document["execution_time"] == 0
        assert set(run.last_line["scores"]) == set(ONLY)  # the Autolab line is unchanged
    shape_console = runner_runs["shape"][0]
    assert 'Downsampling1d, case "odd_width_remainder": failed' in shape_console
    assert re.search(r"FAIL  Downsampling1d +0/[\d.]+ +2/3 cases\n", shape_console)
    assert re.search(r'MeanPool2d_stride1, case "\w+": failed', runner_runs["values"][0])
    assert re.search(r"FAIL  Flatten +0/5 +0/3 cases\n", runner_runs["template"][0])
    assert re.search(r'Flatten, case "\w+": failed', runner_runs["leaky"][0])
    tests = {t["name"]: t for t in json.loads(runner_runs["shape"][1])["tests"]}
    assert 'case "odd_width_remainder": failed' in tests["Downsampling1d"]["output"]
    autolab = json.loads(runner_runs["template"][4].stdout.splitlines()[-2])
    assert autolab["Main"]["Flatten"]["hint"].endswith(": failed")
    pl_tests = {t["name"]: t for t in json.loads(runner_runs["values"][2])["tests"]}
    assert re.search(r'case "\w+": failed', pl_tests["MeanPool2d_stride1"]["output"])


def test_the_staff_may_show_how_cases_failed_still_no_value(hidden, submissions, tmp_path):
    """--hidden-detail kinds: each failure's kind, quantity, formula and likely cause; never a value or a time."""
    secret = secrets(hidden, ONLY)
    runs = {name: grade_everywhere(submissions[name], hidden, tmp_path, name, "--hidden-detail", "kinds")
            for name in ("shape", "relation", "template", "leaky")}
    for name, (console, gradescope, prairielearn, _, _) in runs.items():
        for text in (console, gradescope, prairielearn):
            assert leaks(text, secret) == [], (name, text)
        assert "only which cases failed and how is shown" in console and json.loads(gradescope)["execution_time"] == 0
    shape_console = runs["shape"][0]
    assert 'Downsampling1d, case "odd_width_remainder": wrong shape: forward output Z (expected (N, C, ceil(W/k)))' \
        in shape_console
    # a relation found at grading time (autograder.judge.relations) names the factor, never its value
    assert re.search(r'MeanPool2d_stride1, case "\w+": wrong values: forward output Z \(likely cause: every value '
                     r'is the expected one times K²: a factor is missing, inverted or applied twice\.\)',
                     runs["relation"][0])
    assert "Flatten: not implemented" in runs["template"][0]
    assert re.search(r'Flatten, case "\w+": exception', runs["leaky"][0])
    tests = {t["name"]: t for t in json.loads(runs["shape"][1])["tests"]}
    assert "wrong shape: forward output Z (expected (N, C, ceil(W/k)))" in tests["Downsampling1d"]["output"]


def test_staff_json_keeps_the_details(hidden, runner_runs):
    texts, numbers = secrets(hidden, ONLY)
    values = runner_runs["values"][3]
    report = json.loads(values)
    assert report["fixture_set"]["seed"] == SEED
    assert set(NUMBER.findall(values)) & numbers  # the got-vs-expected values are there
    assert any(f"{key}=" in values for key in ("kernel", "input_shape"))
    assert "my input:" in runner_runs["leaky"][3] and "cannot flatten" in runner_runs["leaky"][3]
    assert "(expected (N, C, ceil(W/k)))" in runner_runs["shape"][3]


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
        assert kinds_shown(text) == [], (path.name, text)
        assert str(subs) not in text or path.stem == "empty"  # named by student id (an error names the folder)
    assert 'Downsampling1d, case "odd_width_remainder": failed' in (feedback / "shape.txt").read_text()
    assert "no mytorch/ package" in (feedback / "empty.txt").read_text()  # the student's own problem is shown
    document = json.loads((feedback / "values.json").read_text())
    assert document["fixture_set"] == "hidden" and document["status"] == "graded"
    for student in submissions:
        view = json.loads((feedback / f"{student}.json").read_text())
        assert {item["status"] for item in view["items"]} <= {"passed", "failed"}
        assert {case["status"] for item in view["items"] for case in item["cases"]} <= {"passed", "failed"}
    # the staff outputs keep everything
    assert json.loads((out / "summary.json").read_text())["fixture_set"]["seed"] == SEED
    staff = (out / "reports" / "values.json").read_text()
    assert set(NUMBER.findall(staff)) & secret[1]
    # the staff's choice: how each failed, for the same hidden set
    kinds = tmp_path / "kinds"
    run = run_runner("batch", subs, "--out", out, "--fixtures", hidden, "--jobs", "2", "--feedback", kinds,
                     "--hidden-detail", "kinds", timeout=600)
    assert run.returncode == 1, run.stderr
    shape = (kinds / "shape.txt").read_text()
    assert "wrong shape: forward output Z (expected (N, C, ceil(W/k)))" in shape and leaks(shape, secret) == []


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
    for detail in ("passed", "kinds"):
        for text in (render_student(document, detail), json.dumps(student_document(document, detail))):
            assert "SECRET" not in text and "seed-1" not in text
            assert ("wrong values: forward Z" in text) is (detail == "kinds")
    assert 'A, case "c": failed' in render_student(document)  # by default: which case, nothing of how
    assert "SECRET-3" in render_student(document, "full")  # the public set: messages are shown


def test_one_decision_says_how_much_a_student_sees():
    """student_detail: the public set in full, a hidden one by passed cases unless the staff say otherwise."""
    from autograder.report.visibility import public_manifest_sha256, set_identity, student_detail
    from autograder.contract.fixtures import PUBLIC_SEED
    public = {"manifest_sha256": public_manifest_sha256(), "seed": PUBLIC_SEED}
    hidden = {"manifest_sha256": "0" * 64, "seed": SEED}
    assert student_detail(public) == student_detail(public, "kinds") == "full"
    assert student_detail(hidden) == "passed" and student_detail({}) == "passed"
    assert student_detail(hidden, "kinds") == "kinds"
    assert student_detail(hidden, show_hidden_details=True) == "full"
    assert student_detail(hidden, None) == "passed"  # an unset configuration: the default
    assert student_detail({**public, "seed": SEED}) == "passed"  # the public manifest under another seed: hidden
    assert set_identity(None, PUBLIC_SEED) == {} and student_detail(set_identity(None, PUBLIC_SEED)) == "passed"
    assert student_detail(set_identity(public["manifest_sha256"], PUBLIC_SEED)) == "full"
    with pytest.raises(ValueError):
        student_detail(hidden, "everything")


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
