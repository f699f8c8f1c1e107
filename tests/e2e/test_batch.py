"""Batch grading (``python runner.py batch``) and hidden fixture sets.

To stay fast, most batches grade against a *trimmed* copy of the public fixture
set (one case per item; the files and their sha256 are unchanged, so it is a
valid fixture set of its own with its own id): the batch machinery is the same
whatever the fixture set holds.  The hidden-set test grades in full.
"""
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from autograder.batch import main as batch

from autograder.batch import workers as batch_workers
from autograder.contract.documents import load_schema
from autograder.contract.fixtures import DEFAULT_FIXTURES, load_fixture_set
from autograder.report.model import validate_report
from autograder.grading.submission import SubmissionError, locate_package
from helpers import COMPLETE, ITEMS, ROOT, RUBRIC, copy_complete, process_gone, read_csv, run_runner, trimmed_fixtures, zip_folder


CHEATED_ITEM, CHEATED_CLASS = "MeanPool2d_stride1", "MeanPool2d_stride1"

WRAPPER = textwrap.dedent("""\
    # Test stand-in for the batch worker command: misbehaves for two students, else runs the real worker.
    import os, signal, subprocess, sys, time
    args = sys.argv[1:]
    name = os.path.basename(args[args.index("--entry") + 1])
    if name == "victim":
        os.kill(os.getpid(), signal.SIGKILL)
    if name == "sleeper":
        grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        with open(os.environ["BATCH_TEST_PIDFILE"], "w") as handle:
            handle.write(str(grandchild.pid))
        time.sleep(600)
    os.execv(sys.executable, [sys.executable, "-m", "autograder.batch.main", "--worker", *args])
""")


# ----------------------------------------------------------------------------- one mixed batch


@pytest.fixture(scope="module")
def mixed_batch(tmp_path_factory):
    """Nine submissions of every kind, graded once with jobs=2 through a misbehaving worker wrapper."""
    base = tmp_path_factory.mktemp("batch")
    fixtures = trimmed_fixtures(base / "fixtures")
    subs = base / "submissions"
    subs.mkdir()
    copy_complete(subs / "alice")                                   # folder, mytorch/ at the top
    staging = copy_complete(base / "staging")
    zip_folder(staging, subs / "bob.zip", prefix="handin/")          # zip, mytorch/ one level down
    with tarfile.open(subs / "carol.tar.gz", "w:gz") as archive:     # tar.gz, mytorch/ at the top
        archive.add(staging / "mytorch", "mytorch", filter=lambda i: None if "__pycache__" in i.name else i)
    (subs / "dave").mkdir()                                         # no mytorch/ at all
    (subs / "dave" / "notes.txt").write_text("forgot the code")
    escape = f"mytorch_batch_escape_{os.getpid()}.py"
    zip_folder(staging, subs / "eve.zip")                           # hostile archive: '..' member
    with zipfile.ZipFile(subs / "eve.zip", "a") as archive:
        archive.writestr("../../" + escape, "print('escaped')")
    frank = copy_complete(subs / "frank")                          # hostile code: dropout never returns
    (frank / "mytorch" / "dropout.py").write_text("while True:\n    pass\n")
    copy_complete(subs / "victim")                                  # its worker process is SIGKILLed
    (subs / ".DS_Store").write_text("ignored")
    wrapper = base / "wrapper.py"
    wrapper.write_text(WRAPPER)
    out = base / "out"
    argv = [str(subs), "--out", str(out), "--jobs", "2", "--fixtures", str(fixtures), "--timeout", "3"]
    code, stdout, stderr = run_batch_in_process(argv, wrapper)
    return {"base": base, "subs": subs, "out": out, "fixtures": fixtures, "argv": argv, "code": code,
            "stderr": stderr, "stdout": stdout, "escape": escape, "wrapper": wrapper}


def run_batch_in_process(argv, wrapper, env=None):
    """batch.main(argv) with the worker command (batch_workers.WORKER_COMMAND) replaced by ``wrapper``;
    returns (code, stdout, stderr)."""
    patcher = pytest.MonkeyPatch()
    patcher.setattr(batch_workers, "WORKER_COMMAND", [sys.executable, str(wrapper)])
    for key, value in (env or {}).items():
        patcher.setenv(key, value)
    stderr, stdout = io.StringIO(), io.StringIO()
    patcher.setattr(sys, "stderr", stderr)
    patcher.setattr(sys, "stdout", stdout)
    try:
        code = batch.main(argv)
    finally:
        patcher.undo()
    return code, stdout.getvalue(), stderr.getvalue()


STUDENTS = ["alice", "bob", "carol", "dave", "eve", "frank", "victim"]


@pytest.mark.slow
def test_batch_writes_a_report_per_student(mixed_batch):
    out = mixed_batch["out"]
    assert mixed_batch["code"] == batch.EXIT_NOT_GRADED, mixed_batch["stderr"]  # dave, eve, victim: listed
    assert sorted(p.name for p in out.iterdir() if p.name != ".lock") == \
        ["grades.csv", "report.html", "reports", "summary.json"]
    assert sorted(p.stem for p in (out / "reports").glob("*.json")) == sorted(STUDENTS)
    fixture_id = load_fixture_set(mixed_batch["fixtures"]).id
    for student in STUDENTS:
        report = json.loads((out / "reports" / f"{student}.json").read_text())
        validate_report(report)
        # a report from a dead worker records no fixture set (it was not graded against one)
        assert report["fixture_set"].get("id") == (None if student == "victim" else fixture_id)
        assert Path(report["submission"]).name.startswith(student)


@pytest.mark.slow
def test_grades_csv(mixed_batch):
    rows = read_csv(mixed_batch["out"] / "grades.csv")
    header = (mixed_batch["out"] / "grades.csv").read_text().splitlines()[0].split(",")
    assert header == ["student", *ITEMS, "main", "bonus", "status"]
    by_student = {row["student"]: row for row in rows}
    assert [row["student"] for row in rows] == STUDENTS
    points = {item.name: f"{item.points:g}" for item in RUBRIC.items}
    for good in ("alice", "bob", "carol"):
        assert {item: by_student[good][item] for item in ITEMS} == points
        assert (by_student[good]["main"], by_student[good]["bonus"], by_student[good]["status"]) == ("100", "15", "graded")
    # hostile code costs the student the item it broke, nothing else, and nobody else anything
    assert {item: by_student["frank"][item] for item in ITEMS} == {**points, "Dropout2d": "0"}
    assert (by_student["frank"]["main"], by_student["frank"]["bonus"], by_student["frank"]["status"]) == \
        ("100", "10", "graded")
    for bad in ("dave", "eve", "victim"):
        assert by_student[bad]["status"] == "error" and by_student[bad]["main"] == "0"


@pytest.mark.slow
def test_failures_are_recorded_with_their_reason(mixed_batch):
    out = mixed_batch["out"]
    reports = {s: json.loads((out / "reports" / f"{s}.json").read_text()) for s in STUDENTS}
    assert "no mytorch/ package" in reports["dave"]["error"]
    assert "'..'" in reports["eve"]["error"]
    assert not (Path(tempfile.gettempdir()) / mixed_batch["escape"]).exists()
    assert "killed by SIGKILL" in reports["victim"]["error"]
    frank_dropout = next(i for i in reports["frank"]["items"] if i["name"] == "Dropout2d")
    assert frank_dropout["status"] == "timeout"


@pytest.mark.slow
def test_summary(mixed_batch):
    summary = json.loads((mixed_batch["out"] / "summary.json").read_text())
    jsonschema.validate(summary, load_schema("batch_summary.schema.json"))
    assert summary["fixture_set"]["id"] == load_fixture_set(mixed_batch["fixtures"]).id
    assert (summary["count"], summary["graded"], summary["errors"], summary["reused"]) == (7, 4, 3, 0)
    # main totals: 100 x4 (alice, bob, carol, frank), 0 x3 (the errors count with their 0)
    assert summary["main"] == {"mean": pytest.approx(400 / 7), "median": 100.0, "min": 0.0, "max": 100.0}
    assert summary["bonus"] == {"mean": pytest.approx(55 / 7), "median": 10.0, "min": 0.0, "max": 15.0}
    assert summary["items"]["Dropout2d"]["pass_rate"] == pytest.approx(3 / 4)  # over the 4 that graded
    assert summary["items"]["Conv1d"]["pass_rate"] == 1.0
    assert {f["student"] for f in summary["failed_to_grade"]} == {"dave", "eve", "victim"}
    assert all(f["reason"] for f in summary["failed_to_grade"])


@pytest.mark.slow
def test_progress_line(mixed_batch):
    lines = [line for line in mixed_batch["stderr"].splitlines() if line.startswith("batch:")]
    assert lines[-1].startswith("batch: 7/7 done, 3 error(s)")
    assert any("submissions/min" in line and "ETA" in line for line in lines)
    assert "7 submission(s): 4 graded, 3 error(s)" in mixed_batch["stdout"]


@pytest.mark.slow
def test_hung_worker_is_stopped_with_its_children(tmp_path):
    subs = tmp_path / "subs"
    copy_complete(subs / "sleeper")  # its worker hangs, after starting a child in a session of its own
    wrapper, pidfile = tmp_path / "wrapper.py", tmp_path / "grandchild.pid"
    wrapper.write_text(WRAPPER)
    argv = [str(subs), "--out", str(tmp_path / "out"), "--jobs", "1", "--submission-timeout", "2"]
    started = time.monotonic()
    code, _, stderr = run_batch_in_process(argv, wrapper, env={"BATCH_TEST_PIDFILE": str(pidfile)})
    assert code == batch.EXIT_NOT_GRADED, stderr
    assert time.monotonic() - started < 30
    report = json.loads((tmp_path / "out" / "reports" / "sleeper.json").read_text())
    validate_report(report)
    assert report["status"] == "error" and "whole-submission limit of 2 s" in report["error"]
    # the hung worker's own child (like the sandbox children, in a session of its own) was killed too
    assert process_gone(int(pidfile.read_text()))


@pytest.mark.slow
def test_rerun_skips_up_to_date_reports_and_regrades_changed_ones(mixed_batch, monkeypatch, capsys):
    out = mixed_batch["out"]

    def stamps():
        return {p.stem: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "reports").glob("*.json")}

    before = stamps()
    csv_before = (out / "grades.csv").read_text()
    monkeypatch.setattr(batch_workers, "WORKER_COMMAND", [sys.executable, str(mixed_batch["wrapper"])])
    assert batch.main(mixed_batch["argv"]) == batch.EXIT_NOT_GRADED
    after = stamps()
    # up to date, submission errors included, are kept as they are; the killed worker's submission is retried
    assert {s for s in STUDENTS if after[s] != before[s]} == {"victim"}
    assert "killed by SIGKILL" in json.loads(after["victim"][1])["error"]
    assert (out / "grades.csv").read_text() == csv_before
    assert json.loads((out / "summary.json").read_text())["reused"] == 6
    # times alone decide nothing: a touched submission whose content is the same keeps its report
    later = time.time() + 5
    os.utime(mixed_batch["subs"] / "dave" / "notes.txt", (later, later))
    assert batch.main(mixed_batch["argv"]) == batch.EXIT_NOT_GRADED
    touched = stamps()
    assert {s for s in STUDENTS if touched[s] != after[s]} == {"victim"}
    # content decides, whatever the times say: a notes file rewritten and its old times put back (tar -x),
    # and an archive replaced by one with a broken Dropout2d under the old archive's times (cp -p)
    notes = mixed_batch["subs"] / "dave" / "notes.txt"
    old_times = (notes.stat().st_atime, notes.stat().st_mtime)
    notes.write_text("still no code")
    os.utime(notes, old_times)
    archive = mixed_batch["subs"] / "bob.zip"
    old_times = (archive.stat().st_atime, archive.stat().st_mtime)
    staging = copy_complete(mixed_batch["base"] / "bob-again")
    (staging / "mytorch" / "dropout.py").write_text("raise ImportError('broken on purpose')\n")
    zip_folder(staging, archive, prefix="handin/")
    os.utime(archive, old_times)
    assert batch.main(mixed_batch["argv"]) == batch.EXIT_NOT_GRADED
    again = stamps()
    assert {s for s in STUDENTS if again[s] != touched[s]} == {"bob", "dave", "victim"}
    assert json.loads((out / "summary.json").read_text())["reused"] == 4
    rows = {row["student"]: row for row in read_csv(out / "grades.csv")}
    assert (rows["bob"]["Dropout2d"], rows["bob"]["bonus"]) == ("0", "10")
    assert "4 reused" in capsys.readouterr().err


# ----------------------------------------------------------------------------- small batches


@pytest.mark.slow
def test_regrade_and_fixture_change_through_runner(tmp_path):
    """Through ``runner.py batch``; the submission is one that fails fast (the rules are the same)."""
    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)
    first, second = trimmed_fixtures(tmp_path / "f1"), trimmed_fixtures(tmp_path / "f2", keep=-1)
    out = tmp_path / "out"

    def batch_run(*extra, fixtures=first):
        run = run_runner("batch", subs, "--out", out, "--fixtures", fixtures, "--jobs", "1", *extra)
        assert run.returncode == batch.EXIT_NOT_GRADED, run.stderr  # alice has no mytorch/: listed, exit 1
        return json.loads((out / "summary.json").read_text()), (out / "reports" / "alice.json").stat().st_mtime_ns

    summary, stamp = batch_run()
    assert (summary["count"], summary["reused"], summary["errors"]) == (1, 0, 1)
    summary, again = batch_run()
    assert summary["reused"] == 1 and again == stamp
    summary, regraded = batch_run("--regrade")
    assert summary["reused"] == 0 and regraded != stamp
    summary, _ = batch_run(fixtures=second)  # another fixture set id: graded again
    assert summary["reused"] == 0 and summary["fixture_set"]["id"] == load_fixture_set(second).id
    assert json.loads((out / "reports" / "alice.json").read_text())["fixture_set"]["id"] == load_fixture_set(second).id


@pytest.mark.parametrize("layout, message", [
    ({"alice": "folder", "alice.zip": "zip"}, "same student id"),
])
def test_usage_errors_stop_before_grading(tmp_path, capsys, layout, message):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name, kind in layout.items():
        if kind == "folder":
            (subs / name).mkdir()
        else:
            zip_folder(COMPLETE, subs / name)
    assert batch.main([str(subs), "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_tampered_fixture_set_stops_the_batch(tmp_path, capsys):
    fixtures = trimmed_fixtures(tmp_path / "f")
    with open(fixtures / "Flatten.npz", "ab") as handle:
        handle.write(b"\0")
    copy_complete(tmp_path / "subs" / "alice")
    assert batch.main([str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--fixtures", str(fixtures)]) == 2
    assert "sha256" in capsys.readouterr().err


def test_locate_package(tmp_path):
    (tmp_path / "a" / "x" / "mytorch").mkdir(parents=True)
    (tmp_path / "a" / "__MACOSX" / "mytorch").mkdir(parents=True)
    assert locate_package(tmp_path / "a") == tmp_path / "a" / "x"
    (tmp_path / "a" / "y" / "mytorch").mkdir(parents=True)
    with pytest.raises(SubmissionError, match="several folders"):
        locate_package(tmp_path / "a")
    (tmp_path / "b" / "x" / "y" / "mytorch").mkdir(parents=True)  # two levels down: not accepted
    with pytest.raises(SubmissionError, match="no mytorch/ package"):
        locate_package(tmp_path / "b")


# ----------------------------------------------------------------------------- hidden fixture sets


def input_signature(manifest, item):
    return [(c["hyperparameters"], {k: v for k, v in c["shapes"].items() if ".in." in k})
            for c in manifest["items"][item]["cases"]]


def memorizing_module(fixture_set, item, cls):
    """Source for a class that returns the public expected outputs, looked up by its input values."""
    table = {}
    for case in fixture_set.items[item]:
        for check in case.checks:
            step = case.program["steps"][check["step"]]
            argument = step["args"][0]["$array"]
            values = case.inputs()[argument].ravel()
            table[",".join(format(float(v), ".9g") for v in values)] = case.array(check["expected"]).tolist()
    return textwrap.dedent(f"""
        # A "solution" that memorised the public answers of {item}.
        import json as _json
        _ANSWERS = _json.loads({json.dumps(json.dumps(table))})

        def _key(x):
            flat = []
            def walk(v):
                if isinstance(v, list):
                    for w in v:
                        walk(w)
                else:
                    flat.append(format(float(v), ".9g"))
            walk(x)
            return ",".join(flat)

        class {cls}:
            def __init__(self, *args, **kwargs):
                pass

            def forward(self, A):
                return _ANSWERS[_key(A)]

            def backward(self, dLdZ):
                return _ANSWERS[_key(dLdZ)]
        """)


@pytest.mark.slow
def test_hidden_fixture_set_defeats_hard_coded_answers(tmp_path):
    hidden = tmp_path / "hidden"
    done = subprocess.run([sys.executable, "-m", "reference.generate", "--seed", "271828", "--out", str(hidden)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    public_manifest = json.loads((DEFAULT_FIXTURES / "manifest.json").read_text())
    hidden_manifest = json.loads((hidden / "manifest.json").read_text())
    assert hidden_manifest["items"].keys() == public_manifest["items"].keys()
    differing = [item for item in ITEMS
                 if input_signature(public_manifest, item) != input_signature(hidden_manifest, item)]
    assert len(differing) >= 0.75 * len(ITEMS), differing
    public_set, hidden_set = load_fixture_set(DEFAULT_FIXTURES), load_fixture_set(hidden)
    for item in ITEMS:  # and every item's input values differ (the scanning MLPs included)
        pairs = [(p.inputs(), h.inputs()) for p, h in zip(public_set.items[item], hidden_set.items[item])]
        assert any(p.keys() != h.keys() or any(not np.array_equal(p[k], h[k]) for k in h) for p, h in pairs), item

    subs = tmp_path / "subs"
    copy_complete(subs / "complete")
    cheater = copy_complete(subs / "cheater")
    pool = cheater / "mytorch" / "pool.py"
    pool.write_text(pool.read_text() + memorizing_module(public_set, CHEATED_ITEM, CHEATED_CLASS))

    # on the public fixtures the memorised answers earn the item...
    public_run = run_runner("--submission", cheater, "--only", CHEATED_ITEM, json_path=tmp_path / "public.json")
    assert public_run.returncode == 0 and public_run.lost() == set(), public_run.stdout

    # ...on the hidden set they do not, while the real solution still earns everything
    out = tmp_path / "out"
    run = run_runner("batch", subs, "--out", out, "--fixtures", hidden, "--jobs", "2")
    assert run.returncode == 0, run.stderr
    rows = {row["student"]: row for row in read_csv(out / "grades.csv")}
    assert (rows["complete"]["main"], rows["complete"]["bonus"], rows["complete"]["status"]) == ("100", "15", "graded")
    assert rows["cheater"]["status"] == "graded" and rows["cheater"][CHEATED_ITEM] == "0"
    cheater_report = json.loads((out / "reports" / "cheater.json").read_text())
    lost = {i["name"] for i in cheater_report["items"] if i["points"] < i["max_points"]}
    assert CHEATED_ITEM in lost and lost <= {CHEATED_ITEM, "MeanPool2d"}  # MeanPool2d builds on the stride-1 class
    assert json.loads((out / "summary.json").read_text())["fixture_set"]["seed"] == 271828
