"""The batch on a Dask cluster (``--executor dask``): the same grades as the local executor, nothing lost.

The cluster tests need the optional packages (``pip install -r requirements-dask.txt``)
and are skipped without them; they grade a class of 18 submissions (three
complete ones, the rest failing fast: folders without ``mytorch/``, a hostile
archive, a stray file) against a trimmed fixture set on a ``LocalCluster``
bound to 127.0.0.1 with 2 workers, once undisturbed and once with the Dask
worker grading one submission killed mid-task.  Without dask installed, only
the tests that need no cluster run.
"""
import importlib.util
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from autograder.batch import main as batch
from autograder.config import Config

from autograder.batch import dask_executor as batch_dask
from autograder.case.processes import descendants
from helpers import ROOT, copy_complete, read_csv, trimmed_fixtures, zip_folder


HAVE_DASK = importlib.util.find_spec("distributed") is not None
needs_dask = pytest.mark.skipif(not HAVE_DASK, reason="dask and distributed are not installed (an optional "
                                                      "extra: pip install -r requirements-dask.txt)")
FAILING = [f"s{n:02d}" for n in range(1, 14)]  # folders without mytorch/: they fail fast
STUDENTS = sorted(["alice", "bob", "carol", "eve", "stray.txt", *FAILING])
KILLED = "carol"  # the submission whose Dask worker is killed mid-task


# ----------------------------------------------------------------------------- without a cluster


def test_without_dask_one_clear_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # "import distributed" raises ImportError
    (tmp_path / "subs").mkdir()
    code = batch.main([str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--executor", "dask",
                       "--scheduler", "local"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == batch.EXIT_USAGE
    assert len(lines) == 1 and "pip install -r requirements-dask.txt" in lines[0], lines
    assert not (tmp_path / "out").exists()  # stopped before touching anything


@pytest.mark.parametrize("argv", [["--executor", "dask"], ["--scheduler", "tcp://127.0.0.1:8786"]])
def test_executor_and_scheduler_go_together(tmp_path, argv):
    with pytest.raises(SystemExit) as stopped:
        batch.parse_args([str(tmp_path), "--out", str(tmp_path / "out"), *argv])
    assert stopped.value.code == 2


def test_a_folder_travels_without_its_links(tmp_path):
    folder = copy_complete(tmp_path / "alice")
    (folder / "mytorch" / "__pycache__").mkdir()
    (folder / "mytorch" / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    (folder / "secret").symlink_to("/etc/passwd")
    (folder / "mytorch" / "linked.py").symlink_to(folder / "mytorch" / "conv.py")
    with tarfile.open(fileobj=io.BytesIO(batch_dask.pack_folder(folder))) as archive:
        members = {member.name: member for member in archive.getmembers()}
    expected = {p.relative_to(folder).as_posix() for p in folder.rglob("*")
                if not p.is_symlink() and "__pycache__" not in p.parts}
    assert set(members) == expected
    assert all(member.isdir() or member.isfile() for member in members.values())


def test_a_folder_too_large_to_send_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(batch_dask, "MAX_PACKED_ENTRIES", 3)
    for n in range(5):
        (tmp_path / f"f{n}.py").write_text("x = 1\n")
    with pytest.raises(batch_dask.PackError, match="more than 3 files and folders"):
        batch_dask.pack_folder(tmp_path)


def test_an_archive_over_the_limit_is_the_students_error_as_in_a_local_run(tmp_path):
    big = tmp_path / "big.zip"
    with open(big, "wb") as handle:
        handle.truncate(51 * 1024 * 1024)
    entry = batch.Entry("big", big, "archive")
    with pytest.raises(batch_dask.ArchiveError, match="big.zip: the archive is 51.0 MiB, more than the limit of 50 MiB"):
        batch_dask.payload(entry, None)


def test_a_worker_with_other_code_or_fixtures_refuses_to_grade(tmp_path):
    task = {"code": "0" * 64, "config": Config(fixtures=tmp_path).to_argv(), "manifest_sha256": "0" * 64}
    assert "runs other autograder code" in batch_dask.grade_remotely(task)["setup_error"]
    task["code"] = batch_dask.code_digest()
    assert "is not the batch's" in batch_dask.grade_remotely(task)["setup_error"]


# ----------------------------------------------------------------------------- on a LocalCluster


@pytest.fixture(scope="module")
def a_class(tmp_path_factory):
    """18 submissions, a trimmed fixture set, and the local executor's grades.csv for them."""
    base = tmp_path_factory.mktemp("dask")
    fixtures = trimmed_fixtures(base / "fixtures")
    subs = base / "submissions"
    subs.mkdir()
    copy_complete(subs / "alice")
    staging = copy_complete(base / "staging")
    zip_folder(staging, subs / "bob.zip", prefix="handin/")
    copy_complete(subs / KILLED)
    zip_folder(staging, subs / "eve.zip")
    with zipfile.ZipFile(subs / "eve.zip", "a") as archive:
        archive.writestr("../../escaped.py", "print('escaped')")
    (subs / "stray.txt").write_text("not a submission format")
    for student in FAILING:
        (subs / student).mkdir()
        (subs / student / "notes.txt").write_text("forgot the code")
    local = run_batch(subs, base / "out-local", fixtures)
    assert local.returncode == batch.EXIT_NOT_GRADED, local.stderr
    return {"base": base, "subs": subs, "fixtures": fixtures, "local": base / "out-local"}


def run_batch(subs, out, fixtures, *extra, env=None, wait=True):
    command = [sys.executable, str(ROOT / "runner.py"), "batch", str(subs), "--out", str(out), "--jobs", "2",
               "--fixtures", str(fixtures), "--timeout", "5", *extra]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})})
    if not wait:
        return process
    stdout, stderr = process.communicate(timeout=400)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def assert_same_grades(a_class, out):
    rows = read_csv(out / "grades.csv")
    assert [row["student"] for row in rows] == STUDENTS  # every student exactly once
    assert (out / "grades.csv").read_text() == (a_class["local"] / "grades.csv").read_text()
    assert sorted(p.stem for p in (out / "reports").glob("*.json")) == STUDENTS


@pytest.mark.slow
@needs_dask
def test_dask_gives_the_grades_of_the_local_executor(a_class):
    out = a_class["base"] / "out-dask"
    done = run_batch(a_class["subs"], out, a_class["fixtures"], "--executor", "dask", "--scheduler", "local")
    assert done.returncode == batch.EXIT_NOT_GRADED, done.stderr
    assert_same_grades(a_class, out)
    local = json.loads((a_class["local"] / "summary.json").read_text())
    remote = json.loads((out / "summary.json").read_text())
    assert remote["failed_to_grade"] == local["failed_to_grade"]  # the same reasons, the same names
    assert not (a_class["base"] / "escaped.py").exists()
    # run again: every report is reused, nothing is sent to the cluster
    again = run_batch(a_class["subs"], out, a_class["fixtures"], "--executor", "dask", "--scheduler", "local")
    assert again.returncode == batch.EXIT_NOT_GRADED, again.stderr
    assert f"{len(STUDENTS)} reused" in again.stdout
    assert (out / "grades.csv").read_text() == (a_class["local"] / "grades.csv").read_text()


def grading_worker_of(student, batch_pid):
    """(worker pid, its --batch-pid: the Dask worker process) of a grading worker for ``student`` below the
    batch ``batch_pid`` (its LocalCluster's processes are its descendants; another suite running beside
    this one may be grading a student of the same name), or None."""
    below = set(descendants(batch_pid))
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "--worker" in argv and "--entry" in argv and "--batch-pid" in argv:
            dask_worker = int(argv[argv.index("--batch-pid") + 1])
            if Path(argv[argv.index("--entry") + 1]).name == student and dask_worker in below:
                return int(proc.name), dask_worker
    return None


def kill_the_dask_worker_grading(student, process, deadline=180):
    """SIGKILL the Dask worker process running ``student``'s task, once it is seen; its pid."""
    started = time.monotonic()
    while time.monotonic() - started < deadline and process.poll() is None:
        found = grading_worker_of(student, process.pid)
        if found is not None:
            os.kill(found[1], signal.SIGKILL)
            return found[1]
        time.sleep(0.02)
    pytest.fail(f"no grading worker for {student} was seen")


@pytest.mark.slow
@needs_dask
def test_a_dask_worker_killed_mid_task_loses_nothing(a_class):
    out = a_class["base"] / "out-killed"
    process = run_batch(a_class["subs"], out, a_class["fixtures"], "--executor", "dask", "--scheduler", "local",
                        wait=False)
    killed = kill_the_dask_worker_grading(KILLED, process)
    stdout, stderr = process.communicate(timeout=400)
    assert process.returncode == batch.EXIT_NOT_GRADED, stderr
    assert_same_grades(a_class, out)  # carol graded again elsewhere: full marks, once
    assert not Path(f"/proc/{killed}").exists() or "Z" in Path(f"/proc/{killed}/stat").read_text()


@pytest.mark.slow
@needs_dask
def test_a_task_that_keeps_killing_workers_becomes_its_error_report(a_class):
    out = a_class["base"] / "out-killed-always"
    env = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}  # the first death is the last
    process = run_batch(a_class["subs"], out, a_class["fixtures"], "--executor", "dask", "--scheduler", "local",
                        env=env, wait=False)
    kill_the_dask_worker_grading(KILLED, process)
    stdout, stderr = process.communicate(timeout=400)
    assert process.returncode == batch.EXIT_NOT_GRADED, stderr
    rows = {row["student"]: row for row in read_csv(out / "grades.csv")}
    assert sorted(rows) == STUDENTS
    assert rows[KILLED]["status"] == "error"
    assert f"not graded {KILLED}: every Dask worker that graded it died" in stdout
    local = {row["student"]: row for row in read_csv(a_class["local"] / "grades.csv")}
    # under this policy a task the scheduler had already sent to the killed worker shares its fate: it is
    # listed the same way, never lost or graded twice; every other student has the local run's grades
    shared = {s for s, r in rows.items() if s != KILLED and r != local[s]}
    assert all(rows[s]["status"] == "error" and f"not graded {s}: every Dask worker that graded it died" in stdout
               for s in shared), stdout
    assert len(shared) <= len(STUDENTS) // 2
    assert {s: r for s, r in rows.items() if s != KILLED and s not in shared} == \
        {s: r for s, r in local.items() if s != KILLED and s not in shared}


@pytest.fixture
def a_real_cluster(tmp_path):
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, as course staff start them: the
    scheduler without the repository (it must not need it), the workers with PYTHONPATH; its address."""
    scheduler_file = tmp_path / "scheduler.json"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    started = []
    try:
        for args, extra in ((["scheduler", "--host", "127.0.0.1", "--port", "0"], {}),
                            (["worker", "--nworkers", "2", "--nthreads", "1", "--host", "127.0.0.1"],
                             {"PYTHONPATH": str(ROOT)})):
            started.append(subprocess.Popen([sys.executable, "-m", "dask", *args, "--no-dashboard",
                                             "--scheduler-file", str(scheduler_file)], cwd=tmp_path,
                                            env={**env, **extra}, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, start_new_session=True))
            deadline = time.monotonic() + 60
            while not scheduler_file.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
        yield json.loads(scheduler_file.read_text())["address"]
    finally:
        for process in reversed(started):
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.mark.slow
@needs_dask
def test_a_scheduler_without_the_repository(a_class, a_real_cluster, tmp_path):
    """The task travels by value: the scheduler (which unpickles task graphs) never imports the autograder."""
    class_of_two = tmp_path / "subs"
    class_of_two.mkdir()
    for student in ("alice", "s01"):
        shutil.copytree(a_class["subs"] / student, class_of_two / student)
    done = run_batch(class_of_two, tmp_path / "out", a_class["fixtures"], "--executor", "dask",
                     "--scheduler", a_real_cluster)
    assert done.returncode == batch.EXIT_NOT_GRADED, done.stderr
    local = {row["student"]: row for row in read_csv(a_class["local"] / "grades.csv")}
    assert read_csv(tmp_path / "out" / "grades.csv") == [local["alice"], local["s01"]]
