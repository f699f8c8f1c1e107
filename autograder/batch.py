"""Grade a folder of submissions (course staff).

    python runner.py batch SUBMISSIONS --out DIR [--jobs N] [--fixtures DIR] [--regrade] [--timeout S] [--no-hints]

Every entry of SUBMISSIONS is one student's submission: a folder holding
``mytorch/`` (at its top or one level down) or a ``.zip``/``.tar``/``.tar.gz``/
``.tgz`` handin containing it; the student id is the entry's name without the
archive suffix.  Writes ``DIR/reports/<student>.json`` (the full report, as
soon as it is ready), ``DIR/grades.csv`` and ``DIR/summary.json``.  The
reports have a folder of their own so that no entry's name, whatever it is
(``summary``, ``grades.csv``, ``reports``), can collide with the batch's own
files.

Running the same command again grades only what is missing or out of date: a
submission is skipped when ``DIR/reports/<student>.json`` is a valid report
from this harness version, rubric version and fixture set id, written after
the submission last changed (modification or status change of the entry or
anything inside it, walked without recursion; ``--regrade`` grades everything
again).  Any doubt counts as out of date: an error while deciding (an
unreadable report, a folder that cannot be listed, a submission of more than
``MAX_STALENESS_ENTRIES`` files and folders) grades the submission again,
never stops the batch.  A submission-caused error (an unsafe archive, no
``mytorch/``) is such a report and is kept; a worker that died or overran the
whole-submission limit leaves a report without a fixture set, which the next
run grades again.

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
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, TextIO

from autograder.atomic import write_json_atomic, write_text_atomic
from autograder.batch_entries import (REPORTS_FOLDER, Outcome, Settings, UsageError, discover, report_path,
                                      reusable_report)
from autograder.batch_outputs import Progress, build_summary, grades_csv, validate_summary
from autograder.batch_workers import kill_tree, run_worker_safely, worker_main
from autograder.fixtures import DEFAULT_FIXTURES, FixtureError, load_fixture_set
from autograder.safetext import for_terminal
from autograder.sandbox import Limits

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130
SUBMISSION_TIMEOUT_MARGIN = 60.0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python runner.py batch", description="Grade every submission in a folder (course staff).",
        epilog="Entries of SUBMISSIONS: a folder holding mytorch/ (possibly one level down) or a "
               ".zip/.tar/.tar.gz/.tgz of one; the student id is the entry's name without the suffix. "
               "Writes OUT/reports/<student>.json, OUT/grades.csv and OUT/summary.json.")
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS", help="folder of submissions")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for reports and grades")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="submissions graded in parallel (default: number of CPUs)")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES,
                        help="fixture set, e.g. a hidden one (default: fixtures/)")
    parser.add_argument("--regrade", action="store_true",
                        help="grade every submission again, even those with an up-to-date report")
    parser.add_argument("--timeout", type=float, default=Limits.timeout, metavar="S",
                        help="wall-clock limit for one case (default %(default)s)")
    parser.add_argument("--no-hints", dest="hints", action="store_false",
                        help="no 'likely cause' lines naming a known mistake in failure messages")
    parser.add_argument("--submission-timeout", type=float, metavar="S",
                        help="wall-clock limit for a whole submission (default: TIMEOUT x number of cases + 60)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.timeout <= 0 or (args.submission_timeout is not None and args.submission_timeout <= 0):
        parser.error("timeouts must be positive")
    return args


def run(args: argparse.Namespace, stderr: TextIO | None = None) -> tuple[list[Outcome], dict[str, Any]]:
    """The batch; returns the outcomes in student order."""
    try:
        fixture_set = load_fixture_set(args.fixtures)
    except FixtureError as error:
        raise UsageError(f"fixture set rejected: {error}") from None
    rubric = fixture_set.rubric
    entries = discover(args.submissions, args.out)
    cases = sum(len(c) for c in fixture_set.items.values())
    settings = Settings(out=args.out, fixtures=args.fixtures, fixture_set=fixture_set, rubric=rubric,
                        case_timeout=args.timeout, jobs=args.jobs, regrade=args.regrade, hints=args.hints,
                        submission_timeout=args.submission_timeout or args.timeout * cases + SUBMISSION_TIMEOUT_MARGIN)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    outcomes: dict[str, Outcome] = {}
    pending = []
    for entry in entries:
        document = None if args.regrade else reusable_report(report_path(args.out, entry.student), entry, settings)
        if document is None:
            pending.append(entry)
        else:
            outcomes[entry.student] = Outcome(entry.student, document, reused=True)
    progress = Progress(len(entries), list(outcomes.values()), stderr)
    progress.show("starting" if pending else "nothing to grade")
    executor = ThreadPoolExecutor(max_workers=args.jobs, thread_name_prefix="batch")
    try:
        futures = [executor.submit(run_worker_safely, entry, settings) for entry in pending]
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
        progress.finish()
        raise
    executor.shutdown()
    progress.finish()
    ordered = [outcomes[entry.student] for entry in entries]
    summary = build_summary(ordered, settings, time.monotonic() - started)
    validate_summary(summary)
    write_text_atomic(args.out / "grades.csv", grades_csv(ordered, rubric))
    write_json_atomic(args.out / "summary.json", summary)
    return ordered, summary


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    try:
        outcomes, summary = run(args)
    except UsageError as error:
        print(f"error: {for_terminal(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: the reports written so far are kept; run the same command again to continue",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    main_stats = summary["main"]
    print(f"{summary['count']} submission(s): {summary['graded']} graded, {summary['errors']} error(s), "
          f"{summary['reused']} reused from an earlier run; fixture set {summary['fixture_set']['id']}")
    if main_stats:
        print(f"main total: mean {main_stats['mean']:g}, median {main_stats['median']:g}, "
              f"min {main_stats['min']:g}, max {main_stats['max']:g} (of {summary['main_max']:g})")
    for failure in summary["failed_to_grade"]:
        first_line = failure["reason"].split("\n", 1)[0]
        print(f"  error {for_terminal(failure['student'])}: {for_terminal(first_line)}")
    out = for_terminal(str(args.out))
    print(f"wrote {out}/grades.csv, {out}/summary.json and one {REPORTS_FOLDER}/<student>.json per submission")
    return EXIT_OK


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        sys.exit(worker_main(sys.argv[2:]))
    sys.exit(main())
