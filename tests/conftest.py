"""Shared helpers for the project's tests: running ``runner.py`` in a subprocess."""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "tests" / "submissions"
COMPLETE = SUBMISSIONS / "complete"
TEMPLATE = ROOT / "student_template"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from autograder.contract.fixtures import read_rubric  # noqa: E402

RUBRIC = read_rubric(ROOT / "fixtures")  # the public fixture set's rubric (typed: autograder.contract.rubric.Rubric)
ITEMS = RUBRIC.names
MAX_POINTS = {item.name: item.points for item in RUBRIC.items}

DELETED_LIST = "DELETED"  # in a variant's mytorch/: module files of complete/ it removes, one per line
HOSTILE_NOTE = "test_paths.txt"  # beside a built hostile's mytorch/: where its attacks aim (see submission)
BUILT = SUBMISSIONS / ".built" / str(os.getpid())  # git-ignored; one folder per test session
BUILT.mkdir(parents=True, exist_ok=True)
atexit.register(shutil.rmtree, BUILT, True)
_built = {}


def variant_files(name):
    """What ``tests/submissions/<name>`` changes in complete/: ({file: bytes} replaced or added, {deleted})."""
    package = SUBMISSIONS / name / "mytorch"
    files = {p.name: p.read_bytes() for p in package.glob("*.py")}
    deleted_list = package / DELETED_LIST
    deleted = set(deleted_list.read_text().split()) if deleted_list.exists() else set()
    return files, deleted


def submission(name):
    """A gradable folder for ``tests/submissions/<name>``.

    Mutant and hostile folders hold only the modules they change (plus a
    ``DELETED`` list); the full package is complete/ with those applied, built
    once per session under ``tests/submissions/.built/`` (inside the repository,
    where a hostile submission would really sit next to the fixtures).

    A hostile one also gets HOSTILE_NOTE, the absolute paths its attacks aim at ("fixtures",
    and "submission": this folder), one ``name=path`` a line: a root grader grades a
    submission its case user cannot read (a checkout in a 0700 folder) from a copy in a
    temporary folder, where walking up from its own file finds nothing; the attack must be
    made all the same, as by a student who knows the layout.  Paths only, never a value.
    """
    if name == "complete":
        return COMPLETE
    if name not in _built:
        target = BUILT / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(COMPLETE / "mytorch", target / "mytorch",
                        ignore=shutil.ignore_patterns("__pycache__"))
        files, deleted = variant_files(name)
        for file_name in deleted:
            (target / "mytorch" / file_name).unlink()
        for file_name, data in files.items():
            (target / "mytorch" / file_name).write_bytes(data)
        if name.startswith("hostile_"):
            (target / HOSTILE_NOTE).write_text(f"fixtures={ROOT / 'fixtures'}\nsubmission={target}\n")
        _built[name] = target
    return _built[name]


@dataclass
class RunnerRun:
    returncode: int
    stdout: str
    stderr: str
    report: dict | None  # the --json report, when one was requested and written

    @property
    def last_line(self):
        """The last stdout line parsed as JSON (the Autolab line)."""
        return json.loads(self.stdout.rstrip("\n").splitlines()[-1])

    def lost(self):
        """Names of the graded items that scored less than their maximum."""
        return {item["name"] for item in self.report["items"] if item["points"] < item["max_points"]}


def complete_copy():
    """A fresh copy of complete/ (no bytecode cache) whose files a test may change; the caller removes it.

    In the system's temporary folder (0755), which a root grader's case user can read wherever
    the checkout lives: a submission that user cannot read (anything in a checkout below a 0700
    folder, root's home or a ``mktemp -d``) is graded from a copy made once per grading, which an
    edit would miss.
    """
    folder = Path(tempfile.mkdtemp(prefix="mytorch-test-copy-"))
    shutil.copytree(COMPLETE / "mytorch", folder / "mytorch", ignore=shutil.ignore_patterns("__pycache__"))
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # whatever the checkout's umask was
    return folder


def run_runner(*args, json_path=None, timeout=120, cwd=ROOT, python=sys.executable):
    """``python runner.py ARGS [--json json_path]``; the parsed report is returned if it was written.

    OpenBLAS's threads (unless the environment says otherwise) cost every run ~0.1 s of CPU at
    NumPy's import and do nothing for grading: one thread.
    """
    command = [str(python), str(ROOT / "runner.py"), *map(str, args)]
    if json_path is not None:
        command += ["--json", str(json_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={"OPENBLAS_NUM_THREADS": "1", **os.environ})
    report = None
    if json_path is not None and Path(json_path).exists():
        report = json.loads(Path(json_path).read_text())
    return RunnerRun(done.returncode, done.stdout, done.stderr, report)


SHARED_RUNNERS = (os.cpu_count() or 1) + 1  # runner.py processes grade_once keeps going at once
_shared_runs: dict[tuple[str, ...], Future] = {}
_shared_lock = threading.Lock()
_shared_pool = ThreadPoolExecutor(max_workers=SHARED_RUNNERS)
atexit.register(_shared_pool.shutdown, wait=False, cancel_futures=True)


def grade_once(*args, python=sys.executable, timeout=300):
    """A Future of ``run_runner(*args)`` with a --json report, started in the background (SHARED_RUNNERS
    at a time) and only once per session for the same interpreter and arguments: tests that grade the
    same submission the same way (test_mutants, test_sandbox_spawned, test_interpreters) share one run."""
    key = (str(python), *map(str, args))
    with _shared_lock:
        if key not in _shared_runs:
            json_path = Path(tempfile.mkdtemp(dir=BUILT)) / "report.json"
            _shared_runs[key] = _shared_pool.submit(run_runner, *key[1:], json_path=json_path, timeout=timeout,
                                                    python=python)
        return _shared_runs[key]


@pytest.fixture(scope="session")
def runner_run():
    """The :func:`run_runner` helper, for tests and module-scoped fixtures."""
    return run_runner


def landlock_abi():
    """The kernel's Landlock ABI version (0: none); child.py confines file access with it."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        return max(0, libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))
    except (OSError, AttributeError):
        return 0
