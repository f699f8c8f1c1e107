"""The tests' shared helpers, in one module: paths and the rubric, test submissions (built from
``tests/submissions/``), ``runner.py`` in a subprocess, trimmed fixture sets and archives for batches,
synthetic reports, the other Python interpreters, the handout's examples.

Imported as ``helpers`` (pyproject.toml's pytest ``pythonpath`` puts tests/ on sys.path); tests/conftest.py
has pytest rewrite its asserts.  Test files import what they share from here (only the mutants' table stays
in tests/e2e/test_mutants.py, imported as ``tests.e2e.test_mutants``)."""
import atexit
import csv
import glob
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from autograder.contract.fixtures import DEFAULT_FIXTURES, read_rubric
from autograder.judge.compare import Mismatch, to_array
from autograder.judge.results import CaseResult, CaseStatus
from autograder.report.model import Report

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "tests" / "submissions"
COMPLETE = SUBMISSIONS / "complete"
TEMPLATE = ROOT / "student_template"
HANDOUT = ROOT / "handout"

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


def landlock_abi():
    """The kernel's Landlock ABI version (0: none); child.py confines file access with it."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        return max(0, libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))
    except (OSError, AttributeError):
        return 0


# -------------------------- trimmed fixture sets, copies and archives (batches)


def trimmed_fixtures(target, keep=0):
    """A copy of the public fixture set with only case number ``keep`` of every item."""
    manifest = json.loads((DEFAULT_FIXTURES / "manifest.json").read_text())
    for entry in manifest["items"].values():
        entry["cases"] = [entry["cases"][keep]]
    target.mkdir(parents=True)
    for entry in manifest["items"].values():
        shutil.copy(DEFAULT_FIXTURES / entry["file"], target / entry["file"])
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return target


def copy_complete(target):
    shutil.copytree(COMPLETE / "mytorch", target / "mytorch", ignore=shutil.ignore_patterns("__pycache__"))
    return target


def zip_folder(source, archive_path, prefix=""):
    with zipfile.ZipFile(archive_path, "w") as archive:
        for path in sorted(source.rglob("*.py")):
            archive.write(path, prefix + path.relative_to(source).as_posix())


def read_csv(path):
    return list(csv.DictReader(io.StringIO(path.read_text())))


def process_gone(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # a zombie is dead (its reaper may be slow)


def run_batch(argv):
    """batch.main(argv) in this process, with the real worker; returns (code, stdout, stderr)."""
    from autograder.batch import main as batch
    stdout, stderr = io.StringIO(), io.StringIO()
    real = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = stdout, stderr
    try:
        code = batch.main([str(a) for a in argv])
    finally:
        sys.stdout, sys.stderr = real
    return code, stdout.getvalue(), stderr.getvalue()


def rows_of(out):
    return {row["student"]: row for row in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}


# ----------------------------------- synthetic reports (the platform documents)


MISMATCH = "forward Z: values differ from the reference (rtol=1e-06, atol=1e-09)\n  [0, 1]: 0.5 vs 0.25"


def synthetic_report(public_set):
    """Every item passes, except Conv1d (one wrong case), Flatten (not implemented) and ResBlock (a timeout)."""
    results = {}
    for name in RUBRIC.names:
        statuses = {"Conv1d": ["passed", "failed"], "Flatten": ["not_implemented"] * 2,
                    "ResBlock": ["timeout", "skipped"]}.get(name, ["passed", "passed"])
        results[name] = [CaseResult(name, f"case{i}", CaseStatus(status), "" if status == "passed" else
                                    f'{name}, case "case{i}" (desc)\n{MISMATCH if status == "failed" else status}',
                                    wall_seconds=0.1) for i, status in enumerate(statuses)]
    return Report.from_results("sub", public_set, results, wall_seconds=12.5)


# ---------------------------------------------------- the comparison's messages


class FloatSubclass(float):
    pass


def mismatch(value, shape, formula=None):
    with pytest.raises(Mismatch) as raised:
        to_array(value, shape, "backward dLdA", formula)
    return str(raised.value)


# ------------------------------------------------ the other Python interpreters


VERSIONS = ("3.10", "3.11", "3.12", "3.13")
RUNNING = "%d.%d" % sys.version_info[:2]
OTHERS = [version for version in VERSIONS if version != RUNNING]
PYTHONS_VARIABLE = "MYTORCH_TEST_PYTHONS"
REQUIRE_VARIABLE = "MYTORCH_REQUIRE_PYTHONS"
REQUIRE = os.environ.get(REQUIRE_VARIABLE) == "1"
PROBE = "import sys; print('%d.%d' % sys.version_info[:2]); import numpy, jsonschema"


def probe(python):
    """(version "3.X", "") if ``python`` runs and imports numpy and jsonschema, else (version or None, why not)."""
    try:
        done = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True, timeout=60, cwd=ROOT)
    except (OSError, subprocess.SubprocessError) as error:
        return None, f"{python} does not run: {error}"
    version = done.stdout.strip() or None
    lines = done.stderr.strip().splitlines() or ["no output"]
    if version is None:
        return None, f"{python} does not run ({lines[0].strip()})"
    if done.returncode != 0:
        return version, f"{python} cannot import numpy and jsonschema ({lines[-1].strip()})"
    return version, ""


def pyenv_root():
    if shutil.which("pyenv"):
        try:
            done = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=30)
            if done.returncode == 0 and done.stdout.strip():
                return Path(done.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def candidates(version):
    """Where an interpreter of ``version`` ("3.X") may be, most likely usable first."""
    found = [ROOT / f".venv-{version}" / "bin" / "python"]
    found += sorted((Path(p) for p in glob.glob(str(pyenv_root() / "versions" / f"{version}.*" / "bin" / "python"))),
                    key=lambda p: [int(n) if n.isdigit() else 0 for n in p.parent.parent.name.split(".")],
                    reverse=True)
    on_path = shutil.which(f"python{version}")
    if on_path:
        found.append(Path(on_path))
    return [path for path in found if path.exists()]


_found = {}
_found_lock = threading.Lock()


def interpreters():
    """({version: interpreter} for the other supported versions, {version: why it is missing}, [errors])."""
    with _found_lock:
        if not _found:
            _found["found"] = find_interpreters()
        return _found["found"]


def find_interpreters():
    pythons, missing, errors = {}, {}, []
    listed = [entry for entry in os.environ.get(PYTHONS_VARIABLE, "").split(os.pathsep) if entry]
    if listed:
        for entry in listed:
            version, problem = probe(entry)
            if problem:  # named on purpose: an unusable one is an error, not a reason to skip
                errors.append(f"{PYTHONS_VARIABLE} names {entry}, which is not usable: {problem}")
            elif version in OTHERS:
                pythons.setdefault(version, entry)
        for version in OTHERS:
            if version not in pythons:
                missing[version] = f"{PYTHONS_VARIABLE} names no usable Python {version}"
        return pythons, missing, errors
    for version in OTHERS:
        problems = []
        for path in candidates(version):
            found_version, problem = probe(path)
            if found_version == version and not problem:
                pythons[version] = str(path)
                break
            problems.append(problem or f"{path} is Python {found_version}")
        else:
            missing[version] = "no usable Python %s found%s" % (version, ": " + "; ".join(problems) if problems else "")
    return pythons, missing, errors


def how_to_provide(version):
    return (f"make a venv with the requirements (python{version} -m venv .venv-{version} && "
            f".venv-{version}/bin/python -m pip install -r requirements.txt, as .ci/run does) or list its "
            f"interpreter in {PYTHONS_VARIABLE} (separated by {os.pathsep!r})")


def interpreter(version):
    """The interpreter of ``version``; skips (fails under MYTORCH_REQUIRE_PYTHONS=1) when there is none."""
    pythons, missing, errors = interpreters()
    if errors:
        pytest.fail("; ".join(errors))
    if version in pythons:
        return pythons[version]
    message = f"Python {version}: {missing[version]}; to test it, {how_to_provide(version)}"
    if REQUIRE:
        pytest.fail(f"{REQUIRE_VARIABLE}=1 and {message}")
    pytest.skip(message)


def python_of(version):
    """The interpreter of CPython ``version`` ("3.X"): this one, or another as :func:`interpreter` finds it."""
    if version == "%d.%d" % sys.version_info[:2]:
        return sys.executable
    return interpreter(version)


def base_python(version):
    """An interpreter of Python ``version`` ("3.X") that need not have the requirements (Gradescope's setup.sh
    installs them): the first of :func:`candidates` that runs as that version; None if there is none."""
    for candidate in candidates(version):
        found = subprocess.run([str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)
        if found.stdout.strip() == version:
            return str(candidate)
    return None


# ---------------------------------------------------- the handout's code blocks


def handout_files():
    return sorted(HANDOUT.glob("*.md"))


def code_blocks(text, language="python"):
    return [m.group(1) for m in re.finditer(r"^```" + language + r"\n(.*?)^```", text, re.M | re.S)]


def examples(text):
    """[(source, expected output or None)] for every >>> statement of every python block."""
    found = []
    for block in code_blocks(text):
        if ">>>" not in block:
            continue
        statements, lines = [], block.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            assert line.startswith(">>> "), f"unexpected line in an example block: {line!r}"
            source = [line[4:]]
            i += 1
            while i < len(lines) and (lines[i].startswith("... ") or lines[i] == "..."):
                source.append(lines[i][4:])
                i += 1
            output = []
            while i < len(lines) and not lines[i].startswith(">>>"):
                output.append(lines[i])
                i += 1
            statements.append(("\n".join(source), "\n".join(output) if output else None))
        found.append(statements)
    return found


def plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def assert_matches(got, expected, where):
    if isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), f"{where}: got {got!r}, expected {expected!r}"
        for g, e in zip(got, expected):
            assert_matches(g, e, where)
    elif isinstance(expected, (int, float)) and not isinstance(expected, bool):
        assert isinstance(got, (int, float)), f"{where}: got {got!r}, expected {expected!r}"
        assert abs(got - expected) <= 1e-9 + 1e-6 * abs(expected), f"{where}: got {got!r}, expected {expected!r}"
    else:
        assert got == expected, f"{where}: got {got!r}, expected {expected!r}"


ALL_EXAMPLES = [(path.name, n, block) for path in handout_files()
                for n, block in enumerate(examples(path.read_text()), start=1)]
