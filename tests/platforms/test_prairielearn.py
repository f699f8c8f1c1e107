"""PrairieLearn: the generated question folder, field by field against PrairieLearn's external grader
contract, and its grading script run on a simulated ``/grade`` tree (``autograder/platforms/prairielearn.py``).

The question is built with a trimmed grading set (one case per item, see tests/e2e/test_batch.py) and a
short case limit, so that each grading takes seconds.  PrairieLearn's contract (docs/externalGrading.md):
``info.json``'s ``externalGradingOptions`` (``enabled``, ``image``, ``entrypoint`` an absolute path under
``/grade``, ``serverFilesCourse`` copied to ``/grade/serverFilesCourse``, ``timeout`` at most 600 s); the
student's files in ``/grade/student``; the script writes ``/grade/results/results.json`` (creating
``/grade/results``), which PrairieLearn reads only when the container exits 0 within the timeout;
``score`` in [0, 1]; ``gradable: false`` with ``format_errors`` for a submission that is not graded.
"""
import html.parser
import json
import math
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from autograder.platforms import prairielearn as pl
from autograder.platforms.common import TimeBudget, graded_modules
from autograder.report.prairielearn import validate_prairielearn
from helpers import COMPLETE, MAX_POINTS, RUBRIC, SUBMISSIONS, TEMPLATE, trimmed_fixtures

CASE_LIMIT = 2.0
JOBS = 2
SERVER = "mytorch_autograder"
MAIN_ITEMS = [item.name for item in RUBRIC.items if str(item.section) == "main"]


@pytest.fixture(scope="module")
def question(tmp_path_factory):
    """The generated folder (questions/ and serverFilesCourse/) and the trimmed set it grades with."""
    base = tmp_path_factory.mktemp("prairielearn")
    fixtures = trimmed_fixtures(base / "trimmed")
    out = base / "course"
    assert pl.main(["--out", str(out), "--fixtures", str(fixtures), "--timeout", str(CASE_LIMIT),
                    "--jobs", str(JOBS)]) == 0
    return out, fixtures


def read_json(path):
    return json.loads(path.read_text())


class UploadElements(html.parser.HTMLParser):
    """The elements of question.html this test checks, with their attributes and enclosing elements."""

    def __init__(self):
        super().__init__()
        self.open, self.found = [], []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs), tuple(self.open)))
        self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag)]


def elements(text):
    parser = UploadElements()
    parser.feed(text)
    return parser.found


def test_info_json_follows_the_external_grading_options(question):
    out, fixtures = question
    info = read_json(out / "questions" / "hw2p1" / "info.json")
    assert uuid.UUID(info["uuid"]).version == 4
    assert info["title"] and info["topic"]
    assert (info["type"], info["gradingMethod"], info["singleVariant"]) == ("v3", "External", True)
    options = info["externalGradingOptions"]
    assert set(options) == {"enabled", "image", "entrypoint", "serverFilesCourse", "timeout"}
    assert options["enabled"] is True and options["image"] == "prairielearn/grader-python"
    assert options["serverFilesCourse"] == [f"{SERVER}/"]
    assert options["entrypoint"] == f"/grade/serverFilesCourse/{SERVER}/grade.sh"
    entrypoint = out / options["entrypoint"].removeprefix("/grade/")  # where PrairieLearn copies it
    assert entrypoint.is_file() and os.access(entrypoint, os.X_OK)
    cases = sum(len(entry["cases"]) for entry in read_json(fixtures / "manifest.json")["items"].values())
    assert options["timeout"] == TimeBudget(cases, CASE_LIMIT, JOBS).seconds <= pl.MAX_TIMEOUT
    assert options["timeout"] == math.ceil(1.25 * (20 + cases * CASE_LIMIT / JOBS))  # the formula, spelled out
    config = read_json(out / "serverFilesCourse" / SERVER / pl.CONFIG_NAME)
    assert config["deadline"] == options["timeout"] - 15 and config["fixtures"] == "grading_fixtures"
    assert (config["timeout"], config["jobs"]) == (CASE_LIMIT, JOBS)


def test_every_build_gets_a_fresh_uuid(tmp_path):
    for name in ("a", "b"):
        assert pl.main(["--out", str(tmp_path / name)]) == 0
    first, second = (read_json(tmp_path / name / "questions" / "hw2p1" / "info.json")["uuid"] for name in "ab")
    assert first != second


def test_question_html_uploads_exactly_the_graded_modules(question):
    out, fixtures = question
    found = elements((out / "questions" / "hw2p1" / "question.html").read_text())
    uploads = [attrs for tag, attrs, _ in found if tag == "pl-file-upload"]
    assert len(uploads) == 1 and set(uploads[0]) == {"file-names"}
    names = uploads[0]["file-names"].split(",")
    # what the cases' programs import, which is exactly what the template leaves to the student
    assert names == graded_modules(read_json(fixtures / "manifest.json"))
    assert set(names) == {path.name for path in (TEMPLATE / "mytorch").glob("*.py")
                          if "NotImplementedError" in path.read_text()}
    results = [enclosing for tag, _, enclosing in found if tag == "pl-external-grader-results"]
    assert results == [("pl-submission-panel",)]


def test_the_server_folder_holds_the_grader_and_nothing_private(question):
    out, _ = question
    server = out / "serverFilesCourse" / SERVER
    tops = {path.name for path in server.iterdir()}
    assert tops == {"autograder", "fixtures", "grading_fixtures", "student_template", "runner.py",
                    "requirements.txt", "grade.sh", pl.CONFIG_NAME}
    assert not any(part in ("reference", "tests", "__pycache__") for path in server.rglob("*") for part in path.parts)
    assert {p.name for p in (out / "questions" / "hw2p1").iterdir()} == {"info.json", "question.html"}


def test_timeout_is_capped_at_prairielearns_maximum(tmp_path, capsys):
    assert pl.main(["--out", str(tmp_path / "q"), "--jobs", "1"]) == 0  # 70 cases of 10 s, one at a time
    assert "more than PrairieLearn's maximum of 600 s" in capsys.readouterr().err
    info = read_json(tmp_path / "q" / "questions" / "hw2p1" / "info.json")
    config = read_json(tmp_path / "q" / "serverFilesCourse" / SERVER / pl.CONFIG_NAME)
    assert info["externalGradingOptions"]["timeout"] == 600 and config["deadline"] == 585 and config["capped"]


@pytest.mark.parametrize("argv, message", [
    (["--timeout", "0"], "--timeout must be positive"),
    (["--qid", "a/b"], "--qid must be one folder name"),
    (["--fixtures", "no-such-folder"], "does not verify"),
])
def test_builder_usage_errors_exit_2(tmp_path, capsys, argv, message):
    assert pl.main(["--out", str(tmp_path / "q"), *argv]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "q").exists()


def test_builder_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "keep.txt").write_text("mine")
    assert pl.main(["--out", str(tmp_path / "q")]) == 2
    assert "not an empty folder" in capsys.readouterr().err and (tmp_path / "q" / "keep.txt").exists()


# ------------------------------------------------------------------------- the grading script in /grade


def grade_tree(tmp_path, question, student_files, config_changes=None):
    """A /grade tree as PrairieLearn lays it out: serverFilesCourse/ (the server folder), student/."""
    out, _ = question
    root = tmp_path / "grade"
    shutil.copytree(out / "serverFilesCourse", root / "serverFilesCourse")
    (root / "student").mkdir()
    for relative, data in student_files.items():
        (root / "student" / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / "student" / relative).write_bytes(data)
    if config_changes:
        path = root / "serverFilesCourse" / SERVER / pl.CONFIG_NAME
        path.write_text(json.dumps({**read_json(path), **config_changes}))
    return root


def run_entrypoint(root, python=sys.executable, timeout=300):
    """What the grader host does: run the entrypoint; the results count only after exit status 0."""
    info_entrypoint = f"/grade/serverFilesCourse/{SERVER}/grade.sh"
    script = root / info_entrypoint.removeprefix("/grade/")
    env = {**os.environ, pl.GRADE_ROOT_ENV: str(root), "AUTOGRADER_PYTHON": str(python)}
    start = time.monotonic()
    done = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=timeout, cwd="/")
    seconds = time.monotonic() - start
    assert done.returncode == 0, done.stdout + done.stderr
    results = root / "results" / "results.json"
    assert results.stat().st_size < 1_000_000  # PrairieLearn's limit
    document = read_json(results)
    validate_prairielearn(document)
    return document, done, seconds


def module_files(source, names=None):
    return {path.name: path.read_bytes() for path in sorted((source / "mytorch").glob("*.py"))
            if names is None or path.name in names}


def graded_files(question):
    return read_json(question[0] / "serverFilesCourse" / SERVER / pl.CONFIG_NAME)["graded_files"]


@pytest.mark.slow
def test_complete_upload_scores_1(tmp_path, question):
    document, done, _ = run_entrypoint(grade_tree(tmp_path, question, module_files(COMPLETE, graded_files(question))))
    assert document["gradable"] is True and document["score"] == 1.0
    assert "format_errors" not in document and "Total score: 100/100 (+15/15 bonus)" in document["message"]
    tests = {test["name"].removesuffix(" (bonus)"): test for test in document["tests"]}
    assert list(tests) == RUBRIC.names
    for name, test in tests.items():
        assert set(test) == {"name", "description", "points", "max_points", "message", "output"}
        assert test["points"] == test["max_points"] == MAX_POINTS[name]
    assert "Total score" in done.stdout  # the grading log (PrairieLearn shows it to the staff)


@pytest.mark.slow
def test_template_upload_scores_0(tmp_path, question):
    document, _, _ = run_entrypoint(grade_tree(tmp_path, question, module_files(TEMPLATE, graded_files(question))))
    assert document["gradable"] is True and document["score"] == 0
    assert len(document["tests"]) == len(RUBRIC.items) and all(t["points"] == 0 for t in document["tests"])


@pytest.mark.slow
def test_a_mytorch_folder_upload_is_graded_as_it_is(tmp_path, question):
    files = {f"mytorch/{name}": data for name, data in module_files(COMPLETE).items()}
    document, _, _ = run_entrypoint(grade_tree(tmp_path, question, files))
    assert document["gradable"] is True and document["score"] == 1.0


def test_no_mytorch_is_not_gradable_with_the_reason_shown(tmp_path, question):
    document, done, _ = run_entrypoint(grade_tree(tmp_path, question, {"notes.txt": b"forgot the code"}))
    assert document["gradable"] is False and document["score"] == 0 and document["tests"] == []
    assert len(document["format_errors"]) == 1
    for text in (document["format_errors"][0], document["message"]):
        assert "no mytorch/ folder" in text and "conv1d.py" in text and "notes.txt" in text


@pytest.mark.slow
def test_a_looping_submission_still_gets_results_within_the_timeout(tmp_path, question):
    files = module_files(COMPLETE, graded_files(question))
    files["flatten.py"] = (SUBMISSIONS / "hostile_loop_forward" / "mytorch" / "flatten.py").read_bytes()
    document, _, seconds = run_entrypoint(grade_tree(tmp_path, question, files))
    timeout = read_json(question[0] / "questions" / "hw2p1" / "info.json")["externalGradingOptions"]["timeout"]
    assert seconds < timeout
    tests = {test["name"]: test for test in document["tests"]}
    assert document["gradable"] is True and tests["Flatten"]["points"] == 0
    assert tests["Conv1d"]["points"] == MAX_POINTS["Conv1d"] and 0 < document["score"] < 1


@pytest.mark.slow
def test_a_grading_past_the_deadline_is_stopped_and_says_so(tmp_path, question):
    """A grading slower than the budget (here: a 60 s case limit, a 4 s deadline) is stopped before
    PrairieLearn's own limit would kill the container, and results.json says that grading failed."""
    files = module_files(COMPLETE, graded_files(question))
    files["flatten.py"] = (SUBMISSIONS / "hostile_loop_forward" / "mytorch" / "flatten.py").read_bytes()
    root = grade_tree(tmp_path, question, files, {"timeout": 60, "deadline": 4})
    document, _, seconds = run_entrypoint(root)
    assert seconds < 4 + 2 * 5 + 5  # the deadline, SIGTERM and SIGKILL graces, start-up
    assert document["gradable"] is False and "did not finish within 4 s" in document["format_errors"][0]
    assert document["message"].startswith("Grading failed: ") and "does not count" in document["message"]


@pytest.mark.slow
def test_a_harness_error_says_grading_failed(tmp_path, question):
    root = grade_tree(tmp_path, question, module_files(COMPLETE, graded_files(question)))
    manifest = root / "serverFilesCourse" / SERVER / "grading_fixtures" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"seed"', '"seed_"', 1))
    document, done, _ = run_entrypoint(root)
    assert document["gradable"] is False and document["format_errors"][0].startswith("Grading failed: ")
    assert "course staff" in document["message"]  # a hidden set: the harness's details stay in the log


def test_python_that_cannot_start_still_leaves_a_valid_file(tmp_path, question):
    root = grade_tree(tmp_path, question, module_files(COMPLETE, graded_files(question)))
    document, _, _ = run_entrypoint(root, python=tmp_path / "no-such-python")
    assert document["gradable"] is False and "could not start" in document["format_errors"][0]


def test_a_crashing_driver_still_leaves_a_valid_file(tmp_path, question):
    root = grade_tree(tmp_path, question, module_files(COMPLETE, graded_files(question)))
    (root / "serverFilesCourse" / SERVER / pl.CONFIG_NAME).write_text("{not json")
    document, done, _ = run_entrypoint(root)
    assert document["gradable"] is False and "autograder failed" in document["format_errors"][0]
    assert "JSONDecodeError" in done.stderr  # the traceback is in the grading log


@pytest.mark.slow
def test_driver_exit_status_0_for_a_result_2_for_a_failed_grading(tmp_path, question):
    """``grade`` itself: 0 when results.json is a result for the student (graded, or no mytorch/), 2 when
    grading failed; grade.sh exits 0 in every case (the tests above)."""
    statuses = {}
    for name, files in (("graded", module_files(TEMPLATE, graded_files(question))), ("no_package", {"a.txt": b"x"})):
        root = grade_tree(tmp_path / name, question, files)
        statuses[name] = pl.grade(root, root / "serverFilesCourse" / SERVER)
    root = grade_tree(tmp_path / "broken", question, {})
    (root / "serverFilesCourse" / SERVER / pl.CONFIG_NAME).unlink()
    statuses["broken"] = pl.grade(root, root / "serverFilesCourse" / SERVER)
    assert statuses == {"graded": 0, "no_package": 0, "broken": 2}
    validate_prairielearn(read_json(root / "results" / "results.json"))
