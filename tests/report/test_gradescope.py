"""Gradescope results.json: built from reports, validated by its schema, and always written."""
import copy
import json

import pytest

from autograder.report.gradescope import (HIDDEN_HINT, GradescopeError, gradescope_document, validate_gradescope,
                                write_gradescope)
from autograder.report.model import Report
from helpers import COMPLETE, MISMATCH, RUBRIC, run_runner, synthetic_report


def test_graded_report_becomes_valid_results(tmp_path, public_set):
    report = synthetic_report(public_set)
    document = write_gradescope(tmp_path / "results.json", report)
    assert json.loads((tmp_path / "results.json").read_text()) == document
    validate_gradescope(document)
    tests = {t["name"]: t for t in document["tests"]}
    assert len(tests) == len(RUBRIC.items)
    assert document["score"] == pytest.approx(100 - 5 - 5 + 15 - 5)  # Conv1d, Flatten and ResBlock lost
    assert document["score"] == pytest.approx(sum(t["score"] for t in document["tests"]))
    assert document["execution_time"] == pytest.approx(12.5)
    assert tests["Conv1d"]["status"] == "failed" and tests["Conv1d"]["score"] == 0
    assert tests["Conv1d_stride1"] == {**tests["Conv1d_stride1"], "status": "passed", "score": 10.0, "max_score": 10.0}
    assert tests["ResBlock (bonus)"]["max_score"] == 5.0 and tests["ResBlock (bonus)"]["status"] == "failed"
    assert all(0 <= t["score"] <= t["max_score"] and t["visibility"] == "visible" for t in document["tests"])
    # public fixtures: the full diagnostics are shown
    assert MISMATCH in tests["Conv1d"]["output"]
    assert "1/2 cases passed" in tests["Conv1d"]["output"]


def test_hidden_fixture_set_hides_failure_details(public_set):
    """By default only which cases passed (no kind, no time); the staff's "kinds" adds how they failed."""
    report = synthetic_report(public_set)
    report.fixture_set = {**report.fixture_set, "manifest_sha256": "0" * 64, "id": "seed-99-000000000000"}
    document = gradescope_document(report)
    validate_gradescope(document)
    tests = {t["name"]: t for t in document["tests"]}
    conv1d = tests["Conv1d"]
    assert MISMATCH not in conv1d["output"] and "0.25" not in conv1d["output"]
    assert 'case "case1": failed' in conv1d["output"] and HIDDEN_HINT in conv1d["output"]
    assert 'case "case0": failed' in tests["ResBlock (bonus)"]["output"]
    text = json.dumps(document)
    assert not [word for word in ("wrong result", "timeout", "not implemented", "skipped") if word in text], text
    assert document["execution_time"] == 0  # 12.5 s: a sleep could encode a value
    assert document["extra_data"]["fixture_set"] == "hidden"
    assert document["score"] == gradescope_document(synthetic_report(public_set))["score"]
    kinds = {t["name"]: t for t in gradescope_document(report, "kinds")["tests"]}
    assert 'case "case1": wrong result' in kinds["Conv1d"]["output"] and MISMATCH not in kinds["Conv1d"]["output"]
    assert 'case "case0": timeout' in kinds["ResBlock (bonus)"]["output"]


def test_harness_failure_gives_score_0_and_an_explanation(tmp_path, public_set):
    report = Report.failed("sub", RUBRIC, "the graded test suite did not run to completion", public_set)
    document = write_gradescope(tmp_path / "results.json", report)
    validate_gradescope(document)
    assert document["score"] == 0
    first = document["tests"][0]
    assert first["name"] == "Grading error" and first["status"] == "failed"
    assert "did not run to completion" in first["output"]
    assert all(t["score"] == 0 and t["status"] == "failed" for t in document["tests"])


def test_unconvertible_report_still_writes_a_valid_file(tmp_path):
    document = write_gradescope(tmp_path / "results.json", object())  # not a Report at all
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk == document
    validate_gradescope(on_disk)
    assert on_disk["score"] == 0 and on_disk["tests"][0]["name"] == "Grading error"
    assert "AttributeError" in on_disk["tests"][0]["output"]


@pytest.mark.parametrize("mutate", [
    lambda d: d["tests"][0].update(status="ok"),
    lambda d: d["tests"][0].update(visibility="public"),
    lambda d: d["tests"][0].pop("max_score"),
    lambda d: d["tests"][0].update(score="10"),
    lambda d: d.update(score=-1),
    lambda d: d.pop("tests"),
    lambda d: d.update(unknown_key=1),
], ids=["status", "visibility", "max_score", "score_type", "negative", "no_tests", "extra_key"])
def test_schema_rejects_malformed_results(public_set, mutate):
    document = copy.deepcopy(gradescope_document(synthetic_report(public_set)))
    validate_gradescope(document)
    mutate(document)
    with pytest.raises(GradescopeError):
        validate_gradescope(document)


def test_runner_writes_gradescope_results(tmp_path):
    results = tmp_path / "results.json"
    run = run_runner("--submission", COMPLETE, "--only", "Flatten,Upsampling1d", "--format", "gradescope",
                     "--gradescope-out", results, "--jobs", "2")
    assert run.returncode == 0, run.stderr
    document = json.loads(results.read_text())
    validate_gradescope(document)
    assert document["score"] == pytest.approx(7.5) == sum(run.last_line["scoreboard"])
    assert {t["name"]: t["status"] for t in document["tests"]} == {"Upsampling1d": "passed", "Flatten": "passed"}


def test_runner_without_a_package_writes_gradescope_results_and_exits_0(tmp_path):
    """No mytorch/: a result for the student (score 0 and why), so exit 0 in this platform mode."""
    results = tmp_path / "results.json"
    run = run_runner("--submission", tmp_path / "nothing_here", "--format", "gradescope", "--gradescope-out", results)
    assert run.returncode == 0, run.stderr
    document = json.loads(results.read_text())
    validate_gradescope(document)
    assert document["score"] == 0 and "no mytorch/ package" in document["tests"][0]["output"]
