"""Native code, sub-interpreters, installed packages and raw system calls (issue #10, classes 2 and 3).

Each ``tests/submissions/hostile_native_<name>/`` holds one hostile ``mytorch/flatten.py``
laid over complete/ (see conftest.submission); some get a compiled module added here at
test time.  Every one computes the right answer once its attack has run, so before these
defences existed it scored full points (numpy: where the system libraries it links were
readable too); now Flatten must score 0 with the sandbox's reason in every case and
Upsampling1d (which never imports flatten) must keep full points.

The seccomp filter itself is tried directly by ``tests/native_helper.py probe``, and a
kernel without Landlock and seccomp is simulated by ``native_helper.py hide-kernel-layers``.
"""
import importlib.machinery
import importlib.util
import json
import marshal
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import pytest

from conftest import COMPLETE, ROOT, SUBMISSIONS, landlock_abi, submission, variant_files

sys.path.insert(0, str(ROOT))
from autograder import syscall_filter  # noqa: E402

HELPER = Path(__file__).resolve().parent / "native_helper.py"
REPORT_SCHEMA = json.loads((ROOT / "autograder" / "schemas" / "report.schema.json").read_text())
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
    with ThreadPoolExecutor(max_workers=3) as executor:
        for name, skip in prepared.items():
            if skip is None:
                futures[name] = executor.submit(grade, name, tmp_path_factory.mktemp(name))
        yield {name: (prepared[name], futures.get(name)) for name in HOSTILES}


def check_graded(done, report):
    assert done.returncode == 0, done.stderr[-3000:]
    assert report is not None and report["status"] == "graded", done.stderr[-3000:]
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(report)
    return {item["name"]: item for item in report["items"]}


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


def test_standard_library_modules_that_need_system_libraries_load(tmp_path):
    """zlib, binascii (so base64), _hashlib, _lzma, _bz2 link libraries that Landlock keeps cases from reading."""
    folder = tmp_path / "submission"
    shutil.copytree(COMPLETE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "mytorch" / "flatten.py").write_text(STANDARD_LIBRARY_USER)
    done, report = grade(folder, tmp_path / "run")
    items = check_graded(done, report)
    assert items["Flatten"]["points"] == items["Flatten"]["max_points"], \
        "\n".join(case["message"] for case in items["Flatten"]["cases"])


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
    spaces = " and ".join(name.upper() for name in report["sandbox"]["namespaces"])  # tests/test_namespaces.py
    if abi and arch:
        assert (f"sandbox: linux backend, Landlock (ABI {abi}), seccomp ({arch}), "
                f"{f'own {spaces} namespaces, ' if spaces else ''}audit hook, resource limits") in header
        assert "WARNING" not in header
    else:
        assert "sandbox: WARNING" in header


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
    spaces = " and ".join(name.upper() for name in sandbox.pop("namespaces"))  # tests/test_namespaces.py
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
    answer = filter_probe()
    if "unavailable" in answer:
        pytest.skip(f"no seccomp filter on this machine: {answer['unavailable']}")
    refused = {probe: result for probe, result in answer.items() if result != "ok"}
    assert refused == {"socket inet": "EPERM", "socket unix": "EPERM", "socketpair": "EPERM", "fork": "EPERM",
                       "execve": "EPERM", "kill parent": "EPERM", "kill group": "EPERM", "kill everyone": "EPERM",
                       "unshare": "EPERM", "ptrace": "EPERM", "pidfd_open parent": "EPERM", "TIOCSTI": "EPERM",
                       "setrlimit": "EPERM", "prlimit parent": "EPERM",
                       "clone3": "ENOSYS", **({"x32 getpid": "EPERM"} if "x32 getpid" in answer else {})}
    assert {probe for probe, result in answer.items() if result == "ok"} == {
        "getrlimit", "kill self", "pthread_kill self", "thread", "read a file"}


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


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_the_filter_program_checks_the_architecture_first_and_stays_in_bounds(arch):
    program = syscall_filter.build_filter(arch, 4242)
    assert program[:3] == [(syscall_filter.BPF_LD_W_ABS, 0, 0, syscall_filter.OFFSET_ARCH),
                           (syscall_filter.BPF_JEQ_K, 1, 0, syscall_filter.AUDIT_ARCH[arch]),
                           (syscall_filter.BPF_RET_K, 0, 0, syscall_filter.RET_KILL_PROCESS)]
    assert len(program) < 4096 and program[-1] == (syscall_filter.BPF_RET_K, 0, 0, syscall_filter.RET_ALLOW)
    for index, (code, jump_true, jump_false, _) in enumerate(program):
        if code & 0x07 == 0x05:  # a jump: both targets inside the program
            assert index + 1 + max(jump_true, jump_false) < len(program)
    assert (syscall_filter.BPF_JEQ_K, 0, 1, 4242) in program  # signals only to the case itself


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
    from autograder.report import describe_sandbox
    from autograder.child_messages import clean_sandbox, weakest_sandbox
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
