"""autograder/case/namespaces.py: each case's own IPC namespace (and, under a root grader, PID namespace).

Graded for real: a probe submission reports, from inside each Flatten case, its process id
and the identity of its namespaces (``/proc/self/ns/*``, which a case may readlink); the
test compares them with its own and across cases.
"""
import ctypes
import json
import os
import re
import shutil

import pytest

from helpers import complete_copy, run_runner

PROBE = '''
import os
class Flatten:
    def forward(self, A):
        raise RuntimeError("PROBE " + " ".join([str(os.getpid()), os.readlink("/proc/self/ns/ipc"),
                                                os.readlink("/proc/self/ns/pid")]))
    def backward(self, dLdZ):
        raise RuntimeError("unused")
'''
IS_ROOT = os.geteuid() == 0


def user_namespaces_work():
    """Whether this user may make a user namespace and an IPC namespace in it (what a non-root server does)."""
    pid = os.fork()
    if pid == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        os._exit(0 if libc.unshare(0x10000000) == 0 and libc.unshare(0x08000000) == 0 else 1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    folder = complete_copy()
    try:
        (folder / "mytorch" / "flatten.py").write_text(PROBE)
        json_path = tmp_path_factory.mktemp("namespaces") / "report.json"
        run = run_runner("--submission", folder, "--only", "Flatten", "--sandbox", "linux", json_path=json_path)
    finally:
        shutil.rmtree(folder)
    assert run.report is not None, run.stdout + run.stderr
    probes = re.findall(r"PROBE (\d+) (ipc:\[\d+\]) (pid:\[\d+\])", json.dumps(run.report))
    assert len(probes) == 3, run.stdout  # one per Flatten case
    return run, probes


def test_every_case_has_an_ipc_namespace_of_its_own(probed):
    run, probes = probed
    if not IS_ROOT and not user_namespaces_work():
        assert run.report["sandbox"]["namespaces"] == []
        assert run.report["sandbox"]["namespaces_missing"]
        assert "namespaces" not in run.stdout.splitlines()[2]
        pytest.skip("this kernel gives a non-root user no user namespace: the header says so, no second layer")
    ipc = [namespace for _, namespace, _ in probes]
    assert os.readlink("/proc/self/ns/ipc") not in ipc  # (numbers of freed namespaces are reused: not compared)
    assert "ipc" in run.report["sandbox"]["namespaces"]
    assert re.search(r"^sandbox: linux backend, .*own IPC (and PID )?namespaces, audit hook", run.stdout, re.M)


@pytest.mark.skipif(not IS_ROOT, reason="only a root grader's cases get PID namespaces (see autograder/case/namespaces.py)")
def test_under_a_root_grader_every_case_is_process_1_of_a_pid_namespace_of_its_own(probed):
    run, probes = probed
    assert [int(pid) for pid, _, _ in probes] == [1, 1, 1]  # each the first process of its namespace: a new one
    assert os.readlink("/proc/self/ns/pid") not in [namespace for _, _, namespace in probes]
    assert run.report["sandbox"]["namespaces"] == ["ipc", "pid"]
    assert "own IPC and PID namespaces" in run.stdout
