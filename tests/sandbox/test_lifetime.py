"""Nothing outlives the grader, whatever ends it, and no case holds it once its result is in (issue 22).

What must hold, for both sandbox backends, as root (cases as uid 65534) and not: a grader
killed with ``kill -9``, or stopped by SIGTERM or SIGHUP, while its cases sleep leaves no
process running (no fork server, twin or case: checked in /proc) and, once the next grading
has run, no case folder; a grader that is stuck (stopped) does not keep a sleeping case alive
past its time; a fork server killed outright takes its case along (the parent-death signal);
a case that spins or blocks after sending its final result is killed after a short grace and
keeps its points.  Bounds are generous (a loaded 2-core machine): each only has to prove
that the sleeping case (600 s) or the case limit was not waited for.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from helpers import COMPLETE, MAX_POINTS, ROOT, complete_copy, submission

from autograder.case.processes import FINAL_GRACE, FinalLine, descendants
from autograder.sandbox.run_folders import GRADING_PREFIX, RunFolder, remove_dead_runs, remove_tree

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see processes")

CHILD_SCRIPT = str(ROOT / "autograder" / "case" / "child.py")
CASE_FOLDERS = f"{GRADING_PREFIX}*/mytorch-case-*"
SLEEPING_INIT = 'print("case is sleeping", flush=True)\nimport time\ntime.sleep(600)\n'
SLEEPING_ITEMS = "Flatten,Upsampling1d"  # two items at once: a fork server and its twin, or two case processes
GONE_SECONDS = 60.0  # how long the processes of a dead grader may take to go (each needs well under a second)


def backends():
    from autograder.sandbox.backends import linux_missing
    return ["portable"] + ([] if linux_missing() else ["linux"])


@pytest.fixture
def sleeping():
    """(a submission whose every case sleeps 600 s once it starts, a temporary folder for the grader's)."""
    folder = complete_copy()
    (folder / "mytorch" / "__init__.py").write_text(SLEEPING_INIT)
    temp = Path(tempfile.mkdtemp(prefix="lifetime-test-"))
    os.chmod(temp, 0o755)  # reachable by a root grader's case user
    yield folder, temp
    remove_tree(folder)
    remove_tree(temp)


def runner(folder, temp, backend, *options):
    return subprocess.Popen([sys.executable, str(ROOT / "runner.py"), "--submission", str(folder), "--sandbox", backend,
                             *options], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": str(temp), "OPENBLAS_NUM_THREADS": "1"})


def sleeping_cases(temp):
    """The case folders in ``temp`` whose case has said it is asleep."""
    return [path.parent for path in temp.glob(f"{CASE_FOLDERS}/.output")
            if "case is sleeping" in path.read_text(errors="replace")]


def wait_asleep(process, temp, count):
    give_up = time.monotonic() + 120
    while len(sleeping_cases(temp)) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < give_up, "the cases never started"
        time.sleep(0.05)


def stat_of(pid):
    """(state, parent pid, start time) of ``pid`` from /proc, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
    except OSError:
        return None
    return fields[0].decode(), int(fields[1]), int(fields[19])


def identity(pid):
    found = stat_of(pid)
    return None if found is None else (pid, found[2])


def alive(ident):
    """Whether the process ``ident`` (pid, start time) still runs (a zombie has ended)."""
    found = stat_of(ident[0])
    return found is not None and found[2] == ident[1] and found[0] != "Z"


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as line:
            return line.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def user_of(pid):
    """The real uid of ``pid`` (/proc/PID itself belongs to root once a process has switched users)."""
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("Uid:")).split()[1])


def orphans():
    """Processes running this checkout's child.py that no grader holds: their parent runs neither
    child.py (a fork server) nor a grader (runner.py, a batch worker, pytest driving a server)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or CHILD_SCRIPT not in cmdline(int(name)):
            continue
        state = stat_of(int(name))
        if state is None or state[0] == "Z":
            continue
        parent = cmdline(state[1])
        if not any(mark in parent for mark in (CHILD_SCRIPT, "runner.py", "autograder.batch.main", "pytest")):
            found.append((int(name), cmdline(int(name)), state[1], parent))
    return found


def case_processes(grader, temp):
    """Identities of the processes below ``grader`` that run a case (their working folder is a case folder)."""
    found = []
    for pid in descendants(grader):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if Path(cwd).match(f"{temp}/{CASE_FOLDERS}") and identity(pid):
            found.append(identity(pid))
    return found


def still_alive(identities, seconds=GONE_SECONDS):
    give_up = time.monotonic() + seconds
    while [i for i in identities if alive(i)] and time.monotonic() < give_up:
        time.sleep(0.1)
    return [(pid, cmdline(pid)) for pid, start in identities if alive((pid, start))]


def grade_complete(temp, backend):
    """The next grading in ``temp``: complete/'s Flatten."""
    done = subprocess.run([sys.executable, str(ROOT / "runner.py"), "--submission", str(COMPLETE), "--only",
                           "Flatten", "--sandbox", backend], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TMPDIR": str(temp), "OPENBLAS_NUM_THREADS": "1"})
    assert done.returncode == 0 and '"Flatten":5.0' in done.stdout, done.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("stop", ["SIGKILL", "SIGTERM", "SIGHUP"])
def test_a_grader_ended_mid_case_leaves_no_process_and_the_next_run_no_case_folder(backend, stop, sleeping):
    folder, temp = sleeping
    grader = runner(folder, temp, backend, "--only", SLEEPING_ITEMS, "--jobs", "2", "--timeout", "300")
    wait_asleep(grader, temp, 2)
    below = [identity(pid) for pid in descendants(grader.pid)]
    below = [ident for ident in below if ident is not None]
    servers = [pid for pid, _ in below if CHILD_SCRIPT in cmdline(pid)]
    cases = case_processes(grader.pid, temp)
    assert len(cases) == 2 and servers, (below, cases)
    if os.geteuid() == 0:  # a root grader's cases run as the unprivileged user
        assert [user_of(pid) for pid, _ in cases] == [65534, 65534]
    grader.send_signal(getattr(signal, stop))
    _, stderr = grader.communicate(timeout=120)  # not the 300 s timeout, nor the 600 s sleep
    if stop == "SIGKILL":
        assert grader.returncode == -signal.SIGKILL
        assert list(temp.glob(CASE_FOLDERS)), "the killed grader's case folders are left for the next run"
    else:  # handled like Ctrl-C: one line, 128 + the signal, and the grader removes its folders itself
        assert grader.returncode == 128 + getattr(signal, stop), stderr
        assert stderr.strip().splitlines()[-1] == f"terminated by {stop}" and "Traceback" not in stderr, stderr
        assert list(temp.glob(CASE_FOLDERS)) == []
    assert still_alive(below) == [], "processes outlived their grader"
    assert orphans() == []
    grade_complete(temp, backend)
    assert list(temp.rglob("mytorch-case-*")) == [] and list(temp.glob("mytorch-*")) == []


@pytest.mark.slow
@pytest.mark.parametrize("backend", backends())
def test_a_stuck_grader_does_not_keep_a_sleeping_case_alive(backend, sleeping):
    """The grader stopped (SIGSTOP) mid-case cannot kill its case: the case's own limit (the fork
    server's, or the spawned case's watchdog) ends it, and the grading reports a timeout."""
    folder, temp = sleeping
    report = temp / "report.json"
    grader = runner(folder, temp, backend, "--only", "Flatten", "--jobs", "1", "--timeout", "2", "--json", report)
    wait_asleep(grader, temp, 1)
    cases = case_processes(grader.pid, temp)
    assert len(cases) == 1
    os.kill(grader.pid, signal.SIGSTOP)
    try:
        assert still_alive(cases) == [], "a sleeping case outlived its time while its grader was stuck"
    finally:
        os.kill(grader.pid, signal.SIGCONT)
    _, stderr = grader.communicate(timeout=300)
    assert grader.returncode == 0, stderr
    flatten = json.loads(report.read_text())["items"][0]
    assert flatten["points"] == 0 and flatten["cases"][0]["status"] == "timeout", flatten["cases"]


def test_a_fork_server_killed_outright_takes_its_case_along(sleeping):
    from autograder.sandbox.backends import linux_missing
    if linux_missing():
        pytest.skip(f"the linux backend cannot run here ({linux_missing()})")
    folder, temp = sleeping
    grader = runner(folder, temp, "linux", "--only", "Flatten", "--jobs", "1", "--timeout", "300")
    try:
        wait_asleep(grader, temp, 1)
        cases = case_processes(grader.pid, temp)
        server = next(pid for pid in descendants(grader.pid) if CHILD_SCRIPT in cmdline(pid)
                      and stat_of(pid)[1] == grader.pid)
        os.kill(server, signal.SIGKILL)
        assert still_alive(cases) == [], "the case outlived its fork server"
    finally:
        grader.kill()
        grader.communicate()


@pytest.mark.slow
@pytest.mark.parametrize("backend", backends())
def test_a_case_that_hangs_after_its_final_result_keeps_its_points_and_holds_no_one(backend, tmp_path):
    """hostile_proc_spin_after_final: each case sends a correct final result, then would hang for ever (a
    replaced sys.stdout whose flush spins, the real stdout's buffer's flush rebound, a partial line on
    a descriptor swapped for a full pipe).  Before, each case held the grader for its whole limit (30 s)."""
    report = tmp_path / "report.json"
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(ROOT / "runner.py"), "--submission",
                           str(submission("hostile_proc_spin_after_final")), "--only", "Flatten", "--jobs", "1",
                           "--timeout", "30", "--sandbox", backend, "--json", str(report)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-2000:]
    flatten = json.loads(report.read_text())["items"][0]
    assert flatten["points"] == MAX_POINTS["Flatten"], flatten
    assert [case["status"] for case in flatten["cases"]] == ["passed"] * 3
    assert all(case["wall_seconds"] < 15 for case in flatten["cases"]), flatten["cases"]
    assert elapsed < 30, f"the grading took {elapsed:.1f} s: a case's 30 s limit was waited for"


# ------------------------------------------------------------------ the pieces


def test_the_graders_time_limit_waits_for_the_grace_after_a_final_result():
    """A case whose final result arrived just before its time was up, then hung: the server says so
    ({"final": true}) and ends it FINAL_GRACE later; the grader waits for that instead of calling it
    a timeout at its own deadline (here already passed when the case's exit frame comes)."""
    import threading
    from autograder.sandbox.forkserver import ForkServer
    read_fd, write_fd = os.pipe()
    server = ForkServer()
    server.results = read_fd

    def frame(header):
        text = json.dumps(header).encode()
        os.write(write_fd, len(text).to_bytes(4, "big") + text)

    frame({"final": True})
    exited = {"exit": -9, "overflow": False, "timeout": False, "length": 0}
    later = threading.Timer(FINAL_GRACE / 2, frame, [exited])
    later.start()
    try:
        assert server.read_finished(time.monotonic() + 0.01) == exited
    finally:
        later.join()
        os.close(read_fd)
        os.close(write_fd)


def test_the_final_line_is_found_across_chunks_and_only_once_complete():
    stream = b'\n{"sandbox":{}}\n\n{"phase":"step"}\n\n{"final":true,"status":"ok","results":[1.5]}\n'
    for size in (1, 2, 7, len(stream)):
        final = FinalLine()
        seen = [final.feed(stream[at:at + size]) for at in range(0, len(stream), size)]
        assert seen[-1] and not any(seen[:-1]), size
    assert not FinalLine().feed(b'\n{"final":true,"status":"ok"')  # not complete yet
    assert not FinalLine().feed(b'{"final":false}\n{"phase":"final"}\n')


def test_dead_runs_go_and_live_ones_stay(tmp_path):
    """A run folder whose run is alive (its lock held, here by a second descriptor of this process)
    stays; a dead one goes, without following a link out of it."""
    prefix = "lifetime-test-run-"
    live = RunFolder(prefix, tmp_path)
    (live.new_folder("case-") / "kept").write_text("x")
    dead = RunFolder(prefix, tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("x")
    inner = dead.new_folder("case-")
    (inner / "link").symlink_to(outside)
    (inner / "file-link").symlink_to(outside / "precious")
    os.close(dead._lock_fd)  # the run dies: its lock goes with its descriptor
    dead._lock_fd = None
    assert remove_dead_runs(tmp_path, prefix) == 1
    assert not dead.path.exists() and (outside / "precious").read_text() == "x"
    assert live.path.exists() and list(live.path.glob("case-*/kept"))
    live.close()
    assert not live.path.exists()


def test_a_run_that_cannot_lock_looks_alive_to_the_others(tmp_path, monkeypatch):
    """Without flock or byte-range locks (tests/no_posix.py hides fcntl), a run's lock would never be held:
    it leaves no lock to take, so a concurrent run that has locks never removes its live folder."""
    from autograder.sandbox import run_folders
    prefix = "lifetime-test-run-"
    monkeypatch.setattr(run_folders, "LOCKS", False)
    monkeypatch.setattr(run_folders, "fcntl", None)
    lockless = RunFolder(prefix, tmp_path)
    monkeypatch.undo()
    try:
        assert remove_dead_runs(tmp_path, prefix) == 0
        assert lockless.path.exists()
    finally:
        lockless.close()
    assert not lockless.path.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another user")
def test_another_users_dead_run_is_left_alone(tmp_path):
    prefix = "lifetime-test-run-"
    theirs = RunFolder(prefix, tmp_path)
    os.chown(theirs.path, 65534, 65534)
    os.close(theirs._lock_fd)
    theirs._lock_fd = None
    assert remove_dead_runs(tmp_path, prefix) == 0 and theirs.path.exists()
    remove_tree(theirs.path)


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root grader's cases run as another user")
def test_a_root_graders_run_folder_lets_its_cases_reach_their_folders_but_not_list_it():
    from autograder.sandbox.run_folders import grading_folder
    folder = grading_folder()
    assert os.stat(folder).st_mode & 0o777 == 0o711

