"""The batch's command line: its options in (resolved and checked once), its closing lines and exit status out.

Exit status: ``EXIT_OK`` every submission graded, ``EXIT_NOT_GRADED`` some could
not be graded (each listed with the reason), ``EXIT_HARNESS`` the batch itself
failed (usage, a rejected fixture set, an output folder it cannot write),
128 + the signal when stopped by one (``EXIT_INTERRUPTED`` 130 Ctrl-C, 143 SIGTERM, 129
SIGHUP: autograder/util/stop_signals.py).
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import errors
from autograder.batch.entries import Outcome
from autograder.batch.shards import SHARDS_FOLDER, Shard
from autograder.batch.storage import REMOVED_FOLDER, REPORTS_FOLDER
from autograder.batch.class_report import REPORT_NAME
from autograder.config import Config, add_aliases
from autograder.contract.fixtures import DEFAULT_FIXTURES
from autograder.report.visibility import HIDDEN_DETAILS
from autograder.util.safetext import for_terminal
from autograder.sandbox import WALL_FACTOR, Limits
from autograder.sandbox.backends import CHOICES as SANDBOX_CHOICES, describe_choice
from autograder.sandbox.capacity import BATCH_MEMORY, WORKER_MEMORY, available

# the batch's names for the statuses of autograder/errors.py
EXIT_OK, EXIT_NOT_GRADED, EXIT_HARNESS = errors.GRADED, errors.NOT_GRADED, errors.HARNESS_ERROR
EXIT_INTERRUPTED, EXIT_USAGE = errors.INTERRUPTED, errors.USAGE
SECONDS_PER_CASE = 2.0  # the default whole-submission budget: this much per case, plus the margin
SUBMISSION_BUDGET_MARGIN = 60.0


def default_submission_budget(cases: int) -> float:
    return SECONDS_PER_CASE * cases + SUBMISSION_BUDGET_MARGIN


DESCRIPTION = "Grade every submission in a folder (course staff)."


def epilog() -> str:
    return ("Entries of SUBMISSIONS: a folder holding mytorch/ (possibly one level down) or a "
            ".zip/.tar/.tar.gz/.tgz of one; the student id is the entry's name without the suffix. "
            "Writes OUT/reports/<student>.json, OUT/grades.csv and OUT/summary.json. Exit status: "
            f"{EXIT_OK} every submission graded, {EXIT_NOT_GRADED} some could not be graded (listed), "
            f"{EXIT_HARNESS} the batch itself failed (usage, fixture set, output folder).")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """``runner.py batch SUBMISSIONS --out DIR ...`` parsed and checked (the grading form alone)."""
    parser = argparse.ArgumentParser(prog="python runner.py batch", description=DESCRIPTION, epilog=epilog())
    add_arguments(parser)
    return checked(parser, parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The grading form's options (the same spellings as runner.py's; the old ones as hidden aliases)."""
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS", help="folder of submissions")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for reports and grades")
    capacity = available(WORKER_MEMORY, BATCH_MEMORY)
    parser.add_argument("--jobs", type=int, default=capacity.jobs,
                        help=f"submissions graded in parallel (default: what the CPUs and memory really available "
                             f"allow (CPU affinity, cgroup quota and memory limit, {WORKER_MEMORY // 2**20} MiB a "
                             f"worker): %(default)s here, {capacity.why}); more is allowed: the case time limits "
                             f"are CPU time")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES,
                        help="fixture set, e.g. a hidden one (default: fixtures/)")
    parser.add_argument("--regrade", action="store_true",
                        help="grade every submission again, even those with an up-to-date report")
    parser.add_argument("--student", metavar="ID[,ID...]",
                        help="grade only these students (again, even if their report is up to date)")
    parser.add_argument("--shard", metavar="I/N",
                        help="grade only shard I of N (0 <= I < N) into OUT; then 'runner.py batch merge OUT'")
    parser.add_argument("--timeout", type=float, default=Limits.timeout, metavar="S",
                        help=f"CPU seconds one case may use (default %(default)s); a case that sleeps or waits is "
                             f"ended at a wall-clock backstop of S x max(1, jobs / CPUs available) x {WALL_FACTOR:g}")
    parser.add_argument("--no-hints", dest="hints", action="store_false",
                        help="no 'likely cause' lines naming a known mistake in failure messages")
    parser.add_argument("--sandbox", choices=SANDBOX_CHOICES, default="auto",
                        help=f"how each case is isolated (see runner.py --help); default auto: {describe_choice()}")
    parser.add_argument("--allow-unsandboxed", action="store_true",
                        help="grade these untrusted submissions even with the portable backend (no kernel layers; "
                             "refused without this option), recorded in every report")
    parser.add_argument("--submission-timeout", type=float, metavar="S",
                        help=f"wall-clock budget for a whole submission (default: {SECONDS_PER_CASE:g} s per case "
                             f"+ {SUBMISSION_BUDGET_MARGIN:g} s, e.g. "
                             f"{default_submission_budget(public_case_count()):g} s for the public fixture set, "
                             f"times max(1, jobs / CPUs available) on the machine that grades it)")
    parser.add_argument("--feedback", type=Path, metavar="DIR",
                        help="also write DIR/<student>.txt and .json, safe to return to students: with a hidden "
                             "fixture set only which cases passed (see autograder/batch/feedback.py)")
    parser.add_argument("--hidden-detail", choices=HIDDEN_DETAILS, default=HIDDEN_DETAILS[0],
                        help="with --feedback and a hidden fixture set: passed (default): whether each case "
                             "passed; kinds: also how each failed (see runner.py --help)")
    parser.add_argument("--executor", choices=["local", "dask"], default="local",
                        help="where the submissions are graded: worker processes on this machine (default), or "
                             "a Dask cluster (needs: pip install -r requirements-dask.txt)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="with --executor dask: the scheduler, e.g. tcp://host:8786, or 'local' for a "
                             "LocalCluster on 127.0.0.1 with --jobs workers")
    add_aliases(parser)


def checked(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """``args`` checked (parser.error: exit 2 with the usage) and resolved: ``args.config``, ``--student``'s
    list and ``--shard``."""
    if (args.executor == "dask") != (args.scheduler is not None):
        parser.error("--executor dask needs --scheduler ADDRESS, and --scheduler needs --executor dask")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.timeout <= 0 or (args.submission_timeout is not None and args.submission_timeout <= 0):
        parser.error("timeouts must be positive")
    args.student = [s for s in (args.student or "").split(",") if s] if args.student is not None else None
    if args.student is not None and not args.student:
        parser.error("--student needs at least one student id")
    if args.shard is not None:
        try:
            args.shard = Shard.parse(args.shard)
        except ValueError as error:
            parser.error(str(error))
    args.config = Config(fixtures=args.fixtures, timeout=args.timeout, jobs=args.jobs, hints=args.hints,
                         sandbox=args.sandbox, allow_unsandboxed=args.allow_unsandboxed,
                         hidden_detail=args.hidden_detail, submission_timeout=args.submission_timeout)
    return args


def public_case_count() -> int:
    """How many cases the public fixture set has (0 if its manifest cannot be read: --help still works)."""
    try:
        manifest = json.loads((DEFAULT_FIXTURES / "manifest.json").read_text())
        return sum(len(item["cases"]) for item in manifest["items"].values())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0


@dataclass
class BatchResult:
    outcomes: list[Outcome]  # in student order: the ones graded or reused in this run
    summary: dict[str, Any] | None  # None: grades.csv and summary.json were not rewritten
    not_rewritten: list[str] = field(default_factory=list)  # with --student: who keeps the outputs stale
    shard: Shard | None = None  # a shard's run writes its record, not grades.csv


def report_result(args: argparse.Namespace, result: BatchResult) -> int:
    """The batch's closing lines on stdout; the exit status."""
    out = for_terminal(str(args.out))
    summary = result.summary
    if result.shard is not None:
        errors = sum(o.report.status == "error" for o in result.outcomes)
        print(f"shard {result.shard.index} of {result.shard.count}: {len(result.outcomes)} submission(s), "
              f"{errors} error(s); wrote {out}/{REPORTS_FOLDER}/ and {out}/{SHARDS_FOLDER}/{result.shard.name}.json; "
              f"when every shard is done: python runner.py batch merge {out}")
        return EXIT_NOT_GRADED if errors else EXIT_OK
    if summary is None:
        print(f"graded {len(result.outcomes) - sum(o.reused for o in result.outcomes)} submission(s); "
              f"{out}/grades.csv and summary.json NOT rewritten: {len(result.not_rewritten)} other submission(s) "
              f"have no up-to-date report ({', '.join(for_terminal(s) for s in result.not_rewritten[:10])}"
              f"{', ...' if len(result.not_rewritten) > 10 else ''}); run without --student to grade them")
        return EXIT_NOT_GRADED
    main_stats = summary["main"]
    print(f"{summary['count']} submission(s): {summary['graded']} graded, {summary['errors']} error(s), "
          f"{summary['reused']} reused from an earlier run; fixture set {summary['fixture_set']['id']}")
    if main_stats:
        print(f"main total: mean {main_stats['mean']:g}, median {main_stats['median']:g}, "
              f"min {main_stats['min']:g}, max {main_stats['max']:g} (of {summary['main_max']:g})")
    for skipped in summary["skipped"]:
        print(f"  skipped {for_terminal(skipped['entry'])}: {skipped['reason']}")
    if summary["removed_reports"]:
        print(f"  moved to {out}/{REMOVED_FOLDER}/ (no submission any more): "
              + ", ".join(for_terminal(s) for s in summary["removed_reports"]))
    for failure in summary["failed_to_grade"]:
        first_line = failure["reason"].split("\n", 1)[0]
        print(f"  not graded {for_terminal(failure['student'])}: {for_terminal(first_line)}")
    print(f"wrote {out}/grades.csv, {out}/summary.json, {out}/{REPORT_NAME} (the class at a glance) and one "
          f"{REPORTS_FOLDER}/<student>.json per submission")
    if getattr(args, "feedback", None) is not None:
        print(f"wrote {for_terminal(str(args.feedback))}/<student>.txt and .json per submission (safe to return)")
    return EXIT_NOT_GRADED if summary["failed_to_grade"] else EXIT_OK
