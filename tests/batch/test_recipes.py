"""The cluster recipes in autograder/batch/recipes/ run as documented.

The Slurm scripts are run by bash as the array's tasks would run them (the
``#SBATCH`` lines are comments to bash); GNU parallel, when the machine lacks
it, is stood in for by a shim that runs each job locally; the Kubernetes Job's
command is parsed by the batch's own option parser and its shard count checked
against the Job's completions.
"""
import csv
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.batch import main as batch
from autograder.batch.shards import Shard
from helpers import ROOT, copy_complete, trimmed_fixtures

RECIPES = ROOT / "autograder" / "batch" / "recipes"
PARALLEL_SHIM = '''#!{python}
"""A stand-in for GNU parallel: runs COMMAND once per stdin line, {{}} replaced, here, all at once."""
import subprocess, sys
args = sys.argv[1:]
while args and args[0].startswith("--"):
    option = args.pop(0)
    if option in ("--sshloginfile", "--workdir"):
        args.pop(0)
jobs = [subprocess.Popen([arg.replace("{{}}", line.strip()) for arg in args]) for line in sys.stdin if line.strip()]
sys.exit(max([job.wait() for job in jobs] + [0]))
'''


def small_class(tmp_path):
    subs = tmp_path / "subs"
    copy_complete(subs / "ada")
    for student in ("bob", "cy", "dee"):
        (subs / student).mkdir(parents=True)
        (subs / student / "notes.txt").write_text("no code")
    return subs, trimmed_fixtures(tmp_path / "fixtures")


def environment(**extra):
    """This interpreter first on PATH, as ``python``."""
    bin_folder = Path(sys.executable).parent
    return {**os.environ, "PATH": f"{bin_folder}{os.pathsep}{os.environ['PATH']}", **extra}


def students_in(grades):
    return [row["student"] for row in csv.DictReader(io.StringIO(grades.read_text()))]


@pytest.mark.slow
def test_slurm_array_tasks_and_the_merge_job(tmp_path):
    subs, fixtures = small_class(tmp_path)
    out = tmp_path / "out"
    tasks = [subprocess.Popen(["bash", str(RECIPES / "slurm-shards.sbatch"), str(subs), str(out), str(fixtures)],
                              cwd=ROOT, env=environment(SLURM_ARRAY_TASK_ID=str(index), SLURM_ARRAY_TASK_COUNT="2",
                                                        SLURM_CPUS_PER_TASK="1"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for index in range(2)]
    for task in tasks:
        _, stderr = task.communicate(timeout=600)
        assert task.returncode == batch.EXIT_NOT_GRADED, stderr  # bob, cy and dee have no code: listed
    merge = subprocess.run(["bash", str(RECIPES / "slurm-merge.sbatch"), str(out)], cwd=ROOT, env=environment(),
                           capture_output=True, text=True)
    assert merge.returncode == batch.EXIT_NOT_GRADED, merge.stderr
    assert students_in(out / "grades.csv") == ["ada", "bob", "cy", "dee"]
    outside = subprocess.run(["bash", str(RECIPES / "slurm-shards.sbatch"), str(subs), str(out)], cwd=ROOT,
                             env=environment(), capture_output=True, text=True)
    assert outside.returncode != 0 and "not in a job array" in outside.stderr


@pytest.mark.slow
def test_gnu_parallel_recipe(tmp_path):
    subs, fixtures = small_class(tmp_path)
    shim_folder = tmp_path / "bin"
    shim_folder.mkdir()
    env = environment()
    if subprocess.run(["which", "parallel"], capture_output=True, env=env).returncode != 0:
        shim = shim_folder / "parallel"
        shim.write_text(PARALLEL_SHIM.format(python=sys.executable))
        shim.chmod(0o755)
        env["PATH"] = f"{shim_folder}{os.pathsep}{env['PATH']}"
    hosts = tmp_path / "hosts"
    hosts.write_text(":\n")
    out = tmp_path / "out"
    done = subprocess.run(["bash", str(RECIPES / "parallel-shards.sh"), str(hosts), "3", str(subs), str(out),
                           str(fixtures)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == batch.EXIT_NOT_GRADED, done.stderr
    assert students_in(out / "grades.csv") == ["ada", "bob", "cy", "dee"]
    assert sorted(p.name for p in (out / "shards").iterdir()) == ["0-of-3.json", "1-of-3.json", "2-of-3.json"]


def test_kubernetes_job_command_parses_and_matches_its_completions():
    text = (RECIPES / "k8s-indexed-job.yaml").read_text()
    completions = int(re.search(r"^\s+completions: (\d+)$", text, re.M).group(1))
    assert int(re.search(r"^\s+parallelism: (\d+)$", text, re.M).group(1)) == completions
    command = re.search(r"^\s+- (python runner\.py batch .*?);", text, re.M).group(1)
    words = shlex.split(command.replace("$JOB_COMPLETION_INDEX", "0"))
    args = batch.parse_args(words[3:])
    assert args.shard == Shard(0, completions)
    assert "test $? -le 1" in text  # a shard with ungradable submissions (exit 1) still completes
