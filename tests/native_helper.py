"""Helper processes for tests/e2e/test_sandbox_native.py (run as ``python tests/native_helper.py MODE ...``).

``probe``: this process installs the grading case's seccomp filter on itself
(autograder/case/syscall_filter.py, exactly as child.py does after its fork), then tries
system calls the filter must refuse and some it must allow, and prints one JSON
object: {probe: "ok" or the errno name}.  It prints {"unavailable": reason} where
the machine or kernel cannot have the filter.  Every refused call is made so that
it would be harmless if the filter failed (signal 0, a throwaway process).

``hide-probe FOLDER``: builds FOLDER/lib/python/{mod.py, site-packages/pkg.py} and a
link FOLDER/link -> lib, hides FOLDER/lib/python/site-packages from this process with
the fork server's Landlock layer (autograder/case/landlock.py), tries reading each file directly
and through the link, and prints {path: "ok" or the errno name}, or {"unavailable": ...}.

``guard-probe`` (run with ``python -I -S``, as the fork server is): installs the case's
audit hook (autograder/case/guard.py) alone (no kernel layer) and prints what it answers to a
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
import shutil
import signal
import socket
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "autograder" / "case"


def case_module(name):
    """autograder/case/<name>.py loaded by path, as the fork server loads it (standard library only: this
    helper also runs under ``python -I -S``, where neither the repository nor this folder is on sys.path)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f"grading_{name}", CASE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sf = case_module("syscall_filter")

LANDLOCK_CREATE_RULESET, PR_SET_SECCOMP, PR_SCHED_CORE = 444, 22, 62
IPC_CREAT, IOPRIO_WHO_PROCESS = 0o1000, 1
SECCOMP_NR, PRCTL_NR = {"x86_64": 317, "aarch64": 277}, {"x86_64": 157, "aarch64": 167}


def attempt(call):
    try:
        call()
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error.errno))
    return "ok"


def raw_syscall(number, *args):
    """The system call ``number`` (a name: its number on this machine); its result, or OSError."""
    import ctypes
    if isinstance(number, str):
        number = sf.SYSCALLS[number][0 if sf.machine_arch() == "x86_64" else 1]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    result = libc.syscall(ctypes.c_long(number), *[ctypes.c_char_p(a) if isinstance(a, bytes) else ctypes.c_long(a)
                                                   for a in args])
    if result == -1:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return result


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
    import ctypes
    import tempfile
    # Before the filter: the parent's scheduling settings, so that the refused calls below would change
    # nothing if they were allowed; a file and a folder of this process's own (so only the filter,
    # never file permissions, can refuse changing their metadata).
    parent_nice, parent_cpus = os.getpriority(os.PRIO_PROCESS, parent), os.sched_getaffinity(parent)
    parent_ioprio = raw_syscall("ioprio_get", IOPRIO_WHO_PROCESS, parent)
    folder = tempfile.mkdtemp()
    own = os.path.join(folder, "own.txt")
    Path(own).write_text("the probe's own file")
    own_fd = os.open(own, os.O_RDWR)
    try:
        sf.install(me)
    except sf.FilterUnavailable as error:
        return {"unavailable": str(error)}
    import fcntl
    import termios
    mask = ctypes.c_uint64(0)

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
        # channels that outlive the case (IPC_PRIVATE: a private segment, were it ever created)
        "shmget": attempt(lambda: raw_syscall("shmget", 0, 4096, IPC_CREAT | 0o600)),
        "msgget": attempt(lambda: raw_syscall("msgget", 0, IPC_CREAT | 0o600)),
        "semget": attempt(lambda: raw_syscall("semget", 0, 1, IPC_CREAT | 0o600)),
        "mq_open": attempt(lambda: raw_syscall("mq_open", b"autograder-probe", os.O_RDONLY, 0, 0)),
        # file metadata of its own file
        "chmod own file": attempt(lambda: os.chmod(own, 0o600)),
        "fchmod own file": attempt(lambda: os.fchmod(own_fd, 0o600)),
        "chown own file": attempt(lambda: os.chown(own, os.getuid(), os.getgid())),
        "utime own file": attempt(lambda: os.utime(own)),
        "setxattr own file": attempt(lambda: os.setxattr(own, "user.probe", b"1")),
        "listxattr own file": attempt(lambda: os.listxattr(own)),
        "truncate own file by path": attempt(lambda: os.truncate(own, 0)),
        "ftruncate own file": attempt(lambda: os.ftruncate(own_fd, 0)),
        # scheduling of another process (its current settings: nothing would change) and of itself
        "setpriority parent": attempt(lambda: os.setpriority(os.PRIO_PROCESS, parent, parent_nice)),
        "getpriority parent": attempt(lambda: os.getpriority(os.PRIO_PROCESS, parent)),
        "getpriority user": attempt(lambda: os.getpriority(os.PRIO_USER, 0)),
        "sched_setaffinity parent": attempt(lambda: os.sched_setaffinity(parent, parent_cpus)),
        "sched_getaffinity parent": attempt(lambda: os.sched_getaffinity(parent)),
        "sched_getscheduler init": attempt(lambda: os.sched_getscheduler(1)),
        "ioprio_set parent": attempt(lambda: raw_syscall("ioprio_set", IOPRIO_WHO_PROCESS, parent, parent_ioprio)),
        "prlimit read parent": attempt(lambda: resource.prlimit(parent, resource.RLIMIT_NOFILE)),
        "nice self": attempt(lambda: os.setpriority(os.PRIO_PROCESS, 0, os.nice(0))),
        "affinity self": attempt(lambda: os.sched_setaffinity(me, os.sched_getaffinity(0))),
        "ioprio self": attempt(lambda: raw_syscall("ioprio_set", IOPRIO_WHO_PROCESS, 0,
                                                   raw_syscall("ioprio_get", IOPRIO_WHO_PROCESS, me))),
        "F_SETOWN": attempt(lambda: fcntl.fcntl(own_fd, fcntl.F_SETOWN, parent)),
        "PR_SCHED_CORE": attempt(lambda: raw_syscall("prctl", PR_SCHED_CORE, 0, 0, 0, ctypes.addressof(mask))),
    }
    os.close(own_fd)
    shutil.rmtree(folder, ignore_errors=True)
    if arch == "x86_64":
        results["x32 getpid"] = attempt(lambda: raw_syscall(0x40000000 + 39))
    os.close(primary)
    os.close(replica)
    return results


def stdlib_probe(folder):
    """Install the case filter on this process, then use the standard library as a case might (in FOLDER, its
    working folder); {what: "ok" or the error}."""
    arch = sf.machine_arch()
    if arch is None:
        return {"unavailable": f"no system-call table for {os.uname().machine}"}
    os.chdir(folder)
    import ctypes  # noqa: F401  loaded before the filter, as child.py does
    try:
        sf.install(os.getpid())
    except sf.FilterUnavailable as error:
        return {"unavailable": str(error)}
    import concurrent.futures, datetime, decimal, faulthandler, fractions, gc, hashlib, json  # noqa: E401
    import logging, pickle, queue, random, secrets, select, selectors, statistics, tempfile  # noqa: E401
    import time, traceback, zlib  # noqa: E401
    results = {}

    def check(name, call):
        try:
            call()
            results[name] = "ok"
        except BaseException as error:  # noqa: BLE001  every failure is an answer
            results[name] = f"{type(error).__name__}: {error}"

    def threads():
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            assert sorted(pool.map(lambda n: sum(range(n)), range(50))) == sorted(sum(range(n)) for n in range(50))
        box, stop = queue.Queue(), threading.Event()
        worker = threading.Thread(target=lambda: (box.put(threading.get_ident()), stop.wait(5)))
        worker.start()
        box.get(timeout=5)
        stop.set()
        worker.join()
        timer = threading.Timer(0.01, stop.clear)
        timer.start()
        timer.join()

    def pipes():
        read_end, write_end = os.pipe()
        with selectors.DefaultSelector() as selector:
            selector.register(read_end, selectors.EVENT_READ)
            os.write(write_end, b"x")
            assert selector.select(timeout=1)
        assert select.select([read_end], [], [], 1)[0] == [read_end]
        poller = select.poll()
        poller.register(read_end, select.POLLIN)
        assert poller.poll(1000)
        if hasattr(select, "epoll"):
            with select.epoll() as epoll:
                epoll.register(read_end, select.EPOLLIN)
                assert epoll.poll(1)
        if hasattr(os, "eventfd"):
            event = os.eventfd(0)
            os.eventfd_write(event, 3)
            assert os.eventfd_read(event) == 3
            os.close(event)
        os.set_blocking(read_end, False)
        assert os.read(read_end, 10) == b"x"
        os.close(read_end)
        os.close(write_end)

    def files():
        with tempfile.TemporaryFile(dir=".") as handle:
            handle.write(b"data")
            handle.seek(0)
            assert handle.read() == b"data"
            handle.truncate(2)
            os.fsync(handle.fileno())
        handle, name = tempfile.mkstemp(dir=".", suffix=".txt")
        os.write(handle, b"hello")
        os.lseek(handle, 0, os.SEEK_SET)
        assert os.pread(handle, 5, 0) == b"hello"
        os.close(handle)
        with open(name, "r+b") as opened:
            opened.truncate(1)  # ftruncate on a descriptor opened for writing
        copy = name + ".copy"
        import shutil
        shutil.copyfile(name, copy)  # sendfile
        assert os.stat(copy).st_size == 1 and os.lstat(name) and os.path.exists(copy)
        assert {entry.name for entry in os.scandir(".")} >= {os.path.basename(name), os.path.basename(copy)}
        os.replace(copy, name + ".moved")
        os.unlink(name + ".moved")
        os.remove(name)
        assert os.getcwd() and os.access(".", os.R_OK) and os.statvfs(".").f_bsize and os.path.realpath(".")
        os.umask(os.umask(0o022))

    def randomness():
        assert len(os.urandom(16)) == 16 and secrets.token_hex(8) and random.SystemRandom().random() < 1
        random.seed()
        assert hashlib.sha256(b"x").hexdigest() and hashlib.md5(b"x", usedforsecurity=False).digest()
        assert zlib.decompress(zlib.compress(b"x" * 100)) == b"x" * 100

    def values():
        data = {"a": [1, 2.5, None], "b": datetime.datetime.now().isoformat()}
        assert json.loads(json.dumps(data)) == data and pickle.loads(pickle.dumps(data)) == data
        assert decimal.Decimal("1.1") + decimal.Decimal("2.2") == decimal.Decimal("3.3")
        assert fractions.Fraction(1, 3) * 3 == 1 and statistics.mean([1, 2, 3]) == 2
        assert datetime.datetime.now(datetime.timezone.utc).year >= 2024 and time.localtime()

    def clocks_and_signals():
        started = time.monotonic()
        time.sleep(0.01)
        assert time.monotonic() - started >= 0.005
        time.sleep(0)
        assert time.process_time() >= 0 and time.thread_time() >= 0 and time.perf_counter() and os.times()
        fired = []
        signal.signal(signal.SIGALRM, lambda *args: fired.append(1))
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        time.sleep(0.2)
        assert fired
        signal.alarm(0)
        signal.raise_signal(signal.SIGALRM)
        os.kill(os.getpid(), signal.SIGALRM)
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
        signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
        assert signal.sigtimedwait([signal.SIGUSR1], 1).si_signo == signal.SIGUSR1
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    def process_facts():
        # The parent, group or session may live outside this PID namespace (a container, CI): then they read 0.
        assert os.getpid() > 0 and os.getppid() >= 0 and os.getuid() >= 0 and os.getgid() >= 0
        assert os.getgroups() is not None and os.uname().sysname == "Linux"
        assert os.getpgrp() >= 0 and os.getpgid(0) == os.getpgrp() and os.getsid(0) >= 0
        assert os.cpu_count() >= 1 and os.sched_getaffinity(0) and os.sched_getaffinity(os.getpid())
        os.sched_setaffinity(0, os.sched_getaffinity(0))
        if hasattr(os, "process_cpu_count"):
            assert os.process_cpu_count() >= 1
        assert os.nice(0) == os.getpriority(os.PRIO_PROCESS, 0) == os.getpriority(os.PRIO_PROCESS, os.getpid())
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0))
        assert os.sched_getscheduler(0) >= 0 and os.sched_getparam(0) is not None and os.sched_rr_get_interval(0) >= 0
        assert os.sched_get_priority_max(os.SCHED_OTHER) >= 0
        os.sched_yield()
        assert resource.getrlimit(resource.RLIMIT_NOFILE) and resource.getrusage(resource.RUSAGE_SELF)
        assert resource.prlimit(0, resource.RLIMIT_NOFILE) == resource.getrlimit(resource.RLIMIT_NOFILE)
        assert resource.getpagesize() and os.sysconf("SC_PHYS_PAGES") > 0
        try:
            os.get_terminal_size(1)
        except OSError as error:
            assert error.errno in (errno.ENOTTY, errno.EBADF, errno.EINVAL), error

    def runtime():
        gc.collect()
        faulthandler.enable()
        faulthandler.dump_traceback_later(30)
        faulthandler.cancel_dump_traceback_later()
        faulthandler.disable()
        try:
            raise ValueError("x")
        except ValueError:
            assert "ValueError" in traceback.format_exc()
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
        logging.getLogger("probe").info("quiet")
        import platform, uuid, locale, mimetypes, importlib  # noqa: E401
        assert platform.system() == "Linux" and platform.python_version() and uuid.uuid4() and uuid.uuid1()
        locale.getpreferredencoding(False)
        locale.localeconv()
        mimetypes.guess_type("x.json")
        importlib.import_module("email.message")
        import unittest.mock, zipfile, tarfile, csv, io, gzip, lzma, bz2  # noqa: E401,F401
        with zipfile.ZipFile("probe.zip", "w") as archive:
            archive.writestr("x.txt", "x")
        with zipfile.ZipFile("probe.zip") as archive:
            assert archive.read("x.txt") == b"x"
        os.remove("probe.zip")
        assert gzip.decompress(gzip.compress(b"x")) == b"x" and lzma.decompress(lzma.compress(b"x")) == b"x"

    def filter_in_force():
        try:
            os.chmod(".", 0o700)  # this process's own folder: only the filter refuses it
        except PermissionError:
            return
        raise AssertionError("chmod was allowed: is the filter in force?")

    for name, call in [("filter in force", filter_in_force), ("threads", threads), ("pipes and selectors", pipes),
                       ("files", files),
                       ("randomness and hashing", randomness), ("values", values),
                       ("clocks and signals", clocks_and_signals), ("process facts", process_facts),
                       ("runtime", runtime)]:
        check(name, call)
    return results


def load_child():
    """autograder/case/child.py as a module (its top level only defines things and loads its siblings by path)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("grading_child", CASE / "child.py")
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
    hide_from_reading = case_module("landlock").hide_from_reading
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

    install_guard = case_module("guard").install_guard

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
    elif sys.argv[1:2] == ["stdlib-probe"]:
        print(json.dumps(stdlib_probe(sys.argv[2])), flush=True)
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
