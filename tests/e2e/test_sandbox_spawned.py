"""The portable sandbox backend (autograder/sandbox/spawned.py), graded end to end through runner.py.

What must hold: forced on Linux it grades every honest submission exactly as the Linux
backend does (the same JSON report, timings and the ``sandbox`` layers aside); on a system
without ``fork`` and the POSIX-only modules (simulated by tests/no_posix.py) the grader picks
it by itself and grades exactly; Ctrl-C and a killed grader leave no case process behind;
untrusted-code modes refuse it unless the grader says ``--allow-unsandboxed``.
"""
import json
import os
import shutil
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from helpers import COMPLETE, MAX_POINTS, ROOT, TEMPLATE, complete_copy, grade_once, run_runner, submission
from tests.e2e.test_mutants import (KNOWN_FIXTURE_GAPS, MUTANT_OPTIONS, MUTANTS, changed_modules, comparison_arguments,
                          grading_plan)

from autograder.case.processes import descendants

pytestmark = pytest.mark.slow  # every mutant under the portable backend

TIMING_KEYS = {"wall_seconds", "seconds", "student_seconds"}


CPU_USED = re.compile(r"while using only [\d.e-]+ s of CPU")  # a timeout's measured CPU time (outcome.py)


def comparable(document):
    """A report without what may differ between two gradings of the same code: timings (the CPU time a
    timed-out case used too), and which layers the sandbox had (the backend's own line)."""
    if isinstance(document, dict):
        return {key: comparable(value) for key, value in document.items() if key not in TIMING_KEYS | {"sandbox"}}
    if isinstance(document, list):
        return [comparable(value) for value in document]
    if isinstance(document, str):
        return CPU_USED.sub("while using only # s of CPU", document)
    return document


def outcomes(document):
    """Each item's and case's outcome, without the messages."""
    return [(item["name"], item["status"], item["points"], item["passed_cases"], item["total_cases"],
             [(case["case"], case["status"]) for case in item["cases"]]) for item in document["items"]]


def draws_at_random(name):
    """Whether ``name``'s failures depend on values the student's code drew at random (mutants of
    dropout.py): which of its cases fail, and their messages, differ between any two gradings, whatever
    the backend; only the scores are the same."""
    return name.startswith("mutant_") and "dropout" in changed_modules(submission(name) / "mytorch")


@pytest.fixture(scope="module")
def by_backend():
    """name -> {backend: RunnerRun}: every honest submission graded by both backends, in the background
    (helpers.grade_once: the default backend's runs are test_interpreters' own)."""
    from autograder.sandbox.backends import resolve
    default = resolve("auto")
    futures = {}

    def graded(name):
        if not futures:
            for each, arguments in comparison_arguments().items():
                futures[each] = {
                    backend: grade_once(*arguments, *(() if backend == default else ("--sandbox", backend)))
                    for backend in ("linux", "portable")}
        return {backend: future.result() for backend, future in futures[name].items()}

    return graded


HONEST = ["complete", "student_template", "idiomatic", *(f"mutant_{name}" for name in sorted(MUTANTS))]


@pytest.mark.parametrize("name", HONEST)
def test_the_portable_backend_grades_exactly_as_the_linux_backend(name, by_backend):
    from autograder.sandbox.backends import linux_missing
    if linux_missing():
        pytest.skip(f"the linux backend cannot run here ({linux_missing()})")
    runs = by_backend(name)
    for backend, run in runs.items():
        assert run.returncode == 0, f"{backend}: {run.stderr[-2000:]}"
        assert run.report["status"] == "graded", run.stdout[-2000:]
        assert run.report["sandbox"]["backend"] == backend
    linux, portable = runs["linux"], runs["portable"]
    assert portable.last_line == linux.last_line  # the scores
    if not draws_at_random(name):
        assert outcomes(portable.report) == outcomes(linux.report)
        assert comparable(portable.report) == comparable(linux.report)
        # The printed report too, but for its sandbox lines and times.
        assert printed(portable.stdout) == printed(linux.stdout)


def printed(stdout):
    """The runner's text report without the sandbox lines and the item rows' times."""
    import re
    return [re.sub(r"\s+\d+\.\d\ds\b", "", line) for line in stdout.splitlines() if not line.startswith("sandbox: ")]


# ------------------------------------------------------------------ as on Windows: no fork, no POSIX modules

NO_POSIX = ROOT / "tests" / "no_posix.py"


def run_without_posix(folder, *options, tmp_path):
    json_path = tmp_path / "report.json"
    done = subprocess.run([sys.executable, str(NO_POSIX), str(ROOT / "runner.py"), "--submission", str(folder),
                           "--json", str(json_path), *options], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return json.loads(json_path.read_text()), done.stdout


def test_without_fork_and_posix_modules_the_complete_solution_gets_full_marks(tmp_path):
    report, stdout = run_without_posix(COMPLETE, tmp_path=tmp_path)
    assert report["sandbox"]["backend"] == "portable"  # chosen by itself: --sandbox is not given
    assert report["sandbox"]["rlimits"] is False  # no resource module: said in the header
    assert "no resource limits on this system" in stdout
    # no rusage either (os.wait4): a case's CPU time is not measured, the wall-clock limit alone ends it
    assert report["limits"]["cpu_seconds"] is None
    assert "this system cannot measure a case's CPU time" in stdout
    assert report["totals"]["main"] == report["totals"]["main_max"] == 100
    assert report["totals"]["bonus"] == report["totals"]["bonus_max"] == 15


def test_without_fork_and_posix_modules_the_template_gets_zero(tmp_path):
    report, _ = run_without_posix(TEMPLATE, tmp_path=tmp_path)
    assert report["status"] == "graded" and report["totals"]["main"] == 0 and report["totals"]["bonus"] == 0
    assert all(item["status"] == "not_implemented" or item["points"] == 0 for item in report["items"])


# One mutant per kind of mistake: a wrong value, a missing eps, a wrong statistic, a model's step.
SOME_MUTANTS = ["conv1d_noflip", "batchnorm_no_eps", "dropout_per_element", "cnn_step_no_bias"]


@pytest.mark.parametrize("name", SOME_MUTANTS)
def test_without_fork_and_posix_modules_a_mutant_loses_exactly_its_items(name, tmp_path):
    only = grading_plan(name)[1]
    report, _ = run_without_posix(submission(f"mutant_{name}"), "--only", ",".join(only),
                                  *MUTANT_OPTIONS.get(name, ()), tmp_path=tmp_path)
    lost = {item["name"] for item in report["items"] if item["points"] < item["max_points"]}
    assert lost == MUTANTS[name] - KNOWN_FIXTURE_GAPS.get(name, set())
    for item in report["items"]:
        if item["name"] not in lost:
            assert item["points"] == MAX_POINTS[item["name"]]


# ------------------------------------------------------------------ nothing outlives the grader

SLEEPING_FLATTEN = '''
import time


class Flatten:
    def forward(self, A):
        print("case is sleeping", flush=True)
        time.sleep(120)

    def backward(self, dLdZ):
        return dLdZ
'''


@pytest.fixture
def sleeping(tmp_path):
    """(a submission whose Flatten sleeps two minutes, a temporary folder for the grader's case folders)."""
    folder = complete_copy()
    (folder / "mytorch" / "flatten.py").write_text(SLEEPING_FLATTEN)
    scratch = Path(tempfile.mkdtemp(prefix="spawned-test-"))
    os.chmod(scratch, 0o755)  # reachable by a root grader's case user
    yield folder, scratch
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)


def start_sleeping_grader(folder, scratch, backend="portable"):
    """runner.py grading Flatten of ``folder`` with ``backend``, once its case is asleep."""
    process = subprocess.Popen([sys.executable, str(ROOT / "runner.py"), "--submission", str(folder), "--only",
                                "Flatten", "--sandbox", backend, "--timeout", "100"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "TMPDIR": str(scratch)})
    give_up = time.monotonic() + 120
    while not any("case is sleeping" in path.read_text(errors="replace")
                  for path in scratch.glob("mytorch-grading-*/mytorch-case-*/.output") if path.is_file()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < give_up, "the case never started"
        time.sleep(0.05)
    return process


def alive(pid):
    """Whether ``pid`` is a process that has not ended (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to list a process's children")
@pytest.mark.parametrize("backend", ["portable", "linux"])
def test_ctrl_c_ends_every_case_process_at_once(backend, sleeping):
    from autograder.sandbox.backends import linux_missing
    if backend == "linux" and linux_missing():
        pytest.skip(f"the linux backend cannot run here ({linux_missing()})")
    process = start_sleeping_grader(*sleeping, backend=backend)
    below = descendants(process.pid)
    assert below, "the case runs in a process below the grader"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)  # not the 100 s timeout, nor the 120 s sleep
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert [pid for pid in below if alive(pid)] == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to list a process's children")
def test_a_killed_grader_leaves_no_case_process(sleeping):
    process = start_sleeping_grader(*sleeping)
    below = descendants(process.pid)
    process.kill()  # no atexit, no cleanup: the case process notices by itself (its watchdog)
    process.communicate()
    give_up = time.monotonic() + 30
    while [pid for pid in below if alive(pid)] and time.monotonic() < give_up:
        time.sleep(0.1)
    assert [pid for pid in below if alive(pid)] == []


def test_a_case_over_its_time_limit_is_killed_and_reported_as_by_the_linux_backend(tmp_path):
    from autograder.sandbox.backends import linux_missing
    runs = {backend: run_runner("--submission", submission("hostile_sleep_over"), "--only", "Flatten", "--timeout",
                                "2", "--sandbox", backend, json_path=tmp_path / f"{backend}.json")
            for backend in (("linux", "portable") if not linux_missing() else ("portable",))}
    for run in runs.values():
        flatten = run.report["items"][0]
        assert flatten["points"] == 0 and any(case["status"] == "timeout" for case in flatten["cases"])
    if "linux" in runs:
        assert comparable(runs["portable"].report) == comparable(runs["linux"].report)


# ------------------------------------------------------------------ untrusted code: refused unless allowed


def test_platform_modes_refuse_the_portable_backend_with_a_valid_document(tmp_path):
    results = tmp_path / "results.json"
    run = run_runner("--submission", COMPLETE, "--only", "Flatten", "--sandbox", "portable", "--format",
                     "prairielearn", "--prairielearn-out", results)
    assert run.returncode == 2
    document = json.loads(results.read_text())
    assert document["gradable"] is False or document["score"] == 0
    assert "--allow-unsandboxed" in json.dumps(document)
    assert "refusing to grade untrusted submissions with the portable sandbox backend" in run.stdout


def test_allow_unsandboxed_grades_and_says_so(tmp_path):
    results = tmp_path / "results.json"
    run = run_runner("--submission", COMPLETE, "--only", "Flatten", "--sandbox", "portable", "--format",
                     "prairielearn", "--prairielearn-out", results, "--allow-unsandboxed",
                     json_path=tmp_path / "report.json")
    assert run.returncode == 0, run.stderr
    assert run.report["scores"] == {"Flatten": MAX_POINTS["Flatten"]}
    assert run.report["sandbox"]["backend"] == "portable" and run.report["sandbox"]["allow_unsandboxed"] is True
    assert "sandbox: --allow-unsandboxed" in run.stdout


def test_a_batch_refuses_the_portable_backend_unless_allowed_and_records_it(tmp_path):
    submissions = tmp_path / "submissions"
    (submissions / "alice").mkdir(parents=True)
    shutil.copytree(COMPLETE / "mytorch", submissions / "alice" / "mytorch",
                    ignore=shutil.ignore_patterns("__pycache__"))
    refused = run_runner("batch", submissions, "--out", tmp_path / "refused", "--sandbox", "portable")
    assert refused.returncode == 2
    assert "refusing to grade untrusted submissions with the portable sandbox backend" in refused.stderr
    assert not (tmp_path / "refused" / "grades.csv").exists()
    allowed = run_runner("batch", submissions, "--out", tmp_path / "allowed", "--sandbox", "portable",
                         "--allow-unsandboxed", "--jobs", "1", timeout=300)
    assert allowed.returncode == 0, allowed.stderr + allowed.stdout
    report = json.loads((tmp_path / "allowed" / "reports" / "alice.json").read_text())
    assert report["totals"]["main"] == 100
    assert report["provenance"]["sandbox"] == "portable" and report["provenance"]["allow_unsandboxed"] is True
    assert report["sandbox"]["backend"] == "portable" and report["sandbox"]["allow_unsandboxed"] is True
