"""The batch's worker processes: one per submission, started, waited for, killed and explained here.

:func:`worker_main` is the worker's own side (``python -m autograder.batch
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
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from autograder.archives import ArchiveError
from autograder.atomic import write_json_atomic
from autograder.batch_entries import Entry, Outcome, Settings, prepare_submission, read_report, report_path
from autograder.fixtures import load_fixture_set
from autograder.report import Report, ReportError, validate_report, write_report
from autograder.sandbox import Limits
from autograder.submission import SubmissionError

ROOT = Path(__file__).resolve().parent.parent
WORKER_COMMAND = [sys.executable, "-m", "autograder.batch", "--worker"]
LOG_TAIL_CHARS = 1500


def worker_main(argv: Sequence[str]) -> int:
    """Grade one submission and write its report; always exits 0 once the report is written."""
    parser = argparse.ArgumentParser(prog="python -m autograder.batch --worker")
    parser.add_argument("--entry", type=Path, required=True)
    parser.add_argument("--kind", choices=["folder", "archive", "other"], required=True)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--fixtures", type=Path, required=True)
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--scratch", type=Path, required=True)
    parser.add_argument("--no-hints", dest="hints", action="store_false")
    args = parser.parse_args(argv)
    from autograder.core import Settings as GradingSettings, grade
    fixture_set = load_fixture_set(args.fixtures)
    try:
        folder = prepare_submission(args.entry, args.kind, args.scratch)
        report = grade(folder, fixture_set, GradingSettings(Limits(timeout=args.timeout), jobs=1, hints=args.hints))
    except (ArchiveError, SubmissionError) as error:
        report = Report.failed(args.entry, fixture_set.rubric, str(error), fixture_set)
    report.submission = str(args.entry)
    write_report(args.report, report)
    return 0


def descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (Linux /proc; empty elsewhere)."""
    parents: dict[int, list[int]] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(proc.name))
        except (OSError, IndexError, ValueError):
            continue
    found, stack = [], [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def kill_tree(pid: int) -> None:
    """Kill a worker's process group and every process below it (the sandbox children have sessions of their own)."""
    try:
        os.killpg(pid, signal.SIGSTOP)  # no new children while we look
    except (ProcessLookupError, PermissionError):
        pass
    own_group = os.getpgrp()
    for child in descendants(pid):
        try:
            group = os.getpgid(child)
            if group not in (own_group, pid):
                os.killpg(group, signal.SIGKILL)
            os.kill(child, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


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


def run_worker(entry: Entry, settings: Settings) -> Outcome | None:
    """Grade ``entry`` in a worker process; write and return its report document (None once the batch is stopping)."""
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="mytorch-batch-"))
    worker_report, log_path = scratch / "report.json", scratch / "worker.log"
    command = [*WORKER_COMMAND, "--entry", str(entry.path.resolve()), "--kind", entry.kind,
               "--report", str(worker_report), "--fixtures", str(settings.fixtures.resolve()),
               "--timeout", repr(settings.case_timeout), "--scratch", str(scratch),
               *([] if settings.hints else ["--no-hints"])]
    reason = None
    # the worker's temporary folders (the sandbox's case folders too) live in the scratch folder, so they
    # are removed with it even when the worker is killed before it could clean up
    (scratch / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(scratch / "tmp")}
    try:
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, env=env,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        with settings.lock:
            settings.running[entry.student] = process
        try:
            process.wait(timeout=settings.submission_timeout)
        except subprocess.TimeoutExpired:
            kill_tree(process.pid)
            process.wait()
            reason = (f"grading took longer than the whole-submission limit of {settings.submission_timeout:g} s "
                      f"and was stopped")
        finally:
            with settings.lock:
                settings.running.pop(entry.student, None)
        if settings.stopping:
            return None
        document = None
        if reason is None:
            try:
                document, _ = read_report(worker_report)
                validate_report(document)
            except (OSError, ValueError, ReportError):
                document = None
                reason = describe_death(process.returncode, log_tail(log_path))
        if document is None:
            # no fixture set in the report: it was not graded against one, so the next run retries it
            document = Report.failed(entry.path, settings.rubric, reason).to_dict()
            document["wall_seconds"] = round(time.monotonic() - started, 4)
        document["submission"] = str(entry.path)  # as the staff named it, not the worker's absolute path
        write_json_atomic(report_path(settings.out, entry.student), document)
        return Outcome(entry.student, document, seconds=time.monotonic() - started)
    finally:
        remove_tree(scratch)


def remove_tree(path: Path) -> None:
    """Remove ``path`` and everything in it, ignoring errors like ``shutil.rmtree(ignore_errors=True)``
    but without recursion: a case may nest folders deeper than Python's recursion limit."""
    folders, pending = [], [os.fspath(path)]
    while pending:
        folder = pending.pop()
        folders.append(folder)
        try:
            with os.scandir(folder) as listing:
                for item in listing:
                    if item.is_dir(follow_symlinks=False):
                        pending.append(item.path)
                    else:
                        with contextlib.suppress(OSError):
                            os.unlink(item.path)
        except OSError:
            continue
    for folder in reversed(folders):  # every folder after everything listed inside it
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def run_worker_safely(entry: Entry, settings: Settings) -> Outcome | None:
    """run_worker, with a failure of the batch machinery itself recorded against this submission only."""
    try:
        return run_worker(entry, settings)
    except Exception as error:  # e.g. the scratch folder or the report cannot be written
        document = Report.failed(entry.path, settings.rubric, f"the batch could not grade this submission "
                                 f"({type(error).__name__}: {error})").to_dict()
        document["submission"] = str(entry.path)
        try:
            write_json_atomic(report_path(settings.out, entry.student), document)
        except OSError:
            pass
        return Outcome(entry.student, document)
