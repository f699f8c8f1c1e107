"""Batch grading a TA can trust: what the batch must never get wrong about a class.

Each test names the finding it guards against: a grade kept after the content
changed, a disk failure turned into a student's error, workers and scratch
folders outliving a killed batch, two batches writing one folder, reports of
students who left, entries skipped without a word, an ETA that lags.
"""
import fcntl
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.batch import main as batch

from autograder.batch import workers as batch_workers
from autograder.batch.outputs import Progress
from autograder.batch.storage import RUN_PREFIX
from autograder.case.processes import descendants
from helpers import ROOT, copy_complete, process_gone, rows_of, run_batch, trimmed_fixtures



@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return trimmed_fixtures(tmp_path_factory.mktemp("fixtures") / "trimmed")


def empty_submission(path):
    """A submission that fails at once (no mytorch/): the batch machinery is what is under test."""
    path.mkdir(parents=True)
    (path / "notes.txt").write_text("no code")
    return path


@pytest.mark.slow
def test_edited_rubric_points_regrade_and_csv_agrees_with_summary(tmp_path, fixtures):
    """Points edited in the fixture set's rubric without a version bump: every report is redone."""
    subs = tmp_path / "subs"
    copy_complete(subs / "alice")
    out = tmp_path / "out"
    assert run_batch([subs, "--out", out, "--fixtures", fixtures, "--jobs", "1"])[0] == batch.EXIT_OK
    edited = trimmed_fixtures(tmp_path / "edited")
    manifest = json.loads((edited / "manifest.json").read_text())
    section = manifest["items"]["Flatten"]["section"]
    manifest["items"]["Flatten"]["points"] += 2  # the rubric's name and version are left as they were
    manifest["rubric"]["sections"][section]["max"] += 2
    (edited / "manifest.json").write_text(json.dumps(manifest, indent=1))
    code, _, stderr = run_batch([subs, "--out", out, "--fixtures", edited, "--jobs", "1"])
    assert code == batch.EXIT_OK, stderr
    summary = json.loads((out / "summary.json").read_text())
    total = manifest["rubric"]["sections"][section]["max"]
    assert summary["reused"] == 0 and summary[section]["max"] == summary[f"{section}_max"] == total
    row = rows_of(out)["alice"]
    assert float(row["Flatten"]) == manifest["items"]["Flatten"]["points"] and float(row[section]) == total


@pytest.mark.slow
def test_student_option_regrades_only_those(tmp_path, fixtures):
    subs = tmp_path / "subs"
    for name in ("alice", "bob", "carol"):
        empty_submission(subs / name)
    out = tmp_path / "out"
    argv = [subs, "--out", out, "--fixtures", fixtures, "--jobs", "1"]
    assert run_batch(argv)[0] == batch.EXIT_NOT_GRADED

    def stamps():
        return {p.stem: p.stat().st_mtime_ns for p in (out / "reports").glob("*.json")}

    before = stamps()
    time.sleep(0.01)
    code, stdout, _ = run_batch([*argv, "--student", "bob,carol"])
    assert code == batch.EXIT_NOT_GRADED and "3 submission(s)" in stdout
    after = stamps()
    assert after["alice"] == before["alice"] and after["bob"] != before["bob"] and after["carol"] != before["carol"]
    assert json.loads((out / "summary.json").read_text())["reused"] == 1
    # another student with no up-to-date report: grades.csv is not rewritten, and the run says why
    empty_submission(subs / "dave")
    csv_before = (out / "grades.csv").read_text()
    code, stdout, _ = run_batch([*argv, "--student", "bob"])
    assert code == batch.EXIT_NOT_GRADED and "NOT rewritten" in stdout and "dave" in stdout
    assert (out / "grades.csv").read_text() == csv_before
    code, _, stderr = run_batch([*argv, "--student", "zed"])
    assert code == batch.EXIT_HARNESS and "no submission for zed" in stderr


def test_out_naming_a_file_or_an_unwritable_place_stops_before_grading(tmp_path, fixtures):
    subs = tmp_path / "subs"
    empty_submission(subs / "alice")
    (tmp_path / "file").write_text("not a folder")
    code, _, stderr = run_batch([subs, "--out", tmp_path / "file", "--fixtures", fixtures])
    assert code == batch.EXIT_HARNESS and "not a folder" in stderr and "Traceback" not in stderr
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "reports").write_text("a file where the reports folder must be")
    code, _, stderr = run_batch([subs, "--out", blocked, "--fixtures", fixtures])
    assert code == batch.EXIT_HARNESS and "cannot write in --out" in stderr
    assert not (blocked / "grades.csv").exists()


@pytest.mark.slow
def test_a_failure_to_write_a_report_stops_the_batch_and_costs_no_student(tmp_path, fixtures, monkeypatch):
    subs = tmp_path / "subs"
    for name in ("alice", "bob"):
        copy_complete(subs / name)
    out = tmp_path / "out"
    real = batch_workers.write_json_atomic

    def full_disk(path, document):
        if Path(path).parent.name == "reports":
            raise OSError(28, "No space left on device")
        return real(path, document)

    monkeypatch.setattr(batch_workers, "write_json_atomic", full_disk)
    code, _, stderr = run_batch([subs, "--out", out, "--fixtures", fixtures, "--jobs", "2"])
    monkeypatch.undo()
    assert code == batch.EXIT_HARNESS, stderr
    assert "No space left on device" in stderr and "no student was given a grade" in stderr
    assert list((out / "reports").glob("*.json")) == [] and not (out / "grades.csv").exists()
    code, _, stderr = run_batch([subs, "--out", out, "--fixtures", fixtures, "--jobs", "2"])  # space again
    assert code == batch.EXIT_OK, stderr
    assert {row["status"] for row in rows_of(out).values()} == {"graded"}


@pytest.mark.slow
def test_a_second_batch_on_the_same_out_is_refused(tmp_path, fixtures):
    subs = tmp_path / "subs"
    empty_submission(subs / "alice")
    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write("4242\n")
        lock.flush()
        code, _, stderr = run_batch([subs, "--out", out, "--fixtures", fixtures])
    assert code == batch.EXIT_HARNESS and "in use by another batch (process 4242)" in stderr
    assert run_batch([subs, "--out", out, "--fixtures", fixtures])[0] == batch.EXIT_NOT_GRADED  # lock released


@pytest.mark.slow
def test_reports_of_removed_students_move_aside_and_skipped_entries_are_listed(tmp_path, fixtures):
    subs = tmp_path / "subs"
    for name in ("alice", "bob"):
        empty_submission(subs / name)
    out = tmp_path / "out"
    argv = [subs, "--out", out, "--fixtures", fixtures, "--jobs", "1"]
    run_batch(argv)
    (subs / "bob" / "notes.txt").unlink()
    (subs / "bob").rmdir()
    empty_submission(subs / ".carol")
    code, stdout, _ = run_batch(argv)
    assert code == batch.EXIT_NOT_GRADED
    assert sorted(p.name for p in (out / "reports").iterdir()) == ["alice.json"]
    assert (out / "removed" / "bob.json").is_file()
    assert list(rows_of(out)) == ["alice"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["removed_reports"] == ["bob"]
    assert summary["skipped"] == [{"entry": ".carol", "reason": "a hidden entry (its name starts with '.')"}]
    assert "skipped .carol: a hidden entry" in stdout and "removed/ (no submission any more): bob" in stdout


def test_eta_follows_the_recent_rate():
    """Ten slow submissions (60 s each) then ten fast ones (1 s each): the ETA is the fast rate's."""
    now = [0.0]
    progress = Progress(120, [], io.StringIO(), clock=lambda: now[0])
    outcome = batch.Outcome("s", {"status": "graded", "totals": {"main": 0, "bonus": 0}})
    for seconds in [60.0] * 10 + [1.0] * 10:
        now[0] += seconds
        progress.update(outcome)
    assert "60.0 submissions/min" in progress.line() and "ETA 1m40s" in progress.line()  # 100 left at 1/s


@pytest.mark.slow
def test_default_submission_budget_is_derived_from_the_cases_and_stated_in_help():
    cases = batch.public_case_count()
    assert cases > 20
    text = subprocess.run([sys.executable, str(ROOT / "runner.py"), "batch", "--help"], capture_output=True,
                          text=True, cwd=ROOT).stdout
    budget = batch.SECONDS_PER_CASE * cases + batch.SUBMISSION_BUDGET_MARGIN
    assert f"{budget:g} s for the public fixture set" in " ".join(text.split())
    assert budget < 0.5 * 10 * cases  # far below one full case limit per case (the old default)


def sleeping_submission(path):
    """A submission whose every case sleeps (its package's __init__ does): a worker stays busy."""
    copy_complete(path)
    (path / "mytorch" / "__init__.py").write_text("import time\ntime.sleep(120)\n")
    return path


def run_folders(temp):
    return sorted(p.name for p in temp.glob(RUN_PREFIX + "*"))


def start_batch(tmp_path, fixtures, subs, first_report=None):
    """Start ``runner.py batch`` (TMPDIR in tmp_path) and return once a worker's sandbox runs a case
    (after ``first_report`` is written, if given)."""
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    command = [sys.executable, str(ROOT / "runner.py"), "batch", str(subs), "--out", str(tmp_path / "out"),
               "--fixtures", str(fixtures), "--jobs", "1", "--timeout", "60"]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "TMPDIR": str(temp)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # a worker and its sandbox are running
        if len(descendants(process.pid)) >= 3 and (first_report is None or first_report.exists()):
            break
        time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"the batch started no worker: {process.communicate()}")
    time.sleep(1.0)
    return process, temp


def wait_gone(pids, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not all(process_gone(pid) for pid in pids):
        time.sleep(0.2)
    return [pid for pid in pids if not process_gone(pid)]


@pytest.mark.slow
def test_kill_9_of_the_batch_leaves_no_process_and_the_next_run_no_scratch(tmp_path, fixtures):
    subs = tmp_path / "subs"
    sleeping_submission(subs / "sleeper")
    process, temp = start_batch(tmp_path, fixtures, subs)
    below = descendants(process.pid)
    assert run_folders(temp)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    assert wait_gone(below) == [], "processes outlived the killed batch"
    assert run_folders(temp), "the killed batch's run folder is left for the next batch to remove"
    (tmp_path / "empty").mkdir()
    done = subprocess.run([sys.executable, str(ROOT / "runner.py"), "batch", str(tmp_path / "empty"),
                           "--out", str(tmp_path / "out3"), "--fixtures", str(fixtures)],
                          cwd=ROOT, env={**os.environ, "TMPDIR": str(temp)}, capture_output=True, text=True)
    assert run_folders(temp) == [], done.stderr


@pytest.mark.slow
def test_sigterm_stops_like_ctrl_c(tmp_path, fixtures):
    subs = tmp_path / "subs"
    copy_complete(subs / "alice")
    sleeping_submission(subs / "sleeper")
    process, temp = start_batch(tmp_path, fixtures, subs, first_report=tmp_path / "out" / "reports" / "alice.json")
    below = descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert "terminated by SIGTERM: the reports written so far are kept" in stderr
    assert wait_gone(below) == []
    assert run_folders(temp) == []
    assert (tmp_path / "out" / "reports" / "alice.json").is_file()  # graded first, kept


def test_only_our_own_dead_run_folders_are_removed(tmp_path):
    """A dead run's folder (ours, closed to others, its lock free) goes; look-alikes planted by someone else
    in a shared temporary directory (another owner, or open to others) are left alone."""
    from autograder.batch.storage import remove_dead_runs
    folders = {}
    for name, mode, owner in (("dead", 0o700, None), ("open", 0o755, None), ("theirs", 0o700, 65534)):
        if owner is not None and os.getuid() != 0:
            continue  # only root can give a folder away (made anyway, it would be a dead run of our own)
        folder = tmp_path / f"{RUN_PREFIX}{name}"
        folder.mkdir()
        (folder / "lock").write_text("")
        (folder / "inside").write_text("x")
        folder.chmod(mode)
        if owner is not None:
            os.chown(folder, owner, owner)
        folders[name] = folder
    being_made = tmp_path / f"{RUN_PREFIX}new"  # a live run between mkdtemp and its lock's rename
    being_made.mkdir(mode=0o700)
    (being_made / "lock.new").write_text("")
    folders["new"] = being_made
    assert remove_dead_runs(tmp_path) == 1
    assert not folders["dead"].exists()
    assert all(folder.exists() for name, folder in folders.items() if name != "dead")
