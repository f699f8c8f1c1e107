"""autograder/report/model.py: the report read back from its JSON (``Report.from_dict`` is the inverse of
``to_dict``) and the summary's shortened messages.

Real reports (graded by runner.py: passing, failing with values and shapes, not implemented,
an upload without mytorch/) round-trip exactly, and the report read back renders as the live one
printed, so that every module reading a stored report can use the model instead of its keys.
"""
import json
import re

import pytest

from autograder.contract.fixtures import read_manifest
from autograder.judge.results import CaseResult
from autograder.report.model import Report, validate_report
from helpers import COMPLETE, ROOT, TEMPLATE, run_runner, submission

TIME = re.compile(r"\b\d+\.\d\ds\b")  # an item's time in the table
GRADINGS = {
    "complete": (COMPLETE, "Conv1d,Flatten"),
    "values": (submission("mutant_meanpool_no_divide"), "MeanPool2d_stride1,MeanPool2d"),
    "shape": (submission("mutant_downsample1d_floor"), "Downsampling1d"),
    "template": (TEMPLATE, "Flatten,Dropout2d"),
    "no_package": (ROOT / "tests", "Flatten"),  # no mytorch/ in it: a failed grading, every item 0
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """name -> (the report document, runner.py -v's stdout) of each grading in GRADINGS."""
    folder = tmp_path_factory.mktemp("reports")
    runs = {}
    for name, (path, only) in GRADINGS.items():
        run = run_runner("--submission", path, "--only", only, "--jobs", "2", "-v", json_path=folder / f"{name}.json")
        assert run.report is not None, run.stderr
        runs[name] = (run.report, run.stdout)
    return runs


@pytest.mark.parametrize("name", list(GRADINGS))
def test_a_real_report_round_trips(graded, name):
    document, _ = graded[name]
    assert Report.from_dict(document).to_dict() == document


@pytest.mark.parametrize("name", list(GRADINGS))
def test_the_report_read_back_renders_as_printed(graded, name):
    """runner.py -v printed the live report (the public set: every failing case in full); the one read
    back prints the same (the items' times aside: the document holds them rounded).  The summary
    without -v shortens messages by the judge's findings, which only a live report has."""
    document, stdout = graded[name]
    printed = stdout.rstrip("\n").rsplit("\n", 1)[0]  # all but the final JSON line
    assert TIME.sub("<t>s", Report.from_dict(document).render(verbose=True)) == TIME.sub("<t>s", printed)


def test_reports_without_a_rubric_and_of_a_batch_round_trip():
    """A failed grading with no trusted rubric (its items scored 0, ``unscored``) and a batch's report
    (with its provenance) are read back whole."""
    failed = Report.failed("somewhere", None, "the manifest does not verify", only=("Flatten", "Conv1d")).to_dict()
    validate_report(failed)
    assert Report.from_dict(failed).to_dict() == failed and Report.from_dict(failed).scores() == failed["scores"]
    manifest = read_manifest(ROOT / "fixtures")
    batch = Report.failed("alice", manifest.rubric, "no mytorch/", source="submission").to_dict()
    batch["provenance"] = {"submission_sha256": "a" * 64, "fixture_set": "x", "manifest_sha256": "b" * 64,
                           "rubric_sha256": "c" * 64, "harness_version": "1.0.0", "hints": True}
    validate_report(batch)
    assert Report.from_dict(json.loads(json.dumps(batch))).to_dict() == batch


def test_a_case_round_trips():
    case = {"case": "c", "status": "failed", "message": "m", "wall_seconds": 0.25, "student_seconds": 0.125,
            "output": "o", "failures": [{"quantity": "forward Z", "kind": "shape", "formula": "(N,)"}],
            "mismatches": [{"quantity": "q", "slice": [None, None], "shape": [1, 1], "rows": ["+"]}]}
    assert CaseResult.from_dict("A", case).to_dict() == case


def test_a_long_mismatch_is_cut_in_the_summary_and_says_so():
    from autograder.judge.results import CaseResult, CaseStatus, Finding
    from autograder.report.model import MAX_QUANTITY_LINES, shortened_message
    details = [f"  line {i}" for i in range(MAX_QUANTITY_LINES + 7)] + ["  likely cause: a known slip"]
    findings = (Finding("forward output", ("forward output: values differ", *details), (3, 12), cause=True),
                Finding("dLdW", ("dLdW: got None",)))
    message = "\n".join(['Item, case "c" (...)', *(line for finding in findings for line in finding.lines)])
    case = CaseResult("Item", "c", CaseStatus.FAILED, message, header='Item, case "c" (...)', findings=findings)
    shown = shortened_message(case, set()).split("\n")
    assert shown[:MAX_QUANTITY_LINES + 1] == message.split("\n")[:MAX_QUANTITY_LINES + 1]
    later = ("1 more wrong quantity, computed after forward output (so possibly wrong because of it), one line each "
             "(-v shows them in full):")
    assert shown[MAX_QUANTITY_LINES + 1:] == ["  ... 8 more line(s) (-v shows them)", "  likely cause: a known slip",
                                              later, "  dLdW: got None"]
    again = shortened_message(case, {"forward output", "dLdW"}).split("\n")  # both shown before: a line each
    assert again[1:] == ["forward output: values differ; mismatched elements: 3 / 12 (25%)  (-v shows the details)",
                         later, "  dLdW: got None"]


def test_the_summary_starts_at_the_first_wrong_quantity_the_program_computes():
    """Findings come in the fixture's check order; the summary shows them in the program's order (Finding.order):
    the first in full, then a line saying the rest come later, then each in one line; a likely cause the case
    has already named is not repeated, a new one is.  The message (-v, --json) keeps every line."""
    from autograder.judge.results import CaseResult, CaseStatus, Finding
    from autograder.report.model import shortened_message
    sign = "  likely cause: your q is exactly what this mistake gives: the sign"
    findings = (Finding("dLdA", ("dLdA: values differ", "  detail A", sign), (4, 4), True, "the sign", (1, 1, 0)),
                Finding("layer0.dLdW", ("layer0.dLdW: values differ", "  detail 0", sign), (2, 2), True, "the sign",
                        (1, 0, -3)),
                Finding("layer1.dLdW", ("layer1.dLdW: values differ", "  detail 1", sign), (1, 2), True, "the sign",
                        (1, 0, -4)),
                Finding("W after step()", ("W after step(): values differ", "  detail W", "  likely cause: ascent"),
                        (2, 2), True, "ascent", (5, 1, 6)))
    message = "\n".join(['Item, case "c" (...)', *(line for finding in findings for line in finding.lines)])
    case = CaseResult("Item", "c", CaseStatus.FAILED, message, header='Item, case "c" (...)', findings=findings)
    assert shortened_message(case, set()).split("\n") == [
        'Item, case "c" (...)', "layer1.dLdW: values differ", "  detail 1", sign,
        "3 more wrong quantities, computed after layer1.dLdW (so possibly wrong because of it), one line each "
        "(-v shows them in full):",
        "  layer0.dLdW: values differ; mismatched elements: 2 / 2 (100%)  (-v shows the details)",
        "  dLdA: values differ; mismatched elements: 4 / 4 (100%)  (-v shows the details)",
        "  W after step(): values differ; mismatched elements: 2 / 2 (100%)  (-v shows the details)",
        "    likely cause: ascent"]
    assert case.message == message  # what -v and --json show: everything, in check order
