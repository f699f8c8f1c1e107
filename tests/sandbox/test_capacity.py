"""Jobs from the CPUs really available, and case time limits that contention cannot turn into zeros (issue 23).

``autograder/sandbox/capacity.py`` is tested against fake ``/proc/self/cgroup``,
``/proc/self/mountinfo`` and cgroup files in a temporary folder (cgroup v1, v2 nested, ``max``,
no cgroup, an affinity below the quota, a memory limit below jobs x a job's memory).  The real
outcome: a correct but slow submission (0.4 s of CPU each time its package is imported, the
measured case of the issue) graded with ``--jobs 16`` inside a cgroup with a 0.5-CPU quota gets
full marks, and a looping one still times out by its CPU time.  That needs a cgroup this test may
create (root, cgroup v1's cpu controller or cgroup v2 with the cpu controller delegated); elsewhere
it is skipped, saying why.  No assertion depends on timing: the slow submission uses a twentieth of
its CPU limit, and its wall-clock backstop is far above what the cgroup makes it take.
"""
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from helpers import MAX_POINTS, ROOT, RUBRIC, complete_copy, submission

from autograder.sandbox.run_folders import remove_tree
from autograder.sandbox import WALL_FACTOR, Limits
from autograder.sandbox.capacity import (BATCH_MEMORY, GRADER_MEMORY, JOB_MEMORY, WORKER_MEMORY, MiB, available,
                                         cgroup_folders, detect)

SLOW_IMPORT = '''
import time as _time
_end = _time.process_time() + 0.4
while _time.process_time() < _end:  # a slow but correct package: 0.4 s of CPU each time it is imported
    pass
'''
MAIN_MAX = sum(item.points for item in RUBRIC.items if str(item.section) == "main")
BONUS_MAX = sum(item.points for item in RUBRIC.items if str(item.section) == "bonus")


# ----------------------------------------------------------------------------- detection, on fake trees


def fake_root(tmp_path, cgroup, mountinfo, files=(), meminfo_kib=None):
    """A tree below ``tmp_path`` as ``detect(root=...)`` reads it: /proc/self/cgroup and mountinfo
    (one line each, as the kernel writes them), the cgroup files ({relative path: text})."""
    (tmp_path / "proc/self").mkdir(parents=True)
    if cgroup is not None:
        (tmp_path / "proc/self/cgroup").write_text("".join(f"{line}\n" for line in cgroup))
    (tmp_path / "proc/self/mountinfo").write_text("".join(f"{line}\n" for line in mountinfo))
    if meminfo_kib is not None:
        (tmp_path / "proc/meminfo").write_text(f"MemTotal:       {meminfo_kib} kB\nMemFree:        1 kB\n")
    for relative, text in dict(files).items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


V1_MOUNTS = ["25 24 0:22 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs ro,mode=755",
             "31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev - cgroup cgroup rw,cpu,cpuacct",
             "32 25 0:28 / /sys/fs/cgroup/cpuset rw,nosuid,nodev - cgroup cgroup rw,cpuset",
             "33 25 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev - cgroup cgroup rw,memory"]
V2_MOUNT = ["30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate"]
NO_LIMIT_V1 = str(2 ** 63 - 4096)  # what cgroup v1 writes for "no memory limit"


def test_cgroup_v1_quota_and_memory_are_read_from_the_process_cgroup_and_above(tmp_path):
    root = fake_root(tmp_path, ["4:cpu,cpuacct:/docker/abc", "3:cpuset:/docker/abc", "2:memory:/docker/abc"],
                     V1_MOUNTS, {
                         "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "50000\n",
                         "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
                         "sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us": "-1\n",
                         "sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_period_us": "100000\n",
                         "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
                         "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
                         "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": f"{768 * MiB}\n",
                         "sys/fs/cgroup/memory/memory.limit_in_bytes": NO_LIMIT_V1,
                         # cpuset is not a CPU quota: never read as one
                         "sys/fs/cgroup/cpuset/docker/abc/cpu.cfs_quota_us": "1000\n"})
    found = detect(root=root, online=16, affinity=16)
    assert (found.cpus, found.quota, found.jobs) == (0.5, 0.5, 1)
    assert found.memory == 768 * MiB and found.memory_limited
    assert found.memory_jobs == (768 * MiB - GRADER_MEMORY) // JOB_MEMORY
    assert found.why == "16 CPUs (cgroup quota 0.5 CPU, cgroup memory limit 768 MiB fits 11 jobs → 1 job)"
    assert found.contention(16) == 32


def test_cgroup_v1_mounted_at_the_containers_own_cgroup(tmp_path):
    """Without a cgroup namespace, /proc/self/cgroup names the host's path and the container mounts
    that cgroup itself (mountinfo's root field): the limits are read at the mount point."""
    mounts = ["31 25 0:27 /docker/abc /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu"]
    root = fake_root(tmp_path, ["4:cpu:/docker/abc"], mounts, {
        "sys/fs/cgroup/cpu/cpu.cfs_quota_us": "250000\n", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"})
    found = detect(root=root, online=8, affinity=None)
    assert (found.cpus, found.jobs) == (2.5, 2)
    assert found.why == "8 CPUs (cgroup quota 2.5 CPUs → 2 jobs)"


def test_cgroup_v2_nested_the_smallest_quota_on_the_way_up_wins(tmp_path):
    root = fake_root(tmp_path, ["0::/grading/course/run"], V2_MOUNT, {
        "sys/fs/cgroup/grading/cpu.max": "150000 100000\n",  # 1.5 CPUs, two levels up: the smallest
        "sys/fs/cgroup/grading/course/cpu.max": "max 100000\n",
        "sys/fs/cgroup/grading/course/run/cpu.max": "400000 100000\n",
        "sys/fs/cgroup/grading/course/run/memory.max": "max\n",
        "sys/fs/cgroup/grading/memory.max": f"{4096 * MiB}\n"})
    found = detect(root=root, online=8, affinity=8)
    assert (found.cpus, found.quota, found.jobs) == (1.5, 1.5, 1)
    assert found.memory == 4096 * MiB
    folders = [path.relative_to(root).as_posix() for path, _ in cgroup_folders(root)]
    assert folders == ["sys/fs/cgroup/grading/course/run", "sys/fs/cgroup/grading/course",
                       "sys/fs/cgroup/grading", "sys/fs/cgroup"]


def test_max_everywhere_is_no_limit(tmp_path):
    root = fake_root(tmp_path, ["0::/user.slice"], V2_MOUNT, {
        "sys/fs/cgroup/user.slice/cpu.max": "max 100000\n", "sys/fs/cgroup/user.slice/memory.max": "max\n"},
        meminfo_kib=16 * 1024 * 1024)
    found = detect(root=root, online=4, affinity=4)
    assert (found.cpus, found.quota, found.jobs) == (4.0, None, 4)
    assert not found.memory_limited and found.memory == 16 * 1024 * MiB
    assert found.why == "4 CPUs → 4 jobs"


def test_no_cgroup_at_all(tmp_path):
    """No /proc/self/cgroup (another system, or /proc not mounted): the online CPUs and the affinity decide."""
    root = fake_root(tmp_path, None, [])
    assert cgroup_folders(root) == []
    found = detect(root=root, online=4, affinity=None)
    assert (found.cpus, found.jobs, found.memory) == (4.0, 4, None)
    assert found.why == "4 CPUs → 4 jobs"


def test_an_affinity_smaller_than_the_quota_wins(tmp_path):
    root = fake_root(tmp_path, ["0::/box"], V2_MOUNT, {"sys/fs/cgroup/box/cpu.max": "400000 100000\n"})
    found = detect(root=root, online=16, affinity=2)
    assert (found.cpus, found.jobs) == (2.0, 2)
    assert found.why == "16 CPUs (affinity 2 CPUs, cgroup quota 4 CPUs → 2 jobs)"


def test_a_memory_limit_smaller_than_jobs_times_a_jobs_memory_lowers_the_jobs(tmp_path):
    limit = GRADER_MEMORY + 3 * JOB_MEMORY + JOB_MEMORY // 2  # room for three jobs and a half
    root = fake_root(tmp_path, ["0::/box"], V2_MOUNT, {"sys/fs/cgroup/box/memory.max": f"{limit}\n"})
    found = detect(root=root, online=8, affinity=8)
    assert (found.cpus, found.memory_jobs, found.jobs) == (8.0, 3, 3)
    assert found.why == f"8 CPUs (cgroup memory limit {limit // MiB} MiB fits 3 jobs → 3 jobs)"
    tiny = fake_root(tmp_path / "tiny", ["0::/box"], V2_MOUNT, {"sys/fs/cgroup/box/memory.max": f"{100 * MiB}\n"})
    assert detect(root=tiny, online=8, affinity=8).jobs == 1  # never fewer than one
    batch = detect(GRADER_MEMORY + JOB_MEMORY, 64 * MiB, root=root, online=8, affinity=8)
    assert batch.jobs == (limit - 64 * MiB) // (GRADER_MEMORY + JOB_MEMORY)  # a batch's job is a whole worker


def test_unreadable_and_malformed_files_count_as_no_limit(tmp_path):
    root = fake_root(tmp_path, ["0::/box", "garbage", "7:cpu"], V2_MOUNT + ["not a mountinfo line"], {
        "sys/fs/cgroup/box/cpu.max": "lots 100000\n", "sys/fs/cgroup/box/memory.max": "-\n"})
    found = detect(root=root, online=2, affinity=2)
    assert (found.cpus, found.quota, found.jobs, found.memory) == (2.0, None, 2, None)


def test_a_mount_point_with_a_space_is_unescaped(tmp_path):
    mounts = [r"31 25 0:27 / /sys/fs/cgroup/my\040cpu rw - cgroup cgroup rw,cpu"]
    root = fake_root(tmp_path, ["4:cpu:/"], mounts, {
        "sys/fs/cgroup/my cpu/cpu.cfs_quota_us": "100000\n", "sys/fs/cgroup/my cpu/cpu.cfs_period_us": "100000\n"})
    assert detect(root=root, online=4, affinity=4).jobs == 1


def test_the_wall_clock_backstop_grows_with_the_contention():
    assert Limits(timeout=10, contention=32).wall == 10 * 32 * WALL_FACTOR
    assert Limits(timeout=10, contention=0.25).wall == 10 * WALL_FACTOR  # never below the factor
    assert Limits(timeout=2).wall == 2 * available().contention(1) * WALL_FACTOR  # one job on this machine
    from autograder.config import Config
    config = Config(timeout=3, jobs=16)
    assert config.limits.contention == available().contention(16)
    assert Config(timeout=3, jobs=1, concurrent=16).limits.wall == config.limits.wall  # a batch worker


def test_help_shows_the_default_jobs_and_why():
    for argv, capacity in ((["--help"], available()),
                           (["batch", "--help"], available(WORKER_MEMORY, BATCH_MEMORY))):
        done = subprocess.run([sys.executable, str(ROOT / "runner.py"), *argv], capture_output=True, text=True,
                              cwd=ROOT, timeout=120)
        text = " ".join(done.stdout.split())
        assert done.returncode == 0, done.stderr
        assert f"{capacity.jobs} here, {capacity.why}" in text, text
        assert "CPU seconds one case may use" in text, text


# ----------------------------------------------------------------------------- the real outcome, in a cgroup


def writable_cpu_cgroup():
    """(the folder to create a child cgroup in, its version), or pytest.skip saying why there is none."""
    if os.geteuid() != 0:
        pytest.skip("creating a cgroup with a CPU quota needs root (cgroup v2 without delegation, or v1)")
    for folder, version in cgroup_folders(Path("/")):  # this process's own cgroups first, then those above
        if not os.access(folder, os.W_OK):
            continue
        if version == 1 and (folder / "cpu.cfs_quota_us").exists():
            return folder, 1
        subtree = folder / "cgroup.subtree_control"  # v2: children of this one get the cpu controller
        if version == 2 and subtree.exists() and "cpu" in subtree.read_text().split():
            return folder, 2
    pytest.skip("no writable cgroup with the cpu controller here (cgroup v1's cpu, or v2 with cpu delegated)")


@pytest.fixture(scope="module")
def half_cpu():
    """A fresh cgroup with a 0.5-CPU quota (50 ms every 100 ms), removed afterwards; yields a function
    that runs a command inside it (``sh -c 'echo $$ > cgroup.procs; exec ...'``), and its ``start``,
    which starts one in the background."""
    parent, version = writable_cpu_cgroup()
    cgroup = parent / f"mytorch-test-{uuid.uuid4().hex[:8]}"
    cgroup.mkdir()
    try:
        if version == 1:
            (cgroup / "cpu.cfs_period_us").write_text("100000")
            (cgroup / "cpu.cfs_quota_us").write_text("50000")
        else:
            (cgroup / "cpu.max").write_text("50000 100000")

        def wrapped(command):
            return ["sh", "-c", f'echo $$ > "{cgroup}/cgroup.procs" && exec "$@"', "sh", *map(str, command)]

        def run(*command, timeout):
            return subprocess.run(wrapped(command), capture_output=True, text=True, errors="replace", cwd=ROOT,
                                  timeout=timeout, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
        run.start = lambda *command: subprocess.Popen(wrapped(command), cwd=ROOT)  # in the background
        yield run
    finally:
        give_up = time.monotonic() + 30
        while True:  # the last processes (reaped zombies) leave the cgroup a moment after the runner ends
            try:
                cgroup.rmdir()
                break
            except OSError:
                if time.monotonic() > give_up:
                    raise
                time.sleep(0.1)


# 24 cases, more than the 16 jobs: the measurement (the whole set, 70 cases: 5/100 before,
# 28 cases "timed out after 10 s while importing") on a third of the set, in a third of the time.
SLOW_ITEMS = ("Conv1d", "MaxPool2d_stride1", "MaxPool2d", "MeanPool2d_stride1", "MeanPool2d", "BatchNorm2d")


@pytest.mark.slow
def test_a_correct_but_slow_submission_gets_full_marks_with_16_jobs_on_half_a_cpu(half_cpu, tmp_path):
    """16 cases at once, each 0.4 s of CPU, on half a CPU: before, each took about 13 s of wall-clock time
    against a 10 s wall-clock limit; now each is measured by the CPU it used."""
    folder = complete_copy()
    try:
        init = folder / "mytorch" / "__init__.py"
        init.write_text(init.read_text() + SLOW_IMPORT)
        report_path = tmp_path / "report.json"
        done = half_cpu(sys.executable, ROOT / "runner.py", "--submission", folder, "--jobs", "16",
                        "--only", ",".join(SLOW_ITEMS), "--json", report_path, timeout=1800)
    finally:
        remove_tree(folder)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    main, bonus = (sum(item.points for item in RUBRIC.items if item.name in SLOW_ITEMS and str(item.section) == section)
                   for section in ("main", "bonus"))
    assert sum(len(item["cases"]) for item in report["items"]) == 24
    assert report["totals"] == {"main": main, "main_max": MAIN_MAX, "bonus": bonus, "bonus_max": BONUS_MAX}, \
        "\n".join(case["message"] for item in report["items"] for case in item["cases"] if case["message"])[:3000]
    limits = report["limits"]
    assert (limits["jobs"], limits["cpus"], limits["cpu_seconds"]) == (16, 0.5, 10.0)
    assert limits["wall_seconds"] == 10 * (16 / 0.5) * WALL_FACTOR
    assert "cgroup quota 0.5 CPU → 1 job" in limits["capacity"]
    assert re.search(r"^sandbox: each case may use 10 s of CPU, at most 640 s of wall-clock time; 16 jobs at once, "
                     r"this machine: \d+ CPUs? \(.*cgroup quota 0\.5 CPU → 1 job\)$", done.stdout, re.M), done.stdout


@pytest.mark.slow
def test_a_looping_submission_still_times_out_by_its_cpu_time_on_half_a_cpu(half_cpu, tmp_path):
    report_path = tmp_path / "report.json"
    done = half_cpu(sys.executable, ROOT / "runner.py", "--submission", submission("hostile_loop_forward"),
                    "--only", "Flatten,Upsampling1d", "--jobs", "16", "--timeout", "2", "--json", report_path,
                    timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    items = {item["name"]: item for item in json.loads(report_path.read_text())["items"]}
    assert items["Upsampling1d"]["points"] == MAX_POINTS["Upsampling1d"]
    first = items["Flatten"]["cases"][0]
    assert items["Flatten"]["points"] == 0 and first["status"] == "timeout", first
    assert "timed out while calling forward (step 1): used 2 s of CPU (infinite loop, or far too slow)" \
        in first["message"], first["message"]


@pytest.mark.slow
def test_a_case_starved_by_processes_the_grader_does_not_know_of_is_not_a_timeout(half_cpu, tmp_path):
    """Four processes spinning in the same 0.5-CPU cgroup (a busy machine: nothing the jobs / CPUs formula
    sees): a case that computes 1 s of CPU gets about a tenth of a CPU, about 10 s of wall-clock time,
    past its backstop of 2 s x 2 x 2 = 8 s; the time it waited for a CPU does not count, so it passes."""
    folder = complete_copy()
    spinners = []
    try:
        flatten = folder / "mytorch" / "flatten.py"
        flatten.write_text(flatten.read_text().replace(
            "    def forward(self, A):\n",
            "    def forward(self, A):\n        import time\n        end = time.process_time() + 1.0\n"
            "        while time.process_time() < end:\n            pass\n", 1))
        spinners = [half_cpu.start("sh", "-c", "while :; do :; done") for _ in range(4)]
        report_path = tmp_path / "report.json"
        done = half_cpu(sys.executable, ROOT / "runner.py", "--submission", folder, "--only", "Flatten", "--jobs", "1",
                        "--timeout", "2", "--json", report_path, timeout=900)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
        remove_tree(folder)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    flatten = report["items"][0]
    assert report["limits"]["wall_seconds"] == 2 * 2 * WALL_FACTOR
    assert flatten["points"] == MAX_POINTS["Flatten"], [case["message"] for case in flatten["cases"]]


@pytest.mark.slow
def test_a_batch_worker_knows_how_many_workers_share_the_machine(tmp_path):
    """Each worker grades with one job, but its cases' backstop follows the batch's --jobs over this
    machine's CPUs (and its report's header says so), as a Dask worker's follows its host's."""
    subs = tmp_path / "subs"
    folder = complete_copy()
    try:
        (subs / "alice").mkdir(parents=True)
        (folder / "mytorch").rename(subs / "alice" / "mytorch")
    finally:
        remove_tree(folder)
    done = subprocess.run([sys.executable, str(ROOT / "runner.py"), "batch", str(subs), "--out", str(tmp_path / "out"),
                           "--jobs", "8", "--timeout", "1.5"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "reports" / "alice.json").read_text())
    assert report["totals"]["main"] == MAIN_MAX
    assert report["limits"]["jobs"] == 8 and report["limits"]["cpu_seconds"] == 1.5
    assert report["limits"]["wall_seconds"] == round(1.5 * available().contention(8) * WALL_FACTOR, 3)
