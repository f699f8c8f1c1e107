"""The character map of where an array differs, in messages, the JSON report and Gradescope."""
import json

import numpy as np
import pytest

from helpers import ROOT
from autograder.judge import diffmap
from autograder.judge.compare import Mismatch, assert_close
from autograder.contract.fixtures import read_rubric
from autograder.report.gradescope import fenced, gradescope_document
from autograder.report.model import ItemResult, Report, validate_report
from autograder.judge.results import CaseResult, CaseStatus


def mismatch(got, expected, quantity="backward dLdA"):
    with pytest.raises(Mismatch) as raised:
        assert_close(np.asarray(got, dtype=float), np.asarray(expected, dtype=float), 1e-6, 1e-9, quantity)
    return raised.value


def map_lines(message):
    lines = str(message).splitlines()
    start = next(i for i, line in enumerate(lines) if "Where they differ" in line)
    return lines[start:]


def test_the_last_column_is_seen_at_a_glance():
    expected = np.zeros((2, 3, 4, 5))
    got = expected.copy()
    got[1, 2, :, -1] = 1.0   # first mismatching sample 1, channel 2
    got[1, 2, 0, -1] = -1.0
    error = mismatch(got, expected)
    lines = map_lines(error)
    assert "slice [1, 2, :, :]" in lines[0] and "rows: axis 2, columns: axis 3" in lines[0]
    assert lines[2].strip() == "01234"
    assert [line.split()[-1] for line in lines[3:]] == ["....-", "....+", "....+", "....+"]
    assert error.picture == {"quantity": "backward dLdA", "slice": [1, 2, None, None], "shape": [4, 5],
                             "rows": ["....-", "....+", "....+", "....+"]}


def test_a_1d_quantity_is_one_row_and_a_scalar_has_no_map():
    error = mismatch([0.0, 2.0, 0.0], [0.0, 0.0, 0.0], "dLdb")
    assert error.picture["rows"] == [".+."] and error.picture["slice"] == [None]
    assert "Where they differ" not in str(mismatch(1.0, 2.0, "loss")) and mismatch(1.0, 2.0).picture is None


def test_a_wide_tall_map_is_cut_to_the_width_and_says_so():
    expected = np.zeros((1, 1, 100, 300))
    got = np.where(np.arange(300) % 2 == 0, 1.0, 0.0) * np.ones((1, 1, 100, 1))
    lines = map_lines(mismatch(got, expected))
    assert all(len(line) <= diffmap.MAP_WIDTH for line in lines[1:])
    assert lines[3].split()[1].startswith("+.+.+.") and lines[3].endswith(" >")
    assert len([line for line in lines if line.endswith(" >")]) == diffmap.MAP_ROWS
    assert "only rows 0-23 of 100 and columns 0-" in lines[-1] and "of 300 shown" in lines[-1]
    picture = mismatch(got, expected).picture
    assert len(picture["rows"]) == diffmap.MASK_ROWS and len(picture["rows"][0]) == diffmap.MASK_COLUMNS


def one_item_report(case):
    rubric = read_rubric(ROOT / "fixtures").restricted(["Flatten"])
    return Report(submission="s", rubric=rubric, items=[ItemResult(rubric.item("Flatten"), [case])])


def test_the_json_report_carries_the_mask_and_validates():
    picture = mismatch([[0.0, 1.0]], [[0.0, 0.0]]).picture
    case = CaseResult("Flatten", "case1", CaseStatus.FAILED, "Flatten, case \"case1\"\nbackward dLdA: ...",
                      mismatches=[picture])
    report = one_item_report(case)
    document = json.loads(json.dumps(report.to_dict()))
    validate_report(document)
    assert document["items"][0]["cases"][0]["mismatches"] == [
        {"quantity": "backward dLdA", "slice": [None, None], "shape": [1, 2], "rows": [".+"]}]
    tests = gradescope_document(report, "full")["tests"]
    assert tests[0]["output_format"] == "md" and "```\nFlatten, case" in tests[0]["output"]


def test_a_gradescope_fence_outlasts_any_backticks_in_the_message():
    assert fenced("a ``` b")[0] == "````" and fenced("plain")[0] == "```"


def test_a_hidden_set_shows_the_likely_cause_but_no_value_when_the_staff_show_kinds():
    message = ("Flatten, case \"c\"\nbackward dLdA: values differ\n  [0, 1]: 0.123 vs 0.456\n"
               "  likely cause: your backward dLdA is exactly what this mistake gives: it is column-major.")
    failures = ({"quantity": "backward dLdA", "kind": "mismatch", "hint": "it is column-major."},)
    case = CaseResult("Flatten", "c", CaseStatus.FAILED, message, failures=failures)
    report = one_item_report(case)
    output = gradescope_document(report, "kinds")["tests"][0]["output"]
    # the student view takes the hint from the structured failure (never from the message's text)
    assert "wrong values: backward dLdA (likely cause: it is column-major.)" in output
    assert "0.123" not in output and gradescope_document(report, "kinds")["tests"][0]["output_format"] == "text"
    # by default a hidden set's view names no mistake: which one the code imitates could spell out the inputs
    assert "likely cause" not in gradescope_document(report, "passed")["tests"][0]["output"]
