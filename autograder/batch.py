"""Grade a folder of submissions (course staff).

    python runner.py batch SUBMISSIONS --out DIR [--jobs N] [--fixtures DIR] [--regrade] [--timeout S]

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
"""
import argparse
import contextlib
import csv
import io
import json
import os
import signal
import stat
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from autograder.archives import ArchiveError, archive_suffix, extract_archive, strip_archive_suffix
from autograder.documents import DocumentError, validate_document
from autograder.fixtures import DEFAULT_FIXTURES, FixtureError, load_fixture_set
from autograder.atomic import write_json_atomic, write_text_atomic
from autograder.report import HARNESS_VERSION, Report, ReportError, validate_report, write_report
from autograder.rubric import Rubric, Section
from autograder.safetext import for_csv, for_terminal
from autograder.sandbox import Limits
from autograder.submission import IGNORED_NAMES, SubmissionError, locate_package

ROOT = Path(__file__).resolve().parent.parent
WORKER_COMMAND = [sys.executable, "-m", "autograder.batch", "--worker"]
REPORTS_FOLDER = "reports"  # OUT/reports/<student>.json; OUT itself holds only grades.csv and summary.json
MAX_STALENESS_ENTRIES = 10_000  # files and folders looked at to decide whether a report is out of date
MAX_REPORT_BYTES = 64 * 1024 * 1024
EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130
SUBMISSION_TIMEOUT_MARGIN = 60.0
LOG_TAIL_CHARS = 1500


class UsageError(Exception):
    """The batch itself cannot run (bad folder, duplicate ids, rejected fixture set)."""


@dataclass
class Entry:
    student: str
    path: Path
    kind: str  # "folder", "archive" or "other"


@dataclass
class Outcome:
    student: str
    document: dict
    reused: bool = False
    seconds: float = 0.0


@dataclass
class Settings:
    out: Path
    fixtures: Path
    fixture_set: object
    rubric: Rubric
    case_timeout: float
    submission_timeout: float
    jobs: int
    regrade: bool = False
    running: dict = field(default_factory=dict)  # student -> Popen
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: bool = False


# ----------------------------------------------------------------------------- finding submissions

def discover(submissions, out):
    """The submissions in the folder ``submissions``, sorted by student id."""
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise UsageError(f"{submissions}: not a folder of submissions")
    out_resolved = Path(out).resolve()
    reports, resolved = out_resolved / REPORTS_FOLDER, submissions.resolve()
    if resolved in (out_resolved, reports) or reports in resolved.parents:
        raise UsageError(f"{for_terminal(str(submissions))}: the batch writes its grades.csv, summary.json and "
                         f"{REPORTS_FOLDER}/ in --out; they would be read as submissions: choose another --out")
    entries, seen = [], {}
    for path in sorted(submissions.iterdir()):
        if path.name.startswith(".") or path.name in IGNORED_NAMES or is_same_folder(path, out_resolved):
            continue
        if path.is_dir():
            entry = Entry(path.name, path, "folder")
        elif archive_suffix(path):
            entry = Entry(strip_archive_suffix(path.name), path, "archive")
        else:
            entry = Entry(path.name, path, "other")
        seen.setdefault(entry.student, []).append(path.name)
        entries.append(entry)
    duplicates = {student: names for student, names in seen.items() if len(names) > 1}
    if duplicates:
        listed = "; ".join(f"{student}: {', '.join(names)}" for student, names in sorted(duplicates.items()))
        raise UsageError(f"several entries give the same student id ({listed}): keep one per student")
    return entries


def is_same_folder(path, resolved):
    try:
        return path.resolve() == resolved
    except (OSError, RuntimeError):  # a link loop is not the output folder
        return False


def report_path(out, student):
    """Where the report of ``student`` lives: in a folder of its own, apart from the batch's files."""
    return Path(out) / REPORTS_FOLDER / f"{student}.json"


def prepare_submission(entry_path, kind, scratch):
    """The folder to grade: the submission folder itself, or the safely extracted archive."""
    entry_path = Path(entry_path)
    if kind == "folder":
        return locate_package(entry_path)
    if kind == "archive":
        return locate_package(extract_archive(entry_path, Path(scratch) / "extracted"))
    raise SubmissionError(f"{entry_path.name}: not a folder or a .zip/.tar/.tar.gz/.tgz archive")


# ----------------------------------------------------------------------------- the worker (one submission)

def worker_main(argv):
    """Grade one submission and write its report; always exits 0 once the report is written."""
    parser = argparse.ArgumentParser(prog="python -m autograder.batch --worker")
    parser.add_argument("--entry", type=Path, required=True)
    parser.add_argument("--kind", choices=["folder", "archive", "other"], required=True)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--fixtures", type=Path, required=True)
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--scratch", type=Path, required=True)
    args = parser.parse_args(argv)
    from autograder.core import Settings as GradingSettings, grade
    fixture_set = load_fixture_set(args.fixtures)
    try:
        folder = prepare_submission(args.entry, args.kind, args.scratch)
        report = grade(folder, fixture_set, GradingSettings(Limits(timeout=args.timeout), jobs=1))
    except (ArchiveError, SubmissionError) as error:
        report = Report.failed(args.entry, fixture_set.rubric, str(error), fixture_set)
    report.submission = str(args.entry)
    write_report(args.report, report)
    return 0


# ----------------------------------------------------------------------------- the parent

class StalenessUnknown(Exception):
    """Whether a report is up to date cannot be decided: the submission is graded again."""


def last_change(path, limit=MAX_STALENESS_ENTRIES):
    """The latest modification or status change of ``path`` or anything inside it.

    The walk is iterative (any depth), never follows links, and raises StalenessUnknown after
    ``limit`` entries; an entry that cannot be examined raises OSError.  Status changes count
    because tools that restore modification times (unzip, cp -p, rsync -t) cannot restore them.
    """
    top = os.lstat(path)
    newest = max(top.st_mtime, top.st_ctime)
    pending = [os.fspath(path)] if stat.S_ISDIR(top.st_mode) else []
    seen = 0
    while pending:
        with os.scandir(pending.pop()) as listing:
            for item in listing:
                seen += 1
                if seen > limit:
                    raise StalenessUnknown(f"more than {limit} files and folders")
                info = item.stat(follow_symlinks=False)
                newest = max(newest, info.st_mtime, info.st_ctime)
                if stat.S_ISDIR(info.st_mode):
                    pending.append(item.path)
    return newest


def read_report(path):
    """The JSON document in the regular file ``path`` (never through a link, never more than
    MAX_REPORT_BYTES) and the file's modification time; raises OSError or ValueError."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path}: not a regular file")
        data = handle.read(MAX_REPORT_BYTES + 1)
    if len(data) > MAX_REPORT_BYTES:
        raise ValueError(f"{path}: larger than {MAX_REPORT_BYTES} bytes")
    return json.loads(data), info.st_mtime


def reusable_report(path, entry, settings):
    """The existing report at ``path`` if it was made by this harness, with this fixture set and rubric,
    after the submission last changed; None when it is not, or when anything about it cannot be
    decided (any error at all: the submission is then simply graded again)."""
    try:
        document, written = read_report(path)
        if last_change(entry.path) > written:
            return None
        validate_report(document)
        same = (document["harness_version"] == HARNESS_VERSION
                and document["fixture_set"].get("id") == settings.fixture_set.id
                and document["rubric"] == settings.rubric.identity())
    except Exception:  # anything at all: deciding staleness must never stop the batch
        return None
    return document if same else None


def descendants(pid):
    """Process ids below ``pid`` (Linux /proc; empty elsewhere)."""
    parents = {}
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


def kill_tree(pid):
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


def log_tail(path):
    try:
        text = Path(path).read_text(errors="replace").strip()
    except OSError:
        return ""
    return text[-LOG_TAIL_CHARS:]


def describe_death(returncode, log):
    if returncode is not None and returncode < 0:
        try:
            how = f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"was killed by signal {-returncode}"
    else:
        how = f"exited with code {returncode} without a valid report"
    reason = f"the grading worker process {how}"
    return f"{reason}; its last output:\n{log}" if log else reason


def run_worker(entry, settings):
    """Grade ``entry`` in a worker process; write and return its report document."""
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="mytorch-batch-"))
    worker_report, log_path = scratch / "report.json", scratch / "worker.log"
    command = [*WORKER_COMMAND, "--entry", str(entry.path.resolve()), "--kind", entry.kind,
               "--report", str(worker_report), "--fixtures", str(settings.fixtures.resolve()),
               "--timeout", repr(settings.case_timeout), "--scratch", str(scratch)]
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


def remove_tree(path):
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


def run_worker_safely(entry, settings):
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


class Progress:
    """One progress line on stderr: done/total, rate, ETA (rewritten in place on a terminal)."""

    def __init__(self, total, reused, stream=None):
        stream = sys.stderr if stream is None else stream
        self.total, self.done = total, len(reused)
        self.reused = len(reused)
        self.errors = sum(outcome.document["status"] == "error" for outcome in reused)
        self.stream = stream
        self.started = time.monotonic()
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def line(self, last=""):
        graded = self.done - self.reused
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = graded / elapsed * 60
        remaining = self.total - self.done
        eta = f"ETA {format_seconds(remaining / rate * 60)}" if graded and remaining else \
            ("ETA ?" if remaining else f"took {format_seconds(elapsed)}")
        parts = [f"batch: {self.done}/{self.total} done", f"{self.errors} error(s)"]
        if self.reused:
            parts.append(f"{self.reused} reused")
        parts += [f"{rate:.1f} submissions/min", eta]
        return ", ".join(parts) + (f"  [{last}]" if last else "")

    def show(self, last=""):
        text = self.line(last)
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def update(self, outcome):
        self.done += 1
        document = outcome.document
        if document["status"] == "error":
            self.errors += 1
        totals = document["totals"]
        score = f"{totals['main']:g}+{totals['bonus']:g}" if document["status"] == "graded" else "error"
        last = f"{for_terminal(outcome.student)}: {score} in {outcome.seconds:.1f}s"
        self.show(last)

    def finish(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def format_seconds(seconds):
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


# ----------------------------------------------------------------------------- outputs

def grades_csv(outcomes, rubric):
    items = rubric.names
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *items, "main", "bonus", "status"])
    for outcome in outcomes:
        document = outcome.document
        row = [outcome.student, *(document["scores"].get(item, 0.0) for item in items),
               document["totals"]["main"], document["totals"]["bonus"], document["status"]]
        writer.writerow([for_csv(cell) for cell in row])
    return buffer.getvalue()


def describe(values):
    if not values:
        return None
    return {"mean": round(statistics.fmean(values), 6), "median": round(statistics.median(values), 6),
            "min": min(values), "max": max(values)}


def build_summary(outcomes, settings, wall_seconds):
    """Statistics over every submission (an error counts with its recorded total, 0); item pass
    rates over the submissions that graded."""
    documents = [o.document for o in outcomes]
    graded = [d for d in documents if d["status"] == "graded"]
    items = {}
    for entry in settings.rubric.items:
        statuses = [next((i["status"] for i in d["items"] if i["name"] == entry.name), "not_graded")
                    for d in graded]
        passed = statuses.count("passed")
        items[entry.name] = {"section": str(entry.section), "max_points": entry.points,
                                "passed": passed, "graded": len(graded),
                                "pass_rate": round(passed / len(graded), 6) if graded else None}
    fixture_set = settings.fixture_set
    return {
        "harness_version": HARNESS_VERSION,
        "rubric": settings.rubric.identity(),
        "fixture_set": {"id": fixture_set.id, "seed": fixture_set.seed,
                        "manifest_sha256": fixture_set.manifest_sha256, "path": str(fixture_set.root)},
        "count": len(documents),
        "graded": len(graded),
        "errors": len(documents) - len(graded),
        "reused": sum(o.reused for o in outcomes),
        "main": describe([d["totals"]["main"] for d in documents]),
        "main_max": settings.rubric.sections[Section.MAIN].max,
        "bonus": describe([d["totals"]["bonus"] for d in documents]),
        "bonus_max": settings.rubric.sections[Section.BONUS].max,
        "items": items,
        "failed_to_grade": [{"student": o.student, "submission": o.document["submission"],
                             "reason": o.document["error"]} for o in outcomes if o.document["status"] == "error"],
        "wall_seconds": round(wall_seconds, 3),
    }


class SummaryError(DocumentError):
    """A batch summary that does not match schemas/batch_summary.schema.json."""


def validate_summary(document):
    validate_document("batch_summary.schema.json", document, "batch summary", SummaryError)


# ----------------------------------------------------------------------------- command line

def parse_args(argv):
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
    parser.add_argument("--submission-timeout", type=float, metavar="S",
                        help="wall-clock limit for a whole submission (default: TIMEOUT x number of cases + 60)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.timeout <= 0 or (args.submission_timeout is not None and args.submission_timeout <= 0):
        parser.error("timeouts must be positive")
    return args


def run(args, stderr=None):
    """The batch; returns the outcomes in student order."""
    try:
        fixture_set = load_fixture_set(args.fixtures)
    except FixtureError as error:
        raise UsageError(f"fixture set rejected: {error}") from None
    rubric = fixture_set.rubric
    entries = discover(args.submissions, args.out)
    cases = sum(len(c) for c in fixture_set.items.values())
    settings = Settings(out=args.out, fixtures=args.fixtures, fixture_set=fixture_set, rubric=rubric,
                        case_timeout=args.timeout, jobs=args.jobs, regrade=args.regrade,
                        submission_timeout=args.submission_timeout or args.timeout * cases + SUBMISSION_TIMEOUT_MARGIN)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    outcomes, pending = {}, []
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


def main(argv=None):
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
