"""Grade a mytorch submission against the fixtures and print a scored summary.

    python runner.py                              # grade student_template/
    python runner.py --submission DIR             # DIR holds mytorch/
    python runner.py --only Conv1d,Conv1d_stride1 --json report.json
    python runner.py --list                       # the rubric
    python runner.py batch SUBMISSIONS --out DIR  # staff: grade a folder of submissions

The last line of stdout is always one JSON object, {"scores": {...}, ...}.
Exit code 0 when grading ran (whatever the score), 2 for usage or harness errors, 128 + the
signal when stopped by one (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP: every case process killed).
In platform modes (--format gradescope/prairielearn, --autolab-feedback) a submission that
cannot be graded because of the student's own files (no mytorch/) also exits 0: its platform
document says why.  The table: autograder/exit_codes.py.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

# Only what starts the fork servers is imported here; NumPy and the rest load in run(), while
# the servers start on the other cores.
from autograder import exit_codes
from autograder.util import stop_signals
from autograder.sandbox import WALL_FACTOR, Limits, close_servers, prestart_servers
from autograder.sandbox.capacity import available
from autograder.sandbox.backends import CHOICES as SANDBOX_CHOICES, BackendError, describe_choice, resolve
from autograder.sandbox.backends import untrusted_refusal
from autograder.report.visibility import FULL, HIDDEN_DETAILS
from autograder import ROOT


if TYPE_CHECKING:
    from autograder.contract.fixtures import Manifest
    from autograder.report.model import Report
    from autograder.contract.rubric import Rubric

DEFAULT_FIXTURES = ROOT / "fixtures"  # autograder.contract.fixtures.DEFAULT_FIXTURES
DEFAULT_SUBMISSION = ROOT / "student_template"
EXIT_GRADED, EXIT_HARNESS_ERROR = exit_codes.GRADED, exit_codes.HARNESS_ERROR
EXIT_INTERRUPTED = exit_codes.INTERRUPTED  # a process ended by SIGINT (Ctrl-C); SIGTERM 143, SIGHUP 129
EXIT_BROKEN_PIPE = exit_codes.BROKEN_PIPE  # a process ended by SIGPIPE


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python runner.py", description=__doc__.split("\n")[0],
                                     epilog="Staff: 'python runner.py batch --help' grades many submissions.")
    parser.add_argument("--submission", type=Path, default=DEFAULT_SUBMISSION,
                        help="folder that contains your mytorch/ package (default: student_template/)")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES,
                        help="fixture folder with manifest.json (default: fixtures/)")
    parser.add_argument("--only", type=lambda s: [x.strip() for x in s.split(",") if x.strip()], default=[],
                        metavar="ITEM[,ITEM]", help="grade only these rubric items (see --list)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the full report as JSON to PATH")
    parser.add_argument("--format", choices=["autolab", "gradescope", "prairielearn"], default="autolab",
                        help="autolab: final stdout line {\"scores\": ...} (default); "
                             "gradescope: also write results.json (see --gradescope-out); "
                             "prairielearn: also write results.json (see --prairielearn-out)")
    parser.add_argument("--gradescope-out", type=Path, default=Path("results.json"), metavar="PATH",
                        help="where --format gradescope writes its file (default: results.json)")
    parser.add_argument("--prairielearn-out", type=Path, default=Path("results.json"), metavar="PATH",
                        help="where --format prairielearn writes its file (default: results.json)")
    parser.add_argument("--autolab-feedback", action="store_true",
                        help="print Autolab's formatted-feedback line just before the final {\"scores\": ...} line")
    capacity = available()
    parser.add_argument("--timeout", type=float, default=Limits.timeout, metavar="SECONDS",
                        help=f"CPU seconds one case may use (default %(default)s); a case that sleeps or waits is "
                             f"ended at a wall-clock backstop of SECONDS x max(1, jobs / CPUs available) x "
                             f"{WALL_FACTOR:g}, so a busy machine or a small CPU quota never costs a correct case")
    parser.add_argument("--jobs", type=int, default=capacity.jobs,
                        help=f"items graded in parallel (default: what the CPUs and memory really available allow "
                             f"(CPU affinity, cgroup quota and memory limit): %(default)s here, {capacity.why}); "
                             f"more is allowed: the case time limits are CPU time")
    parser.add_argument("--sandbox", choices=SANDBOX_CHOICES, default="auto",
                        help="how each case is isolated: linux (fork servers, Landlock and seccomp) or portable "
                             f"(a spawned process per case, any system); default auto: {describe_choice()}")
    parser.add_argument("--allow-unsandboxed", action="store_true",
                        help="with --format gradescope/prairielearn or --autolab-feedback (untrusted submissions): "
                             "grade even with the portable backend, which has no kernel layers")
    parser.add_argument("--no-hints", dest="hints", action="store_false",
                        help="do not add 'likely cause' lines naming a known mistake to failure messages")
    parser.add_argument("--list", action="store_true", help="print the rubric and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every failing case in full")
    parser.add_argument("--hidden-detail", choices=HIDDEN_DETAILS, default=HIDDEN_DETAILS[0],
                        help="with a fixture set other than the public one, what stdout and the platform files show "
                             "of each case: passed: whether it passed (the default; one bit per case); kinds: also "
                             "how it failed (wrong values or shape of which quantity, exception, timeout..., likely "
                             "cause), which the submission's code can choose, so a few more bits of the hidden set")
    parser.add_argument("--show-hidden-details", action="store_true",
                        help="staff: with a fixture set other than the public one, print the full report anyway "
                             "(by default stdout and the platform files show only which cases passed)")
    return parser.parse_args(argv)


def print_rubric(rubric: Rubric) -> None:
    for section, info in rubric.sections.items():
        print(f"{info.title} ({info.max:g} points)")
        for item in (i for i in rubric.items if i.section is section):
            print(f"  {item.name:<24} {item.points:>5g}  {item.policy.replace('_', ' ')}  ({', '.join(item.classes)})")


def emit(report: Report, args: argparse.Namespace, detail: str = FULL) -> int:
    """Write the requested files, print the human report, end with the JSON line; return the exit code.

    The files come first, so a reader that stops early (``| head``) loses none of them.  A
    file that cannot be written costs one line on stderr and exit code 2, never the report
    on stdout nor the JSON line, which is always printed last.  The exit code is
    :func:`report_exit_code`'s.  ``detail``
    (:func:`autograder.report.visibility.student_detail`, from the fixture set and the options): what
    stdout, Autolab's feedback and the Gradescope and PrairieLearn files show; ``--json`` is always full.
    """
    from autograder.report.model import write_report
    exit_code = report_exit_code(report, platform_mode(args))
    writers: list[tuple[Path, Callable[[Path, Report], object]]] = []
    if args.json:
        writers.append((args.json, write_report))
    if args.format == "gradescope":
        from autograder.report.gradescope import write_gradescope
        writers.append((args.gradescope_out, lambda path, report: write_gradescope(path, report, detail)))
    if args.format == "prairielearn":
        from autograder.report.prairielearn import write_prairielearn
        writers.append((args.prairielearn_out, lambda path, report: write_prairielearn(
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
        print(report.render(verbose=args.verbose), flush=True)
    for message in errors:
        print(message, file=sys.stderr, flush=True)
        exit_code = EXIT_HARNESS_ERROR
    if args.autolab_feedback:
        from autograder.report.autolab import feedback_line
        print(feedback_line(report, detail), flush=True)
    print(report.autolab_line(), flush=True)
    return exit_code


def with_submission_problem(report: Report) -> Report:
    """``report``, when grading did not run, with why its submission holds no gradable ``mytorch/`` (if so)."""
    if report.status != "error" or any(item.cases for item in report.items):
        return report
    import dataclasses
    from autograder.grading.submission import package_problem
    return dataclasses.replace(report, submission_problem=package_problem(report.submission))


def report_exit_code(report: Report, platform: bool) -> int:
    """0 when ``report`` is a result for the student: graded (whatever the score) or, in a platform
    mode, not gradable because of the student's own files (``error_source == "submission"``: the
    platform document tells the student why); 2 for any other error (autograder/exit_codes.py)."""
    if report.status == "graded" or (platform and report.error_source == "submission"):
        return EXIT_GRADED
    return EXIT_HARNESS_ERROR


def trusted_manifest(fixtures: Path) -> Manifest | None:
    """The fixture set's verified manifest (read once per run), or None when it cannot be trusted."""
    from autograder.contract.fixtures import FixtureError, read_manifest
    try:
        return read_manifest(fixtures)
    except FixtureError:
        return None


def run(args: argparse.Namespace) -> int:
    """Grade one submission as ``args`` say; return the exit code."""
    try:
        backend = resolve(args.sandbox)
    except BackendError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    if not args.list and args.jobs >= 1 and args.timeout > 0:
        prestart_servers(min(args.jobs, len(args.only) or args.jobs), backend)
    from autograder.grading.core import Settings, grade
    from autograder.contract.fixtures import FixtureError, load_fixture_set, read_manifest
    from autograder.report.model import Report
    from autograder.grading.submission import SubmissionError, locate_package, upload_text
    try:
        settings = Settings(limits=Limits(timeout=args.timeout), jobs=args.jobs, hints=args.hints,
                            sandbox=args.sandbox, allow_unsandboxed=args.allow_unsandboxed)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    if args.list:
        try:
            print_rubric(read_manifest(args.fixtures).rubric)
        except FixtureError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_HARNESS_ERROR
        return EXIT_GRADED
    manifest = trusted_manifest(args.fixtures)
    rubric = manifest.rubric if manifest is not None else None
    detail = student_detail_of(manifest, args)
    only = args.only
    if only and rubric is not None:  # an untrusted fixture set is reported below, as a failed grading
        by_folded_name = {name.casefold(): name for name in rubric.names}  # --only in any letter case
        unknown = [name for name in only if name.casefold() not in by_folded_name]
        if unknown:
            import difflib  # only to suggest a name
        for name in unknown:
            close = difflib.get_close_matches(name.casefold(), list(by_folded_name), n=1, cutoff=0.6)
            hint = f"; did you mean {by_folded_name[close[0]]}?" if close else ""
            print(f"error: unknown item for --only: {name}{hint} (see --list)", file=sys.stderr)
        if unknown:
            return EXIT_HARNESS_ERROR
        only = [by_folded_name[name.casefold()] for name in only]
    refusal = untrusted_refusal(backend, args.allow_unsandboxed) if platform_mode(args) else ""
    if refusal:  # the platform still gets a valid document saying why
        return emit(Report.failed(args.submission, rubric, refusal, only=only), args, detail)
    try:
        submission = locate_package(args.submission)
        fixture_set = load_fixture_set(args.fixtures, only=only, verified=manifest)
    except (FixtureError, SubmissionError) as error:
        # runner.py's own terminal gets the command-line advice; a platform's student, who passed no
        # folder, the same said of an upload (Autolab shows stderr too)
        text = upload_text(error) if platform_mode(args) else str(error)
        print(f"error: {text}", file=sys.stderr)
        source = "submission" if isinstance(error, SubmissionError) else "harness"
        return emit(Report.failed(args.submission, rubric, text, only=only, source=source), args, detail)
    return emit(grade(submission, fixture_set, settings), args, detail)


def platform_mode(args: argparse.Namespace) -> bool:
    """Whether this run grades for a platform (untrusted code, results a platform reads), not a student's own run."""
    return args.format != "autolab" or args.autolab_feedback


def student_detail_of(manifest: Manifest | None, args: argparse.Namespace) -> str:
    """What the student-visible outputs of this run show (report.visibility.student_detail): an untrusted
    manifest counts as a hidden set."""
    from autograder.report.visibility import set_identity, student_detail
    fixture_set = set_identity(None, None) if manifest is None else set_identity(manifest.sha256,
                                                                                 manifest.document.get("seed"))
    return student_detail(fixture_set, args.hidden_detail, args.show_hidden_details)


class ReaderMayLeave:
    """``sys.stdout`` for a reader that may stop early (``python runner.py | head``).

    After the first broken pipe, output goes nowhere and grading goes on, so the files the
    run was asked to write are still written; the run then ends with the exit code of a
    shell tool stopped by SIGPIPE, with no traceback.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.gone = False

    def _leave(self) -> None:
        self.gone = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())  # the final flush must not fail

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self.stream.write(text)
            except BrokenPipeError:
                self._leave()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._leave()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    stdout = sys.stdout = ReaderMayLeave(sys.stdout)
    try:
        with stop_signals.raising():  # SIGTERM and SIGHUP as Ctrl-C (a second one while stopping: ignored)
            try:
                exit_code = run_command(argv)
            except KeyboardInterrupt as interrupt:
                close_servers(final=True)  # every case process and fork server, now: nothing outlives the grader
                print(stop_signals.describe(interrupt), file=sys.stderr, flush=True)
                exit_code = stop_signals.exit_code(interrupt)
        stdout.flush()
    finally:
        sys.stdout = stdout.stream
    return EXIT_BROKEN_PIPE if stdout.gone else exit_code


def run_command(argv: list[str]) -> int:
    """``runner.py ARGS``: grade one submission, or the batch; the exit code."""
    if argv[:1] == ["batch"] and os.name == "nt":
        print("error: runner.py batch needs Linux or macOS (process groups, file locks); on Windows, "
              "grade one submission at a time, or run the batch in WSL 2", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    if argv[:1] == ["batch"]:
        from autograder.batch.main import main as batch_main
        return batch_main(argv[1:])
    return run(parse_args(argv))

