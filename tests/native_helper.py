"""Helper processes for tests/test_sandbox_native.py (run as ``python tests/native_helper.py MODE ...``).

``probe``: this process installs the grading case's seccomp filter on itself
(autograder/syscall_filter.py, exactly as child.py does after its fork), then tries
system calls the filter must refuse and some it must allow, and prints one JSON
object: {probe: "ok" or the errno name}.  It prints {"unavailable": reason} where
the machine or kernel cannot have the filter.  Every refused call is made so that
it would be harmless if the filter failed (signal 0, a throwaway process).

``hide-probe FOLDER``: builds FOLDER/lib/python/{mod.py, site-packages/pkg.py} and a
link FOLDER/link -> lib, hides FOLDER/lib/python/site-packages from this process with
the fork server's Landlock layer (autograder/landlock.py), tries reading each file directly
and through the link, and prints {path: "ok" or the errno name}, or {"unavailable": ...}.

``guard-probe`` (run with ``python -I -S``, as the fork server is): installs the case's
audit hook (autograder/guard.py) alone (no kernel layer) and prints what it answers to a
sub-interpreter, a hand-made code object, a read inside site-packages and compiled
modules loaded under their own and another name: {what: "ok" or "Type: message"}.

``hide-kernel-layers COMMAND...``: runs COMMAND as if the kernel had neither
Landlock nor seccomp filters: a filter of this process answers
landlock_create_ruleset and seccomp with ENOSYS and prctl(PR_SET_SECCOMP) with
EINVAL, as an old kernel would; everything else, exec included, is allowed.
"""
import errno
import json
import os
import resource
import signal
import socket
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import syscall_filter as sf  # noqa: E402

LANDLOCK_CREATE_RULESET, PR_SET_SECCOMP = 444, 22
SECCOMP_NR, PRCTL_NR = {"x86_64": 317, "aarch64": 277}, {"x86_64": 157, "aarch64": 167}


def attempt(call):
    try:
        call()
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error.errno))
    return "ok"


def raw_syscall(number, *args):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    if libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) for a in args]) == -1:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def set_core_limit(arch, pid):
    """prlimit64(pid, RLIMIT_CORE, its current value): a write that changes nothing (Python's
    resource module reports EPERM as ValueError, so the system call is made directly)."""
    import ctypes

    class Limit(ctypes.Structure):
        _fields_ = [("soft", ctypes.c_uint64), ("hard", ctypes.c_uint64)]

    number, limit = {"x86_64": 302, "aarch64": 261}[arch], Limit()
    raw_syscall(number, pid, resource.RLIMIT_CORE, 0, ctypes.addressof(limit))
    raw_syscall(number, pid, resource.RLIMIT_CORE, ctypes.addressof(limit), 0)


def probe():
    arch = sf.machine_arch()
    if arch is None:
        return {"unavailable": f"no system-call table for {os.uname().machine}"}
    parent, me = os.getppid(), os.getpid()
    primary, replica = os.openpty()  # before the filter: a terminal to try TIOCSTI on
    import ctypes  # noqa: F401  loaded before the filter, as child.py does
    try:
        sf.install(me)
    except sf.FilterUnavailable as error:
        return {"unavailable": str(error)}
    import fcntl
    import termios

    def fork():
        if os.fork() == 0:
            os._exit(0)

    def thread_runs():
        done = []
        thread = threading.Thread(target=lambda: done.append(sum(range(10))))
        thread.start()
        thread.join()
        if done != [45]:
            raise OSError(errno.EIO, "the thread did not run")

    results = {
        "socket inet": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)),
        "socket unix": attempt(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)),
        "socketpair": attempt(socket.socketpair),
        "fork": attempt(fork),
        "execve": attempt(lambda: os.execv("/bin/true", ["true"])),
        "kill parent": attempt(lambda: os.kill(parent, 0)),
        "kill group": attempt(lambda: os.kill(0, 0)),
        "kill everyone": attempt(lambda: os.kill(-1, 0)),
        "unshare": attempt(lambda: os.unshare(os.CLONE_NEWNS) if hasattr(os, "unshare")
                           else raw_syscall({"x86_64": 272, "aarch64": 97}[arch], 0x00020000)),
        "ptrace": attempt(lambda: raw_syscall({"x86_64": 101, "aarch64": 117}[arch], 0, 0, 0, 0)),
        "pidfd_open parent": attempt(lambda: os.close(os.pidfd_open(parent))),
        "TIOCSTI": attempt(lambda: fcntl.ioctl(replica, termios.TIOCSTI, b"x")),
        "clone3": attempt(lambda: raw_syscall(435, 0, 0)),
        "setrlimit": attempt(lambda: set_core_limit(arch, 0)),
        "prlimit parent": attempt(lambda: set_core_limit(arch, parent)),
        "getrlimit": attempt(lambda: resource.getrlimit(resource.RLIMIT_NOFILE)),
        "kill self": attempt(lambda: os.kill(me, 0)),
        "pthread_kill self": attempt(lambda: signal.pthread_kill(threading.main_thread().ident, 0)),
        "thread": attempt(thread_runs),
        "read a file": attempt(lambda: Path(__file__).read_bytes()),
    }
    if arch == "x86_64":
        results["x32 getpid"] = attempt(lambda: raw_syscall(0x40000000 + 39))
    os.close(primary)
    os.close(replica)
    return results


def load_child():
    """autograder/child.py as a module (its top level only defines things and loads its siblings by path)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("grading_child", ROOT / "autograder" / "child.py")
    child = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(child)
    return child


def hide_probe(folder):
    folder = Path(folder).resolve()
    library = folder / "lib" / "python"
    (library / "site-packages").mkdir(parents=True)
    (library / "mod.py").write_text("standard = True\n")
    (library / "site-packages" / "pkg.py").write_text("installed = True\n")
    (folder / "link").symlink_to(folder / "lib")
    from autograder.landlock import hide_from_reading
    if not hide_from_reading([str(library / "site-packages")]):
        return {"unavailable": "no Landlock in this kernel"}
    paths = [library / "mod.py", library / "site-packages" / "pkg.py", folder / "link" / "python" / "mod.py",
             folder / "link" / "python" / "site-packages" / "pkg.py", Path(__file__)]
    results = {str(path): attempt(path.read_bytes) for path in paths}
    results[str(library / "site-packages")] = attempt(lambda: os.listdir(library / "site-packages"))
    return results


def guard_probe():
    import _imp
    import importlib.machinery
    import tempfile
    # loaded before the hook, as if the hook had missed it
    subinterpreters = __import__("_interpreters" if sys.version_info >= (3, 13) else "_xxsubinterpreters")

    from autograder.guard import install_guard

    child = load_child()
    entries = [entry for entry in sys.path if entry != str(ROOT)]
    roots, _, extensions = child.library_layout(entries)
    work = tempfile.mkdtemp()
    install_guard(roots, [work], work, extensions, child.extension_paths(extensions, entries))

    def outcome(call):
        try:
            call()
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        return "ok"

    def load(name, module):
        return lambda: _imp.create_dynamic(importlib.machinery.ModuleSpec(name, None, origin=extensions[module]))

    # a standard compiled module no rule refuses, shipped as a file (Debian's own Python builds cmath,
    # like _socket, into the interpreter)
    standard = next(name for name in ("cmath", "_json", "_bz2", "_queue") if name in extensions)
    # creating one when the hook refuses it crashes 3.12 (a CPython bug), and 3.13 raises no audit event
    # that the hook sees: there, only the refused import (the deny list) stands in the way
    return {"sub-interpreter": outcome(subinterpreters.create) if sys.version_info < (3, 12) else "not tried",
            "sub-interpreter module": outcome(lambda: (sys.modules.pop(subinterpreters.__name__),
                                                       __import__(subinterpreters.__name__))),  # imported anew
            "code object": outcome(lambda: (lambda: 0).__code__.replace(co_name="x")),
            "site-packages": outcome(lambda: open(os.path.join(os.path.dirname(os.__file__), "site-packages",
                                                               "x.py")).close()),
            "standard": standard,
            "standard as itself": outcome(load(standard, standard)),
            "standard as x.standard": outcome(load("x." + standard, standard))}


def hide_kernel_layers(command):
    arch = sf.machine_arch()
    if arch is None:
        sys.exit(f"no system-call table for {os.uname().machine}")
    refuse = lambda error: (sf.BPF_RET_K, 0, 0, sf.RET_ERRNO | error)  # noqa: E731
    program = [(sf.BPF_LD_W_ABS, 0, 0, sf.OFFSET_ARCH),
               (sf.BPF_JEQ_K, 1, 0, sf.AUDIT_ARCH[arch]),
               (sf.BPF_RET_K, 0, 0, sf.RET_ALLOW),
               (sf.BPF_LD_W_ABS, 0, 0, sf.OFFSET_NR),
               (sf.BPF_JEQ_K, 0, 1, LANDLOCK_CREATE_RULESET), refuse(errno.ENOSYS),
               (sf.BPF_JEQ_K, 0, 1, SECCOMP_NR[arch]), refuse(errno.ENOSYS),
               (sf.BPF_JEQ_K, 0, 3, PRCTL_NR[arch]),
               (sf.BPF_LD_W_ABS, 0, 0, sf.arg_low_word(0)),
               (sf.BPF_JEQ_K, 0, 1, PR_SET_SECCOMP), refuse(errno.EINVAL),
               (sf.BPF_RET_K, 0, 0, sf.RET_ALLOW)]
    sf.Program(program).apply()
    os.execv(command[0], command)


if __name__ == "__main__":
    if sys.argv[1:2] == ["probe"]:
        print(json.dumps(probe()), flush=True)
        os._exit(0)
    elif sys.argv[1:2] == ["guard-probe"]:
        print(json.dumps(guard_probe()), flush=True)
        os._exit(0)
    elif sys.argv[1:2] == ["hide-probe"]:
        print(json.dumps(hide_probe(sys.argv[2])), flush=True)
    elif sys.argv[1:2] == ["hide-kernel-layers"]:
        hide_kernel_layers(sys.argv[2:])
    else:
        sys.exit(__doc__)
