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
from autograder.batch.options import (EXIT_HARNESS, EXIT_INTERRUPTED, EXIT_NOT_GRADED, EXIT_OK, EXIT_USAGE,
                                  SECONDS_PER_CASE, SUBMISSION_BUDGET_MARGIN, BatchResult, default_submission_budget,
                                  parse_args, public_case_count, report_result)
from autograder.batch.entries import (Entry, Outcome, Settings, Skipped, UsageError, discover, report_path,
                                      reusable_report, submission_fingerprint)
from autograder.batch.feedback import check_feedback_folder, write_feedback
from autograder.batch.outputs import Progress, build_summary, grades_csv, validate_summary
from autograder.batch.shards import Shard, merge, open_for_merge, parse_merge_args, write_record
from autograder.batch.storage import OutputFolder, ScratchArea, StorageError, describe_os_error
from autograder.batch.workers import run_worker, run_worker_safely, worker_main
from autograder.case.processes import kill_tree
from autograder.batch.class_report import REPORT_NAME, write_class_report
from autograder.contract.fixtures import FixtureError, load_fixture_set
from autograder.util.safetext import for_terminal
from autograder.sandbox.backends import BackendError, resolve, untrusted_refusal


def run(args: argparse.Namespace, stderr: TextIO | None = None) -> BatchResult:
    """The batch.  UsageError: it cannot start; StorageError: it cannot write (both exit 2)."""
    if args.executor == "dask":
        from autograder.batch.dask_executor import load_distributed
        load_distributed()  # not installed: one clear line (exit 2) before anything else
    if args.executor != "dask":  # a Dask worker decides on its own machine (batch_workers.worker_main)
        try:
            refusal = untrusted_refusal(resolve(args.sandbox), args.allow_unsandboxed)
        except BackendError as error:
            refusal = str(error)
        if refusal:
            raise UsageError(refusal)
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
                            hints=args.hints, sandbox=args.sandbox, allow_unsandboxed=args.allow_unsandboxed,
                            executor=args.executor, scheduler=args.scheduler,
                            submission_timeout=args.submission_timeout or default_submission_budget(cases),
                            scaled_budget=args.submission_timeout is None)
        result = grade_entries(entries, settings, skipped, removed, args.student, stderr, args.shard)
        if args.feedback is not None:
            try:
                write_feedback(args.feedback, result.outcomes, fixture_set, args.hidden_detail)
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
    (:mod:`autograder.batch.dask_executor`, imported only then, and no cluster when nothing is pending);
    and the function that grades one entry."""
    if settings.executor == "dask" and pending:
        from autograder.batch.dask_executor import DaskExecutor
        executor = DaskExecutor(settings)
        return executor, executor.grade
    return ThreadPoolExecutor(max_workers=settings.jobs, thread_name_prefix="batch"), run_worker


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    subcommand = argv[:1] if not any(a == "--out" or a.startswith("--out=") for a in argv) else []
    if subcommand == ["merge"]:  # 'batch merge --out DIR' still grades a folder named merge
        return merge_main(argv[1:])
    if subcommand == ["export"]:  # platform exports (autograder/platforms/canvas.py)
        from autograder.platforms.canvas import main as export_main
        return export_main(argv[1:])
    args = parse_args(argv)
    with stop_signals.raising():  # SIGTERM and SIGHUP, handled like Ctrl-C: workers stopped, scratch removed
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
            print(f"{stop_signals.describe(interrupt)}: the reports written so far are kept; run the same command "
                  f"again to continue", file=sys.stderr)
            return stop_signals.exit_code(interrupt)
    return report_result(args, result)


# the command line's names, for callers of batch.main (runner.py, tests)
__all__ = ["main", "run", "parse_args", "public_case_count", "BatchResult", "EXIT_OK", "EXIT_NOT_GRADED",
           "EXIT_HARNESS", "EXIT_USAGE", "EXIT_INTERRUPTED", "SECONDS_PER_CASE", "SUBMISSION_BUDGET_MARGIN"]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        sys.exit(worker_main(sys.argv[2:]))
    sys.exit(main())
