"""Gradescope's autograder zip, run in a fake ``/autograder`` tree (``autograder/gradescope.py``).

The zip is built with a trimmed grading set (one case per item, see
tests/test_batch.py) so that each run of ``run_autograder`` takes seconds.
"""
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from autograder import gradescope
from autograder.formats import validate_gradescope
from conftest import COMPLETE, MAX_POINTS, RUBRIC
from test_batch import trimmed_fixtures

MAIN_MAX = sum(i.points for i in RUBRIC.items if str(i.section) == "main")
BONUS_MAX = sum(i.points for i in RUBRIC.items if str(i.section) == "bonus")


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    base = tmp_path_factory.mktemp("gradescope")
    fixtures = trimmed_fixtures(base / "trimmed")
    out = base / "autograder.zip"
    code = gradescope.main(["--out", str(out), "--fixtures", str(fixtures), "--visibility", "after_due_date",
                            "--test-visibility", "Conv1d=hidden", "--stdout-visibility", "after_published"])
    assert code == 0
    return out


def fake_tree(tmp_path, autograder_zip, submission_files):
    """An /autograder tree as Gradescope lays it out: source/ (the zip), run_autograder, submission/."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(root / "source")
    for script in gradescope.EXECUTABLES:  # zipfile does not restore permissions
        os.chmod(root / "source" / script, 0o755)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    for relative, data in submission_files.items():
        (root / "submission" / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / relative).write_bytes(data)
    return root


def run_autograder(root, python=sys.executable):
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": python}
    completed = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True, text=True,
                               timeout=300, cwd=root)
    assert completed.returncode == 0, completed.stderr
    document = json.loads((root / "results" / "results.json").read_text())
    validate_gradescope(document)
    return document, completed


def complete_files(prefix=""):
    return {prefix + p.relative_to(COMPLETE).as_posix(): p.read_bytes()
            for p in sorted((COMPLETE / "mytorch").glob("*.py"))}


def test_zip_holds_the_harness_and_nothing_private(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        config = json.loads(archive.read(gradescope.CONFIG_NAME))
    tops = {name.split("/")[0] for name in names}
    assert tops == {"autograder", "fixtures", "grading_fixtures", "runner.py", "requirements.txt", "setup.sh",
                    "run_autograder", gradescope.CONFIG_NAME}
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert config["visibility"] == "after_due_date" and config["test_visibility"] == {"Conv1d": "hidden"}
    assert config["stdout_visibility"] == "after_published" and config["fixtures"] == "grading_fixtures"
    assert config["hidden_detail"] == "passed"  # the default: a hidden set's tests say which cases passed


def test_good_submission_one_folder_down(tmp_path, autograder_zip):
    root = fake_tree(tmp_path, autograder_zip, complete_files("handin/"))
    document, completed = run_autograder(root)
    assert document["score"] == pytest.approx(MAIN_MAX + BONUS_MAX)
    assert "Total score" in completed.stdout
    tests = {t["name"].removesuffix(" (bonus)"): t for t in document["tests"]}
    assert set(tests) == set(MAX_POINTS)
    assert all(t["status"] == "passed" and t["score"] == MAX_POINTS[name] for name, t in tests.items())
    assert tests["Conv1d"]["visibility"] == "hidden" and tests["Flatten"]["visibility"] == "after_due_date"
    assert document["stdout_visibility"] == "after_published"


def test_broken_submissions_still_get_a_valid_file(tmp_path, autograder_zip):
    root = fake_tree(tmp_path, autograder_zip, {"notes.txt": b"forgot the code"})
    document, _ = run_autograder(root)
    assert document["score"] == 0
    assert document["tests"][0]["name"] == "Grading error" and document["tests"][0]["visibility"] == "visible"
    assert "no mytorch/ package" in document["tests"][0]["output"]

    files = complete_files()
    files["mytorch/conv1d.py"] = b"def broken(:\n"
    document, completed = fake_tree_and_run(tmp_path / "syntax", autograder_zip, files)
    tests = {t["name"]: t for t in document["tests"]}
    assert tests["Conv1d"]["score"] == 0 and tests["Conv1d_stride1"]["score"] == 0
    assert "hidden fixture set" in tests["Conv1d"]["output"]  # a grading set other than the public one
    assert "SyntaxError" not in tests["Conv1d"]["output"] and "stride" in tests["Conv1d"]["output"]
    assert 'case "stride' in tests["Conv1d"]["output"] and ": failed" in tests["Conv1d"]["output"]
    assert "exception" not in json.dumps(document) and document["execution_time"] == 0
    assert tests["Flatten"]["score"] == MAX_POINTS["Flatten"]
    # stdout is shown to students once published: the same student view, not the staff's report
    assert "fixture set: hidden" in completed.stdout and "SyntaxError" not in completed.stdout
    assert "exception" not in completed.stdout


def fake_tree_and_run(path, autograder_zip, files):
    path.mkdir()
    return run_autograder(fake_tree(path, autograder_zip, files))


def test_loose_files_are_wrapped_into_a_package(tmp_path, autograder_zip):
    files = {name.removeprefix("mytorch/"): data for name, data in complete_files().items()
             if name != "mytorch/__init__.py"}
    document, _ = run_autograder(fake_tree(tmp_path, autograder_zip, files))
    assert document["score"] == pytest.approx(MAIN_MAX + BONUS_MAX)


def test_python_that_cannot_start_still_leaves_a_valid_file(tmp_path, autograder_zip):
    root = fake_tree(tmp_path, autograder_zip, complete_files())
    document, _ = run_autograder(root, python=str(tmp_path / "no-such-python"))
    assert document["score"] == 0 and document["tests"][0]["name"] == "Grading error"


def test_tampered_grading_set_gives_score_0_and_a_valid_file(tmp_path, autograder_zip):
    root = fake_tree(tmp_path, autograder_zip, complete_files())
    manifest = root / "source" / "grading_fixtures" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"seed"', '"seed_"', 1))
    document, _ = run_autograder(root)
    assert document["score"] == 0 and document["tests"][0]["name"] == "Grading error"


@pytest.mark.parametrize("argv, message", [
    (["--visibility", "sometimes"], "invalid choice"),
    (["--hidden-detail", "everything"], "invalid choice"),
    (["--test-visibility", "NoSuchItem=hidden"], "unknown rubric item"),
    (["--test-visibility", "Conv1d=sometimes"], "unknown visibility"),
    (["--only", "Conv1d,Nope"], "unknown rubric item"),
])
def test_builder_usage_errors(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) if message == "invalid choice" else _no_exit():
        code = gradescope.main(["--out", str(tmp_path / "a.zip"), *argv])
        assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "a.zip").exists()


class _no_exit:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_the_staff_may_choose_the_hidden_detail(tmp_path):
    out = tmp_path / "kinds.zip"
    assert gradescope.main(["--out", str(out), "--hidden-detail", "kinds"]) == 0
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read(gradescope.CONFIG_NAME))["hidden_detail"] == "kinds"


def test_run_exit_status_0_for_a_students_problem_2_for_a_harness_error(tmp_path, autograder_zip):
    """``python -m autograder.gradescope run``: 0 when results.json is a result for the student (here:
    no mytorch/, score 0 and why), 2 when grading itself failed; run_autograder exits 0 either way
    (the tests above), results.json always valid."""
    statuses = {}
    for name, tamper in (("no_package", False), ("tampered", True)):
        root = fake_tree(tmp_path / name, autograder_zip, {"notes.txt": b"x"} if not tamper else complete_files())
        if tamper:
            manifest = root / "source" / "grading_fixtures" / "manifest.json"
            manifest.write_text(manifest.read_text().replace('"seed"', '"seed_"', 1))
        (root / "results").mkdir()
        done = subprocess.run([sys.executable, "-m", "autograder.gradescope", "run"], cwd=root / "source",
                              env={**os.environ, "AUTOGRADER_ROOT": str(root)}, capture_output=True, text=True,
                              timeout=300)
        validate_gradescope(json.loads((root / "results" / "results.json").read_text()))
        statuses[name] = done.returncode
    assert statuses == {"no_package": 0, "tampered": 2}
