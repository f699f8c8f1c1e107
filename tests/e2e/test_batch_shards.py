"""Shards of one batch graded at once into one folder, then merged: the same grades as one plain run."""
import json
import subprocess
import sys

import pytest

from autograder.batch import main as batch
from autograder.batch.shards import Shard
from helpers import ROOT, copy_complete, trimmed_fixtures, zip_folder

pytestmark = pytest.mark.slow  # sharded batches

STUDENTS = ["ada", "bob", "cy", "dee", "eli", "fay", "gus", "hal", "ivy"]


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """Nine students: two complete, one zip with a broken Flatten, six folders without code (fast)."""
    base = tmp_path_factory.mktemp("shards")
    fixtures = trimmed_fixtures(base / "fixtures")
    subs = base / "subs"
    subs.mkdir()
    for number, student in enumerate(STUDENTS):
        if number in (0, 5):
            copy_complete(subs / student)
        elif number != 7:
            (subs / student).mkdir()
            (subs / student / "notes.txt").write_text("no code")
        else:
            staging = copy_complete(base / f"staging-{student}")
            (staging / "mytorch" / "flatten.py").write_text("raise ImportError('broken')\n")
            zip_folder(staging, subs / f"{student}.zip")
    return {"base": base, "fixtures": fixtures, "subs": subs}


def batch_command(klass, out, *extra):
    return [sys.executable, str(ROOT / "runner.py"), "batch", str(klass["subs"]), "--out", str(out),
            "--fixtures", str(klass["fixtures"]), "--jobs", "1", *extra]


def test_every_student_is_in_exactly_one_shard():
    for count in (1, 2, 3, 7):
        shards = [Shard(index, count) for index in range(count)]
        for student in STUDENTS + ["x" * 100, "\udcff-odd", "名前"]:
            assert sum(shard.holds(student) for shard in shards) == 1
    with pytest.raises(ValueError, match="numbered from 0"):
        Shard.parse("3/3")
    with pytest.raises(ValueError, match="expected I/N"):
        Shard.parse("1")


def test_three_concurrent_shards_and_a_merge_equal_one_plain_run(klass):
    plain = klass["base"] / "plain"
    done = subprocess.run(batch_command(klass, plain), cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == batch.EXIT_NOT_GRADED, done.stderr  # the folders without code are listed
    sharded = klass["base"] / "sharded"
    shards = [subprocess.Popen(batch_command(klass, sharded, "--shard", f"{index}/3"), cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for index in range(3)]
    results = [(shard.communicate(timeout=600), shard.returncode) for shard in shards]
    for (stdout, stderr), code in results:
        assert code in (batch.EXIT_OK, batch.EXIT_NOT_GRADED), stderr
        assert "batch merge" in stdout
    assert not (sharded / "grades.csv").exists()  # a shard writes its reports and record only
    assert sorted(p.stem for p in (sharded / "reports").glob("*.json")) == STUDENTS
    merged = subprocess.run([sys.executable, str(ROOT / "runner.py"), "batch", "merge", str(sharded)],
                            cwd=ROOT, capture_output=True, text=True)
    assert merged.returncode == batch.EXIT_NOT_GRADED, merged.stderr
    assert (sharded / "grades.csv").read_bytes() == (plain / "grades.csv").read_bytes()
    assert (sharded / "report.html").is_file()  # the class report too
    plain_summary, merged_summary = (json.loads((folder / "summary.json").read_text()) for folder in (plain, sharded))
    for key in ("count", "graded", "errors", "main", "bonus", "items", "failed_to_grade", "fixture_set", "rubric"):
        if key == "failed_to_grade":
            assert [f["student"] for f in merged_summary[key]] == [f["student"] for f in plain_summary[key]]
        else:
            assert merged_summary[key] == plain_summary[key], key


def test_merge_refuses_a_missing_shard_and_mixed_fixture_sets(klass, tmp_path):
    out = tmp_path / "out"
    for index in (0, 2):
        done = subprocess.run(batch_command(klass, out, "--shard", f"{index}/3"), cwd=ROOT, capture_output=True,
                              text=True)
        assert done.returncode in (batch.EXIT_OK, batch.EXIT_NOT_GRADED), done.stderr
    assert batch.main(["merge", str(out)]) == batch.EXIT_USAGE
    other = trimmed_fixtures(tmp_path / "other", keep=-1)
    done = subprocess.run([*batch_command(klass, out, "--shard", "1/3")[:-4], "--fixtures", str(other), "--jobs",
                           "1", "--shard", "1/3"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode in (batch.EXIT_OK, batch.EXIT_NOT_GRADED), done.stderr
    merged = subprocess.run([sys.executable, str(ROOT / "runner.py"), "batch", "merge", str(out)],
                            cwd=ROOT, capture_output=True, text=True)
    assert merged.returncode == batch.EXIT_USAGE and "another fixture_set" in merged.stderr
    assert not (out / "grades.csv").exists()
