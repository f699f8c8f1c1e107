"""Gradescope's autograder zip, run in a simulated ``/autograder`` tree (``autograder/platforms/gradescope.py``).

The zips are built with a trimmed grading set (one case per item, see tests/e2e/test_batch.py: a set
other than the public one, so a hidden set) so that each run of ``run_autograder`` takes seconds.
The target's wheels are downloaded once per test session into a wheelhouse every build reuses; where
pip cannot reach the package index the tests that need a zip skip, saying so.  One test runs the
zip's own ``setup.sh`` offline (no index, and no network at all where ``unshare -n`` works) with a
Python of the target's version, then grades with the virtual environment it made, as Gradescope would.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from autograder.platforms import gradescope

from autograder.platforms import gradescope_setup
from autograder.report.gradescope import validate_gradescope
from helpers import COMPLETE, MAX_POINTS, ROOT, RUBRIC, base_python, trimmed_fixtures

MAIN_MAX = sum(i.points for i in RUBRIC.items if str(i.section) == "main")
BONUS_MAX = sum(i.points for i in RUBRIC.items if str(i.section) == "bonus")
HOSTILE_NAME = "<img src=x onerror=alert(1)>.py"
TARGET = gradescope_setup.TARGETS[gradescope_setup.DEFAULT_TARGET]
# Gradescope's results.json fields (its autograder specifications, "Output format")
TOP_FIELDS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
              "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_FIELDS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
               "visibility", "extra_data"}
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
LEAKY_FLATTEN = b"""


def _leaky_forward(self, A):
    print("LEAK-PRINTED", A)
    raise ValueError("LEAK-RAISED <img src=x onerror=alert(1)> " + repr(A))


Flatten.forward = _leaky_forward
"""


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory):
    """The target's wheels, downloaded once for the session (or a skip: pip cannot reach the index)."""
    house = tmp_path_factory.mktemp("wheelhouse")
    try:
        gradescope_setup.wheel_files(TARGET, house)
    except gradescope_setup.WheelError as error:
        if error.offline:
            pytest.skip(f"pip cannot reach the package index to download the Gradescope wheels: {error}"[:300])
        raise
    return house


def build(path, wheelhouse, *argv, fixtures=None):
    argv = ["--out", str(path), "--wheelhouse", str(wheelhouse), *argv]
    argv += ["--fixtures", str(fixtures)] if fixtures else []
    assert gradescope.main(argv) == 0
    return path


@pytest.fixture(scope="module")
def trimmed(tmp_path_factory):
    return trimmed_fixtures(tmp_path_factory.mktemp("gradescope") / "trimmed")


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory, wheelhouse, trimmed):
    return build(tmp_path_factory.mktemp("zip") / "autograder.zip", wheelhouse, "--visibility", "after_due_date",
                 "--test-visibility", "Conv1d=hidden", "--stdout-visibility", "after_published", fixtures=trimmed)


def fake_tree(tmp_path, autograder_zip, submission_files, wheels=False):
    """An /autograder tree as Gradescope lays it out: source/ (the zip), run_autograder, submission/."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(root / "source", [name for name in archive.namelist()
                                             if wheels or not name.startswith("wheels/")])
    for script in gradescope.EXECUTABLES:  # zipfile does not restore permissions
        os.chmod(root / "source" / script, 0o755)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    for relative, data in submission_files.items():
        (root / "submission" / relative).parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            (root / "submission" / relative).mkdir()
        else:
            (root / "submission" / relative).write_bytes(data)
    return root


def run_autograder(root, python=sys.executable):
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": python}
    completed = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True, text=True,
                               timeout=300, cwd=root)
    assert completed.returncode == 0, completed.stderr
    document = json.loads((root / "results" / "results.json").read_text())
    validate_gradescope(document)
    check_against_spec(document)
    return document, completed


def check_against_spec(document):
    """results.json field by field against Gradescope's specification, and this grader's promises: plain
    text everywhere but the public set's test outputs (Markdown), scores that add up."""
    assert set(document) <= TOP_FIELDS, set(document) - TOP_FIELDS
    assert isinstance(document["score"], (int, float)) and document["score"] >= 0
    assert isinstance(document["execution_time"], (int, float)) and isinstance(document["output"], str)
    assert document["output_format"] == document["test_output_format"] == document["test_name_format"] == "text"
    assert document.get("visibility", "visible") in VISIBILITIES
    assert document.get("stdout_visibility", "hidden") in VISIBILITIES
    assert isinstance(document.get("extra_data", {}), dict)
    numbers = []
    for test in document["tests"]:
        assert set(test) <= TEST_FIELDS, set(test) - TEST_FIELDS
        assert isinstance(test["name"], str) and test["name"] and test["name_format"] == "text"
        assert 0 <= test["score"] <= test["max_score"] and test["status"] in ("passed", "failed")
        assert test["output_format"] in ("text", "md") and isinstance(test["output"], str)
        assert test["visibility"] in VISIBILITIES
        numbers.append(test.get("number"))
        if test["output_format"] == "md":
            assert markdown_is_inert(test["output"])
    assert [n for n in numbers if n is not None] == [str(i) for i in range(1, len([n for n in numbers if n]) + 1)]
    if document.get("extra_data", {}).get("status") == "graded":
        assert document["score"] == pytest.approx(sum(test["score"] for test in document["tests"]))


def markdown_is_inert(text):
    """Whether every ``<`` and ``&`` of Markdown ``text`` lies inside a fenced code block (rendered as text)."""
    fence = None
    for line in text.split("\n"):
        run = re.fullmatch(r"(`{3,})\s*", line)
        if fence is None and run:
            fence = run.group(1)
        elif fence is not None and run and len(run.group(1)) >= len(fence):
            fence = None
        elif fence is None and ("<" in line or "&" in line):
            return False
    return True


def student_text_is_inert(document, needle):
    """Where ``needle`` (a student's text) appears in results.json: only in plain-text fields, or inside a
    Markdown code fence; returns how many fields hold it."""
    fields = [(document["output"], document["output_format"])]
    fields += [(test["name"], test["name_format"]) for test in document["tests"]]
    fields += [(test["output"], test["output_format"]) for test in document["tests"]]
    holding = [(text, kind) for text, kind in fields if needle in text]
    assert all(kind == "text" or (kind == "md" and markdown_is_inert(text)) for text, kind in holding)
    assert needle not in json.dumps(document.get("extra_data", {}))
    return len(holding)


def complete_files(prefix=""):
    return {prefix + p.relative_to(COMPLETE).as_posix(): p.read_bytes()
            for p in sorted((COMPLETE / "mytorch").glob("*.py"))}


def leaky_files():
    files = complete_files()
    files["mytorch/flatten.py"] += LEAKY_FLATTEN
    return files


@pytest.mark.slow
def test_zip_holds_the_harness_the_wheels_and_nothing_private(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        config = json.loads(archive.read(gradescope.CONFIG_NAME))
        setup = archive.read("setup.sh").decode()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"autograder", "fixtures", "grading_fixtures", "runner.py", "requirements-lock.txt", "wheels",
                    "setup.sh", "run_autograder", gradescope.CONFIG_NAME}
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert config["visibility"] == "after_due_date" and config["test_visibility"] == {"Conv1d": "hidden"}
    assert config["stdout_visibility"] == "after_published" and config["fixtures"] == "grading_fixtures"
    assert config["hidden_detail"] == "passed"  # the default: a hidden set's tests say which cases passed
    assert config["target"] == "ubuntu-22.04" and config["python"] == "3.10"
    # the image's own released python3, nothing from the index, no pre-release python3.11 package
    assert "--no-index" in setup and "--require-hashes" in setup and "python3.11" not in setup
    assert '= "3.10 final" ]' in setup and "pip install -r" not in setup and "--upgrade" not in setup


@pytest.mark.slow
def test_wheels_are_the_lock_and_match_their_sha256(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as archive:
        wheels = {name.removeprefix("wheels/"): archive.read(name) for name in archive.namelist()
                  if name.startswith("wheels/") and name.endswith(".whl")}
        lock = archive.read("requirements-lock.txt").decode()
        sums = archive.read("wheels/SHA256SUMS").decode()
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in wheels.items()}
    assert sums == "".join(f"{digests[name]}  {name}\n" for name in sorted(digests))
    locked = [line for line in lock.splitlines() if line and not line.startswith("#")]
    assert len(locked) == len(wheels)  # exactly the wheels present: one line each, nothing else
    for name, data in wheels.items():
        project, version, tags = gradescope_setup.parse_wheel(name)
        assert f"{project}=={version} --hash=sha256:{digests[name]}" in locked
        assert gradescope_setup.fits(TARGET, tags), name  # CPython 3.10, manylinux x86_64 (glibc 2.35) or pure
    projects = {gradescope_setup.parse_wheel(name)[0] for name in wheels}
    assert {"numpy", "jsonschema", "pip"} <= projects and "pytest" not in projects  # grading needs no pytest


def test_every_pin_is_within_the_requirements():
    from packaging.requirements import Requirement
    wanted = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            wanted[gradescope_setup.normalized(requirement.name)] = requirement.specifier
    for target in gradescope_setup.TARGETS.values():
        for pin in target.pins:
            name, version = gradescope_setup.pinned(pin)
            assert name not in wanted or version in wanted[name], (target.name, pin)
        assert {gradescope_setup.pinned(pin)[0] for pin in target.pins} >= {"numpy", "jsonschema", "pip"}


def test_wheel_tags_for_the_target():
    fits = gradescope_setup.fits
    parse = gradescope_setup.parse_wheel
    assert fits(TARGET, parse("numpy-2.2.6-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")[2])
    assert fits(TARGET, parse("attrs-26.1.0-py3-none-any.whl")[2])
    assert fits(TARGET, parse("x-1.0-cp38-abi3-manylinux_2_28_x86_64.whl")[2])
    assert not fits(TARGET, parse("numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl")[2])
    assert not fits(TARGET, parse("x-1.0-cp310-cp310-manylinux_2_39_x86_64.whl")[2])  # newer glibc than 22.04's
    assert not fits(TARGET, parse("x-1.0-cp310-cp310-musllinux_1_1_x86_64.whl")[2])
    assert not fits(TARGET, parse("x-1.0-cp310-cp310-manylinux2014_aarch64.whl")[2])


def offline(command):
    """``command`` with no network at all where ``unshare -n`` works (root), else as it is (pip is --no-index)."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n", *command]
    return command


def setup_env(root, python):
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    return {**env, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_SETUP_PYTHON": python, "PIP_CONFIG_FILE": os.devnull}


@pytest.fixture(scope="module")
def installed(tmp_path_factory, autograder_zip):
    """setup.sh run offline in a simulated /autograder with a Python of the target's version: its venv's python."""
    python = base_python(TARGET.python)
    if python is None:
        pytest.skip(f"no Python {TARGET.python} here (.venv-{TARGET.python}, pyenv or python{TARGET.python}) to "
                    f"run setup.sh as Gradescope's {TARGET.name} would")
    root = fake_tree(tmp_path_factory.mktemp("setup"), autograder_zip, {}, wheels=True)
    completed = subprocess.run(offline(["bash", str(root / "source" / "setup.sh")]), env=setup_env(root, python),
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert f"autograder ready: Python {TARGET.python}." in completed.stdout
    venv_python = root / "venv" / "bin" / "python"
    listed = subprocess.run([str(venv_python), "-m", "pip", "list", "--format", "json"], capture_output=True,
                            text=True, env=setup_env(root, python))
    installed = {gradescope_setup.normalized(p["name"]) for p in json.loads(listed.stdout)}
    assert "numpy" in installed and "jsonschema" in installed and "pytest" not in installed
    return root


@pytest.mark.slow
def test_setup_installs_offline_and_the_image_grades_complete(tmp_path, installed):
    root = installed
    (root / "submission").mkdir(exist_ok=True)
    shutil.copytree(COMPLETE / "mytorch", root / "submission" / "handin" / "mytorch",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {key: value for key, value in os.environ.items() if key != "AUTOGRADER_PYTHON"}
    completed = subprocess.run([str(root / "run_autograder")], env={**env, "AUTOGRADER_ROOT": str(root)},
                               capture_output=True, text=True, timeout=300, cwd=root)  # its venv's python
    assert completed.returncode == 0, completed.stderr
    document = json.loads((root / "results" / "results.json").read_text())
    validate_gradescope(document)
    check_against_spec(document)
    assert document["score"] == pytest.approx(MAIN_MAX + BONUS_MAX) and document["execution_time"] == 0
    assert document["visibility"] == "after_due_date" and document["stdout_visibility"] == "after_published"
    assert document["extra_data"] == {"harness_version": document["extra_data"]["harness_version"],
                                      "status": "graded", "fixture_set": "hidden", "main": MAIN_MAX,
                                      "bonus": BONUS_MAX}
    tests = {t["name"].removesuffix(" (bonus)"): t for t in document["tests"]}
    assert set(tests) == set(MAX_POINTS)
    for name, test in tests.items():
        assert test["status"] == "passed" and test["score"] == test["max_score"] == MAX_POINTS[name]
        assert test["output_format"] == "text" and test["visibility"] == ("hidden" if name == "Conv1d"
                                                                         else "after_due_date")
    assert "fixture set: hidden" in completed.stdout and "Total score: 100/100" in completed.stdout


@pytest.mark.slow
def test_setup_refuses_another_python_a_pre_release_and_a_damaged_wheel(tmp_path, autograder_zip):
    root = fake_tree(tmp_path, autograder_zip, {}, wheels=True)
    for version, level in (("3.11", "final"), ("3.11", "candidate"), ("3.10", "candidate")):  # 3.11.0~rc1 is rc
        fake = tmp_path / f"python-{version}-{level}"
        fake.write_text(f"#!/bin/sh\necho '{version} {level}'\n")
        fake.chmod(0o755)
        other = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=setup_env(root, str(fake)),
                               capture_output=True, text=True, timeout=60)
        assert other.returncode == 1 and "built for ubuntu-22.04 (a released Python 3.10)" in other.stderr
        assert f"is Python {version} {level}" in other.stderr and not (root / "venv").exists()
    wheel = next((root / "source" / "wheels").glob("jsonschema-*.whl"))
    wheel.write_bytes(wheel.read_bytes()[:-1] + b"!")
    fake = tmp_path / "python-3.10-final"
    fake.write_text("#!/bin/sh\necho '3.10 final'\n")
    fake.chmod(0o755)
    damaged = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=setup_env(root, str(fake)),
                             capture_output=True, text=True, timeout=60)
    assert damaged.returncode == 1 and "does not match wheels/SHA256SUMS" in damaged.stderr
    assert not (root / "venv").exists()


@pytest.mark.slow
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


@pytest.mark.slow
def test_broken_submissions_still_get_a_valid_file(tmp_path, autograder_zip):
    root = fake_tree(tmp_path, autograder_zip, {"notes.txt": b"forgot the code"})
    document, completed = run_autograder(root)
    assert document["score"] == 0
    assert document["tests"][0]["name"] == "Grading error" and document["tests"][0]["visibility"] == "visible"
    output = document["tests"][0]["output"]
    assert "your upload has no mytorch/ package folder" in output and "notes.txt" in output
    assert "pass the folder" not in output + completed.stdout and "/autograder" not in output  # no command line

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


def secrets_of(fixtures):
    """What of a fixture set a student must never read: its seed, its id, its expected values."""
    import numpy as np
    manifest = json.loads((fixtures / "manifest.json").read_text())
    values = []
    with np.load(fixtures / manifest["items"]["Flatten"]["file"]) as data:
        for key in list(data.files)[:6]:
            values += [f"{float(x):.4f}"[:6] for x in np.asarray(data[key], dtype=float).ravel()[:3]]
    return [f"seed-{manifest['seed']}", '"seed"', *[v for v in values if len(v.strip("-0.")) >= 3]]


@pytest.mark.slow
@pytest.mark.parametrize("stdout_visibility", ["visible", "after_due_date", "hidden"])
def test_a_hidden_set_shows_students_only_the_student_view_on_stdout(tmp_path, wheelhouse, trimmed, capsys,
                                                                     stdout_visibility):
    out = build(tmp_path / "a.zip", wheelhouse, "--stdout-visibility", stdout_visibility, fixtures=trimmed)
    note = capsys.readouterr().out
    document, completed = run_autograder(fake_tree(tmp_path / "run", out, leaky_files()))
    assert document["stdout_visibility"] == stdout_visibility
    flatten = next(t for t in document["tests"] if t["name"] == "Flatten")
    assert flatten["score"] == 0 and "LEAK" not in json.dumps(document)
    seen = completed.stdout + completed.stderr  # Gradescope captures both streams
    if stdout_visibility == "hidden":  # the staff's own: the full report, with what the code raised
        assert "stdout: the staff's full report" in note
        assert "LEAK-RAISED" in completed.stdout
        return
    assert "students may see it, so it shows only the student view of the hidden set" in note
    assert "fixture set: hidden" in completed.stdout and 'Flatten, case "' in completed.stdout
    assert "LEAK" not in seen and "seed" not in seen and "Traceback" not in seen
    assert not [secret for secret in secrets_of(trimmed) if secret in seen]


@pytest.mark.slow
def test_student_text_is_never_html(tmp_path, autograder_zip, wheelhouse):
    # a hidden set: the file name is in the student's own error (no mytorch/), shown as plain text
    root = fake_tree(tmp_path / "hidden", autograder_zip, {HOSTILE_NAME: None, "notes.txt": b"x"})
    document, completed = run_autograder(root)
    assert HOSTILE_NAME in document["tests"][0]["output"] and HOSTILE_NAME in document["output"]
    assert student_text_is_inert(document, HOSTILE_NAME) == 2
    assert not {"html", "simple_format"} & {document["output_format"], *(t["output_format"] for t in document["tests"])}

    # the public set: what the code raised is in a Markdown test output, inside a code fence
    public = build(tmp_path / "public.zip", wheelhouse)
    files = leaky_files()
    files[f"mytorch/{HOSTILE_NAME}"] = b"x = 1\n"
    document, _ = run_autograder(fake_tree(tmp_path / "public", public, files))
    flatten = next(t for t in document["tests"] if t["name"] == "Flatten")
    assert flatten["output_format"] == "md" and "<img src=x onerror=alert(1)>" in flatten["output"]
    assert student_text_is_inert(document, "<img src=x onerror=alert(1)>") >= 1


@pytest.mark.slow
def test_loose_files_are_wrapped_into_a_package(tmp_path, autograder_zip):
    files = {name.removeprefix("mytorch/"): data for name, data in complete_files().items()
             if name != "mytorch/__init__.py"}
    document, _ = run_autograder(fake_tree(tmp_path, autograder_zip, files))
    assert document["score"] == pytest.approx(MAIN_MAX + BONUS_MAX)


@pytest.mark.slow
def test_python_that_cannot_start_still_leaves_a_valid_file(tmp_path, autograder_zip):
    root = fake_tree(tmp_path, autograder_zip, complete_files())
    document, _ = run_autograder(root, python=str(tmp_path / "no-such-python"))
    assert document["score"] == 0 and document["tests"][0]["name"] == "Grading error"


@pytest.mark.slow
def test_tampered_grading_set_gives_score_0_and_a_valid_file(tmp_path, autograder_zip):
    root = fake_tree(tmp_path, autograder_zip, complete_files())
    manifest = root / "source" / "grading_fixtures" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"seed"', '"seed_"', 1))
    document, _ = run_autograder(root)
    assert document["score"] == 0 and document["tests"][0]["name"] == "Grading error"
    check = subprocess.run([sys.executable, "-m", "autograder.platforms.gradescope", "check"], cwd=root / "source",
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 1 and "cannot grade in this image" in check.stderr  # setup.sh's last step


@pytest.mark.parametrize("argv, message", [
    (["--visibility", "sometimes"], "invalid choice"),
    (["--hidden-detail", "everything"], "invalid choice"),
    (["--target", "ubuntu-18.04"], "invalid choice"),
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


@pytest.mark.slow
def test_the_staff_may_choose_the_hidden_detail(tmp_path, wheelhouse):
    out = build(tmp_path / "kinds.zip", wheelhouse, "--hidden-detail", "kinds")
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read(gradescope.CONFIG_NAME))["hidden_detail"] == "kinds"


@pytest.mark.slow
def test_run_exit_status_0_for_a_students_problem_2_for_a_harness_error(tmp_path, autograder_zip):
    """``python -m autograder.platforms.gradescope run``: 0 when results.json is a result for the student (here:
    no mytorch/, score 0 and why), 2 when grading itself failed; run_autograder exits 0 either way
    (the tests above), results.json always valid."""
    statuses = {}
    for name, tamper in (("no_package", False), ("tampered", True)):
        root = fake_tree(tmp_path / name, autograder_zip, {"notes.txt": b"x"} if not tamper else complete_files())
        if tamper:
            manifest = root / "source" / "grading_fixtures" / "manifest.json"
            manifest.write_text(manifest.read_text().replace('"seed"', '"seed_"', 1))
        (root / "results").mkdir()
        done = subprocess.run([sys.executable, "-m", "autograder.platforms.gradescope", "run"], cwd=root / "source",
                              env={**os.environ, "AUTOGRADER_ROOT": str(root)}, capture_output=True, text=True,
                              timeout=300)
        validate_gradescope(json.loads((root / "results" / "results.json").read_text()))
        statuses[name] = done.returncode
    assert statuses == {"no_package": 0, "tampered": 2}


@pytest.mark.slow
def test_a_wheelhouse_with_every_wheel_builds_without_the_network(tmp_path, wheelhouse, monkeypatch):
    calls = []
    real = gradescope_setup.run_pip
    monkeypatch.setattr(gradescope_setup, "run_pip", lambda command, what: (calls.append(command[3]),
                                                                            real(command, what)))
    build(tmp_path / "again.zip", wheelhouse)
    assert calls == ["install"]  # the offline --dry-run check of the lock only: nothing downloaded


@pytest.mark.parametrize("stdout_visibility", ["visible", "hidden"])
def test_nothing_else_reaches_a_stdout_students_may_see(tmp_path, monkeypatch, capfd, stdout_visibility):
    from autograder.platforms import gradescope_run
    source = tmp_path / "source"
    source.mkdir()
    (source / gradescope.CONFIG_NAME).write_text(json.dumps(gradescope.make_config(
        stdout_visibility=stdout_visibility)))

    def leaky_grading(*args):  # any layer, any process: both descriptors, print, an exception
        os.write(1, b"SECRET-fd1\n")
        os.write(2, b"SECRET-fd2\n")
        print("SECRET-print", flush=True)
        raise RuntimeError("SECRET-raised")

    monkeypatch.setattr(gradescope_run, "grade_submission", leaky_grading)
    assert gradescope_run.run_in_gradescope(tmp_path, source) == 2  # grading itself failed (run_autograder: 0)
    seen = capfd.readouterr()
    document = json.loads((tmp_path / "results" / "results.json").read_text())
    validate_gradescope(document)
    assert document["tests"][0]["name"] == "Grading error" and "SECRET" not in json.dumps(document)
    assert "The autograder failed" in seen.out
    if stdout_visibility == "hidden":  # the staff's: everything, to debug
        assert all(f"SECRET-{what}" in seen.out + seen.err for what in ("fd1", "fd2", "print", "raised"))
    else:
        assert "SECRET" not in seen.out + seen.err
