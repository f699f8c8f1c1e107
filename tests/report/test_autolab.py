"""Autolab formatted feedback (``autograder/report/autolab.py``): schema, contents, and a valid line even when
grading fails."""
import copy
import json

import pytest

from autograder.report.autolab import MINIMAL, AutolabFeedbackError, feedback_document, feedback_line, validate_feedback
from helpers import COMPLETE, MISMATCH, RUBRIC, run_runner, synthetic_report


def test_autolab_feedback_document(public_set):
    document = feedback_document(synthetic_report(public_set))
    validate_feedback(document)
    assert document["stages"] == ["Main", "Bonus"]
    assert document["Main"]["Conv1d"]["passed"] is False and document["Main"]["Conv1d_stride1"]["passed"] is True
    assert "first failing case case1: failed" in document["Main"]["Conv1d"]["hint"]
    assert "first failing case case0: timeout" in document["Bonus"]["ResBlock"]["hint"]
    assert MISMATCH.split("\n")[0] not in json.dumps(document)  # no values or mismatch details
    hidden = feedback_document(synthetic_report(public_set), "passed")  # a hidden set: no kind of failure
    assert "first failing case case0: failed" in hidden["Bonus"]["ResBlock"]["hint"]
    assert "timeout" not in json.dumps(hidden) and "implemented" not in json.dumps(hidden)
    assert document["_scores_order"] == list(RUBRIC.names)
    broken = copy.deepcopy(document)
    del broken["Bonus"]
    with pytest.raises(AutolabFeedbackError):
        validate_feedback(broken)
    with pytest.raises(AutolabFeedbackError):
        validate_feedback({**document, "_presentation": "fancy"})


def test_autolab_feedback_line_is_always_valid():
    assert json.loads(feedback_line(object())) == MINIMAL


@pytest.mark.slow
def test_runner_autolab_feedback_precedes_the_scores_line(tmp_path):
    run = run_runner("--submission", COMPLETE, "--only", "Flatten,Upsampling1d", "--autolab-feedback", "--jobs", "2")
    assert run.returncode == 0, run.stderr
    feedback, scores = (json.loads(line) for line in run.stdout.rstrip("\n").splitlines()[-2:])
    validate_feedback(feedback)
    assert feedback["Main"] == {"Upsampling1d": {"passed": True, "hint": feedback["Main"]["Upsampling1d"]["hint"]},
                                "Flatten": {"passed": True, "hint": feedback["Main"]["Flatten"]["hint"]}}
    assert scores == {"scores": {"Upsampling1d": 2.5, "Flatten": 5.0}, "scoreboard": [7.5, 0.0]}

    run = run_runner("--submission", tmp_path / "nothing_here", "--autolab-feedback")
    assert run.returncode == 0, run.stderr  # a result for the student: make must not add its error line
    feedback, scores = (json.loads(line) for line in run.stdout.rstrip("\n").splitlines()[-2:])
    validate_feedback(feedback)
    assert feedback["stages"][0] == "Grading error" and "no mytorch/ package" in feedback["Grading error"]["Grading"]["hint"]
    assert set(scores["scores"]) == set(RUBRIC.names) and scores["scoreboard"] == [0.0, 0.0]
