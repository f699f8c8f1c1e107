"""Grade a folder of submissions (course staff).

    python runner.py batch SUBMISSIONS --out DIR [--jobs N] [--fixtures DIR] [--regrade] [--timeout S]
                           [--feedback DIR] [--no-hints]
    python runner.py batch export --canvas ROSTER.csv --assignment NAME DIR   (see autograder/platforms/canvas.py)

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
submission's content (:mod:`autograder.batch.fingerprint`), the fixture set id and
manifest sha256, the rubric's content hash and the harness version, and is
reused only while all of them are the same (``--regrade`` grades everything
again, ``--student ID[,ID]`` grades those again).  Any doubt counts as out of
date: an error while deciding (an unreadable report, a folder that cannot be
read, a submission too large to fingerprint) grades the submission again,
never stops the batch.  A submission-caused error (an unsafe archive, no
``mytorch/``) is such a report and is kept; a worker that died or overran the
whole-submission budget leaves a report without a fixture set, which the next
run grades again.

Where it writes (:mod:`autograder.batch.storage`): ``--out`` is checked and
locked before anything is graded; a failure to write there stops the batch
(exit 2) and is never recorded as a student's error.  Exit status: 0 every
submission graded, 1 some could not be graded (listed), 2 the batch itself
failed; 128 + the signal when stopped by one.  SIGTERM and SIGHUP are handled
like Ctrl-C, and workers die with the batch even when it is killed outright
(``PR_SET_PDEATHSIG``).

Text from entries and students (ids, error reasons, archive member names)
reaches the terminal and ``grades.csv`` only through :mod:`autograder.util.safetext`.

Isolation: each submission is graded by a worker process of its own
(``python -m autograder.batch.main --worker ...``), which extracts the handin
safely (:mod:`autograder.archives.extract`) into a scratch folder and calls
:func:`autograder.grading.core.grade` with ``jobs=1``, exactly as the
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

This module is the orchestration; the parts live in :mod:`autograder.batch.options`
(options, closing lines, exit status), :mod:`autograder.batch.entries` (finding
and preparing entries, whether a report is up to date),
:mod:`autograder.batch.workers` (the worker process, both sides),
:mod:`autograder.batch.storage` (the output folder and scratch area),
:mod:`autograder.batch.shards` (shards and the merge), :mod:`autograder.batch.dask_executor`
(the Dask executor) and :mod:`autograder.batch.outputs` (progress line,
``grades.csv``, ``summary.json``).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TextIO

from autograder.util import stop_signals
from autograder.util.atomic import write_json_atomic, write_text_atomic
from autograder.batch.options import (DESCRIPTION, EXIT_HARNESS, EXIT_INTERRUPTED, EXIT_NOT_GRADED, EXIT_OK,
                                      EXIT_USAGE, SECONDS_PER_CASE, SUBMISSION_BUDGET_MARGIN, BatchResult,
                                      add_arguments, checked, epilog, parse_args, public_case_count, report_result)
from autograder.batch.entries import Batch, Entry, Outcome, Skipped, discover, reusable_report, submission_fingerprint
from autograder.batch.feedback import check_feedback_folder, write_feedback
from autograder.batch.outputs import Progress, build_summary, grades_csv, validate_summary
from autograder.batch.shards import Shard, add_merge_arguments, merge, open_for_merge, write_record
from autograder.batch.storage import OutputFolder, ScratchArea, describe_os_error, report_path
from autograder.errors import StorageError, UsageError
from autograder.batch.workers import GradeOne, Workers, run_worker, run_worker_safely, worker_main
from autograder.case.processes import kill_tree
from autograder.errors import exit_status
from autograder.batch.class_report import REPORT_NAME, write_class_report
from autograder.contract.fixtures import FixtureError, load_fixture_set
from autograder.util.safetext import for_terminal
from autograder.sandbox.backends import BackendError, resolve, untrusted_refusal


def run(args: argparse.Namespace, stderr: TextIO | None = None) -> BatchResult:
    """The batch (``args`` from :func:`checked`).  UsageError: it cannot start; StorageError: it cannot write
    (both exit 2)."""
    config = args.config
    if args.executor == "dask":
        from autograder.batch.dask_executor import load_distributed
        load_distributed()  # not installed: one clear line (exit 2) before anything else
    if args.executor != "dask":  # a Dask worker decides on its own machine (batch_workers.worker_main)
        try:
            refusal = untrusted_refusal(resolve(config.sandbox), config.allow_unsandboxed)
        except BackendError as error:
            refusal = str(error)
        if refusal:
            raise UsageError(refusal)
    try:
        fixture_set = load_fixture_set(config.fixtures)
    except FixtureError as error:
        raise UsageError(f"fixture set rejected: {error}") from None
    if args.feedback is not None:
        check_feedback_folder(args.feedback, args.out)
    out = OutputFolder(args.out)
    everyone, skipped = discover(args.submissions, out.path, out.reports)
    entries = [e for e in everyone if args.shard is None or args.shard.holds(e.student)]
    if args.student is not None:
        unknown = sorted(set(args.student) - {entry.student for entry in entries})
        if unknown:
            raise UsageError(f"--student: no submission for {', '.join(for_terminal(s) for s in unknown)}")
    out.open(shard=None if args.shard is None else args.shard.name)
    scratch = None
    try:
        removed = out.set_aside_reports({entry.student for entry in everyone})
        scratch = ScratchArea()
        batch = Batch(config, args.out, fixture_set, regrade=args.regrade, executor=args.executor,
                      scheduler=args.scheduler)
        result = grade_entries(entries, batch, Workers(scratch), skipped, removed, args.student, stderr, args.shard)
        if args.feedback is not None:
            try:
                write_feedback(args.feedback, result.outcomes, fixture_set, config.hidden_detail)
            except OSError as error:
                raise StorageError(f"cannot write the feedback in {for_terminal(str(args.feedback))}: "
                                   f"{describe_os_error(error)}") from None
        return result
    finally:
        if scratch is not None:
            scratch.close()
        out.close()


def grade_entries(entries: list[Entry], batch: Batch, workers: Workers, skipped: list[Skipped], removed: list[str],
                  chosen: list[str] | None, stderr: TextIO | None, shard: Shard | None = None) -> BatchResult:
    started = time.monotonic()
    outcomes: dict[str, Outcome] = {}
    pending, stale = [], []
    for entry in entries:
        entry.sha256 = submission_fingerprint(entry)
        if chosen is not None and entry.student in chosen:
            pending.append(entry)
            continue
        reused = None if batch.regrade else reusable_report(report_path(batch.out, entry.student), entry, batch)
        if reused is not None:
            outcomes[entry.student] = Outcome(entry.student, reused, reused=True)
        elif chosen is None:
            pending.append(entry)
        else:
            stale.append(entry.student)
    progress = Progress(len(pending) + len(outcomes), list(outcomes.values()), stderr)
    progress.show("starting" if pending else "nothing to grade")
    executor, grade = make_executor(batch, bool(pending))
    try:
        futures = [executor.submit(run_worker_safely, entry, batch, workers, grade) for entry in pending]
        for future in as_completed(futures):
            outcome = future.result()
            if outcome is None:
                continue
            outcomes[outcome.student] = outcome
            progress.update(outcome)
    except BaseException:
        workers.stopping = True
        executor.shutdown(wait=False, cancel_futures=True)
        with workers.lock:
            running = list(workers.running.values())
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
        write_record(batch, shard, entries, skipped, removed, time.monotonic() - started)
        return BatchResult(ordered, None, shard=shard)
    return BatchResult(ordered, write_outputs(ordered, batch, time.monotonic() - started, skipped, removed))


def write_outputs(ordered: list[Outcome], batch: Batch, wall_seconds: float, skipped: list[Skipped],
                  removed: list[str]) -> dict[str, Any]:
    """Write grades.csv, summary.json and the class report (StorageError if they cannot be); the summary."""
    summary = build_summary(ordered, batch, wall_seconds, skipped, removed)
    validate_summary(summary)
    for name, write in (("grades.csv", lambda path: write_text_atomic(path, grades_csv(ordered, batch.rubric))),
                        ("summary.json", lambda path: write_json_atomic(path, summary)),
                        (REPORT_NAME, lambda path: write_class_report(batch.out, ordered, summary))):
        try:
            write(batch.out / name)
        except OSError as error:
            raise StorageError(f"cannot write {for_terminal(str(batch.out / name))}: "
                               f"{describe_os_error(error)}") from None
    return summary


def merge_command(args: argparse.Namespace) -> int:
    """``runner.py batch merge OUT``: grades.csv and summary.json from the shards' records and reports."""
    started = time.monotonic()
    out = open_for_merge(args.out)
    try:
        merged = merge(args.out, args.shards)
        summary = write_outputs(merged.outcomes, merged.batch, time.monotonic() - started, merged.skipped,
                                merged.removed)
    finally:
        out.close()
    return report_result(argparse.Namespace(out=args.out), BatchResult(merged.outcomes, summary))


def make_executor(batch: Batch, pending: bool) -> tuple[ThreadPoolExecutor, GradeOne]:
    """The one place where the executor is chosen: worker processes here, or a Dask cluster
    (:mod:`autograder.batch.dask_executor`, imported only then, and no cluster when nothing is pending);
    and the function that grades one entry."""
    if batch.executor == "dask" and pending:
        from autograder.batch.dask_executor import DaskExecutor
        executor = DaskExecutor(batch)
        return executor, executor.grade
    return ThreadPoolExecutor(max_workers=batch.config.jobs, thread_name_prefix="batch"), run_worker


def grade_command(args: argparse.Namespace, stderr: TextIO | None = None) -> int:
    """``runner.py batch SUBMISSIONS --out DIR``: the batch, its closing lines; the exit status.  A
    StorageError (the output folder cannot be written) says how to go on."""
    with stop_signals.raising():  # SIGTERM and SIGHUP, handled like Ctrl-C: workers stopped, scratch removed
        try:
            result = run(args, stderr)
        except StorageError as error:
            error.advice = ("the batch stopped (the reports written so far are kept, and no student was given a "
                            "grade for it): free or fix the output folder and run the same command again")
            raise
        except KeyboardInterrupt as interrupt:
            print(f"{stop_signals.describe(interrupt)}: the reports written so far are kept; run the same command "
                  f"again to continue", file=sys.stderr)
            return stop_signals.exit_code(interrupt)
    return report_result(args, result)


def add_commands(parser: argparse.ArgumentParser,
                 more: Sequence[tuple[str, str, Callable[[argparse.ArgumentParser], None],
                                      Callable[[argparse.Namespace], int]]] = ()) -> None:
    """The batch's commands as subparsers of ``parser`` (``runner.py batch``): the grading form (the
    default: see :func:`implicit_grade`), ``merge``, and ``more`` (name, help, add_arguments, command: the
    CLI adds ``export``).  Each sets ``args.run``, the function that runs it."""
    commands = parser.add_subparsers(dest="batch_command", metavar="{merge,export}" if more else "{merge}")
    grade = commands.add_parser(GRADE, prog=parser.prog, description=DESCRIPTION, epilog=epilog(),
                                help=argparse.SUPPRESS)
    add_arguments(grade)
    grade.set_defaults(run=lambda args: grade_command(checked(grade, args)))
    merging = commands.add_parser("merge", prog=f"{parser.prog} merge", help="rebuild grades.csv and summary.json "
                                  "from the shards' reports", description="Rebuild grades.csv and summary.json "
                                  "from the shards' reports.")
    add_merge_arguments(merging)
    merging.set_defaults(run=merge_command)
    for name, help_text, add, command in more:
        sub = commands.add_parser(name, prog=f"{parser.prog} {name}", help=help_text, description=help_text)
        add(sub)
        sub.set_defaults(run=command)


GRADE = "grade"  # the grading form's subparser, implied: runner.py batch SUBMISSIONS --out DIR


def implicit_grade(argv: Sequence[str], commands: Sequence[str] = ("merge", "export")) -> list[str]:
    """``argv`` (after ``batch``) with the grading form's name put first unless it names another command
    (and has no ``--out``, which only the grading form takes).

    argparse cannot have a positional (SUBMISSIONS) beside subcommands, so the grading form is a subcommand
    whose name is implied; ``batch merge --out DIR`` still grades a folder named merge, as it always did."""
    argv = list(argv)
    if argv[:1] and argv[0] in commands and not any(a == "--out" or a.startswith("--out=") for a in argv):
        return argv
    return [GRADE, *argv]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m autograder.batch ARGS``: the batch's commands (``runner.py batch`` adds ``export``)."""
    parser = argparse.ArgumentParser(prog="python -m autograder.batch", description=DESCRIPTION)
    add_commands(parser)
    args = parser.parse_args(implicit_grade(sys.argv[1:] if argv is None else argv, ("merge",)))
    return exit_status(args.run, args)


# the command line's names, for callers of batch.main (runner.py, tests)
__all__ = ["main", "run", "parse_args", "public_case_count", "BatchResult", "EXIT_OK", "EXIT_NOT_GRADED",
           "EXIT_HARNESS", "EXIT_USAGE", "EXIT_INTERRUPTED", "SECONDS_PER_CASE", "SUBMISSION_BUDGET_MARGIN"]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:  # the worker's command (workers.WORKER_COMMAND), not a user's
        sys.exit(worker_main(sys.argv[2:]))
    sys.exit(main())
