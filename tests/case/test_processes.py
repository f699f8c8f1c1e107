"""autograder/case/processes.py: the one process-tree walker (descendants, stop_descendants, kill_tree,
kill_below), used by the fork server's grader side (sandbox/forkserver.py) and the batch (batch/workers.py)."""
import os
import subprocess
import sys
import time

import pytest

from autograder.case.processes import descendants, descendants_by_parent, kill_below, kill_tree

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="the walker reads Linux's /proc")

# The root (argv[1]: a file every process appends its pid to), a child, a grandchild in a session of
# its own, and a great-grandchild that keeps forking sleeping children: it forks while it is walked.
TREE = r"""
import os, sys, time
def note(generation):
    with open(sys.argv[1], "a") as log:
        log.write(f"{generation} {os.getpid()}\n")
note(0)
if os.fork() == 0:
    note(1)
    if os.fork() == 0:
        os.setsid()
        note(2)
        if os.fork() == 0:
            note(3)
            for _ in range(3000):
                if os.fork() == 0:
                    note(4)
                    time.sleep(300)
                    os._exit(0)
                time.sleep(0.002)
            time.sleep(300)
        time.sleep(300)
    time.sleep(300)
time.sleep(300)
"""


def noted(log):
    """{pid: generation} of every process of the tree that has written its line so far."""
    lines = log.read_text().split("\n") if log.exists() else []
    return {int(pid): int(generation) for generation, pid in (line.split() for line in lines if line)}


def running(pid):
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def start_tree(log):
    """The tree, once its four generations are up and the last one has forked a few children."""
    root = subprocess.Popen([sys.executable, "-c", TREE, str(log)], start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        generations = list(noted(log).values())
        if set(generations) >= {0, 1, 2, 3} and generations.count(4) >= 5:
            return root
        time.sleep(0.01)
    root.kill()
    pytest.fail(f"the tree did not start: {noted(log)}")


def still_running(log, spared=(), seconds=10):
    """The tree's processes (every one it ever noted, those forked during the kill too) still running:
    as soon as only ``spared`` ones are, else once ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        left = {pid: generation for pid, generation in noted(log).items() if running(pid)}
        if set(left) <= set(spared) or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def kill_all(log):
    for pid in noted(log):
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def test_descendants_finds_three_generations_in_sessions_of_their_own(tmp_path):
    log = tmp_path / "pids"
    root = start_tree(log)
    try:
        below = set(descendants(root.pid))
        assert {pid for pid, generation in noted(log).items() if generation in (1, 2, 3)} <= below
        assert root.pid not in below
        assert set(descendants_by_parent(root.pid)) >= {pid for pid, g in noted(log).items() if g in (1, 2, 3)}
    finally:
        kill_all(log)
        root.wait()


def test_kill_tree_kills_every_generation_and_what_is_forked_while_it_walks(tmp_path):
    log = tmp_path / "pids"
    root = start_tree(log)
    try:
        kill_tree(root.pid)
        root.wait(timeout=10)
        assert still_running(log) == {}
    finally:
        kill_all(log)
        root.wait()


def test_kill_below_spares_the_root_only(tmp_path):
    """The batch worker's own stop (SIGTERM): everything below it dies, it goes on to clean up and exit."""
    log = tmp_path / "pids"
    root = start_tree(log)
    try:
        kill_below(root.pid)
        assert still_running(log, spared={root.pid}) == {root.pid: 0}
    finally:
        kill_all(log)
        root.wait()
