"""Native code, sub-interpreters, installed packages and raw system calls (issue #10, classes 2 and 3).

Each ``tests/submissions/hostile_native_<name>/`` holds one hostile ``mytorch/flatten.py``
laid over complete/ (see helpers.submission); some get a compiled module added here at
test time.  Every one computes the right answer once its attack has run, so before these
defences existed it scored full points (numpy: where the system libraries it links were
readable too); now Flatten must score 0 with the sandbox's reason in every case and
Upsampling1d (which never imports flatten) must keep full points.

Some of them (ipc, metadata, scheduling: issue 22) first switch the audit hook off with native
code, as a determined student did (tests/submissions/_hook_off.py, copied into each as
``mytorch/_hook_off.py``), so that only the kernel layers stand; each case tries every call of
its attack and says what the kernel answered, and the tests then check that nothing changed
outside the case (no System V object left, the grader's file modes, the target process's
priority and affinity).

The seccomp filter itself is tried directly by ``tests/native_helper.py probe`` (what it
refuses) and ``stdlib-probe`` (the standard library keeps working under it, on every
supported CPython), checked against the kernel's headers and simulated for both
architectures; a kernel without Landlock and seccomp is simulated by
``native_helper.py hide-kernel-layers``.
"""
import importlib.machinery
import importlib.util
import json
import marshal
import os
import re
import shutil
import struct
import subprocess
import sys
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import pytest

from helpers import COMPLETE, ROOT, SUBMISSIONS, landlock_abi, python_of, submission, variant_files
from autograder.case import syscall_filter
from autograder.sandbox.run_as import case_user


HELPER = ROOT / "tests" / "native_helper.py"
REPORT_SCHEMA = json.loads((ROOT / "autograder" / "contract" / "schemas" / "report.schema.json").read_text())
ONLY = ("Flatten", "Upsampling1d")
TIMEOUT = 5  # seconds per case: numpy's import on a loaded machine, were it ever allowed
RUN_LIMIT = 240  # seconds for one runner.py; cases here end in well under a second each
NOT_ALLOWED = "is not allowed while grading"
EXTENSION_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")
SITE_PACKAGES = Path(os.__file__).resolve().parent / "site-packages"
LOAD_REFUSED = rf"sandbox: loading the compiled module '{{name}}' from '/\S+/{{file}}\S*\.so' {NOT_ALLOWED}"
CASES = ("one_dimensional", "two_dimensional", "batch1_channel1")
BYTECODE_REFUSED = r"\(compiled bytecode is read only from the standard library\)"
SUBINTERPRETERS = "_interpreters" if sys.version_info >= (3, 13) else "_xxsubinterpreters"  # renamed in 3.13
FAST_SOURCE = "def flatten_rows(A):\n    return [[x for x in _walk(a)] for a in A]\n\n" \
              "def _walk(a):\n    if isinstance(a, list):\n        for b in a:\n            yield from _walk(b)\n" \
              "    else:\n        yield a\n"

NATIVE_SOURCE = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static PyObject *udp(PyObject *self, PyObject *unused) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return PyLong_FromLong(-errno);
    struct sockaddr_in to = {0};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    long sent = sendto(fd, "HOSTILE", 7, 0, (struct sockaddr *)&to, sizeof to);
    close(fd);
    return PyLong_FromLong(sent < 0 ? -errno : sent);
}

static PyObject *fork_once(PyObject *self, PyObject *unused) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    return PyLong_FromLong(pid < 0 ? -errno : pid);
}

static PyMethodDef methods[] = {{"udp", udp, METH_NOARGS, NULL}, {"fork", fork_once, METH_NOARGS, NULL},
                                {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods};
PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
"""


def build_native_module(package):
    """Compile NATIVE_SOURCE into ``package/_native<EXT_SUFFIX>``; None, or why it cannot be built here."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    include = Path(sysconfig.get_paths()["include"])
    if compiler is None:
        return "no C compiler (gcc or cc) to build the shipped extension module"
    if not (include / "Python.h").exists():
        return f"no Python.h in {include} to build the shipped extension module"
    source = package / "_native.c"
    source.write_text(NATIVE_SOURCE)
    done = subprocess.run([compiler, "-shared", "-fPIC", f"-I{include}", "-o",
                           str(package / f"_native{EXTENSION_SUFFIX}"), str(source)],
                          capture_output=True, text=True, timeout=120)
    source.unlink()
    return None if done.returncode == 0 else f"the C compiler failed:\n{done.stderr[-2000:]}"


def smuggled_extension():
    """The standard compiled module hostile_native_extension smuggles in: the first of its SMUGGLED
    that is a file here (Debian's own Python builds _socket into the interpreter), and its path."""
    for name in ("_socket", "mmap", "_ctypes"):
        spec = None if name in sys.builtin_module_names else importlib.machinery.PathFinder.find_spec(name)
        if spec is not None and spec.origin and spec.origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
            return name, spec.origin
    return None, None


SMUGGLED, SMUGGLED_PATH = smuggled_extension()


def prepare_extension(package):
    if SMUGGLED is None:
        return "none of _socket, mmap, _ctypes is a compiled module file in this Python"
    shutil.copyfile(SMUGGLED_PATH, package / f"{SMUGGLED}{EXTENSION_SUFFIX}")
    return None


def prepare_bytecode(package):
    code = compile(FAST_SOURCE, "_fast.py", "exec")
    (package / "_fast.pyc").write_bytes(importlib.util.MAGIC_NUMBER + b"\0" * 12 + marshal.dumps(code))


def needs_numpy_in_base_site_packages(package):
    if not (SITE_PACKAGES / "numpy" / "__init__.py").exists():
        return f"no numpy in {SITE_PACKAGES}: nothing there for a submission to break out to"
    return None


HOOK_OFF = SUBMISSIONS / "_hook_off.py"  # the one source of the audit-hook escape (see its docstring)


def load_hook_off():
    """tests/submissions/_hook_off.py as a module (its top level only defines things)."""
    spec = importlib.util.spec_from_file_location("hook_off", HOOK_OFF)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NATIVE = load_hook_off()
IPC_KEY, IPC_QUEUE = 0x6D797470, "mytorch-results"  # what hostile_native_ipc creates, were it allowed


def note(package, **values):
    """Add ``name=value`` lines to the built hostile's test_paths.txt (helpers.submission wrote it)."""
    with open(package.parent / "test_paths.txt", "a") as handle:
        handle.writelines(f"{name}={value}\n" for name, value in values.items())


def hook_off_copied(package):
    shutil.copyfile(HOOK_OFF, package / "_hook_off.py")


def ipc_objects():
    """{(kind, key, id)} of every System V object with hostile_native_ipc's key or created by the case's
    user (cuid), and its POSIX message queue."""
    user = case_user()
    uid = user["uid"] if user else os.getuid()
    found = set()
    for kind in ("shm", "msg", "sem"):
        table = Path("/proc/sysvipc") / kind
        if table.exists():
            rows = [row.split() for row in table.read_text().splitlines()]
            header, rows = rows[0], [row for row in rows[1:] if row]
            found |= {(kind, row[0], row[1]) for row in rows
                      if int(row[0]) == IPC_KEY or int(row[header.index("cuid")]) == uid}
    if Path("/dev/mqueue", IPC_QUEUE).exists():
        found.add(("mqueue", IPC_QUEUE, ""))
    return found


def prepare_ipc(package):
    hook_off_copied(package)
    IPC_BEFORE.update(ipc_objects())


def file_state(path):
    status = os.lstat(path)
    return {"mode": oct(status.st_mode), "uid": status.st_uid, "gid": status.st_gid, "size": status.st_size,
            "mtime": status.st_mtime_ns, "xattrs": os.listxattr(path) if hasattr(os, "listxattr") else []}


def prepare_metadata(package):
    """A mode-600 file of the grader and a classmate's folder, both outside the working folder."""
    hook_off_copied(package)
    grader_file, classmate = package.parent / "grader_file", package.parent / "classmate"
    grader_file.write_text("the grader's own, mode 600\n")
    grader_file.chmod(0o600)
    classmate.mkdir()
    (classmate / "flatten.py").write_text("# a classmate's submission\n")
    classmate.chmod(0o755)
    note(package, grader_file=grader_file, classmate=classmate)
    METADATA_BEFORE.update({path: file_state(path) for path in (grader_file, classmate)})


def ioprio(pid):
    """The I/O priority of ``pid`` (ioprio_get: Python has no function for it)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    number = syscall_filter.SYSCALLS["ioprio_get"][0 if syscall_filter.machine_arch() == "x86_64" else 1]
    return libc.syscall(ctypes.c_long(number), ctypes.c_long(1), ctypes.c_long(pid))


def process_state(pid):
    return {"nice": os.getpriority(os.PRIO_PROCESS, pid), "cpus": os.sched_getaffinity(pid),
            "policy": os.sched_getscheduler(pid), "ioprio": ioprio(pid),
            "limits": Path(f"/proc/{pid}/limits").read_text()}  # (prlimit of another user needs CAP_SYS_RESOURCE)


def prepare_scheduling(package):
    """The target: a process of the case's own user (under a root grader, uid 65534: a classmate's
    concurrent case), whose priority, affinity, I/O priority and limits the hostile tries to change."""
    hook_off_copied(package)
    user = case_user()
    identity = {"user": user["uid"], "group": user["gid"], "extra_groups": []} if user else {}
    target = subprocess.Popen(["sleep", "900"], **identity)
    TARGETS.append(target)
    note(package, target=target.pid)
    SCHEDULING_BEFORE.update(process_state(target.pid))


IPC_BEFORE, METADATA_BEFORE, SCHEDULING_BEFORE, TARGETS = set(), {}, {}, []
HOOK_OFF_REFUSED = r"PermissionError raised while calling forward[\s\S]*PermissionError: \[Errno 1\] " \
                   r"with the audit hook off, the kernel refused "


def refused(*calls, optional=()):
    """The message of a case whose every call the kernel refused with EPERM (those this architecture has);
    the ``optional`` ones, last, may be missing (aimed at the server and init: a case in a PID namespace of
    its own does not try them)."""
    names = [call for call in calls if "(" in call or NATIVE.available(call)]
    return (HOOK_OFF_REFUSED + re.escape(", ".join(f"{name} EPERM" for name in names))
            + "".join(f"(?:{re.escape(f', {name} EPERM')})?" for name in optional) + r"(\n|$)")


# name: (prepare the built package: returns None or why the test must be skipped, one regex per case)
HOSTILES = {
    "extension": (prepare_extension, [
        LOAD_REFUSED.format(name=rf"mytorch\.{SMUGGLED}", file=rf"mytorch/{SMUGGLED}"),
        LOAD_REFUSED.format(name=rf"net\.{SMUGGLED}", file=rf"{SMUGGLED}"),  # a copy in the working folder
        LOAD_REFUSED.format(name=rf"mytorch\.{SMUGGLED}", file=rf"lib-dynload/{SMUGGLED}")]),
    "compiled": (build_native_module, [LOAD_REFUSED.format(name=r"mytorch\._native", file=r"mytorch/_native")] * 3),
    "subinterpreter": (None, [
        LOAD_REFUSED.format(name=rf"mytorch\.{SUBINTERPRETERS}", file=rf"lib-dynload/{SUBINTERPRETERS}"),
        LOAD_REFUSED.format(name=rf"x\.{SUBINTERPRETERS}", file=rf"lib-dynload/{SUBINTERPRETERS}"),
        LOAD_REFUSED.format(name=rf"sub\.{SUBINTERPRETERS}", file=SUBINTERPRETERS)]),  # a copy
    "bytecode": (prepare_bytecode, [
        rf"sandbox: reading '/\S+/mytorch/_fast\.pyc' {NOT_ALLOWED} {BYTECODE_REFUSED}",
        rf"sandbox: reading '/\S+/fast_copy\.pyc' {NOT_ALLOWED} {BYTECODE_REFUSED}",
        rf"sandbox: reading '/\S+/fast_loaded\.pyc' {NOT_ALLOWED} {BYTECODE_REFUSED}"]),
    "numpy": (needs_numpy_in_base_site_packages, [
        r"while calling forward \(step 1\): your code imports 'numpy', which is not available while grading",
        r"while calling forward \(step 1\): your code imports 'numpy', which is not available while grading",
        rf"sandbox: reading '/\S+/site-packages/numpy/__init__\.py' {NOT_ALLOWED} \(installed packages: "
        rf"mytorch may only use the Python standard library\)"]),
    "syscalls": (None, [r"PermissionError raised while calling forward[\s\S]*"
                        r"PermissionError: \[Errno 1\] Operation not permitted"] * 2 + [
        # from a thread: refused by seccomp where the case may start threads; where it may not (the
        # process limit of 0 counts threads, and applies whenever cases do not run as root), the thread
        # never starts
        r"PermissionError raised while calling forward[\s\S]*PermissionError: \[Errno 1\] Operation not permitted"
        r"|RuntimeError raised while calling forward[\s\S]*RuntimeError: can't start new thread"]),
    "ipc": (prepare_ipc, [
        refused("shmget", "shmat", "shmctl", "shmdt"),
        refused("msgget", "msgsnd", "msgrcv", "msgctl"),
        refused("semget", "semop", "semtimedop", "semctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
                "mq_notify", "mq_getsetattr")]),
    "metadata": (prepare_metadata, [
        refused("chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat", "utime",
                "utimes", "utimensat", "futimesat", "setxattr", "lsetxattr", "fsetxattr", "removexattr", "truncate",
                "ioctl(FS_IOC_SETFLAGS)"),
        refused("chmod", "fchmodat", "chown", "fchownat", "utimensat", "setxattr", "truncate"),
        refused("chmod", "fchmodat", "utimes", "utimensat")]),
    "scheduling": (prepare_scheduling, [
        refused("setpriority(target)", "getpriority(target)", "setpriority(PRIO_PGRP)", "setpriority(PRIO_USER)",
                "getpriority(PRIO_USER)", optional=("setpriority(server)", "setpriority(init)")),
        refused("sched_setaffinity(target)", "sched_getaffinity(target)", "sched_setscheduler(target)",
                "sched_setparam(target)", "sched_setattr(target)", "sched_getscheduler(target)",
                "sched_getparam(target)", "sched_getattr(target)", "sched_rr_get_interval(target)",
                optional=("sched_setaffinity(server)", "sched_setaffinity(init)")),
        refused("ioprio_set(target)", "ioprio_get(target)", "ioprio_set(IOPRIO_WHO_PGRP)",
                "ioprio_set(IOPRIO_WHO_USER)", "prlimit64(target, write)", "prlimit64(target, read)",
                optional=("ioprio_set(server)", "prlimit64(server)", "ioprio_set(init)", "prlimit64(init)"))]),
}


def filter_probe(*wrapper):
    """Run native_helper.py probe (under ``wrapper``); its JSON answer."""
    done = subprocess.run([*wrapper, sys.executable, str(HELPER), "probe"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def kernel_has_seccomp():
    """Whether this machine can have the case filter; the reason if not."""
    answer = filter_probe()
    return answer.get("unavailable")


def grade(name, workdir, *wrapper, only=ONLY):
    """``runner.py`` on a hostile submission, the complete one or a folder; (completed process, report or None)."""
    workdir.mkdir(parents=True, exist_ok=True)
    folder = name if isinstance(name, Path) else COMPLETE if name == "complete" \
        else submission(f"hostile_native_{name}")
    report_path = workdir / "report.json"
    done = subprocess.run([*wrapper, sys.executable, str(ROOT / "runner.py"), "--submission", str(folder),
                           "--only", ",".join(only), "--timeout", str(TIMEOUT), "--json", str(report_path)],
                          cwd=workdir, capture_output=True, text=True, timeout=RUN_LIMIT,
                          env={**os.environ, "PYTEST_ADDOPTS": "-p no:hypothesispytest"})
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return done, report


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every hostile graded once, three at a time, in the background; ``runs[name]`` waits for one."""
    prepared, futures = {}, {}
    for name, (prepare, _) in HOSTILES.items():
        skip = prepare(submission(f"hostile_native_{name}") / "mytorch") if prepare else None
        prepared[name] = skip
    try:
        with ThreadPoolExecutor(max_workers=3) as executor:
            for name, skip in prepared.items():
                if skip is None:
                    futures[name] = executor.submit(grade, name, tmp_path_factory.mktemp(name))
            yield {name: (prepared[name], futures.get(name)) for name in HOSTILES}
    finally:
        for target in TARGETS:
            target.kill()
            target.wait()


def check_graded(done, report):
    assert done.returncode == 0, done.stderr[-3000:]
    assert report is not None and report["status"] == "graded", done.stderr[-3000:]
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(report)
    return {item["name"]: item for item in report["items"]}


@pytest.mark.slow  # grades native hostile submissions or probes every interpreter
@pytest.mark.parametrize("name", list(HOSTILES))
def test_native_hostile_scores_zero_with_the_reason(runs, name):
    skip, future = runs[name]
    if skip is not None:
        pytest.skip(skip)
    done, report = future.result()
    items = check_graded(done, report)
    assert items["Upsampling1d"]["points"] == items["Upsampling1d"]["max_points"], \
        "\n".join(case["message"] for case in items["Upsampling1d"]["cases"])
    flatten = items["Flatten"]
    assert flatten["points"] == 0
    assert [case["case"] for case in flatten["cases"]] == list(CASES)
    for case, reason in zip(flatten["cases"], HOSTILES[name][1]):
        assert case["status"] == "error", case
        assert re.search(reason, case["message"]), f"{case['case']}: expected /{reason}/ in:\n{case['message']}"


def graded(runs, name):
    """The finished grading of hostile ``name`` (skipped where it could not be built here)."""
    skip, future = runs[name]
    if skip is not None:
        pytest.skip(skip)
    return future.result()


@pytest.mark.slow  # grades native hostile submissions or probes every interpreter
def test_no_ipc_object_outlives_the_hostile_cases(runs):
    """hostile_native_ipc's segment, queue, semaphore set and POSIX queue were never created: no System V
    object has its key, and the case's user has none that was not there before."""
    graded(runs, "ipc")
    assert not {found for found in IPC_BEFORE if found[1] in (str(IPC_KEY), IPC_QUEUE)}, \
        f"left by an earlier run (remove them: ipcrm, /dev/mqueue): {sorted(IPC_BEFORE)}"
    assert ipc_objects() - IPC_BEFORE == set()


@pytest.mark.slow  # grades native hostile submissions or probes every interpreter
def test_the_graders_files_keep_their_metadata(runs):
    """hostile_native_metadata changed neither the grader's mode-600 file nor the classmate's folder."""
    graded(runs, "metadata")
    assert {path: file_state(path) for path in METADATA_BEFORE} == METADATA_BEFORE
    assert {path: oct(path.stat().st_mode & 0o777) for path in METADATA_BEFORE} == {
        path: oct(0o600 if path.name == "grader_file" else 0o755) for path in METADATA_BEFORE}


@pytest.mark.slow  # grades native hostile submissions or probes every interpreter
def test_other_processes_keep_their_scheduling(runs):
    """hostile_native_scheduling changed nothing of the target process (nor, by its own account, of the server)."""
    graded(runs, "scheduling")
    target = TARGETS[0]
    assert target.poll() is None, "the target process died"
    assert process_state(target.pid) == SCHEDULING_BEFORE


def test_the_hook_off_escape_names_the_filters_numbers():
    """tests/submissions/_hook_off.py's system-call numbers are the filter's (one table checks the other)."""
    assert {name: syscall_filter.SYSCALLS[name] for name in NATIVE.NUMBERS} == NATIVE.NUMBERS


STANDARD_LIBRARY_USER = """
\"\"\"Flatten, with standard-library modules whose compiled parts need system libraries (libz, liblzma...).\"\"\"
import base64, binascii, bz2, decimal, hashlib, json, lzma, math, zlib

from .tensor import flatten, reshape, shape


class Flatten:
    def forward(self, A):
        packed = zlib.compress(json.dumps(A).encode())
        for codec in (bz2, lzma):
            packed = zlib.compress(codec.decompress(codec.compress(zlib.decompress(packed))))
        A = json.loads(zlib.decompress(base64.b64decode(base64.b64encode(packed))))
        assert hashlib.sha256(b"x").hexdigest() and binascii.crc32(b"x") and math.isfinite(decimal.Decimal(1))
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
"""


@pytest.mark.slow  # grades native hostile submissions or probes every interpreter
def test_standard_library_modules_that_need_system_libraries_load(tmp_path):
    """zlib, binascii (so base64), _hashlib, _lzma, _bz2 link libraries that Landlock keeps cases from reading."""
    folder = tmp_path / "submission"
    shutil.copytree(COMPLETE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "mytorch" / "flatten.py").write_text(STANDARD_LIBRARY_USER)
    done, report = grade(folder, tmp_path / "run")
    items = check_graded(done, report)
    assert items["Flatten"]["points"] == items["Flatten"]["max_points"], \
        "\n".join(case["message"] for case in items["Flatten"]["cases"])


@pytest.mark.slow  # grades native hostile submissions or probes every interpreter
def test_report_names_the_kernel_layers(tmp_path):
    """The report header and the JSON report say which kernel layers confined the cases."""
    done, report = grade("complete", tmp_path, only=("Upsampling1d",))
    check_graded(done, report)
    assert report["totals"]["main"] == 2.5
    abi, missing = landlock_abi(), kernel_has_seccomp()
    arch = "" if missing else syscall_filter.machine_arch()
    assert report["sandbox"]["landlock"] == abi
    assert report["sandbox"]["seccomp"] == arch
    header = done.stdout.split("\n\n")[0]
    spaces = " and ".join(name.upper() for name in report["sandbox"]["namespaces"])  # tests/case/test_namespaces.py
    if abi and arch:
        assert (f"sandbox: linux backend, Landlock (ABI {abi}), seccomp ({arch}), "
                f"{f'own {spaces} namespaces, ' if spaces else ''}audit hook, resource limits") in header
        assert "WARNING" not in header
    else:
        assert "sandbox: WARNING" in header


@pytest.mark.slow  # grades native hostile submissions or probes every interpreter
def test_without_landlock_and_seccomp_the_header_warns_and_the_audit_hook_still_holds(tmp_path):
    """As on a kernel without either: every case says so, grading works, the import layer alone refuses."""
    missing = kernel_has_seccomp()
    if missing:
        pytest.skip(f"simulating a kernel without seccomp needs seccomp ({missing})")
    hide = [sys.executable, str(HELPER), "hide-kernel-layers"]
    assert filter_probe(*hide) == {"unavailable": "the kernel refused the seccomp filter (Invalid argument)"}
    skip = prepare_extension(submission("hostile_native_extension") / "mytorch")
    if skip is not None:
        pytest.skip(skip)
    done, report = grade("extension", tmp_path / "extension", *hide)
    items = check_graded(done, report)
    sandbox = report["sandbox"]
    spaces = " and ".join(name.upper() for name in sandbox.pop("namespaces"))  # tests/case/test_namespaces.py
    sandbox.pop("namespaces_missing")
    assert sandbox == {"landlock": 0, "seccomp": "", "backend": "linux", "rlimits": True,
                       "seccomp_missing": "the kernel refused the seccomp filter (Invalid argument)"}
    header = done.stdout.split("\n\n")[0]
    assert f"sandbox: linux backend, {f'own {spaces} namespaces, ' if spaces else ''}audit hook, resource limits" \
        in header
    assert "sandbox: WARNING: no Landlock in this kernel" in header
    assert "sandbox: WARNING: no seccomp filter (the kernel refused the seccomp filter (Invalid argument))" in header
    assert items["Upsampling1d"]["points"] == items["Upsampling1d"]["max_points"]
    assert items["Flatten"]["points"] == 0
    for case, reason in zip(items["Flatten"]["cases"], HOSTILES["extension"][1]):
        assert re.search(reason, case["message"]), case["message"]


def test_the_filter_refuses_what_it_must_and_allows_threads():
    """native_helper.py probe: the filter alone, on a process that owns the files it tries to change and
    could otherwise (as the grader's user) change its parent's scheduling: every refusal is the filter's."""
    answer = filter_probe()
    if "unavailable" in answer:
        pytest.skip(f"no seccomp filter on this machine: {answer['unavailable']}")
    refused = {probe: result for probe, result in answer.items() if result != "ok"}
    assert refused == {"socket inet": "EPERM", "socket unix": "EPERM", "socketpair": "EPERM", "fork": "EPERM",
                       "execve": "EPERM", "kill parent": "EPERM", "kill group": "EPERM", "kill everyone": "EPERM",
                       "unshare": "EPERM", "ptrace": "EPERM", "pidfd_open parent": "EPERM", "TIOCSTI": "EPERM",
                       "setrlimit": "EPERM", "prlimit parent": "EPERM",
                       "shmget": "EPERM", "msgget": "EPERM", "semget": "EPERM", "mq_open": "EPERM",
                       "chmod own file": "EPERM", "fchmod own file": "EPERM", "chown own file": "EPERM",
                       "utime own file": "EPERM", "setxattr own file": "EPERM", "listxattr own file": "EPERM",
                       "truncate own file by path": "EPERM", "setpriority parent": "EPERM",
                       "getpriority parent": "EPERM", "getpriority user": "EPERM", "sched_setaffinity parent": "EPERM",
                       "sched_getaffinity parent": "EPERM", "sched_getscheduler init": "EPERM",
                       "ioprio_set parent": "EPERM", "prlimit read parent": "EPERM", "F_SETOWN": "EPERM",
                       "PR_SCHED_CORE": "EPERM",
                       "clone3": "ENOSYS", **({"x32 getpid": "EPERM"} if "x32 getpid" in answer else {})}
    assert {probe for probe, result in answer.items() if result == "ok"} == {
        "getrlimit", "kill self", "pthread_kill self", "thread", "read a file", "ftruncate own file", "nice self",
        "affinity self", "ioprio self"}


@pytest.mark.slow  # grades native hostile submissions or probes every interpreter
@pytest.mark.parametrize("version", ["3.10", "3.11", "3.12", "3.13"])
def test_the_standard_library_works_under_the_filter(version, tmp_path):
    """native_helper.py stdlib-probe: threads, selectors on a pipe, files in the working folder, randomness,
    hashing, clocks, signals to itself, facts about itself (os.cpu_count, os.nice(0), sched_getaffinity(0),
    resource.getrlimit), faulthandler, logging... all work with the filter installed, on every CPython."""
    done = subprocess.run([python_of(version), str(HELPER), "stdlib-probe", str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    if "unavailable" in answer:
        pytest.skip(f"no seccomp filter on this machine: {answer['unavailable']}")
    assert answer == {"filter in force": "ok", "threads": "ok", "pipes and selectors": "ok", "files": "ok",
                      "randomness and hashing": "ok", "values": "ok", "clocks and signals": "ok",
                      "process facts": "ok", "runtime": "ok"}


def test_the_audit_hook_alone_refuses_sub_interpreters_code_objects_packages_and_renamed_modules():
    """Each refusal of the import/audit layer on its own, with no kernel layer behind it."""
    done = subprocess.run([sys.executable, "-I", "-S", str(HELPER), "guard-probe"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    # _xxsubinterpreters replaces the hook's PermissionError with its own RuntimeError (3.10, 3.11; the
    # probe does not try on 3.12, which crashes, nor on 3.13, whose hook never hears of it)
    if sys.version_info < (3, 12):
        assert answer["sub-interpreter"] == "RuntimeError: interpreter creation failed"
    assert answer["sub-interpreter module"] == (f"ImportError: sandbox: importing '{SUBINTERPRETERS}' {NOT_ALLOWED} "
                                                f"(sub-interpreters)")
    assert answer["code object"] == f"PermissionError: sandbox: building code objects by hand {NOT_ALLOWED}"
    assert re.fullmatch(rf"PermissionError: sandbox: reading '\S+/site-packages/x\.py' {NOT_ALLOWED} "
                        rf"\(installed packages: mytorch may only use the Python standard library\)",
                        answer["site-packages"])
    standard = answer["standard"]
    assert answer["standard as itself"] == "ok"
    assert re.fullmatch(LOAD_REFUSED.format(name=rf"x\.{standard}", file=rf"lib-dynload/{standard}")
                        + r" \(only the standard library's own compiled modules load, under their own names\)",
                        answer["standard as x.standard"].removeprefix("ImportError: "))


def test_landlock_hides_site_packages_inside_a_readable_folder(tmp_path):
    """The file-system layer alone (no audit hook): hidden directly and through a link, siblings readable."""
    done = subprocess.run([sys.executable, str(HELPER), "hide-probe", str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    if "unavailable" in answer:
        pytest.skip(answer["unavailable"])
    library, link = tmp_path.resolve() / "lib" / "python", tmp_path.resolve() / "link" / "python"
    assert answer == {str(library / "mod.py"): "ok", str(library / "site-packages" / "pkg.py"): "EACCES",
                      str(link / "mod.py"): "ok", str(link / "site-packages" / "pkg.py"): "EACCES",
                      str(HELPER): "ok", str(library / "site-packages"): "EACCES"}


def simulate(program, arch, number, *args, audit_arch=None):
    """What classic BPF ``program`` answers (a seccomp return value) for a system call ``number`` of
    ``arch`` (or of ``audit_arch``) with ``args``: the kernel's interpreter, for the opcodes the filter uses."""
    data = struct.pack("<IIQ6Q", number % 2 ** 32, audit_arch or syscall_filter.AUDIT_ARCH[arch], 0,
                       *[arg % 2 ** 64 for arg in (*args, 0, 0, 0, 0, 0, 0)[:6]])
    accumulator, index = 0, 0
    while True:
        code, jump_true, jump_false, k = program[index]
        if code == syscall_filter.BPF_RET_K:
            return k
        index += 1
        if code == syscall_filter.BPF_LD_W_ABS:
            accumulator = struct.unpack_from("<I", data, k)[0]
        elif code == syscall_filter.BPF_AND_K:
            accumulator &= k
        elif code == syscall_filter.BPF_JA:
            index += k
        elif code in (syscall_filter.BPF_JEQ_K, syscall_filter.BPF_JGE_K):
            hit = accumulator == k if code == syscall_filter.BPF_JEQ_K else accumulator >= k
            index += jump_true if hit else jump_false
        else:
            raise AssertionError(f"opcode {code:#x} at {index - 1}")


ALLOW, REFUSE, ENOSYS = syscall_filter.RET_ALLOW, syscall_filter.RET_ERRNO | 1, syscall_filter.RET_ERRNO | 38


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_the_filter_program_checks_the_architecture_first_and_stays_in_bounds(arch):
    program = syscall_filter.build_filter(arch, 4242)
    assert program[:4] == [(syscall_filter.BPF_LD_W_ABS, 0, 0, syscall_filter.OFFSET_ARCH),
                           (syscall_filter.BPF_JEQ_K, 1, 0, syscall_filter.AUDIT_ARCH[arch]),
                           (syscall_filter.BPF_RET_K, 0, 0, syscall_filter.RET_KILL_PROCESS),
                           (syscall_filter.BPF_LD_W_ABS, 0, 0, syscall_filter.OFFSET_NR)]
    assert len(program) < 4096
    for index, (code, jump_true, jump_false, k) in enumerate(program):
        if code == syscall_filter.BPF_JA:
            assert index + 1 + k < len(program)
        elif code & 0x07 == 0x05:  # a conditional jump: both targets inside the program
            assert index + 1 + max(jump_true, jump_false) < len(program)
        elif code == syscall_filter.BPF_LD_W_ABS:
            assert k in (syscall_filter.OFFSET_NR, syscall_filter.OFFSET_ARCH) or 16 <= k < 64 and k % 4 == 0
    assert program[-1][0] == syscall_filter.BPF_RET_K  # no way to run off the end
    assert simulate(program, arch, 39, audit_arch=0x40000003) == syscall_filter.RET_KILL_PROCESS  # i386's getpid


def test_every_system_call_has_exactly_one_verdict():
    """The allow-list audit: every call of both tables is allowed, checked, refused or ENOSYS, once."""
    groups = [*syscall_filter.ALLOWED.values(), *syscall_filter.REFUSED.values(), tuple(syscall_filter.CHECKED),
              syscall_filter.ENOSYS_CALLS]
    named = [name for group in groups for name in group]
    assert sorted(named) == sorted(set(named)), "a call in two groups"
    assert set(named) == set(syscall_filter.SYSCALLS)
    for column in (0, 1):
        numbers = [pair[column] for pair in syscall_filter.SYSCALLS.values() if pair[column] is not None]
        assert len(numbers) == len(set(numbers))
    assert len(syscall_filter.SYSCALLS) > 380  # both tables, not a selection


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_the_filter_answers_every_system_call_as_its_table_says(arch):
    """Simulated: each call's verdict, numbers in the table's gaps and above it ENOSYS, x32 EPERM."""
    program, column = syscall_filter.build_filter(arch, 4242), 0 if arch == "x86_64" else 1
    expected = {"allow": ALLOW, "EPERM": REFUSE, "ENOSYS": ENOSYS}
    known = set()
    for name, verdict in syscall_filter.verdicts().items():
        number = syscall_filter.SYSCALLS[name][column]
        if number is None:
            continue
        known.add(number)
        if isinstance(verdict, str):
            assert simulate(program, arch, number) == expected[verdict], name
    for number in set(range(max(known) + 40)) - known:
        assert simulate(program, arch, number) == ENOSYS, number
    assert simulate(program, arch, 2 ** 31 - 1) == (REFUSE if arch == "x86_64" else ENOSYS)
    assert simulate(program, arch, -1) == (REFUSE if arch == "x86_64" else ENOSYS)
    if arch == "x86_64":
        assert simulate(program, arch, syscall_filter.X32_SYSCALL_BIT + 39) == REFUSE  # x32 getpid


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_the_filter_checks_arguments_of_the_calls_it_allows_for_the_case_itself(arch):
    """Simulated, pid 4242: threads only, signals and scheduling aimed at the case itself only, reading
    its own limits only, no terminal injection, no signal owners, no core-scheduling cookies."""
    program, column = syscall_filter.build_filter(arch, 4242), 0 if arch == "x86_64" else 1

    def answer(name, *args):
        return simulate(program, arch, syscall_filter.SYSCALLS[name][column], *args)

    thread, fork = 0x3D0F00, 0x01200011  # glibc's pthread_create, fork
    assert [answer("clone", thread), answer("clone", fork), answer("clone", thread | 0x20000000)] == \
        [ALLOW, REFUSE, REFUSE]
    for name in ("kill", "tkill", "rt_sigqueueinfo", "tgkill", "rt_tgsigqueueinfo"):
        assert [answer(name, 4242, 9), answer(name, 4243, 9), answer(name, 0, 9), answer(name, -1, 9),
                answer(name, 4242 + 2 ** 32, 9)] == [ALLOW, REFUSE, REFUSE, REFUSE, ALLOW], name
    for name in ("sched_setaffinity", "sched_getaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr",
                 "sched_getscheduler", "sched_getparam", "sched_getattr", "sched_rr_get_interval"):
        assert [answer(name, 0), answer(name, 4242), answer(name, 1), answer(name, 4243)] == \
            [ALLOW, ALLOW, REFUSE, REFUSE], name
    for name, own, others in (("setpriority", 0, (1, 2)), ("getpriority", 0, (1, 2)),
                              ("ioprio_set", 1, (2, 3)), ("ioprio_get", 1, (2, 3))):
        assert [answer(name, own, 0, 7), answer(name, own, 4242, 7)] == [ALLOW, ALLOW], name
        assert [answer(name, own, 1, 7), answer(name, own, 4243, 7)] == [REFUSE, REFUSE], name
        assert [answer(name, which, 0, 7) for which in others] == [REFUSE, REFUSE], name
    assert [answer("prlimit64", 0, 7, 0, 0x7FFF0000), answer("prlimit64", 4242, 7, 0, 0x7FFF0000)] == [ALLOW, ALLOW]
    assert [answer("prlimit64", 0, 7, 0x7FFF0000, 0), answer("prlimit64", 0, 7, 2 ** 32, 0),
            answer("prlimit64", 1, 7, 0, 0x7FFF0000)] == [REFUSE, REFUSE, REFUSE]
    assert [answer("ioctl", 1, 0x5401), answer("ioctl", 1, 0x541B)] == [ALLOW, ALLOW]  # TCGETS, FIONREAD
    assert [answer("ioctl", 1, request) for request in (0x5412, 0x541C, 0x8901, 0x8902)] == [REFUSE] * 4
    assert [answer("ioctl", 3, request) for request in (0x40086602, 0x40046602, 0x401C5820, 0x40087602)] == \
        [REFUSE] * 4  # chattr: FS_IOC_SETFLAGS (and 32-bit), FS_IOC_FSSETXATTR, FS_IOC_SETVERSION
    assert [answer("ioctl", 3, 0x80086601), answer("ioctl", 3, 0x801C581F)] == [ALLOW] * 2  # their getters
    assert [answer("fcntl", 3, 1), answer("fcntl", 3, 4), answer("fcntl", 3, 8), answer("fcntl", 3, 15)] == \
        [ALLOW, ALLOW, REFUSE, REFUSE]  # F_GETFD, F_SETFL, F_SETOWN, F_SETOWN_EX
    assert [answer("prctl", 15), answer("prctl", 38), answer("prctl", 62)] == [ALLOW, ALLOW, REFUSE]
    assert answer("clone3", 0, 88) == ENOSYS


def test_the_case_pid_is_written_into_the_filter_only_where_it_is_compared():
    prepared = syscall_filter.build_filter(syscall_filter.machine_arch() or "x86_64", 1)
    other = syscall_filter.build_filter(syscall_filter.machine_arch() or "x86_64", 4242)
    slots = [index for index, (one, two) in enumerate(zip(prepared, other)) if one != two]
    assert slots and all(prepared[index][:3] == other[index][:3] == (syscall_filter.BPF_JEQ_K, *prepared[index][1:3])
                         and (prepared[index][3], other[index][3]) == (1, 4242) for index in slots)
    assert len(prepared) == len(other)


def kernel_header_numbers(arch):
    """{name: number} from the installed kernel headers for ``arch`` (linux-libc-dev), or None if absent."""
    if arch == "x86_64":
        headers = [Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"), Path("/usr/include/asm/unistd_64.h")]
    else:
        headers = [Path("/usr/include/asm-generic/unistd.h")]
    header = next((path for path in headers if path.exists()), None)
    if header is None:
        return None
    text = header.read_text()
    numbers = {name: int(number) for name, number in re.findall(r"#define __NR_(\w+)\s+(\d+)", text)}
    paired = {name: int(number) for name, number in re.findall(r"#define __NR3264_(\w+)\s+(\d+)", text)}
    for name, pair in re.findall(r"#define __NR_(\w+)\s+__NR3264_(\w+)", text):
        if pair in paired:
            numbers[name] = paired[pair]
    # asm-generic/unistd.h also names its table's size, its architecture range, the 32-bit variants
    # (fcntl64, statfs64...: the same numbers as fcntl, statfs) and the 32-bit time64 calls (403-423)
    return {name: number for name, number in numbers.items() if name not in ("syscalls", "arch_specific_syscall")
            and not 403 <= number <= 423}


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_the_embedded_numbers_match_the_kernel_headers(arch):
    """Where linux-libc-dev is installed: every number the headers name is in the filter's table, under a
    name the headers give it (calls newer than the headers are the table's own)."""
    numbers = kernel_header_numbers(arch)
    if numbers is None:
        pytest.skip(f"no kernel headers for {arch} (apt-get install linux-libc-dev)")
    column = 0 if arch == "x86_64" else 1
    by_number = {}
    for name, number in numbers.items():
        by_number.setdefault(number, set()).add(name)
    table = {name: pair[column] for name, pair in syscall_filter.SYSCALLS.items() if pair[column] is not None}
    table_names = {number: name for name, number in table.items()}
    assert {number: table_names.get(number) for number in by_number if table_names.get(number) not in
            by_number[number]} == {}


def test_the_filter_has_no_table_for_other_architectures():
    with pytest.raises(syscall_filter.FilterUnavailable):
        syscall_filter.build_filter("riscv64", 4242)


def test_every_native_hostile_folder_is_complete_plus_one_changed_flatten():
    folders = sorted(p.name.removeprefix("hostile_native_") for p in SUBMISSIONS.glob("hostile_native_*"))
    assert folders == sorted(HOSTILES)
    for name in HOSTILES:
        files, deleted = variant_files(f"hostile_native_{name}")
        assert set(files) == {"flatten.py"} and not deleted, name
        assert files["flatten.py"].startswith(b"# HOSTILE"), name
        assert {p.name for p in (SUBMISSIONS / f"hostile_native_{name}").rglob("*")} == {"mytorch", "flatten.py"}


def test_only_the_childs_first_line_says_which_layers_were_in_force():
    """Student code can write lines of its own to the result pipe, but only after the child's first one."""
    from autograder.report.model import describe_sandbox
    from autograder.sandbox.messages import clean_sandbox, weakest_sandbox
    real = {"landlock": 6, "seccomp": "x86_64", "seccomp_missing": "", "backend": "linux", "rlimits": True,
            "namespaces": ["ipc"], "namespaces_missing": "no PID namespace for the cases of a non-root grader"}
    forged = {"landlock": 9, "seccomp": "\x1b[2Jforged", "seccomp_missing": ""}
    assert clean_sandbox([{"sandbox": real}, {"sandbox": forged}]) == real
    assert clean_sandbox([{"sandbox": {**real, "namespaces": ["pid", "ipc"]}}])["namespaces"] == ["ipc", "pid"]
    assert clean_sandbox([{"sandbox": {**real, "namespaces": ["net"]}}]) == {}
    assert clean_sandbox([{"sandbox": {**real, "namespaces": "ipc"}}]) == {}
    assert clean_sandbox([{"phase": "import"}, {"sandbox": forged}]) == {}
    assert clean_sandbox([{"sandbox": {**real, "landlock": True}}]) == {}
    assert clean_sandbox([{"sandbox": {**real, "backend": "kernel"}}]) == {}
    assert clean_sandbox([{"sandbox": {**real, "rlimits": 1}}]) == {}
    assert clean_sandbox([]) == {}
    missing = {"landlock": 0, "seccomp": "", "seccomp_missing": "the kernel refused the seccomp filter (EINVAL)",
               "backend": "linux", "rlimits": True, "namespaces": [], "namespaces_missing": "no namespaces"}
    portable = {**missing, "seccomp_missing": "no kernel layers", "backend": "portable", "rlimits": False}
    assert weakest_sandbox(real, portable) == {**portable, "seccomp_missing": "no kernel layers"}
    assert weakest_sandbox(weakest_sandbox({}, real), missing) == missing
    assert weakest_sandbox(real, {**real, "landlock": 3}) == {**real, "landlock": 3}
    assert describe_sandbox(real) == ["sandbox: linux backend, Landlock (ABI 6), seccomp (x86_64), own IPC "
                                      "namespaces, audit hook, resource limits"]
    assert weakest_sandbox(real, {**real, "namespaces": ["ipc", "pid"]})["namespaces"] == ["ipc"]
    assert describe_sandbox(portable)[0] == "sandbox: portable backend (a fresh process per case), audit hook"
    assert [line.split(":")[1] for line in describe_sandbox(portable)[1:]] == [" WARNING", " WARNING"]
    assert describe_sandbox(missing)[1:] == [
        "sandbox: WARNING: no Landlock in this kernel: file access is confined by the audit hook only "
        "(README, Security model)",
        "sandbox: WARNING: no seccomp filter (the kernel refused the seccomp filter (EINVAL)): system calls are "
        "not filtered by the kernel (README, Security model)"]
    assert describe_sandbox({}) == []
