"""Grade a mytorch submission against the fixtures and print a scored summary.

    python runner.py                              # grade student_template/
    python runner.py --submission DIR             # DIR holds mytorch/
    python runner.py --only Conv1d,Conv1d_stride1 --json report.json
    python runner.py --list                       # the rubric
    python runner.py batch SUBMISSIONS --out DIR  # staff: grade a folder of submissions
    python runner.py batch merge OUT              # staff: the shards' outputs as one batch's
    python runner.py batch export --canvas ROSTER.csv --assignment NAME OUT   # staff: a Canvas import file

The last line of stdout is always one JSON object, {"scores": {...}, ...}.
Exit code 0 when grading ran (whatever the score), 2 for usage or harness errors, 128 + the
signal when stopped by one (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP: every case process killed).
In platform modes (--format gradescope/prairielearn, --autolab-feedback) a submission that
cannot be graded because of the student's own files (no mytorch/) also exits 0: its platform
document says why.  The table: autograder/errors.py.

One parser with real subcommands (:func:`build_parser`): grading is the default (no word needed),
``batch`` has its own (autograder/batch/main.py: the grading form, ``merge``; ``export`` is added
here, a platform's).  ``python -m autograder`` is the same command.  The options have one spelling
everywhere (``--fixtures``, ``--timeout``, ``--jobs``); the pytest view's old ones are hidden aliases
(autograder/config.py).  An uncaught :class:`autograder.errors.GraderError` becomes its exit code in
one place, :func:`autograder.errors.exit_status`.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

# Only what starts the fork servers is imported here; NumPy and the rest load in run(), while
# the servers start on the other cores.
from autograder import errors
from autograder.config import Config, add_aliases
from autograder.errors import exit_status
from autograder.util import stop_signals
from autograder.sandbox import WALL_FACTOR, Limits, close_servers, prestart_servers
from autograder.sandbox.capacity import available
from autograder.sandbox.backends import CHOICES as SANDBOX_CHOICES, describe_choice
from autograder.sandbox.backends import untrusted_refusal
from autograder.report.visibility import HIDDEN_DETAILS
from autograder import DEFAULT_FIXTURES, ROOT


if TYPE_CHECKING:
    from autograder.contract.rubric import Rubric
    from autograder.grading.emit import Outputs

DEFAULT_SUBMISSION = ROOT / "student_template"
EXIT_GRADED, EXIT_HARNESS_ERROR = errors.GRADED, errors.HARNESS_ERROR
EXIT_INTERRUPTED = errors.INTERRUPTED  # a process ended by SIGINT (Ctrl-C); SIGTERM 143, SIGHUP 129
EXIT_BROKEN_PIPE = errors.BROKEN_PIPE  # a process ended by SIGPIPE


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """``runner.py ARGS`` parsed: ``args.run`` is the command's function (grading when no command is named)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["batch"]:  # the batch's grading form has no name of its own (batch.main.implicit_grade)
        from autograder.batch.main import implicit_grade
        argv = ["batch", *implicit_grade(argv[1:])]
    args = build_parser().parse_args(argv)
    if args.command == "batch":  # the batch's own parser, built (and its modules imported) only now
        args = batch_parser().parse_args(args.arguments)
    return args


def build_parser() -> argparse.ArgumentParser:
    """runner.py's parser: the grading options, and the commands as subparsers."""
    parser = argparse.ArgumentParser(prog="python runner.py", description=__doc__.split("\n")[0],
                                     epilog="Staff: 'python runner.py batch --help' grades many submissions.")
    add_grading_arguments(parser)
    parser.set_defaults(run=grade_command)
    commands = parser.add_subparsers(dest="command", metavar="{batch}", title="commands (course staff)")
    batch = commands.add_parser("batch", add_help=False, help="grade a folder of submissions; merge shards; "
                                "export grades (see python runner.py batch --help)")
    batch.add_argument("arguments", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)  # parsed by batch_parser
    return parser


def batch_parser() -> argparse.ArgumentParser:
    """``runner.py batch``'s parser: the batch's commands (autograder/batch/main.py) and ``export``, a
    platform's.  Apart from :func:`build_parser` so that grading one submission never imports the batch."""
    from autograder.batch.main import add_commands
    from autograder.platforms import canvas
    parser = argparse.ArgumentParser(prog="python runner.py batch", description="Course staff: grade a folder "
                                     "of submissions, merge the shards of one, export its grades.")
    add_commands(parser, [("export", canvas.DESCRIPTION, canvas.add_arguments, canvas.export_command)])
    return parser


def add_grading_arguments(parser: argparse.ArgumentParser) -> None:
    """``runner.py``'s own options (grading one submission)."""
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
    add_aliases(parser)


def print_rubric(rubric: Rubric) -> None:
    for section, info in rubric.sections.items():
        print(f"{info.title} ({info.max:g} points)")
        for item in (i for i in rubric.items if i.section is section):
            print(f"  {item.name:<24} {item.points:>5g}  {item.policy.replace('_', ' ')}  ({', '.join(item.classes)})")


def grade_command(args: argparse.Namespace) -> int:
    """Grade one submission as ``args`` say (or print the rubric, ``--list``); return the exit code."""
    config = config_of(args)  # checked: a value out of range ends here (ConfigError, exit 2)
    backend = config.backend  # a backend that cannot run here ends here, --list included (BackendError, exit 2)
    if not args.list:
        prestart_servers(min(config.jobs, len(config.only) or config.jobs), backend)
    from autograder.contract.fixtures import FixtureError, load_fixture_set, read_manifest
    from autograder.grading.core import grade
    from autograder.grading.emit import emit, student_detail_of, trusted_manifest
    from autograder.report.model import Report
    from autograder.grading.submission import SubmissionError, locate_package, upload_text
    if args.list:
        print_rubric(read_manifest(config.fixtures).rubric)
        return EXIT_GRADED
    outputs = outputs_of(args)
    manifest = trusted_manifest(config.fixtures)
    rubric = manifest.rubric if manifest is not None else None
    detail = student_detail_of(manifest, config)
    only = list(config.only)
    if only and rubric is not None:  # an untrusted fixture set is reported below, as a failed grading
        by_folded_name = {name.casefold(): name for name in rubric.names}  # --only in any letter case
        unknown = [name for name in only if name.casefold() not in by_folded_name]
        if unknown:
            import difflib  # only to suggest a name
            for name in unknown:
                close = difflib.get_close_matches(name.casefold(), list(by_folded_name), n=1, cutoff=0.6)
                hint = f"; did you mean {by_folded_name[close[0]]}?" if close else ""
                print(f"error: unknown item for --only: {name}{hint} (see --list)", file=sys.stderr)
            return errors.USAGE
        only = [by_folded_name[name.casefold()] for name in only]
    refusal = untrusted_refusal(backend, config.allow_unsandboxed) if outputs.platform else ""
    if refusal:  # the platform still gets a valid document saying why
        return emit(Report.failed(args.submission, rubric, refusal, only=only), outputs, detail)
    try:
        submission = locate_package(args.submission)
        fixture_set = load_fixture_set(config.fixtures, only=only, verified=manifest)
    except (FixtureError, SubmissionError) as error:
        # runner.py's own terminal gets the command-line advice; a platform's student, who passed no
        # folder, the same said of an upload (Autolab shows stderr too)
        text = upload_text(error) if outputs.platform else str(error)
        print(f"error: {text}", file=sys.stderr)
        source = "submission" if isinstance(error, SubmissionError) else "harness"
        return emit(Report.failed(args.submission, rubric, text, only=only, source=source), outputs, detail)
    return emit(grade(submission, fixture_set, config), outputs, detail)


def config_of(args: argparse.Namespace) -> Config:
    """How to grade, from runner.py's options (ConfigError, exit 2, for a value out of range)."""
    return Config(fixtures=args.fixtures, only=tuple(args.only), timeout=args.timeout, jobs=args.jobs,
                  hints=args.hints, sandbox=args.sandbox, allow_unsandboxed=args.allow_unsandboxed,
                  hidden_detail=args.hidden_detail, show_hidden_details=args.show_hidden_details)


def outputs_of(args: argparse.Namespace) -> Outputs:
    """Where the report goes, from runner.py's options."""
    from autograder.grading.emit import Outputs
    return Outputs(json=args.json, format=args.format, gradescope_out=args.gradescope_out,
                   prairielearn_out=args.prairielearn_out, autolab_feedback=args.autolab_feedback,
                   verbose=args.verbose)


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
                exit_code = run_command(argv)  # a GraderError: its exit code (errors.exit_status)
            except KeyboardInterrupt as interrupt:
                close_servers(final=True)  # every case process and fork server, now: nothing outlives the grader
                print(stop_signals.describe(interrupt), file=sys.stderr, flush=True)
                exit_code = stop_signals.exit_code(interrupt)
        stdout.flush()
    finally:
        sys.stdout = stdout.stream
    return EXIT_BROKEN_PIPE if stdout.gone else exit_code


def run_command(argv: list[str]) -> int:
    """``runner.py ARGS``: grade one submission, or run the command named; the exit code."""
    if argv[:1] == ["batch"] and os.name == "nt":
        print("error: runner.py batch needs Linux or macOS (process groups, file locks); on Windows, "
              "grade one submission at a time, or run the batch in WSL 2", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    args = parse_args(argv)
    return exit_status(args.run, args)

