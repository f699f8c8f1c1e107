"""runner.py end to end (subprocesses) and ``pytest autograder/`` (the unit tests of what it uses are in tests/<package>/)."""
import json
import os
import re
import subprocess
import sys

import jsonschema
import numpy as np
import pytest

from helpers import COMPLETE, ITEMS, MAX_POINTS, ROOT, RUBRIC, TEMPLATE, submission

from autograder.contract.fixtures import load_fixture_set

POINTS = MAX_POINTS
REPORT_SCHEMA = json.loads((ROOT / "autograder" / "contract" / "schemas" / "report.schema.json").read_text())
MEANPOOL_MUTANT = submission("mutant_meanpool_no_divide")  # backward forgets the 1/K^2


def validate(report):
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(report)


def section_total(scores, section):
    return sum(scores[i.name] for i in RUBRIC.items if i.section == section and i.name in scores)


@pytest.fixture(scope="module")
def complete_run(tmp_path_factory, runner_run):
    return runner_run("--submission", COMPLETE, json_path=tmp_path_factory.mktemp("complete") / "report.json")


@pytest.fixture(scope="module")
def template_run(tmp_path_factory, runner_run):
    return runner_run("--submission", TEMPLATE, json_path=tmp_path_factory.mktemp("template") / "report.json")


# ----------------------------------------------------------------------------- whole runs


def test_complete_solution_scores_full_marks(complete_run):
    assert complete_run.returncode == 0, complete_run.stderr
    report = complete_run.report
    validate(report)
    assert report["status"] == "graded" and report["error"] == ""
    assert report["scores"] == POINTS
    assert report["totals"] == {"main": 100, "main_max": 100, "bonus": 15, "bonus_max": 15}
    assert [item["name"] for item in report["items"]] == ITEMS
    for item in report["items"]:
        assert item["status"] == "passed" and item["passed_cases"] == item["total_cases"] > 0
        assert all(case["status"] == "passed" and case["message"] == "" for case in item["cases"])
    line = complete_run.last_line
    assert line == {"scores": report["scores"], "scoreboard": [100, 15]}
    assert "Total score: 100/100 (+15/15 bonus)" in complete_run.stdout


def test_autolab_line_is_the_last_stdout_line(complete_run, template_run):
    for run in (complete_run, template_run):
        lines = run.stdout.rstrip("\n").splitlines()
        assert lines[-1].startswith('{"scores":')
        assert not any(line.startswith('{"scores":') for line in lines[:-1])
        assert set(run.last_line) == {"scores", "scoreboard"}


def test_untouched_template_scores_zero_and_says_not_implemented(template_run):
    assert template_run.returncode == 0, template_run.stderr
    report = template_run.report
    validate(report)
    assert report["status"] == "graded"
    assert report["scores"] == {item: 0 for item in ITEMS}
    assert template_run.last_line == {"scores": report["scores"], "scoreboard": [0, 0]}
    for item in report["items"]:
        assert item["status"] == "not_implemented", (item["name"], item["cases"][0]["message"])
        assert all(case["status"] == "not_implemented" for case in item["cases"])
        name = re.escape(item["name"])
        assert len(re.findall(rf"^\s*TODO\s+{name}\s+0/.*\[not implemented\]$", template_run.stdout, re.M)) == 1
        assert re.search(rf"^{name}: not implemented", template_run.stdout, re.M), item["name"]


def test_only_grades_the_named_items(tmp_path, runner_run):
    run = runner_run("--submission", COMPLETE, "--only", "Flatten, Dropout2d", json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stderr
    validate(run.report)
    assert [item["name"] for item in run.report["items"]] == ["Flatten", "Dropout2d"]
    assert run.last_line == {"scores": {"Flatten": 5, "Dropout2d": 5}, "scoreboard": [5, 5]}
    assert "Conv1d" not in run.stdout


def test_list_prints_the_rubric(runner_run):
    run = runner_run("--list")
    assert run.returncode == 0, run.stderr
    for item in RUBRIC.items:
        assert re.search(rf"^\s+{re.escape(item.name)}\s+{item.points:g}\s", run.stdout, re.M), item.name
    assert "scores" not in run.stdout  # nothing graded


def test_unknown_only_item_is_a_usage_error(runner_run):
    run = runner_run("--submission", COMPLETE, "--only", "Flatten,NoSuchLayer")
    assert run.returncode == 2
    assert "NoSuchLayer" in run.stderr


def test_missing_mytorch_folder(tmp_path, runner_run):
    empty = tmp_path / "submission"
    empty.mkdir()
    run = runner_run("--submission", empty, json_path=tmp_path / "r.json")
    assert run.returncode == 2
    assert "no mytorch/ package folder" in run.stderr and str(empty) in run.stderr
    assert run.last_line == {"scores": {item: 0 for item in ITEMS}, "scoreboard": [0, 0]}
    validate(run.report)
    assert run.report["status"] == "error" and "mytorch/" in run.report["error"]


def test_mismatch_numbers_are_right_and_exit_code_is_0(tmp_path, runner_run):
    """mutant_meanpool_no_divide returns exactly K*K times the expected dLdA: predict every number."""
    only = ["MeanPool2d_stride1", "MeanPool2d"]
    run = runner_run("--submission", MEANPOOL_MUTANT, "--only", ",".join(only), json_path=tmp_path / "r.json")
    assert run.returncode == 0, run.stderr  # grading ran, with failures
    validate(run.report)
    fixtures = load_fixture_set(only=only)
    checked, partial = 0, 0
    for item in run.report["items"]:
        for result in item["cases"]:
            case = next(c for c in fixtures.items[item["name"]] if c.name == result["case"])
            K = case.hyperparameters["kernel"]
            check = next(c for c in case.checks if c["quantity"] == "backward dLdA")
            expected = case.array(check["expected"])
            got = expected * K * K
            bad = [index for index in np.ndindex(expected.shape)
                   if abs(got[index] - expected[index]) > case.tolerance["atol"]
                   + case.tolerance["rtol"] * abs(expected[index])]
            if K == 1:
                assert not bad and result["status"] == "passed"
                continue
            assert result["status"] == "failed" and bad
            message = result["message"]
            count, total, percent = re.search(r"Mismatched elements: (\d+) / (\d+) \(([\d.]+)%\)", message).groups()
            count, total, percent = int(count), int(total), float(percent)
            assert (count, total) == (len(bad), expected.size)
            assert percent == pytest.approx(100 * len(bad) / expected.size, rel=1e-2)
            max_abs = float(re.search(r"Max absolute difference: (\S+)", message).group(1))
            assert max_abs == pytest.approx((K * K - 1) * np.abs(expected).max(), rel=1e-5)
            max_rel = float(re.search(r"Max relative difference: (\S+)", message).group(1))
            assert max_rel == pytest.approx(K * K - 1, rel=1e-9)
            first = re.search(r"First mismatches.*\n\s+\[([\d, ]+)\]: (\S+) vs (\S+)", message)
            assert tuple(int(i) for i in first.group(1).split(",")) == bad[0]
            assert float(first.group(3)) == pytest.approx(expected[bad[0]], rel=1e-9)
            assert float(first.group(2)) == pytest.approx(K * K * expected[bad[0]], rel=1e-9)
            checked += 1
            partial += len(bad) < expected.size  # stride > kernel: some inputs get no gradient at all
    assert checked >= 5 and partial >= 1
    assert "MeanPool2d_stride1, case" in run.stdout and "Mismatched elements:" in run.stdout


def test_pytest_on_autograder_folder(tmp_path):
    def pytest_run(submission, *extra):
        return subprocess.run([sys.executable, "-m", "pytest", "autograder/", "--submission", str(submission),
                               "-q", "-p", "no:cacheprovider", *extra],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)

    passing = pytest_run(COMPLETE)
    assert passing.returncode == 0, passing.stdout[-3000:]
    manifest = json.loads((ROOT / "fixtures" / "manifest.json").read_text())
    cases = sum(len(entry["cases"]) for entry in manifest["items"].values())
    assert re.search(rf"\b{cases} passed\b", passing.stdout) and "failed" not in passing.stdout
    failing = pytest_run(MEANPOOL_MUTANT, "-k", "MeanPool2d_stride1")
    assert failing.returncode == 1, failing.stdout[-3000:]
    assert 'MeanPool2d_stride1, case "general_non_square"' in failing.stdout
    assert "backward dLdA: values differ from the reference" in failing.stdout
    assert re.search(r"Mismatched elements: \d+ / \d+", failing.stdout)
    assert "3 failed, 1 passed" in failing.stdout  # kernel 1 divides by 1: that case still passes
    assert re.search(r"^MeanPool2d_stride1 +0/10$", failing.stdout, re.M)  # the score counts what was selected
    one_case = pytest_run(MEANPOOL_MUTANT, "-k", "meanpool2d_stride1 and ties")
    assert one_case.returncode == 1 and f"1 failed, {cases - 1} deselected" in one_case.stdout
    assert re.search(r"^MeanPool2d_stride1 +0/1 cases run passed \(the item's 10 points need all its 4 cases\)$",
                     one_case.stdout, re.M), one_case.stdout


# ----------------------------------------------------------------------------- errors and output

@pytest.mark.parametrize("option", ["--json", "--gradescope-out"])
def test_an_unwritable_output_file_is_one_line_and_exit_2(tmp_path, runner_run, option):
    """Writing a file is inside the error boundary: one line on stderr, exit 2, the JSON line still last."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker / "report.json"  # its parent is a file: no user, root included, can create it
    extra = ["--format", "gradescope"] if option == "--gradescope-out" else []
    run = runner_run("--submission", COMPLETE, "--only", "Flatten", option, target, *extra)
    assert run.returncode == 2
    assert re.fullmatch(rf"error: cannot write {re.escape(str(target))}: [^\n]+\n", run.stderr), run.stderr
    assert "Total score: 5/100 (+0/15 bonus)" in run.stdout
    assert run.last_line == {"scores": {"Flatten": 5.0}, "scoreboard": [5.0, 0.0]}
    assert not target.exists()


def test_a_reader_that_stops_early_ends_the_runner_quietly(tmp_path):
    """``python runner.py | head -1``: no BrokenPipeError traceback, the --json report still written.

    The runner's stdout is a pipe whose reading end is already closed, so its very first write
    fails, whatever the timing.
    """
    report = tmp_path / "report.json"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = subprocess.run([sys.executable, str(ROOT / "runner.py"), "--submission", str(TEMPLATE), "-v",
                                  "--json", str(report)], stdout=write_end, stderr=subprocess.PIPE, cwd=ROOT,
                                 timeout=300)
    finally:
        os.close(write_end)
    assert process.returncode == 141, process.stderr.decode()
    assert process.stderr.decode() == ""
    validate(json.loads(report.read_text()))


def test_reports_are_written_whole_and_readable_by_others(tmp_path):
    """One atomic write for every file the grader produces: no temporary file left, mode 0644."""
    from autograder.util.atomic import FILE_MODE, write_json_atomic
    target = tmp_path / "deeper" / "report.json"
    write_json_atomic(target, {"student": "x\udcff"})
    assert json.loads(target.read_text()) == {"student": "x\ufffd"}
    assert target.stat().st_mode & 0o777 == FILE_MODE == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]
    with pytest.raises(TypeError):
        write_json_atomic(target, {"not json": object()})
    assert json.loads(target.read_text()) == {"student": "x\ufffd"}  # the old file is intact
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]


def test_a_rubric_item_without_cases_stops_grading_with_exit_2(tmp_path, runner_run):
    """Never a silent zero: an item the fixture set declares with no case is a harness error, named."""
    import shutil
    fixtures = tmp_path / "fixtures"
    shutil.copytree(ROOT / "fixtures", fixtures)
    manifest = json.loads((fixtures / "manifest.json").read_text())
    manifest["items"]["Flatten"]["cases"] = []
    (fixtures / "manifest.json").write_text(json.dumps(manifest))
    run = runner_run("--submission", COMPLETE, "--fixtures", fixtures)
    assert run.returncode == 2
    assert re.search(r"manifest\.json: does not match manifest\.schema\.json at items/Flatten/cases", run.stderr)
    assert run.last_line["scoreboard"] == [0, 0]


def test_pointing_at_the_package_itself_is_one_clear_error(runner_run):
    """``--submission .../mytorch``: exit 2, what to pass instead, no table of 21 zeros."""
    run = runner_run("--submission", COMPLETE / "mytorch")
    assert run.returncode == 2
    assert f"is the mytorch/ package itself: pass the folder that contains it ({COMPLETE})" in run.stderr
    assert "No item was graded: every item scores 0." in run.stdout
    assert not re.search(r"^\s+(PASS|FAIL|TODO)\s", run.stdout, re.M)
    assert run.last_line["scoreboard"] == [0, 0] and set(run.last_line["scores"]) == set(ITEMS)


def test_only_takes_any_letter_case_and_suggests_the_closest_name(runner_run):
    run = runner_run("--submission", COMPLETE, "--only", "flatten,UPSAMPLING1D")
    assert run.returncode == 0 and run.last_line["scores"] == {"Upsampling1d": 2.5, "Flatten": 5.0}
    typo = runner_run("--submission", COMPLETE, "--only", "Flaten,NoSuchLayer")
    assert typo.returncode == 2
    assert "error: unknown item for --only: Flaten; did you mean Flatten? (see --list)" in typo.stderr
    assert "error: unknown item for --only: NoSuchLayer (see --list)" in typo.stderr


def test_a_quantity_failing_in_many_cases_is_shown_in_full_once(tmp_path, runner_run):
    """The summary shows one item's failing quantity in full once, then one line per further case
    (with its count of mismatched elements); -v and --json keep every case's full message."""
    item = "MeanPool2d_stride1"
    run = runner_run("--submission", MEANPOOL_MUTANT, "--only", item, json_path=tmp_path / "r.json")
    failing = [case for i in run.report["items"] for case in i["cases"] if case["status"] == "failed"]
    assert len(failing) >= 3 and all("First mismatches" in case["message"] for case in failing)
    assert run.stdout.count("First mismatches") == 1
    short = [line for line in run.stdout.splitlines() if "(-v shows the details)" in line]
    assert len(short) == len(failing) - 1
    assert all(re.search(r"backward dLdA: values differ .*; mismatched elements: \d+ / \d+ ", line) for line in short)
    verbose = runner_run("--submission", MEANPOOL_MUTANT, "--only", item, "-v")
    assert verbose.stdout.count("First mismatches") == len(failing)
    assert "(-v shows the details)" not in verbose.stdout
