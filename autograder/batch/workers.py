"""The batch's worker processes: one per submission, started, waited for, killed and explained here.

:func:`worker_main` is the worker's own side (``python -m autograder.batch.main
--worker ...``, the command in :data:`WORKER_COMMAND`): it extracts the handin
and grades it exactly as the single-submission runner does.  The rest is the
parent's side: :func:`run_worker` starts a worker in a scratch folder of its
own, enforces the whole-submission limit, kills the worker's whole process tree
when needed, and turns a worker that produced no valid report into a
``Report.failed`` document with the reason.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from autograder.archives.extract import ArchiveError
from autograder.case.processes import kill_below, kill_tree
from autograder.util.atomic import write_json_atomic
from autograder.batch.entries import Batch, Entry, Outcome, prepare_submission, provenance, read_report
from autograder.batch.options import default_submission_budget
from autograder.batch.storage import ScratchArea, describe_os_error, report_path
from autograder.errors import WORKER_STORAGE, StorageError, UsageError
from autograder.contract.fixtures import load_fixture_set
from autograder.report.model import Report, ReportError, validate_report
from autograder.sandbox.run_folders import remove_tree
from autograder.config import Config
from autograder.sandbox.backends import BackendError, untrusted_refusal
from autograder.sandbox.capacity import available
from autograder.util.safetext import for_terminal
from autograder.grading.submission import SubmissionError, upload_text
from autograder import ROOT

WORKER_COMMAND = [sys.executable, "-m", "autograder.batch.main", "--worker"]
LOG_TAIL_CHARS = 1500
PR_SET_PDEATHSIG = 1


def die_with_the_batch(batch_pid: int, scratch: Path) -> None:
    """Make this worker end with its batch: SIGTERM when the batch process dies (even by SIGKILL),
    and on SIGTERM kill every process below this one (the sandbox's, in sessions of their own),
    remove the scratch folder and exit."""
    def stop(signum: int, frame: object) -> None:
        kill_below(os.getpid())
        remove_tree(scratch)
        os._exit(128 + signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != batch_pid:  # the batch died before the line above
        stop(signal.SIGTERM, None)


def worker_argv(entry_path: Path, kind: str, report: Path, scratch: Path, config: Config) -> list[str]:
    """The worker's command line: where it works, then ``--`` and the Config it grades with (Config.to_argv)."""
    return ["--entry", str(entry_path), "--kind", kind, "--report", str(report), "--scratch", str(scratch),
            "--batch-pid", str(os.getpid()), "--", *config.to_argv()]


def worker_main(argv: Sequence[str]) -> int:
    """Grade one submission and write its report; always exits 0 once the report is written."""
    argv = list(argv)
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="python -m autograder.batch.main --worker", allow_abbrev=False)
    parser.add_argument("--entry", type=Path, required=True)
    parser.add_argument("--kind", choices=["folder", "archive", "other"], required=True)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--scratch", type=Path, required=True)
    parser.add_argument("--batch-pid", type=int, required=True)
    args = parser.parse_args(argv[:split])
    die_with_the_batch(args.batch_pid, args.scratch)
    config = Config.from_argv(argv[split + 1:])
    from autograder.grading.core import grade
    fixture_set = load_fixture_set(config.fixtures)
    try:
        refusal = untrusted_refusal(config.backend, config.allow_unsandboxed)
    except BackendError as error:  # this machine (a Dask worker's too) cannot run the backend asked for
        refusal = str(error)
    try:
        if refusal:  # a harness error of this machine's, never the student's: the batch lists it as not graded
            report = Report.failed(args.entry, fixture_set.rubric, refusal, fixture_set)
        else:
            folder = prepare_submission(args.entry, args.kind, args.scratch)
            report = grade(folder, fixture_set, config)
    except (ArchiveError, SubmissionError) as error:  # said of the upload: its feedback goes to the student
        report = Report.failed(args.entry, fixture_set.rubric, upload_text(error), fixture_set, source="submission")
    report.submission = str(args.entry)
    try:
        # Not validated here: the batch validates every worker report it reads (run_worker_process),
        # and jsonschema would cost each worker its import and a check done there anyway.
        write_json_atomic(args.report, report.to_dict())
    except OSError as error:
        print(f"cannot write {args.report}: {describe_os_error(error)}", file=sys.stderr)
        return WORKER_STORAGE
    return 0


def log_tail(path: Path) -> str:
    try:
        text = Path(path).read_text(errors="replace").strip()
    except OSError:
        return ""
    return text[-LOG_TAIL_CHARS:]


def describe_death(returncode: int | None, log: str) -> str:
    if returncode is not None and returncode < 0:
        try:
            how = f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"was killed by signal {-returncode}"
    else:
        how = f"exited with code {returncode} without a valid report"
    reason = f"the grading worker process {how}"
    return f"{reason}; its last output:\n{log}" if log else reason


class Workers:
    """The state of a batch's worker processes (not configuration): the running ones by student, for the
    batch to kill, their lock, whether the batch is stopping, and the scratch area their folders are made in."""

    def __init__(self, scratch: ScratchArea | None = None) -> None:
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.lock = threading.Lock()
        self.stopping = False
        self.scratch = scratch  # None on a Dask worker, which makes its own folders


def worker_config(batch: Batch, concurrent: int) -> Config:
    """How a worker grades: one item at a time, with ``concurrent`` workers at once on its machine, the
    fixture set by its absolute path."""
    return replace(batch.config, fixtures=batch.config.fixtures.resolve(), jobs=1, concurrent=concurrent)


def run_worker(entry: Entry, batch: Batch, workers: Workers) -> Outcome | None:
    """Grade ``entry`` in a worker process; write and return its report document (None once the batch is stopping)."""
    started = time.monotonic()
    assert workers.scratch is not None, "the batch makes its scratch area before starting workers"
    scratch = workers.scratch.new_folder()
    try:
        document, reason = run_worker_process(entry.student, entry.path.resolve(), entry.kind,
                                              worker_config(batch, batch.config.jobs), batch.cases, workers, scratch)
        if workers.stopping:
            return None
        return finish_report(entry, batch, document, reason, started)
    finally:
        remove_tree(scratch)


def submission_budget(config: Config, cases: int) -> float:
    """The whole-submission budget on this machine: ``--submission-timeout`` as given, or the default one
    for ``cases`` cases, which grows with the contention here (workers at once over the CPUs really
    available), as each case's wall-clock backstop does."""
    if config.submission_timeout is not None:
        return config.submission_timeout
    return default_submission_budget(cases) * available().contention(config.concurrent or config.jobs)


def run_worker_process(student: str, entry_path: Path, kind: str, config: Config, cases: int, workers: Workers,
                       scratch: Path) -> tuple[dict[str, Any] | None, str | None]:
    """Run the worker process on ``entry_path`` in the (empty) folder ``scratch``, grading as ``config`` says
    (a fixture set of ``cases`` cases): its validated report document and None, or None and why there is
    none.  Used by the local batch and on a Dask worker."""
    worker_report, log_path = scratch / "report.json", scratch / "worker.log"
    command = [*WORKER_COMMAND, *worker_argv(entry_path, kind, worker_report, scratch, config)]
    # the worker's temporary folders (the sandbox's case folders too) live in the scratch folder, so they
    # are removed with it even when the worker is killed before it could clean up
    env = {**os.environ, "TMPDIR": str(scratch / "tmp")}
    try:
        (scratch / "tmp").mkdir()
        log = open(log_path, "wb")
    except OSError as error:
        raise StorageError(f"cannot write in the temporary directory {for_terminal(str(scratch))}: "
                           f"{describe_os_error(error)}") from None
    with log:
        process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, env=env,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    with workers.lock:
        workers.running[student] = process
    budget = submission_budget(config, cases)
    try:
        process.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        kill_tree(process.pid)
        process.wait()
        return None, f"grading took longer than the whole-submission limit of {budget:g} s and was stopped"
    finally:
        with workers.lock:
            workers.running.pop(student, None)
    if process.returncode == WORKER_STORAGE:
        raise StorageError(f"a grading worker could not write in the temporary directory "
                           f"{for_terminal(str(scratch))}: {for_terminal(log_tail(log_path))}")
    try:
        document, _ = read_report(worker_report)
        validate_report(document)
    except (OSError, ValueError, ReportError):
        return None, describe_death(process.returncode, log_tail(log_path))
    return document, None


def finish_report(entry: Entry, batch: Batch, document: dict[str, Any] | None, reason: str | None,
                  started: float) -> Outcome:
    """The batch's side of a grading, whoever ran it: a worker that produced no report gets a
    ``Report.failed`` one with ``reason``; the submission is named as the staff named it, the
    provenance recorded, and the report written into the output folder."""
    if document is None:
        # no fixture set in the report: it was not graded against one, so the next run retries it
        document = Report.failed(entry.path, batch.rubric, reason or "no report").to_dict()
        document["wall_seconds"] = round(time.monotonic() - started, 4)
    document["submission"] = str(entry.path)  # as the staff named it, not the worker's absolute path
    if entry.sha256 is not None:
        document["provenance"] = provenance(batch, entry.sha256)
    write_batch_report(batch, entry.student, document)
    return Outcome(entry.student, document, seconds=time.monotonic() - started)


def write_batch_report(batch: Batch, student: str, document: dict[str, object]) -> None:
    """Write a student's report into the output folder; a failure is the harness's (StorageError)."""
    path = report_path(batch.out, student)
    try:
        write_json_atomic(path, document)
    except OSError as error:
        raise StorageError(f"cannot write {for_terminal(str(path))}: {describe_os_error(error)}") from None


GradeOne = Callable[[Entry, Batch, Workers], "Outcome | None"]


def run_worker_safely(entry: Entry, batch: Batch, workers: Workers, grade: GradeOne = run_worker) -> Outcome | None:
    """``grade`` (run_worker, or the Dask executor's), with a failure of the batch machinery itself recorded
    against this submission only; a failure to write (StorageError) stops the batch instead: it is never a
    student's error, and neither is a misconfigured cluster (UsageError)."""
    try:
        return grade(entry, batch, workers)
    except (StorageError, UsageError):
        raise
    except Exception as error:
        document = Report.failed(entry.path, batch.rubric, f"the batch could not grade this submission "
                                 f"({type(error).__name__}: {error})").to_dict()
        document["submission"] = str(entry.path)
        write_batch_report(batch, entry.student, document)
        return Outcome(entry.student, document)
