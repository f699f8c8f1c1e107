"""Grade a folder of submissions (course staff).

    python runner.py batch SUBMISSIONS --out DIR [--jobs N] [--fixtures DIR] [--regrade] [--timeout S]
                           [--feedback DIR] [--no-hints]
    python runner.py batch export --canvas ROSTER.csv --assignment NAME DIR   (see autograder/canvas.py)

Every entry of SUBMISSIONS is one student's submission: a folder holding
``mytorch/`` (at its top or one level down) or a ``.zip``/``.tar``/``.tar.gz``/
``.tgz`` handin containing it; the student id is the entry's name without the
archive suffix.  Writes ``DIR/reports/<student>.json`` (the full report, as
soon as it is ready), ``DIR/grades.csv`` and ``DIR/summary.json``.  The
reports have a folder of their own so that no entry's name, whatever it is
(``summary``, ``grades.csv``, ``reports``), can collide with the batch's own
files.

Running the same command again grades only what is missing or out of date.
Staleness is decided by content, never by timestamps (``cp -p`` and ``tar -x``
restore old ones): a report records its provenance, the sha256 of the
submission's content (:mod:`autograder.fingerprint`), the fixture set id and
manifest sha256, the rubric's content hash and the harness version, and is
reused only while all of them are the same (``--regrade`` grades everything
again, ``--student ID[,ID]`` grades those again).  Any doubt counts as out of
date: an error while deciding (an unreadable report, a folder that cannot be
read, a submission too large to fingerprint) grades the submission again,
never stops the batch.  A submission-caused error (an unsafe archive, no
``mytorch/``) is such a report and is kept; a worker that died or overran the
whole-submission budget leaves a report without a fixture set, which the next
run grades again.

Where it writes (:mod:`autograder.batch_storage`): ``--out`` is checked and
locked before anything is graded; a failure to write there stops the batch
(exit 2) and is never recorded as a student's error.  Exit status: 0 every
submission graded, 1 some could not be graded (listed), 2 the batch itself
failed.  SIGTERM is handled like Ctrl-C, and workers die with the batch even
when it is killed outright (``PR_SET_PDEATHSIG``).

Text from entries and students (ids, error reasons, archive member names)
reaches the terminal and ``grades.csv`` only through :mod:`autograder.safetext`.

Isolation: each submission is graded by a worker process of its own
(``python -m autograder.batch --worker ...``), which extracts the handin
safely (:mod:`autograder.archives`) into a scratch folder and calls
:func:`autograder.core.grade` with ``jobs=1``, exactly as the
single-submission runner does; up to ``--jobs`` workers run at once, so the
parallelism is across submissions.  A worker per submission rather than a
shared ``ProcessPoolExecutor``: a worker that dies (killed, out of memory, a
harness bug) or hangs past the whole-submission limit costs that submission
only and is attributed to it without guessing (a broken pool fails every
running task), a hung worker can be killed (a pool cannot cancel a running
task), and no pytest or module state is carried from one grading to the
next.  The cost, one interpreter start per submission, is small next to the
grading itself.  The report a worker produces is validated again here before
it is written; a worker that produced none gets a ``Report.failed`` report
with the reason.

This module is the command line and the orchestration; the parts live in
:mod:`autograder.batch_entries` (finding and preparing entries, whether a
report is up to date), :mod:`autograder.batch_workers` (the worker process,
both sides) and :mod:`autograder.batch_outputs` (progress line, ``grades.csv``,
``summary.json``).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from autograder.atomic import write_json_atomic, write_text_atomic
from autograder.batch_entries import (REPORTS_FOLDER, Entry, Outcome, Settings, Skipped, UsageError, discover,
                                      report_path, reusable_report, submission_fingerprint)
from autograder.batch_shards import SHARDS_FOLDER, Shard, merge, open_for_merge, parse_merge_args, write_record
from autograder.batch_storage import REMOVED_FOLDER, OutputFolder, ScratchArea, StorageError, describe_os_error
from autograder.batch_feedback import check_feedback_folder, write_feedback
from autograder.batch_outputs import Progress, build_summary, grades_csv, validate_summary
from autograder.batch_workers import kill_tree, run_worker, run_worker_safely, worker_main
from autograder.class_report import REPORT_NAME, write_class_report
from autograder.fixtures import DEFAULT_FIXTURES, FixtureError, load_fixture_set
from autograder.safetext import for_terminal
from autograder.sandbox import Limits

EXIT_OK, EXIT_NOT_GRADED, EXIT_HARNESS, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_USAGE = EXIT_HARNESS
SECONDS_PER_CASE = 2.0  # the default whole-submission budget: this much per case, plus the margin
SUBMISSION_BUDGET_MARGIN = 60.0


def default_submission_budget(cases: int) -> float:
    return SECONDS_PER_CASE * cases + SUBMISSION_BUDGET_MARGIN


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python runner.py batch", description="Grade every submission in a folder (course staff).",
        epilog="Entries of SUBMISSIONS: a folder holding mytorch/ (possibly one level down) or a "
               ".zip/.tar/.tar.gz/.tgz of one; the student id is the entry's name without the suffix. "
               "Writes OUT/reports/<student>.json, OUT/grades.csv and OUT/summary.json. Exit status: "
               f"{EXIT_OK} every submission graded, {EXIT_NOT_GRADED} some could not be graded (listed), "
               f"{EXIT_HARNESS} the batch itself failed (usage, fixture set, output folder).")
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS", help="folder of submissions")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for reports and grades")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="submissions graded in parallel (default: number of CPUs)")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES,
                        help="fixture set, e.g. a hidden one (default: fixtures/)")
    parser.add_argument("--regrade", action="store_true",
                        help="grade every submission again, even those with an up-to-date report")
    parser.add_argument("--student", metavar="ID[,ID...]",
                        help="grade only these students (again, even if their report is up to date)")
    parser.add_argument("--shard", metavar="I/N",
                        help="grade only shard I of N (0 <= I < N) into OUT; then 'runner.py batch merge OUT'")
    parser.add_argument("--timeout", type=float, default=Limits.timeout, metavar="S",
                        help="wall-clock limit for one case (default %(default)s)")
    parser.add_argument("--no-hints", dest="hints", action="store_false",
                        help="no 'likely cause' lines naming a known mistake in failure messages")
    parser.add_argument("--submission-timeout", type=float, metavar="S",
                        help=f"wall-clock budget for a whole submission (default: {SECONDS_PER_CASE:g} s per case "
                             f"+ {SUBMISSION_BUDGET_MARGIN:g} s, e.g. "
                             f"{default_submission_budget(public_case_count()):g} s for the public fixture set)")
    parser.add_argument("--feedback", type=Path, metavar="DIR",
                        help="also write DIR/<student>.txt and .json, safe to return to students: with a hidden "
                             "fixture set only which cases failed and how (see autograder/batch_feedback.py)")
    parser.add_argument("--executor", choices=["local", "dask"], default="local",
                        help="where the submissions are graded: worker processes on this machine (default), or "
                             "a Dask cluster (needs: pip install -r requirements-dask.txt)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="with --executor dask: the scheduler, e.g. tcp://host:8786, or 'local' for a "
                             "LocalCluster on 127.0.0.1 with --jobs workers")
    args = parser.parse_args(argv)
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


def run(args: argparse.Namespace, stderr: TextIO | None = None) -> BatchResult:
    """The batch.  UsageError: it cannot start; StorageError: it cannot write (both exit 2)."""
    if args.executor == "dask":
        from autograder.batch_dask import load_distributed
        load_distributed()  # not installed: one clear line (exit 2) before anything else
    try:
        fixture_set = load_fixture_set(args.fixtures)
    except FixtureError as error:
        raise UsageError(f"fixture set rejected: {error}") from None
    rubric = fixture_set.rubric
    if args.feedback is not None:
        check_feedback_folder(args.feedback, args.out)
    everyone, skipped = discover(args.submissions, args.out)
    entries = [e for e in everyone if args.shard is None or args.shard.holds(e.student)]
    if args.student is not None:
        unknown = sorted(set(args.student) - {entry.student for entry in entries})
        if unknown:
            raise UsageError(f"--student: no submission for {', '.join(for_terminal(s) for s in unknown)}")
    cases = sum(len(c) for c in fixture_set.items.values())
    out = OutputFolder(args.out)
    out.open(shard=None if args.shard is None else args.shard.name)
    scratch = None
    try:
        removed = out.set_aside_reports({entry.student for entry in everyone})
        scratch = ScratchArea()
        settings = Settings(out=args.out, fixtures=args.fixtures, fixture_set=fixture_set, rubric=rubric,
                            case_timeout=args.timeout, jobs=args.jobs, regrade=args.regrade, scratch=scratch,
                            hints=args.hints,
                            executor=args.executor, scheduler=args.scheduler,
                            submission_timeout=args.submission_timeout or default_submission_budget(cases))
        result = grade_entries(entries, settings, skipped, removed, args.student, stderr, args.shard)
        if args.feedback is not None:
            try:
                write_feedback(args.feedback, result.outcomes, fixture_set)
            except OSError as error:
                raise StorageError(f"cannot write the feedback in {for_terminal(str(args.feedback))}: "
                                   f"{describe_os_error(error)}") from None
        return result
    finally:
        if scratch is not None:
            scratch.close()
        out.close()


def grade_entries(entries: list[Entry], settings: Settings, skipped: list[Skipped], removed: list[str],
                  chosen: list[str] | None, stderr: TextIO | None, shard: Shard | None = None) -> BatchResult:
    started = time.monotonic()
    outcomes: dict[str, Outcome] = {}
    pending, stale = [], []
    for entry in entries:
        entry.sha256 = submission_fingerprint(entry)
        if chosen is not None and entry.student in chosen:
            pending.append(entry)
            continue
        reused = None if settings.regrade else reusable_report(report_path(settings.out, entry.student), entry, settings)
        if reused is not None:
            outcomes[entry.student] = Outcome(entry.student, reused, reused=True)
        elif chosen is None:
            pending.append(entry)
        else:
            stale.append(entry.student)
    progress = Progress(len(pending) + len(outcomes), list(outcomes.values()), stderr)
    progress.show("starting" if pending else "nothing to grade")
    executor, grade = make_executor(settings, bool(pending))
    try:
        futures = [executor.submit(run_worker_safely, entry, settings, grade) for entry in pending]
        for future in as_completed(futures):
            outcome = future.result()
            if outcome is None:
                continue
            outcomes[outcome.student] = outcome
            progress.update(outcome)
    except BaseException:
        settings.stopping = True
        executor.shutdown(wait=False, cancel_futures=True)
        with settings.lock:
            running = list(settings.running.values())
        for process in running:
            kill_tree(process.pid)
        executor.shutdown(wait=True)  # the workers' threads remove their scratch folders
        progress.finish()
        raise
    executor.shutdown()
    progress.finish()
    ordered = [outcomes[entry.student] for entry in entries if entry.student in outcomes]
    if stale:
        return BatchResult(ordered, None, stale)
    if shard is not None:
        write_record(settings, shard, entries, skipped, removed, time.monotonic() - started)
        return BatchResult(ordered, None, shard=shard)
    return BatchResult(ordered, write_outputs(ordered, settings, time.monotonic() - started, skipped, removed))


def write_outputs(ordered: list[Outcome], settings: Settings, wall_seconds: float, skipped: list[Skipped],
                  removed: list[str]) -> dict[str, Any]:
    """Write grades.csv, summary.json and the class report (StorageError if they cannot be); the summary."""
    summary = build_summary(ordered, settings, wall_seconds, skipped, removed)
    validate_summary(summary)
    for name, write in (("grades.csv", lambda path: write_text_atomic(path, grades_csv(ordered, settings.rubric))),
                        ("summary.json", lambda path: write_json_atomic(path, summary)),
                        (REPORT_NAME, lambda path: write_class_report(settings.out, ordered, summary))):
        try:
            write(settings.out / name)
        except OSError as error:
            raise StorageError(f"cannot write {for_terminal(str(settings.out / name))}: "
                               f"{describe_os_error(error)}") from None
    return summary


def merge_main(argv: Sequence[str]) -> int:
    """``runner.py batch merge OUT``: grades.csv and summary.json from the shards' records and reports."""
    args = parse_merge_args(argv)
    started = time.monotonic()
    try:
        out = open_for_merge(args.out)
        try:
            merged = merge(args.out, args.shards)
            summary = write_outputs(merged.outcomes, merged.settings, time.monotonic() - started, merged.skipped,
                                    merged.removed)
        finally:
            out.close()
    except UsageError as error:
        print(f"error: {for_terminal(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except StorageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_HARNESS
    return report_result(argparse.Namespace(out=args.out), BatchResult(merged.outcomes, summary))


def make_executor(settings: Settings,
                  pending: bool) -> tuple[ThreadPoolExecutor, Callable[[Entry, Settings], Outcome | None]]:
    """The one place where the executor is chosen: worker processes here, or a Dask cluster
    (:mod:`autograder.batch_dask`, imported only then, and no cluster when nothing is pending);
    and the function that grades one entry."""
    if settings.executor == "dask" and pending:
        from autograder.batch_dask import DaskExecutor
        executor = DaskExecutor(settings)
        return executor, executor.grade
    return ThreadPoolExecutor(max_workers=settings.jobs, thread_name_prefix="batch"), run_worker


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: workers stopped, scratch removed, reports kept."""


def raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    subcommand = argv[:1] if not any(a == "--out" or a.startswith("--out=") for a in argv) else []
    if subcommand == ["merge"]:  # 'batch merge --out DIR' still grades a folder named merge
        return merge_main(argv[1:])
    if subcommand == ["export"]:  # platform exports (autograder/canvas.py)
        from autograder.canvas import main as export_main
        return export_main(argv[1:])
    args = parse_args(argv)
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        result = run(args)
    except UsageError as error:
        print(f"error: {for_terminal(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except StorageError as error:
        print(f"error: {error}; the batch stopped (the reports written so far are kept, and no student was "
              f"given a grade for it): free or fix the output folder and run the same command again",
              file=sys.stderr)
        return EXIT_HARNESS
    except KeyboardInterrupt as interrupt:
        how = "terminated" if isinstance(interrupt, Terminated) else "interrupted"
        print(f"{how}: the reports written so far are kept; run the same command again to continue",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    return report_result(args, result)


def report_result(args: argparse.Namespace, result: BatchResult) -> int:
    """The batch's closing lines on stdout; the exit status."""
    out = for_terminal(str(args.out))
    summary = result.summary
    if result.shard is not None:
        errors = sum(o.document["status"] == "error" for o in result.outcomes)
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


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        sys.exit(worker_main(sys.argv[2:]))
    sys.exit(main())
