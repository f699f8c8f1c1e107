"""Untrusted submissions, round two (issue #10): what the grader reads back, processes, state
between cases, the grader's own budgets, and two ways honest or odd values used to cost points.

Each hostile submission is ``tests/submissions/hostile_proc_<name>/mytorch/flatten.py`` laid over
complete/ (see helpers.submission) and graded end to end by ``runner.py`` in a subprocess.  The
attacked item must score 0 and the bystander Upsampling1d (which never imports flatten) full
points; the honest ones must score full points.  No assertion depends on tight timing: limits
are generous for a loaded 2-core machine.
"""
import json
import os
import re
import signal
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import COMPLETE, ROOT, complete_copy, submission

MANIFEST_TEXT = (ROOT / "fixtures" / "manifest.json").read_text()
RUNNER_TIMEOUT = 240  # seconds for one runner.py run, far above what a quiet machine needs
IS_ROOT = os.geteuid() == 0
SLEEPER = re.compile(r"SLEEPER (\d+)")


def grade(name, only, tmp_path, timeout=5, runner_timeout=RUNNER_TIMEOUT):
    """Grade ``hostile_proc_<name>`` (or a folder) with runner.py; returns (CompletedProcess, report)."""
    folder = name if isinstance(name, Path) else submission(f"hostile_proc_{name}")
    report_path = tmp_path / "report.json"
    command = [sys.executable, str(ROOT / "runner.py"), "--submission", str(folder), "--only", ",".join(only),
               "--timeout", str(timeout), "--json", str(report_path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=runner_timeout,
                              cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"runner.py did not finish within {runner_timeout} s (the grader blocked)")
    assert done.returncode == 0, done.stderr[-3000:]
    return done, json.loads(report_path.read_text())


def items(report):
    return {item["name"]: item for item in report["items"]}


def check_scores(report, lost=(), full=()):
    by_name = items(report)
    for name in lost:
        assert by_name[name]["points"] == 0, f"{name} should score 0"
    for name in full:
        item = by_name[name]
        assert item["points"] == item["max_points"], \
            f"{name} should get full points:\n" + "\n".join(c["message"] for c in item["cases"])


def texts(report):
    """Everything of the report a TA or student sees: case messages and captured output."""
    return [case[key] for item in report["items"] for case in item["cases"] for key in ("message", "output")]


# ----------------------------------------------------------------------------- 1. reading back .output


@pytest.fixture
def planted_fifo():
    """A fifo the grader's user could open, where the hostile submission looks for it."""
    path = submission("hostile_proc_output_link").parent / "hostile_proc_output_link.fifo"
    if path.exists() or path.is_symlink():
        path.unlink()
    os.mkfifo(path)
    yield path
    path.unlink()


def test_the_output_file_is_read_back_only_if_it_is_still_the_graders(tmp_path, planted_fifo):
    """A symbolic link to the manifest, a hard link to forged text, a fifo: never read, never a hang."""
    done, report = grade("output_link", ["Flatten", "Upsampling1d"], tmp_path)
    check_scores(report, lost=["Flatten"], full=["Upsampling1d"])
    manifest_fragments = ['"generator_version"', '"sha256"', MANIFEST_TEXT[:60]]
    for text in texts(report) + [done.stdout]:
        assert not any(fragment in text for fragment in manifest_fragments), "the manifest leaked into the report"
        assert "FORGED OUTPUT FROM A HARD LINK" not in text


# ----------------------------------------------------------------------------- 4. processes


def case_processes(pids):
    """Those of ``pids`` that are still a live copy of the grading child (not a reused pid)."""
    alive = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if b"child.py" in cmdline and state != "Z":
            alive.append(pid)
    return alive


def running(pid):
    """Whether ``pid`` exists and is not a zombie (a zombie waits only for its parent to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def kill_survivors(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.mark.slow
def test_no_process_of_a_case_outlives_it(tmp_path):
    """A setsid'd sleeper orphaned by its case: refused (no fork) or killed, never alive afterwards."""
    done, report = grade("orphan", ["Flatten", "Upsampling1d"], tmp_path)
    check_scores(report, lost=["Flatten"], full=["Upsampling1d"])
    pids = {int(pid) for text in texts(report) for pid in SLEEPER.findall(text)}
    time.sleep(0.5)  # a SIGKILLed process may take a moment to disappear from /proc
    survivors = case_processes(pids)
    kill_survivors(survivors)
    assert not survivors, f"processes of the case survived grading: {survivors}"


def test_the_server_kills_what_a_case_leaves_even_when_it_may_fork():
    """With a process limit that allows forking, the sleeper starts, and is killed with its case."""
    from autograder.contract.fixtures import load_fixture_set
    from autograder.sandbox import Limits, run_in_sandbox
    case = load_fixture_set(ROOT / "fixtures", only={"Flatten"}).items["Flatten"][0]
    outcome = run_in_sandbox(submission("hostile_proc_orphan"), case, Limits(timeout=30, processes=64))
    assert outcome.status == "error"
    pids = {int(pid) for pid in SLEEPER.findall(outcome.output)}
    time.sleep(0.5)
    survivors = case_processes(pids)
    kill_survivors(survivors)
    assert not survivors, f"processes of the case survived it: {survivors} ({outcome.output!r})"


def test_without_a_user_switch_leftover_processes_are_still_killed(monkeypatch):
    """As a grader that is not root sees it (no switch): the subreaper still kills what the case left.

    Run as root, RLIMIT_NPROC does not stop the fork here, so this exercises the killing itself.
    """
    from autograder import sandbox
    from autograder.contract.fixtures import load_fixture_set
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)
    case = load_fixture_set(ROOT / "fixtures", only={"Flatten"}).items["Flatten"][1]
    outcome = sandbox.run_in_sandbox(submission("hostile_proc_orphan"), case, sandbox.Limits(timeout=30))
    assert outcome.status == "error"
    pids = {int(pid) for pid in SLEEPER.findall(outcome.output)}
    time.sleep(0.5)
    survivors = case_processes(pids)
    kill_survivors(survivors)
    assert not survivors, f"processes of the case survived it: {survivors} ({outcome.output!r})"


@pytest.mark.skipif(not IS_ROOT, reason="the switch to an unprivileged user happens only when the grader is root")
def test_cases_of_a_root_grader_run_as_an_unprivileged_user(tmp_path):
    done, report = grade("orphan", ["Flatten"], tmp_path)
    uids = {int(uid) for text in texts(report) for uid in re.findall(r"UID (\d+)", text)}
    assert uids == {65534}, uids
    assert "cases ran as the unprivileged uid 65534" in done.stdout
    assert report["isolation"].startswith("cases ran as the unprivileged uid 65534")


@pytest.mark.skipif(not IS_ROOT, reason="only a root grader switches users, so only it needs a readable copy")
def test_a_submission_the_case_user_cannot_read_is_graded_from_a_readable_copy(tmp_path):
    """A TA's 0700 home and umask 077: the case (uid 65534) could not import the submission in place."""
    import shutil
    home = tmp_path / "ta-home"
    shutil.copytree(COMPLETE, home / "alice", ignore=shutil.ignore_patterns("__pycache__"))
    for path in [home, *home.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    done, report = grade(home / "alice", ["Flatten", "Upsampling1d"], tmp_path)
    check_scores(report, full=["Flatten", "Upsampling1d"])


def test_the_report_says_who_the_cases_ran_as(monkeypatch):
    from autograder.sandbox import run_as
    monkeypatch.setattr(run_as.os, "geteuid", lambda: 1000)
    assert run_as.case_user() is None
    assert "not root, so no switch to an unprivileged user" in run_as.isolation_note()
    monkeypatch.setattr(run_as.os, "geteuid", lambda: 0)
    monkeypatch.setenv(run_as.CASE_UID_VARIABLE, "0")
    with pytest.raises(run_as.SandboxError):
        run_as.case_user()


# ----------------------------------------------------------------------------- 5. state between cases


def test_nothing_of_one_case_is_reachable_from_the_next(tmp_path):
    done, report = grade("frames", ["Flatten", "Upsampling1d"], tmp_path, timeout=20)
    check_scores(report, lost=["Flatten"], full=["Upsampling1d"])
    for case in items(report)["Flatten"]["cases"]:
        assert "hostile frame walk: found nothing of other cases" in case["message"], case["message"]


# ----------------------------------------------------------------------------- 6. the grader's budgets

# Peak RSS of the largest grading process: about 50 MiB for the complete solution, about 290 MiB
# when the whole flood was read (before the result budget).
GRADER_MEMORY_LIMIT = 150 * 1024 * 1024
FLOOD_SECONDS_LIMIT = 90.0  # six cases; a quiet machine needs a few seconds


def test_a_result_flood_costs_the_grader_little(tmp_path):
    """20 MiB of forged results per call: read up to the case's budget only, in linear time."""
    measure = textwrap.dedent("""
        import resource, subprocess, sys, time
        started = time.monotonic()
        done = subprocess.run(sys.argv[1:], capture_output=True, text=True, errors="replace")
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(done.returncode, usage.ru_maxrss * 1024, time.monotonic() - started)
    """)
    command = [sys.executable, "-c", measure, sys.executable, str(ROOT / "runner.py"),
               "--submission", str(submission("hostile_proc_forger")), "--only", "Flatten,Upsampling1d",
               "--timeout", "10", "--json", str(tmp_path / "report.json")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUNNER_TIMEOUT, cwd=tmp_path)
    returncode, peak, seconds = done.stdout.split()
    assert int(returncode) == 0, done.stderr
    assert int(peak) < GRADER_MEMORY_LIMIT, f"peak RSS of the grading processes {int(peak) / 2**20:.0f} MiB"
    assert float(seconds) < FLOOD_SECONDS_LIMIT
    report = json.loads((tmp_path / "report.json").read_text())
    check_scores(report, lost=["Flatten"], full=["Upsampling1d"])
    for case in items(report)["Flatten"]["cases"]:
        assert re.search(r"the results were larger than the \d+ KiB this case's expected values need",
                         case["message"]), case["message"]


def test_the_result_budget_follows_the_expected_shapes():
    from autograder.contract.fixtures import load_fixture_set
    from autograder.sandbox import RESULT_BASE_BYTES, RESULT_BYTES_PER_ELEMENT, result_budget
    fixture_set = load_fixture_set(ROOT / "fixtures")
    flatten = fixture_set.items["Flatten"][0]
    expected = sum(flatten.array(c["expected"]).size for c in flatten.checks)
    assert result_budget(flatten) >= RESULT_BASE_BYTES + RESULT_BYTES_PER_ELEMENT * expected
    budgets = [result_budget(case) for cases in fixture_set.items.values() for case in cases]
    assert max(budgets) < 64 * 2**20  # the old fixed ceiling; most cases get far less
    dropout_rate = next(c for c in fixture_set.items["Dropout2d"] if any(k["kind"] == "dropout_rate"
                                                                         for k in c.checks))
    check = next(k for k in dropout_rate.checks if k["kind"] == "dropout_rate")
    fill = dropout_rate.program["steps"][check["step"]]["args"][0]["$fill"]["shape"]
    assert result_budget(dropout_rate) >= RESULT_BYTES_PER_ELEMENT * int(np.prod(fill))


def test_a_case_cannot_fill_the_disk_with_many_files(tmp_path):
    """RLIMIT_FSIZE bounds each file; the number of files a case creates is bounded too."""
    from autograder.sandbox import Limits
    done, report = grade("disk", ["Flatten", "Upsampling1d"], tmp_path)
    check_scores(report, lost=["Flatten"], full=["Upsampling1d"])
    for case in items(report)["Flatten"]["cases"]:
        created = re.search(r"hostile disk filler: created (\d+) files", case["message"])
        assert created, case["message"]
        assert int(created.group(1)) <= Limits().created_files


# ----------------------------------------------------------------------------- 8, 9. honest and odd values


def test_an_idiomatic_dataclass_flatten_gets_full_points(tmp_path):
    done, report = grade("dataclass", ["Flatten", "CNN", "Upsampling1d"], tmp_path)
    check_scores(report, full=["Flatten", "CNN", "Upsampling1d"])


def test_an_integer_beyond_float_range_is_a_clear_mismatch(tmp_path):
    done, report = grade("huge_int", ["CNN", "Flatten", "Upsampling1d"], tmp_path)
    check_scores(report, lost=["CNN"], full=["Flatten", "Upsampling1d"])
    for case in items(report)["CNN"]["cases"]:
        assert "loss (set by backward): got an integer too large to be a float" in case["message"], case["message"]
    assert "OverflowError" not in done.stdout + done.stderr


@pytest.mark.parametrize("value", [2 ** 1024, 2 ** 1024 - 1, -(2 ** 1024), [2 ** 1024 - 1], [[2 ** 1024]]])
def test_a_forged_huge_integer_never_raises_in_the_comparison(value):
    """The child tags such integers, but a forged message can carry them raw."""
    from autograder.judge.compare import Mismatch, to_array
    with pytest.raises(Mismatch, match="too large to be a float"):
        to_array(value, (), "loss")
    with pytest.raises(Mismatch):
        to_array(value, (1, 1), "Z")


def test_shutting_a_server_down_kills_everything_below_it():
    """kill_tree (ForkServer.close): a process tree with a member in its own session, all killed."""
    from autograder.case.processes import descendants, descendants_by_parent, kill_tree
    script = textwrap.dedent("""
        import os, sys, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(300)
            time.sleep(300)
        time.sleep(300)
    """)
    root = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(descendants(root.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        below = descendants(root.pid)
        assert len(below) == 2 and sorted(below) == sorted(descendants_by_parent(root.pid))
        kill_tree(root.pid)
        root.wait(timeout=60)
        deadline = time.monotonic() + 60
        while any(map(running, below)) and time.monotonic() < deadline:
            time.sleep(0.05)
        survivors = [pid for pid in below if running(pid)]
        kill_survivors(survivors)
        assert not survivors
    finally:
        if root.poll() is None:
            root.kill()
            root.wait()


def test_the_servers_precomputed_aliased_path_is_the_one_a_case_makes():
    """A root server computes its cases' compiled-module paths once, for the sys.path a case has
    after use_aliases with every standard folder aliased: the two must be the same list."""
    code = textwrap.dedent("""
        import importlib.util, os, sys
        spec = importlib.util.spec_from_file_location("case_user", sys.argv[1])
        case_user = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(case_user)
        entries = {p: os.path.realpath(p) for p in sys.path if p and os.path.exists(p)}
        for number, entry in enumerate(p for p in sys.path if p and os.path.isdir(p)):
            case_user.STDLIB_ALIASES[os.path.realpath(entry)] = f"/proc/self/fd/{90 + number}"
        predicted = case_user.aliased_path(sys.path)
        case_user.use_aliases(dict(case_user.STDLIB_ALIASES), entries)
        print(predicted == sys.path, predicted != [p for p in predicted if "/proc/self/fd/" not in p])
    """)
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(ROOT / "autograder" / "case" / "case_user.py")],
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True"], done.stderr


def run_on(server, folder, case, limits):
    """run_in_sandbox on ``server`` (a thread whose fork server it is)."""
    from autograder import sandbox
    outcomes = []

    def grade():
        sandbox._servers.server = server
        outcomes.append(sandbox.run_in_sandbox(folder, case, limits))
    thread = threading.Thread(target=grade)
    thread.start()
    thread.join()
    return outcomes[0]


def test_a_twin_server_grades_beside_its_server_and_each_kills_only_its_own_leftovers():
    """A server started with a twin forks it once prepared: the server's cleanup after each of its
    cases (which kills every process below it) spares the twin, each kills what its own cases may
    leave, and closing both leaves nothing."""
    from autograder.contract.fixtures import load_fixture_set
    from autograder.sandbox import ForkServer, Limits
    case = load_fixture_set(ROOT / "fixtures", only={"Flatten"}).items["Flatten"][0]
    limits = Limits(timeout=30, processes=64)
    first = ForkServer()
    twin = first.start(twin=True)
    try:
        sleepers = set()
        for server in (first, twin, first, twin):
            outcome = run_on(server, submission("hostile_proc_orphan"), case, limits)
            assert outcome.status == "error", outcome.error  # the server and its twin both still serve
            sleepers |= {int(pid) for pid in SLEEPER.findall(outcome.output)}
        assert twin.process is None and twin.twin_pid and running(twin.twin_pid)  # the twin, not a new server
        assert run_on(twin, COMPLETE, case, limits).status == "ok"
        time.sleep(0.5)
        survivors = case_processes(sleepers)
        kill_survivors(survivors)
        assert not survivors
    finally:
        twin_pid = twin.twin_pid
        twin.close()
        first.close()
    deadline = time.monotonic() + 60
    while running(twin_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(twin_pid)


def test_a_twin_whose_server_is_gone_is_replaced_by_a_server_of_its_own():
    from autograder.contract.fixtures import load_fixture_set
    from autograder.case.processes import kill_tree
    from autograder.sandbox import ForkServer, Limits
    case = load_fixture_set(ROOT / "fixtures", only={"Flatten"}).items["Flatten"][0]
    first = ForkServer()
    twin = first.start(twin=True)
    try:
        assert run_on(twin, COMPLETE, case, Limits()).status == "ok"
        kill_tree(first.process.pid)  # the server and everything below it: the twin too
        first.process.wait()
        deadline = time.monotonic() + 60
        while running(twin.twin_pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # it has ended (as a twin that died between cases has)
        outcome = run_on(twin, COMPLETE, case, Limits())
        assert outcome.status == "ok", outcome.error  # no case is lost to the twin's end
        assert twin.process is not None
    finally:
        twin.close()
        first.close()


@pytest.mark.slow
def test_a_twins_cpu_time_is_counted_once_the_servers_are_closed(tmp_path):
    """Closed in order (the twin's pipes, then its server's input), the server reaps its twin, so the
    grader's usage of its children holds the twin's cases too (a benchmark counts them)."""
    folder = complete_copy()
    flatten = folder / "mytorch" / "flatten.py"
    flatten.write_text(flatten.read_text().replace(
        "    def forward(self, A):",
        "    def forward(self, A):\n        import time\n        t = time.process_time()\n"
        "        while time.process_time() - t < 1.0:\n            pass", 1))
    script = textwrap.dedent("""
        import resource, sys, threading
        sys.path.insert(0, sys.argv[1])
        from autograder import sandbox
        from autograder.contract.fixtures import load_fixture_set
        case = load_fixture_set(sys.argv[1] + "/fixtures", only={"Flatten"}).items["Flatten"][0]
        sandbox.prestart_servers(2)
        twin = next(server for server in sandbox._spare_servers if server.process is None)
        def grade():
            sandbox._servers.server = twin
            print(sandbox.run_in_sandbox(sys.argv[2], case, sandbox.Limits(timeout=60)).status)
        thread = threading.Thread(target=grade)
        thread.start()
        thread.join()
        sandbox.close_servers()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(usage.ru_utime + usage.ru_stime, twin.twin_pid)
    """)
    try:
        done = subprocess.run([sys.executable, "-c", script, str(ROOT), str(folder)], capture_output=True,
                              text=True, timeout=240)
    finally:
        shutil.rmtree(folder)
    lines = done.stdout.split("\n")
    assert lines[0] == "ok", done.stdout + done.stderr
    seconds, twin_pid = lines[1].split()
    assert float(seconds) >= 1.0  # the case's second of CPU, in the twin, reached the grader's count
    assert not running(int(twin_pid))


# ----------------------------------------------------------------------------- the case's time limits (issue 23)


def sandbox_backends():
    from autograder.sandbox.backends import linux_missing
    return ["portable"] + ([] if linux_missing() else ["linux"])


FORWARD_BODIES = {  # what Flatten.forward does before its honest work
    "loop": "        while True:\n            pass\n",
    "sleep": "        import time\n        time.sleep(600)\n",
    "sleep_under_backstop": "        import time\n        time.sleep(1.2)\n",  # past the CPU limit in wall time only
}


@pytest.mark.slow
@pytest.mark.parametrize("backend", sandbox_backends())
def test_a_case_is_ended_by_its_cpu_time_or_by_the_wall_clock_backstop(backend):
    """The limit a case gets is CPU seconds, measured from outside it (the fork server's /proc/PID/stat and
    wait4, or the grader's for a spawned case); one that sleeps ends at the wall-clock backstop, and says
    which limit it hit; sleeping longer than the CPU limit but within the backstop costs nothing."""
    from autograder.contract.fixtures import load_fixture_set
    from autograder.judge.outcome import grade_outcome
    from autograder.sandbox import Limits, run_in_sandbox
    case = load_fixture_set(ROOT / "fixtures", only={"Flatten"}).items["Flatten"][0]
    limits = Limits(timeout=1, contention=1)  # a wall-clock backstop of 2 s
    outcomes = {}
    for name, body in FORWARD_BODIES.items():
        folder = complete_copy()
        try:
            flatten = folder / "mytorch" / "flatten.py"
            flatten.write_text(flatten.read_text().replace("    def forward(self, A):\n",
                                                           "    def forward(self, A):\n" + body, 1))
            outcome = run_in_sandbox(folder, case, limits, backend=backend)
            outcomes[name] = outcome, grade_outcome(case, outcome, limits)
        finally:
            shutil.rmtree(folder)
    outcome, result = outcomes["loop"]
    assert outcome.status == "timeout" and outcome.cpu_seconds >= 1.0, (outcome, result.message)
    assert "timed out while calling forward (step 1): used 1 s of CPU (infinite loop, or far too slow)" \
        in result.message
    outcome, result = outcomes["sleep"]
    assert outcome.status == "timeout" and outcome.cpu_seconds < 0.5, (outcome, result.message)
    assert re.search(r"timed out while calling forward \(step 1\): took more than 2 s of wall-clock time while "
                     r"using only [\d.e-]+ s of CPU \(it sleeps or waits; a case may use 1 s of CPU\)", result.message)
    assert outcome.wall_seconds < 60  # not the 600 s it asked for
    outcome, result = outcomes["sleep_under_backstop"]
    assert result.passed, result.message
