"""Inside Gradescope: what the autograder zip's ``run_autograder`` runs (``python -m autograder.platforms.gradescope run``).

Grades ``$AUTOGRADER_ROOT/submission`` (default root ``/autograder``) as
``gradescope_config.json`` says (see :mod:`autograder.platforms.gradescope`, which builds
the zip): ``mytorch/`` at the submission's top or one folder down
(:func:`autograder.grading.submission.locate_package`), or loose ``.py`` files of the
package uploaded directly, at the top or in the only folder there, copied into a
``mytorch/`` package in a scratch folder.  Writes
``$AUTOGRADER_ROOT/results/results.json`` (:mod:`autograder.report.gradescope`, with each
test's visibility and the top-level ``stdout_visibility`` from the config),
always a valid file, even when grading fails; prints the human report (what
Gradescope shows as the autograder output, per ``stdout_visibility``): in full
while only the staff see it (``hidden``), else what results.json shows a student
(``hidden_detail``, :func:`autograder.report.visibility.student_detail`), and then
nothing else: while stdout is not ``hidden``, whatever else would reach
Gradescope's captured output (both streams, any process: warnings, tracebacks) is
discarded, so with a hidden set students never see its seed or values there.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from autograder import ROOT
from autograder.platforms.gradescope_config import CONFIG_NAME, STAFF_ONLY, make_config

PACKAGE_SKIPPED = ("__MACOSX",)


def loose_modules(submission: Path) -> list[Path]:
    """The ``.py`` files uploaded directly (at the top, or in the only folder there): regular files only."""
    def python_files(folder: Path) -> list[Path]:
        return sorted(p for p in folder.iterdir() if p.suffix == ".py" and p.is_file() and not p.is_symlink())
    if not submission.is_dir():
        return []
    found = python_files(submission)
    folders = [p for p in submission.iterdir() if p.is_dir() and not p.is_symlink()
               and not p.name.startswith(".") and p.name not in PACKAGE_SKIPPED]
    if not found and len(folders) == 1:
        found = python_files(folders[0])
    return found


def prepare_submission(submission: Path, scratch: Path) -> Path:
    """The folder that contains ``mytorch/``: found by :func:`locate_package`, or built in ``scratch``
    from loose module files.  Raises SubmissionError when there is neither."""
    from autograder.grading.submission import PACKAGE, SubmissionError, locate_package
    try:
        return locate_package(submission)
    except SubmissionError:
        modules = loose_modules(submission)
        if not modules:
            raise
    package = scratch / PACKAGE
    package.mkdir(parents=True)
    for module in modules:
        shutil.copyfile(module, package / module.name)
    if not (package / "__init__.py").exists():
        (package / "__init__.py").write_text('"""mytorch, assembled from loose files by the autograder."""\n')
    return scratch


def load_config(source: Path = ROOT) -> dict[str, Any]:
    try:
        return {**make_config(), **json.loads((source / CONFIG_NAME).read_text())}
    except (OSError, ValueError):
        return make_config()


def grade_submission(submission: Path, config: Mapping[str, Any], source: Path = ROOT) -> Any:
    """The Report of grading ``submission`` as the config says (a failed Report when it cannot be graded)."""
    from autograder.config import Config
    from autograder.grading.core import grade
    from autograder.contract.fixtures import FixtureError, load_fixture_set, read_manifest
    from autograder.report.model import Report
    from autograder.sandbox.backends import untrusted_refusal
    from autograder.grading.submission import SubmissionError, upload_text
    fixtures = source / config["fixtures"]
    only = list(config.get("only") or [])
    try:
        manifest = read_manifest(fixtures)
    except FixtureError as error:
        return Report.failed(submission, None, str(error), only=only)
    grading = Config(fixtures=fixtures, only=tuple(only), allow_unsandboxed=bool(config.get("allow_unsandboxed")),
                     **({"timeout": config["timeout"]} if config.get("timeout") else {}))
    refusal = untrusted_refusal(grading.backend, grading.allow_unsandboxed)
    if refusal:  # a harness error (shown to the student as such), never a zero for the student's code
        return Report.failed(submission, manifest.rubric, refusal, only=only)
    with tempfile.TemporaryDirectory(prefix="gradescope-") as scratch:
        try:
            package_root = prepare_submission(submission, Path(scratch))
            fixture_set = load_fixture_set(fixtures, only=only, verified=manifest)
        except SubmissionError as error:  # the student's own files: a hidden set's student view shows it
            return Report.failed(submission, manifest.rubric, upload_text(error), only=only, source="submission")
        except FixtureError as error:
            return Report.failed(submission, manifest.rubric, str(error), only=only)
        return grade(package_root, fixture_set, grading)


def apply_visibility(document: dict[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """Each test's visibility (by item name, else the default) and the top-level ones; a grading
    error stays visible, so that a student always learns why there is no score."""
    per_test = config.get("test_visibility") or {}
    for test in document["tests"]:
        name = test["name"].removesuffix(" (bonus)")
        test["visibility"] = "visible" if name == "Grading error" else per_test.get(name, config["visibility"])
    document["visibility"] = config["visibility"]
    document["stdout_visibility"] = config["stdout_visibility"]
    return document


def write_results(path: Path, report: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """Write results.json for ``report`` (None: grading crashed); always a valid file."""
    from autograder.util.atomic import write_json_atomic
    from autograder.report.gradescope import failure_document, gradescope_document, validate_gradescope
    try:
        if report is None:
            raise RuntimeError("no report")
        document = apply_visibility(gradescope_document(report, student_view_detail(report, config)), config)
        validate_gradescope(document)
    except Exception as error:  # the file Gradescope reads must exist and be valid, whatever happened
        document = failure_document(f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=3)}")
        validate_gradescope(document)
    write_json_atomic(path, document)
    return document


def student_view_detail(report: Any, config: Mapping[str, Any], staff_only: bool = False) -> str:
    """How much of ``report`` a reader of results.json (or, ``staff_only``, of a stdout only the staff
    read) sees: report.visibility.student_detail."""
    from autograder.report.visibility import student_detail
    return student_detail(report.fixture_set, config.get("hidden_detail"), show_hidden_details=staff_only)


def printed_report(report: Any, config: Mapping[str, Any]) -> str:
    """The report printed on stdout: the staff's full one while only they see stdout, else the student view."""
    from autograder.report.student_view import FULL, render_student
    detail = student_view_detail(report, config, staff_only=config.get("stdout_visibility") == STAFF_ONLY)
    return report.render() if detail == FULL else render_student(report.to_dict(), detail)


@contextlib.contextmanager
def discarded_output() -> Iterator[None]:
    """File descriptors 1 and 2 (this process's and every child's) and sys.stdout/sys.stderr to /dev/null,
    then back."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def run_in_gradescope(autograder_root: Path, source: Path = ROOT) -> int:
    """Grade ``autograder_root/submission``; write ``autograder_root/results/results.json`` (always);
    return 0 when it holds a result for the student (graded, or the student's own files cannot be
    graded), 2 when grading itself failed (autograder/errors.py; ``run_autograder`` exits 0 either way).

    Unless ``stdout_visibility`` is ``hidden`` (staff only), students may see stdout, so it carries only
    the report of :func:`printed_report` (the student view with a hidden set) and nothing else."""
    from autograder.errors import GRADED, HARNESS_ERROR
    config = load_config(source)
    staff_only = config.get("stdout_visibility") == STAFF_ONLY
    report = None
    with contextlib.nullcontext() if staff_only else discarded_output():
        try:
            report = grade_submission(autograder_root / "submission", config, source)
            printed = printed_report(report, config)
        except Exception:  # reported in results.json by write_results
            printed = None
            traceback.print_exc()  # to the staff's stdout only: discarded while students may see it
    print(printed if printed is not None else "The autograder failed while grading: no points were awarded (see results.json).",
          flush=True)
    document = write_results(autograder_root / "results" / "results.json", report, config)
    graded = report is not None and (report.status == "graded" or report.error_source == "submission")
    return GRADED if graded and document.get("extra_data", {}).get("status") == report.status else HARNESS_ERROR
