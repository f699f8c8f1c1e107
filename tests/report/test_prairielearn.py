"""PrairieLearn results.json (``autograder/report/prairielearn.py``): schema, contents, and a valid output even
when grading fails."""
import copy
import json

import pytest

from autograder.report.prairielearn import (MAX_BYTES, PrairieLearnError, encoded_size, prairielearn_document,
                                     validate_prairielearn, write_prairielearn)
from autograder.report.model import Report
from autograder.judge.results import CaseResult, CaseStatus
from helpers import COMPLETE, MISMATCH, RUBRIC, run_runner, synthetic_report, trimmed_fixtures


def test_prairielearn_graded_report(tmp_path, public_set):
    document = write_prairielearn(tmp_path / "results.json", synthetic_report(public_set))
    assert json.loads((tmp_path / "results.json").read_text()) == document
    validate_prairielearn(document)
    assert document["gradable"] is True and "format_errors" not in document
    assert document["score"] == pytest.approx((100 - 5 - 5) / 100)  # Conv1d and Flatten lost; bonus not in score
    tests = {t["name"]: t for t in document["tests"]}
    assert len(tests) == len(RUBRIC.items)
    assert tests["Conv1d"]["points"] == 0 and tests["Conv1d"]["max_points"] == 5
    assert tests["Conv1d_stride1"]["points"] == tests["Conv1d_stride1"]["max_points"] == 10
    assert tests["ResBlock (bonus)"]["points"] == 0
    assert MISMATCH in tests["Conv1d"]["output"] and "1/2 cases passed" in tests["Conv1d"]["message"]


def test_prairielearn_hidden_set_hides_details(public_set):
    report = synthetic_report(public_set)
    report.fixture_set = {**report.fixture_set, "manifest_sha256": "0" * 64}
    conv1d = next(t for t in prairielearn_document(report)["tests"] if t["name"] == "Conv1d")
    assert MISMATCH not in conv1d["output"] and 'case "case1": failed' in conv1d["output"]
    resblock = next(t for t in prairielearn_document(report)["tests"] if t["name"] == "ResBlock (bonus)")
    assert "timeout" not in json.dumps(resblock)
    conv1d = next(t for t in prairielearn_document(report, "kinds")["tests"] if t["name"] == "Conv1d")
    assert MISMATCH not in conv1d["output"] and 'case "case1": wrong result' in conv1d["output"]


def test_prairielearn_no_package_is_not_gradable(tmp_path):
    (tmp_path / "notes.txt").write_text("forgot the code")
    report = Report.failed(tmp_path, RUBRIC, "no mytorch/ package", source="submission")
    document = write_prairielearn(tmp_path / "results.json", report)
    validate_prairielearn(document)
    assert document["gradable"] is False and document["score"] == 0 and document["tests"] == []
    assert "no mytorch/ package" in document["format_errors"][0]


def test_prairielearn_harness_error_says_grading_failed_not_a_score(tmp_path, public_set):
    """PrairieLearn's way of saying that grading failed: gradable false (no points awarded or lost, the
    attempt not counted), the reason in format_errors and message; never a gradable score of 0."""
    report = Report.failed(COMPLETE, RUBRIC, "the fixture set does not verify", public_set)
    document = write_prairielearn(tmp_path / "results.json", report)
    validate_prairielearn(document)
    assert document["gradable"] is False and document["score"] == 0 and document["tests"] == []
    assert document["format_errors"] == ["Grading failed: the fixture set does not verify"]
    assert document["message"].startswith("Grading failed: the fixture set does not verify\n")
    assert "not counted" in document["message"] or "does not count" in document["message"]
    hidden = write_prairielearn(tmp_path / "hidden.json", report, "passed")  # a hidden set: no harness detail
    assert "does not verify" not in json.dumps(hidden) and "course staff have the details" in hidden["message"]


def test_prairielearn_unconvertible_report_still_writes_a_valid_file(tmp_path):
    document = write_prairielearn(tmp_path / "results.json", object())
    validate_prairielearn(json.loads((tmp_path / "results.json").read_text()))
    assert document["gradable"] is False and "AttributeError" in document["message"]
    assert document["message"].startswith("Grading failed: ")


@pytest.mark.slow
def test_prairielearn_stays_under_one_megabyte(tmp_path, public_set):
    flood = "\x1b" * 400_000  # every character is six bytes once JSON-escaped
    results = {name: [CaseResult(name, f"c{i}", CaseStatus.FAILED, f"{name} c{i}\n{flood}", output=flood)
                      for i in range(3)] for name in RUBRIC.names}
    report = Report.from_results("sub", public_set, results)
    report.error = flood
    document = write_prairielearn(tmp_path / "results.json", report)
    validate_prairielearn(document)
    assert (tmp_path / "results.json").stat().st_size <= MAX_BYTES < 1_000_000
    assert encoded_size(document) <= MAX_BYTES and len(document["tests"]) == len(RUBRIC.items)


@pytest.mark.parametrize("mutate", [
    lambda d: d.update(score=1.5),
    lambda d: d.update(score=-0.1),
    lambda d: d.update(gradable=False),  # not gradable needs format_errors
    lambda d: d["tests"][0].pop("max_points"),
    lambda d: d["tests"][0].update(points="5"),
    lambda d: d.update(extra=1),
], ids=["over_1", "negative", "no_format_errors", "max_points", "points_type", "extra_key"])
def test_prairielearn_schema_rejects_malformed_results(public_set, mutate):
    document = copy.deepcopy(prairielearn_document(synthetic_report(public_set)))
    validate_prairielearn(document)
    mutate(document)
    with pytest.raises(PrairieLearnError):
        validate_prairielearn(document)


@pytest.mark.slow
def test_runner_prairielearn_good_missing_and_tampered(tmp_path):
    out = tmp_path / "pl.json"
    run = run_runner("--submission", COMPLETE, "--only", "Flatten,Upsampling1d", "--format", "prairielearn",
                     "--prairielearn-out", out, "--jobs", "2")
    assert run.returncode == 0, run.stderr
    document = json.loads(out.read_text())
    validate_prairielearn(document)
    assert document["score"] == pytest.approx(7.5 / 100)
    assert {t["name"]: t["points"] for t in document["tests"]} == {"Upsampling1d": 2.5, "Flatten": 5.0}

    run = run_runner("--submission", tmp_path / "nothing_here", "--format", "prairielearn", "--prairielearn-out", out)
    assert run.returncode == 0, run.stderr  # a result for the student: PrairieLearn reads it only after exit 0
    document = json.loads(out.read_text())
    validate_prairielearn(document)
    assert document["gradable"] is False and "no mytorch/ package" in document["format_errors"][0]

    fixtures = trimmed_fixtures(tmp_path / "tampered")
    manifest = fixtures / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"seed"', '"seed_"', 1))
    run = run_runner("--submission", COMPLETE, "--fixtures", fixtures, "--format", "prairielearn",
                     "--prairielearn-out", out)
    assert run.returncode == 2  # a harness error: exit 2, and still a document saying that grading failed
    document = json.loads(out.read_text())
    validate_prairielearn(document)
    assert document["gradable"] is False and document["format_errors"][0].startswith("Grading failed: ")

