"""Deny actions, not imports (issue 22): every standard-library module imports in a grading case;
creating a socket, starting a process, a file outside the sandbox, a memory mapping, native code
are refused, each with the sandbox's message.

Each test runs probe code as the body of ``Flatten.forward`` in one real case (a copy of
complete/ with that flatten.py, ``run_in_sandbox`` on the first Flatten fixture case, the
backend this machine picks unless a test names one).  The probe catches what it tries and prints
one JSON object, ``{what: "ok" or "Type: message"}``; a probe that lets an exception through is
read from the case's error (how a kernel refusal reaches the student).  Run as root (cases as
uid 65534) and as another user alike.
"""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from helpers import ROOT, complete_copy, landlock_abi

from autograder.contract.fixtures import load_fixture_set
from autograder.case.guard import DENIED_IMPORTS, UNCONFINED_IMPORTS
from autograder.sandbox import Limits, run_in_sandbox
from autograder.sandbox.backends import resolve

NOT_ALLOWED = "is not allowed while grading"
CASE = load_fixture_set(ROOT / "fixtures", only={"Flatten"}).items["Flatten"][0]
FLATTEN = '''"""Flatten, and a probe of the sandbox run before it."""
import json as _json

from .tensor import flatten, reshape, shape


def _probe():
{body}


class Flatten:
    def forward(self, A):
        _probe()
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
'''
ATTEMPT = '''
import json, os, sys
results = {}


def attempt(what, call):
    try:
        value = call()
    except BaseException as error:
        value = f"{type(error).__name__}: {error}"
    results[what] = value if type(value) is str else "ok"
'''
PUBLIC = sorted(name for name in sys.stdlib_module_names if not name.startswith("_"))
# Imports refused in every case, and why (the module the refusal names): ctypes loads libraries
# when imported; tkinter and turtle need _tkinter, whose Tcl interpreter opens files, starts
# programs and loads libraries with no audit event.  Nothing else may be refused as an import.
REFUSED_IMPORTS = {"ctypes": "_ctypes", "tkinter": "_tkinter", "turtle": "_tkinter"}
KERNEL = landlock_abi() > 0 and sys.platform == "linux"


def probe(body, backend=None, timeout=60):
    """The ChildOutcome of one case whose Flatten.forward first runs ``body``."""
    folder = complete_copy()
    try:
        (folder / "mytorch" / "flatten.py").write_text(FLATTEN.format(body=textwrap.indent(body, "    ")))
        (folder / "mytorch" / "flatten.py").chmod(0o644)
        return run_in_sandbox(folder, CASE, Limits(timeout=timeout), backend=backend)
    finally:
        shutil.rmtree(folder)


def answers(body, backend=None):
    """What a probe printed: its JSON object (the case printed nothing else)."""
    outcome = probe(ATTEMPT + body + "\nprint(json.dumps(results), flush=True)\n", backend)
    assert outcome.status == "ok", (outcome.status, outcome.error, outcome.output)
    return json.loads(outcome.output)


def refusal(what):
    return rf"PermissionError: sandbox: {what} {NOT_ALLOWED}"


@pytest.fixture(scope="module")
def unavailable_here():
    """Public standard-library modules that do not import on this interpreter outside any sandbox
    (msvcrt, winreg... on Linux, tkinter without Tk), found by a ``python -I -S`` of its own;
    antigravity is left out (it would open a browser here)."""
    code = textwrap.dedent(f"""
        import importlib, json
        failed = {{}}
        for name in {PUBLIC!r}:
            if name != "antigravity":
                try:
                    importlib.import_module(name)
                except BaseException as error:
                    failed[name] = repr(error)
        print(json.dumps(failed))
    """)
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_every_public_standard_library_module_imports_in_a_case(unavailable_here):
    """All of sys.stdlib_module_names but the leading-underscore ones: socket, ssl, subprocess,
    multiprocessing, mmap, asyncio, sqlite3, dbm, readline, curses, antigravity (no browser is
    found: a case has no DISPLAY, TERM or BROWSER)... each imports, as it does outside the sandbox;
    only REFUSED_IMPORTS are refused, with the sandbox's reason."""
    body = textwrap.dedent(f"""
        import contextlib, importlib, io, json
        failed = {{}}
        for name in {PUBLIC!r}:
            try:
                with contextlib.redirect_stdout(io.StringIO()):  # this prints the Zen of Python
                    importlib.import_module(name)
            except BaseException as error:
                failed[name] = f"{{type(error).__name__}}: {{error}}"[:300]
        print(json.dumps(failed), flush=True)
    """)
    outcome = probe(body, timeout=120)
    assert outcome.status == "ok", (outcome.status, outcome.error, outcome.output)
    failed = json.loads(outcome.output)
    assert "antigravity" not in failed and "asyncio" not in failed and "socket" not in failed
    sandboxed = {name: message for name, message in failed.items() if name not in unavailable_here}
    expected = {name: module for name, module in REFUSED_IMPORTS.items() if name not in unavailable_here}
    assert set(sandboxed) == set(expected), sandboxed
    for name, module in expected.items():
        assert re.fullmatch(rf"ImportError: sandbox: importing '{module}' {NOT_ALLOWED} \(.+\)", sandboxed[name]), \
            sandboxed[name]
    for name in set(failed) & set(unavailable_here):
        assert "sandbox:" not in failed[name], (name, failed[name])  # absent here, as outside the sandbox


def test_the_import_deny_list_names_only_actions_and_modules_nothing_public_needs():
    """What stays refused at import: ctypes, _tkinter, sub-interpreters, CPython's test modules."""
    assert set(DENIED_IMPORTS) <= {"ctypes", "_ctypes", "_tkinter"} | {
        name for name in DENIED_IMPORTS if name.startswith(("_test", "_xxtest", "_ctypes_test"))
        or "interp" in name}
    for name in ("socket", "_socket", "ssl", "subprocess", "_posixsubprocess", "multiprocessing", "mmap",
                 "sqlite3", "dbm", "readline", "_curses", "_multiprocessing", "_posixshmem"):
        assert name not in DENIED_IMPORTS, name
    assert set(UNCONFINED_IMPORTS) == {"_sqlite3", "_gdbm", "_dbm", "readline", "_posixshmem", "_multiprocessing"}


ACTIONS = """
import getpass, grp, mmap, multiprocessing, pwd, socket, sqlite3, subprocess, syslog, types
attempt("socket", lambda: socket.socket())
attempt("connect", lambda: socket.create_connection(("127.0.0.1", 9)))
attempt("subprocess.run", lambda: subprocess.run(["true"]))
attempt("Process.start", lambda: multiprocessing.Process(target=print).start())
attempt("os.fork", os.fork)
attempt("os.posix_spawn", lambda: os.posix_spawn("/bin/true", ["true"], {}))
attempt("os.system", lambda: os.system("true"))
attempt("sqlite3 outside", lambda: sqlite3.connect("/tmp/HOSTILE_PWNED.db"))
attempt("sqlite3 above", lambda: sqlite3.connect("../HOSTILE_PWNED.db"))
attempt("sqlite3 URI", lambda: sqlite3.connect("file:/etc/passwd?mode=ro", uri=True))
attempt("sqlite3 path object", lambda: sqlite3.connect(type("P", (), {"__fspath__": lambda self: "x.db"})()))
attempt("sqlite3 extension", lambda: sqlite3.connect(":memory:").enable_load_extension(True)
        if hasattr(sqlite3.Connection, "enable_load_extension") else "absent")
attempt("mmap", lambda: mmap.mmap(-1, 4096))
attempt("/etc/shadow", lambda: open("/etc/shadow").read())
attempt("site-packages", lambda: open(os.path.join(os.path.dirname(os.__file__), "site-packages", "x.py")).read())
attempt("syslog", lambda: syslog.syslog("x"))
open("mine.txt", "w").close()  # the case's own file, in its working folder: metadata changes are refused there too
attempt("chmod", lambda: os.chmod("mine.txt", 0o777))
attempt("utime", lambda: os.utime("mine.txt", (0, 0)))
attempt("chown", lambda: os.chown("mine.txt", os.getuid(), os.getgid()))
attempt("copymode", lambda: __import__("shutil").copymode("mine.txt", "mine.txt"))
attempt("touch", lambda: __import__("pathlib").Path("mine.txt").touch())
attempt("code.replace", lambda: (lambda: 0).__code__.replace(co_flags=0))


class FakeCode:  # types.coroutine led to another code object's replace with flags of its choice
    co_flags = 0x20 | 0x04
    replace = (lambda: 0).__code__.replace
    __class__ = property(lambda self: types.CodeType)


class FakeFunction:
    __code__ = FakeCode()
    __class__ = property(lambda self: types.FunctionType)

    def __call__(self):
        pass


attempt("types.coroutine forged", lambda: types.coroutine(FakeFunction()))
os.environ["BROWSER"] = "true"
attempt("antigravity", lambda: __import__("antigravity"))
"""


def test_actions_are_refused_with_the_sandbox_message():
    answer = answers(ACTIONS)
    expected = {
        "socket": refusal("network access"), "connect": refusal("network access"),
        "subprocess.run": refusal("starting processes"), "Process.start": refusal("(forking|starting) processes"),
        "os.fork": refusal("forking processes"), "os.posix_spawn": refusal("starting processes"),
        "os.system": refusal("running shell commands"),
        "sqlite3 outside": refusal(r"opening the database '/tmp/HOSTILE_PWNED\.db'") + r" \(only ':memory:' .*",
        "sqlite3 above": refusal(r"opening the database '\.\./HOSTILE_PWNED\.db'") + r" \(only ':memory:' .*",
        "sqlite3 URI": refusal(r"opening the database 'file:/etc/passwd\?mode=ro' by URI"),
        # 3.10 turns it into bytes before the audit event (once: nothing to check twice); 3.11+ passes the object
        "sqlite3 path object": "ok" if sys.version_info < (3, 11)
        else refusal("opening a database by this kind of path") + r" \(a str path.*",
        "sqlite3 extension": "absent|" + refusal(r"loading SQLite extensions \(native code\)"),
        "mmap": refusal("memory mapping"),
        "/etc/shadow": refusal("reading '/etc/shadow'"),
        "site-packages": refusal(r"reading '\S+/site-packages/x\.py'") + r" \(installed packages: .*\)",
        "syslog": refusal("writing to the system log"),
        "chmod": refusal("changing file modes"), "utime": refusal("changing file times"),
        "chown": refusal("changing file owners"), "copymode": refusal("copying file modes"),
        "touch": "ok",  # of an existing file: Path.touch ignores the refused time change
        "code.replace": refusal("building code objects by hand"),
        "types.coroutine forged": refusal("building code objects by hand"),
        "antigravity": refusal("opening a web browser"),
    }
    assert set(answer) == set(expected)
    wrong = {what: answer[what] for what, pattern in expected.items() if not re.fullmatch(pattern, answer[what])}
    assert not wrong, wrong
    assert not os.path.exists("/tmp/HOSTILE_PWNED.db")


HONEST = """
import asyncio, getpass, grp, logging, logging.config, logging.handlers, multiprocessing, pwd, sqlite3, types
import unittest.mock
attempt("getpass.getuser", getpass.getuser)
attempt("pwd.getpwuid", lambda: pwd.getpwuid(os.getuid()).pw_name)
attempt("grp.getgrgid", lambda: grp.getgrgid(os.getgid()).gr_name)
attempt("/etc/passwd", lambda: "ok" if ":" in open("/etc/passwd").read() else "empty")
attempt("cpu_count", lambda: multiprocessing.cpu_count() >= 1 or "none")
attempt("dictConfig", lambda: logging.config.dictConfig({"version": 1, "disable_existing_loggers": False}))
attempt("MemoryHandler", lambda: logging.getLogger("probe").addHandler(logging.handlers.MemoryHandler(10)))
attempt("unittest.mock", lambda: unittest.mock.MagicMock(return_value=3)())
attempt("sqlite3 memory", lambda: sqlite3.connect(":memory:").execute("select 1").fetchall())
attempt("sqlite3 working folder", lambda: sqlite3.connect("scratch.db").execute("create table t (x)"))


@types.coroutine
def pause():
    yield


async def twice(x):
    await pause()
    return 2 * x


def run_by_hand(coroutine):  # asyncio.run needs a socket pair for its event loop: refused by the kernel
    try:
        coroutine.send(None)
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
attempt("types.coroutine", lambda: "ok" if run_by_hand(twice(21)) == 42 else "wrong")
"""


def test_honest_uses_of_those_modules_work_as_the_case_user():
    """getpass.getuser(), pwd.getpwuid(os.getuid()), grp.getgrgid(os.getgid()) (as uid 65534 under a
    root grader, as the grader's user otherwise), multiprocessing.cpu_count(), logging's handlers
    and dictConfig, unittest.mock, SQLite in memory and in the working folder, types.coroutine."""
    answer = answers(HONEST)
    from autograder.sandbox.run_as import case_user
    user = case_user()
    import pwd
    name = pwd.getpwuid(user["uid"] if user else os.geteuid()).pw_name
    assert answer == {"getpass.getuser": name, "pwd.getpwuid": name,
                      "grp.getgrgid": answer["grp.getgrgid"], "/etc/passwd": "ok", "cpu_count": "ok",
                      "dictConfig": "ok", "MemoryHandler": "ok", "unittest.mock": "ok", "sqlite3 memory": "ok",
                      "sqlite3 working folder": "ok", "types.coroutine": "ok"}
    import grp
    assert answer["grp.getgrgid"] == grp.getgrgid(user["gid"] if user else os.getegid()).gr_name


OPENSSL_CONFIGURATION = """
with open("openssl.cnf", "w") as handle:  # what a provider's shared library would be loaded by, too
    handle.write('openssl_conf = init\\n[init]\\nalg_section = algorithms\\n[algorithms]\\n'
                 'default_properties = "fips=yes"\\n')
os.environ["OPENSSL_CONF"] = os.path.abspath("openssl.cnf")
import _hashlib
attempt("sha256", lambda: _hashlib.openssl_sha256(b"x").hexdigest() and "ok")
"""


@pytest.mark.skipif(resolve() != "linux", reason="the linux backend's fork server initialises OpenSSL")
def test_openssl_never_reads_a_configuration_the_case_wrote():
    """OpenSSL reads OPENSSL_CONF at its first use, and a configuration can load a shared library
    (a provider's module) with no audit event: the fork server uses OpenSSL first, so a case's own
    configuration (here one that would leave no digest to use) is never read."""
    assert answers(OPENSSL_CONFIGURATION) == {"sha256": "ok"}


KERNEL_REFUSED = {
    # (probe, the action the sandbox's line names)
    "multiprocessing.get_context('spawn').Process(target=print).start()": "starting processes",
    "multiprocessing.Lock()": "shared memory",
    "multiprocessing.shared_memory.SharedMemory(create=True, size=16)": "shared memory",
    "asyncio.run(asyncio.sleep(0))": "network access",
}


@pytest.mark.skipif(not KERNEL, reason="needs Landlock (and the seccomp filter): the kernel refuses these")
@pytest.mark.parametrize("call", list(KERNEL_REFUSED))
def test_calls_without_an_audit_event_are_refused_by_the_kernel_with_the_sandbox_line(call):
    """multiprocessing's spawn (_posixsubprocess.fork_exec), its locks (sem_open), shared memory
    (shm_open) and asyncio's socket pair raise no audit event: seccomp or Landlock refuses the
    system call, and the student reads the sandbox's line under the error."""
    outcome = probe(f"import asyncio, multiprocessing, multiprocessing.shared_memory\n{call}\n")
    assert outcome.status == "error", outcome
    message = outcome.error["message"]
    assert re.fullmatch(rf"(PermissionError|BlockingIOError): \[Errno \d+\] .*\n"
                        rf"sandbox: {KERNEL_REFUSED[call]} {NOT_ALLOWED} \(refused by the kernel\)", message), message


def test_without_landlock_c_modules_that_open_files_themselves_stay_refused():
    """The portable backend has no Landlock: sqlite3, dbm.gnu/dbm.ndbm, readline and POSIX shared
    memory would reach any file (or /dev/shm) with no audit event, so their C modules are refused
    at import there, naming why; socket, subprocess, multiprocessing, asyncio, dbm still import."""
    body = """
for name in ("socket", "subprocess", "multiprocessing", "asyncio", "dbm", "getpass", "sqlite3",
             "multiprocessing.shared_memory", "multiprocessing.synchronize"):
    attempt(name, lambda: __import__(name))
attempt("getpass.getuser", lambda: "ok" if getpass.getuser() else "empty")
"""
    answer = answers("import getpass\n" + body, backend="portable")
    landlock_only = r"ImportError: sandbox: importing '{}' is not allowed while grading \((file access from C " \
                    r"code|shared memory) that only Landlock confines, and this sandbox has no Landlock\)"
    assert {name: value for name, value in answer.items() if value == "ok"}.keys() == {
        "socket", "subprocess", "multiprocessing", "asyncio", "dbm", "getpass", "getpass.getuser"}
    for name, module in (("sqlite3", "_sqlite3"), ("multiprocessing.shared_memory", "_posixshmem"),
                         ("multiprocessing.synchronize", "_multiprocessing")):
        if importlib.util.find_spec(module) is not None:
            assert re.fullmatch(landlock_only.format(module), answer[name]), answer[name]
