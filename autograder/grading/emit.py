"""Where one grading's report goes: the files asked for, the human report on stdout, the final JSON line.

``runner.py`` (autograder/cli.py) and the platform drivers that print what it prints for an
upload they cannot grade (autograder/platforms/autolab.py, prairielearn.py) end here.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from autograder.config import Config
from autograder.contract.fixtures import FixtureError, Manifest, read_manifest
from autograder.errors import GRADED, HARNESS_ERROR
from autograder.report.model import Report
from autograder.report.visibility import FULL

__all__ = ["Outputs", "emit", "emit_unusable", "report_exit_code", "student_detail_of", "trusted_manifest"]


@dataclass(frozen=True)
class Outputs:
    """What a grading writes besides stdout (``runner.py``'s output options)."""
    json: Path | None = None  # the full report
    format: str = "autolab"  # autolab (the final line only), gradescope or prairielearn (also their file)
    gradescope_out: Path = Path("results.json")
    prairielearn_out: Path = Path("results.json")
    autolab_feedback: bool = False  # Autolab's formatted-feedback line before the final line
    verbose: bool = False  # every failing case in full

    @property
    def platform(self) -> bool:
        """Whether this run grades for a platform (untrusted code, results a platform reads), not a student's own run."""
        return self.format != "autolab" or self.autolab_feedback


def emit(report: Report, outputs: Outputs, detail: str = FULL) -> int:
    """Write the requested files, print the human report, end with the JSON line; return the exit code.

    The files come first, so a reader that stops early (``| head``) loses none of them.  A
    file that cannot be written costs one line on stderr and exit code 2, never the report
    on stdout nor the JSON line, which is always printed last.  The exit code is
    :func:`report_exit_code`'s.  ``detail``
    (:func:`autograder.report.visibility.student_detail`, from the fixture set and the options): what
    stdout, Autolab's feedback and the Gradescope and PrairieLearn files show; ``--json`` is always full.
    """
    from autograder.report.model import write_report
    exit_code = report_exit_code(report, outputs.platform)
    writers: list[tuple[Path, Callable[[Path, Report], object]]] = []
    if outputs.json:
        writers.append((outputs.json, write_report))
    if outputs.format == "gradescope":
        from autograder.report.gradescope import write_gradescope
        writers.append((outputs.gradescope_out, lambda path, report: write_gradescope(path, report, detail)))
    if outputs.format == "prairielearn":
        from autograder.report.prairielearn import write_prairielearn
        writers.append((outputs.prairielearn_out, lambda path, report: write_prairielearn(
            path, with_submission_problem(report), detail)))
    errors = []
    for path, write in writers:
        try:
            write(path, report)
        except OSError as error:
            errors.append(f"error: cannot write {path}: {error.strerror or error}")
    if detail != FULL:
        from autograder.report.student_view import render_student
        print(render_student(report.to_dict(), detail), flush=True)
    else:
        print(report.render(verbose=outputs.verbose), flush=True)
    for message in errors:
        print(message, file=sys.stderr, flush=True)
        exit_code = HARNESS_ERROR
    if outputs.autolab_feedback:
        from autograder.report.autolab import feedback_line
        print(feedback_line(report, detail), flush=True)
    print(report.autolab_line(), flush=True)
    return exit_code


def report_exit_code(report: Report, platform: bool) -> int:
    """0 when ``report`` is a result for the student: graded (whatever the score) or, in a platform
    mode, not gradable because of the student's own files (``error_source == "submission"``: the
    platform document tells the student why); 2 for any other error (autograder/errors.py)."""
    if report.status == "graded" or (platform and report.error_source == "submission"):
        return GRADED
    return HARNESS_ERROR


def trusted_manifest(fixtures: Path) -> Manifest | None:
    """The fixture set's verified manifest (read once per run), or None when it cannot be trusted."""
    try:
        return read_manifest(fixtures)
    except FixtureError:
        return None


def with_submission_problem(report: Report) -> Report:
    """``report``, when grading did not run, with why its submission holds no gradable ``mytorch/`` (if so)."""
    if report.status != "error" or any(item.cases for item in report.items):
        return report
    import dataclasses
    from autograder.grading.submission import package_problem
    return dataclasses.replace(report, submission_problem=package_problem(report.submission))


def student_detail_of(manifest: Manifest | None, config: Config) -> str:
    """What the student-visible outputs of this run show (report.visibility.student_detail): an untrusted
    manifest counts as a hidden set."""
    from autograder.report.visibility import set_identity, student_detail
    fixture_set = set_identity(None, None) if manifest is None else set_identity(manifest.sha256,
                                                                                 manifest.document.get("seed"))
    return student_detail(fixture_set, config.hidden_detail, config.show_hidden_details)


def emit_unusable(upload: Path, reason: str, config: Config, outputs: Outputs,
                  only: Sequence[str] | None = None) -> int:
    """Emit, as ``runner.py`` would, the report for an upload that cannot be graded because of the
    student's own files (``reason``); ``only``: the items to list when the fixture set cannot be trusted."""
    try:
        manifest: Manifest | None = read_manifest(config.fixtures)
        report = Report.failed(upload, manifest.rubric, reason, source="submission")
    except FixtureError as error:
        manifest = None
        report = Report.failed(upload, None, str(error), **({} if only is None else {"only": list(only)}))
    return emit(report, outputs, student_detail_of(manifest, config))
