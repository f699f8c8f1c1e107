"""Grading is the same whichever CPython from 3.10 to 3.13 grades, and runner.py's front gate.

For every supported version other than the running one, ``runner.py --json`` grades the same
submissions (complete/, the untouched template, idiomatic/ and every mutant) and its report
must equal the running interpreter's, timings aside.  Mutants are graded with ``--only`` the
items tests/e2e/test_mutants.py says they lose (its MUTANTS and MUTANT_OPTIONS: one source), the
running interpreter's reports are computed once for the module, and several runners run at a
time.

The other interpreters: ``MYTORCH_TEST_PYTHONS`` (paths separated by os.pathsep, each with
requirements.txt installed), else found: ``.venv-3.X/bin/python`` in the repository (what
``.ci/run`` makes), ``$(pyenv root)/versions/3.X.*/bin/python`` and ``python3.X`` on PATH,
each used only if it imports numpy and jsonschema.  A version not found skips its tests,
saying how to provide it; with ``MYTORCH_REQUIRE_PYTHONS=1`` (CI) it fails them.

What CPython itself writes differently (tests/cpython_differences.py) is set aside before
comparing; everything else must be identical.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

from helpers import OTHERS, ROOT, RUNNING, SUBMISSIONS, candidates, complete_copy, grade_once, interpreter, interpreters, probe, pyenv_root
from cpython_differences import across_sum_change, set_aside, sums_alike
from tests.e2e.test_mutants import MUTANTS, comparison_arguments

pytestmark = pytest.mark.slow  # every submission under several interpreters

RUNNER_TIMEOUT = 300
# what is graded: complete/, the template, idiomatic/ and every mutant (test_mutants.comparison_arguments)
NAMES = ["complete", "student_template", "idiomatic", *(f"mutant_{name}" for name in sorted(MUTANTS))]


def slowest_first(entry):
    """Runs are started in this order: whole rubrics, then mutants waiting for a timeout, then the others."""
    name, arguments = entry
    return ("--only" in arguments, "--timeout" not in arguments, name)


# ----------------------------------------------------------------------------- finding the interpreters

# ----------------------------------------------------------------------------- grading under each


def drawn_items():
    """Items with a case checked by properties of the student's own random draws (every check kind but
    ``allclose``, which compares with stored values: today Dropout2d's).  A failing case there quotes the
    draws, which every forked case makes afresh: its text differs from run to run, whatever the Python."""
    manifest = json.loads((ROOT / "fixtures" / "manifest.json").read_text())
    return {name for name, item in manifest["items"].items()
            for case in item["cases"] for check in case["checks"] if check["kind"] != "allclose"}


DRAWN_ITEMS = drawn_items()
DRAWN_ITEM_KEYS = ("name", "section", "policy", "points", "max_points", "total_cases")  # the rest follows the draws


def comparable(report):
    """The report without what may differ between two runs or two Pythons and says nothing of the grading:
    every timing (``*seconds``), the traceback text CPython itself writes differently, and in an item
    graded on the student's random draws everything but its points (and its cases' names)."""
    if isinstance(report, dict):
        if report.get("name") in DRAWN_ITEMS and "cases" in report:
            return {**{key: report[key] for key in DRAWN_ITEM_KEYS},
                    "cases": [case["case"] for case in report["cases"]]}
        return {key: comparable(value) for key, value in report.items() if not key.endswith("seconds")}
    if isinstance(report, list):
        return [comparable(value) for value in report]
    return set_aside(report) if isinstance(report, str) else report


@pytest.fixture(scope="module")
def reports():
    """(version, submission) -> its runner report, the running interpreter's under ``RUNNING``.

    The first request starts every run (helpers.grade_once: a few at a time, each once per session,
    the running interpreter's shared with tests/e2e/test_sandbox_spawned.py): the running interpreter's and
    every other version found, submission by submission.  No request (every version missing), no run.
    """
    runs = {}

    def report(version, name):
        if not runs:
            pythons = {RUNNING: sys.executable, **interpreters()[0]}
            for each, arguments in sorted(comparison_arguments().items(), key=slowest_first):
                for python_version, python in pythons.items():
                    runs[python_version, each] = grade_once(*arguments, python=python, timeout=RUNNER_TIMEOUT)
        run = runs[version, name].result()
        assert run.returncode == 0 and run.report is not None, (
            f"Python {version} grading {name} exited {run.returncode}:\n{run.stderr[-3000:]}")
        return run.report

    return report


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("version", OTHERS)
def test_every_python_grades_like_this_one(version, name, reports):
    interpreter(version)
    theirs, ours = reports(version, name), reports(RUNNING, name)
    assert ours["status"] == "graded"
    if name in ("complete", "student_template"):  # full marks, and zero
        full = name == "complete"
        assert ours["totals"]["main"] == (ours["totals"]["main_max"] if full else 0)
        assert ours["totals"]["bonus"] == (ours["totals"]["bonus_max"] if full else 0)
    theirs, ours = comparable(theirs), comparable(ours)
    if not sums_alike(version, RUNNING):
        theirs, ours = across_sum_change(theirs, ours)
    if theirs != ours:
        pytest.fail(f"Python {version} and {RUNNING} grade {name} differently:\n" + "\n".join(differences(theirs, ours)))


def differences(theirs, ours, where="report", limit=8):
    """The first ``limit`` places where two comparable reports differ, one line each."""
    found = []
    if isinstance(theirs, dict) and isinstance(ours, dict):
        for key in list(ours) + [k for k in theirs if k not in ours]:
            if theirs.get(key) != ours.get(key):
                found += differences(theirs.get(key), ours.get(key), f"{where}.{key}", limit - len(found))
    elif isinstance(theirs, list) and isinstance(ours, list) and len(theirs) == len(ours):
        for index, (mine, other) in enumerate(zip(theirs, ours)):
            if mine != other:
                found += differences(mine, other, f"{where}[{index}]", limit - len(found))
    else:
        found.append(f"{where}: {str(theirs)[:300]!r} there, {str(ours)[:300]!r} here")
    return found[:max(limit, 0)]


def test_the_known_differences_are_set_aside_and_nothing_else():
    frame = '  File "/s/mytorch/flatten.py", line 18, in backward\n    return [f(r) for r in x]\n'
    inner = '  File "/s/mytorch/flatten.py", line 18, in <listcomp>\n    return [f(r) for r in x]\n'
    bare = '  File "/s/mytorch/cnn.py", line 3, in <dictcomp>\n'  # no source line: the next frame stays
    old = f"Traceback (most recent call last):\n{frame}{inner}{bare}{frame}AttributeError: 'F' object has no attribute 'a'"
    new = f"Traceback (most recent call last):\n{frame}{frame}AttributeError: 'F' object has no attribute 'a'. " \
          f"Did you mean: 'b'?"
    assert set_aside(old) == set_aside(new) == old.replace(inner, "").replace(bare, "")
    assert set_aside("NameError: name 'math' is not defined. Did you forget to import 'math'?\n") == \
        "NameError: name 'math' is not defined\n"
    report = {"wall_seconds": 1.0, "items": [{"name": "Flatten", "cases": [
        {"message": old, "student_seconds": 2.0, "points": 0}]}]}
    assert comparable(report) == {"items": [{"name": "Flatten", "cases": [{"message": set_aside(old), "points": 0}]}]}
    assert "Dropout2d" in DRAWN_ITEMS and "Conv1d" not in DRAWN_ITEMS
    drawn = {"name": "Dropout2d", "section": "bonus", "policy": "all_or_nothing", "status": "failed", "points": 0.0,
             "max_points": 5.0, "passed_cases": 1, "total_cases": 2, "cases": [{"case": "half", "message": "x"}]}
    assert comparable(drawn) == {"name": "Dropout2d", "section": "bonus", "policy": "all_or_nothing", "points": 0.0,
                                 "max_points": 5.0, "total_cases": 2, "cases": ["half"]}
    for unchanged in ("IndexError: list index out of range", "ValueError: Did you mean: this?", frame + "x"):
        assert set_aside(unchanged) == unchanged


def test_across_the_sum_change_only_digits_and_how_a_case_fails_may_differ():
    def report(status, message, points=0.0):
        return {"scores": {"ResBlock": points}, "items": [{"name": "ResBlock", "status": status, "points": points,
                                                           "cases": [{"case": "dead_channel", "status": status,
                                                                      "message": message, "points": points}]}]}
    old = report("failed", "[0, 1, 0, 0]: 8.63947472e-07 vs -2.495879867e-07")
    assert across_sum_change(old, report("failed", "[0, 1, 0, 0]: 8.639474767e-07 vs -2.495879867e-07")) == \
        across_sum_change(old, old)
    flipped = across_sum_change(old, report("error", "ZeroDivisionError raised while calling forward"))
    assert flipped[0] == flipped[1] and flipped[0]["items"][0]["cases"] == [
        {"case": "dead_channel", "status": "failing", "points": 0.0}]
    for other in (report("passed", "", 5.0), report("failed", "[0, 1, 0, 0]: 8.64e-07 vs -2.495879867e-07"),
                  report("error", "ZeroDivisionError", 5.0)):
        first, second = across_sum_change(old, other)
        assert first != second
    assert sums_alike("3.10", "3.11") and sums_alike("3.12", "3.13") and not sums_alike("3.11", "3.12")


def test_the_mutants_graded_here_are_test_mutants_own():
    assert {name for name in NAMES if name.startswith("mutant_")} == \
        {p.name for p in SUBMISSIONS.glob("mutant_*") if p.is_dir()}


# ----------------------------------------------------------------------------- runner.py's front gate


def python_3_9():
    for path in candidates("3.9"):
        version, _ = probe(path)
        if version == "3.9":
            return path
    return None


def test_python_3_9_is_refused_in_one_line():
    python = python_3_9()
    if python is None:
        pytest.skip(f"no Python 3.9 found (in {pyenv_root() / 'versions'} or as python3.9 on PATH)")
    done = subprocess.run([str(python), str(ROOT / "runner.py"), "--list"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "needs Python 3.10 or newer; this is 3.9." in done.stderr


def test_without_site_packages_numpy_is_named_with_its_install_command():
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-S", str(ROOT / "runner.py"), "--list"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env=environment)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "NumPy" in done.stderr and f"{sys.executable} -m pip install -r {ROOT / 'requirements.txt'}" in done.stderr


# ----------------------------------------------------------------------------- what 3.10 lacks (autograder/util/compat.py)


def test_str_enums_read_as_their_value_in_every_form():
    from autograder.judge.results import CaseStatus
    from autograder.contract.rubric import Section
    member = CaseStatus.NOT_IMPLEMENTED
    assert isinstance(member, str) and member == "not_implemented" and CaseStatus("not_implemented") is member
    assert (str(member), format(member), f"{member}", f"{member:>16}", "%s" % member) == (
        "not_implemented", "not_implemented", "not_implemented", " not_implemented", "not_implemented")
    assert json.dumps({Section.MAIN: [member]}) == '{"main": ["not_implemented"]}'
    assert json.dumps([Section.BONUS], indent=1) == '[\n "bonus"\n]'
    assert repr(Section.MAIN) == "<Section.MAIN: 'main'>"


@pytest.mark.parametrize("text", ["AAAA=", "AAAA==", "AAA", "A===", "AA=A", "AAAA AAAA", "AA\nAA", "AAÀA", "AA-_"])
def test_strict_base64_refuses_what_is_not_whole_padded_base64(text):
    import binascii
    from autograder.util.compat import strict_base64
    with pytest.raises(binascii.Error):
        strict_base64(text)


def test_strict_base64_reads_what_the_child_writes():
    from binascii import b2a_base64
    from autograder.util.compat import strict_base64
    for size in range(20):
        data = bytes(range(size))
        assert strict_base64(b2a_base64(data, newline=False).decode("ascii")) == data


def test_no_colours_reach_a_report_whatever_the_environment_asks(tmp_path):
    """3.13 colours tracebacks when FORCE_COLOR or PYTHON_COLORS asks: a case's printed traceback
    (and warning) stays plain text, as on every other version (the child gets none of these variables)."""
    folder = complete_copy()
    try:
        flatten = folder / "mytorch" / "flatten.py"
        source = flatten.read_text()
        assert source.count("    def forward(self, A):\n") == 1
        flatten.write_text(source.replace("    def forward(self, A):\n", "    def forward(self, A):\n"
                                          "        import traceback, warnings\n"
                                          "        try:\n            {}['missing']\n"
                                          "        except KeyError:\n            traceback.print_exc()\n"
                                          "        warnings.warn('careful')\n"))
        json_path = tmp_path / "report.json"
        done = subprocess.run([sys.executable, str(ROOT / "runner.py"), "--submission", str(folder), "--only",
                               "Flatten", "--json", str(json_path), "-v"], capture_output=True, text=True, timeout=120,
                              cwd=ROOT, env={**os.environ, "FORCE_COLOR": "1", "PYTHON_COLORS": "1",
                                             "TERM": "xterm-256color"})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    outputs = [case["output"] for item in json.loads(json_path.read_text())["items"] for case in item["cases"]]
    assert outputs and all("KeyError: 'missing'" in output and "UserWarning: careful" in output for output in outputs)
    assert not any("\x1b" in text or "\\x1b" in text for text in outputs + [done.stdout])
