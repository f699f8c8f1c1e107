"""Sandboxed child: a fork server that runs ONE fixture program per forked process, or (``--case``)
one spawned process that runs one fixture program.

Started by ``autograder.sandbox`` as ``python -I -S child.py`` (no site-packages:
only the standard library imports).  It is deliberately standalone (stdlib
only, no import of the autograder package) and it never sees expected values: a request
holds the submission folder (and, when that is a readable copy, the original's path, to name
the student's files as they know them), a fresh working folder, resource limits, the case user,
the compiled package, the program and its *input* arrays, nothing else.  Its stdlib-only
siblings are loaded by path, by this trusted server, before any restriction: ``program.py`` (the one
interpreter of fixture programs), ``landlock.py`` (file access), ``syscall_filter.py``
(the seccomp filter), ``case_user.py`` (the switch to an unprivileged user),
``guard.py`` (the audit hook), ``wire.py`` (what a case sends back),
``precompiled.py`` (the submission compiled once per grading) and
``processes.py`` (the processes below the server).  This file keeps the case runner
(``run_case``: the order of the layers) and the fork server (``serve``).

This server process never runs student code.  For each request it forks a
child that starts a new session, moves stdout/stderr into a file, sets hard
resource limits, confines file access with Landlock and system calls with a
seccomp filter (``syscall_filter.py``; each where the kernel has it), installs
an audit hook (``guard.py``), and only then imports the student's package.  The child reports
one JSON object per line on a private pipe: first ``{"sandbox": ...}``, which
kernel layers are in force (written before any student code exists, so it is
always the first line), then progress lines ``{"phase": ...}`` (so a timeout or
a hard exit can be reported as "during forward") and a last line ``{"final": true, ...}`` with the encoded
step results or the student's error.  The grader trusts nothing in these lines:
it validates every value before comparing it.  Forking a warm interpreter
instead of starting a new one per case keeps the harness's own cost per case
to a few milliseconds.

The portable backend (``autograder/sandbox/spawned.py``: Windows, macOS, Linux without the
kernel layers) spawns one ``python -I -S`` process per case instead, which loads this file
through the bytecode cache and calls ``serve_spawned`` (``child.py --case`` does the same):
the same ``run_case``, without Landlock and the seccomp filter, and a watchdog thread that
ends the process when its time is over or its grader is gone.
"""
from __future__ import annotations

import _imp
import _thread
import marshal
import os
import sys
import time
from importlib.machinery import SourceFileLoader

try:
    import resource
except ImportError:  # Windows: no resource limits here (see autograder/sandbox/windows_job.py)
    resource = None

_perf = time.perf_counter


def library_layout(path_entries: list[str]) -> tuple[list[str], list[str], dict[str, str]]:
    """Where the standard library is: computed once by the fork server from its own ``sys.path``.

    Returns ``(roots, package_folders, extensions)``: the existing entries, resolved (a
    zipped standard library too); the site-packages and dist-packages folders directly
    inside them (installed third-party packages, which must stay unreadable although they
    lie inside a readable root); and, for each compiled module lying directly in an entry
    (lib-dynload), its name and resolved path.
    """
    roots, package_folders, extensions = [], [], {}
    suffixes = sorted(_imp.extension_suffixes(), key=len, reverse=True)
    for entry in path_entries:
        if not entry or not os.path.exists(entry):
            continue
        root = os.path.realpath(entry)
        roots.append(root)
        if not os.path.isdir(root):
            continue  # e.g. python311.zip: readable, nothing to list
        names = sorted(os.listdir(root))
        package_folders += [os.path.join(root, name) for name in names if name in GUARD.PACKAGE_FOLDERS]
        for name in names:
            suffix = next((s for s in suffixes if name.endswith(s)), None)
            module = name[:-len(suffix)] if suffix else ""
            if module.isidentifier():
                extensions.setdefault(module, os.path.join(root, name))
    return roots, package_folders, extensions


def extension_paths(extensions: dict[str, str], path_entries: list[str]) -> dict[str, frozenset[str]]:
    """For each standard compiled module, the exact paths the import system may pass when loading it.

    Its file name joined to every ``sys.path`` entry that leads to its folder: the strings
    the finder builds, whatever form the entries take.  Computed in the case before any
    student code, from the entries the case imports through.
    """
    entries_by_folder = {}
    for entry in path_entries:
        if entry and os.path.isdir(entry):
            entries_by_folder.setdefault(os.path.realpath(entry), []).append(entry)
    return {module: frozenset(os.path.join(entry, os.path.basename(path))
                              for entry in entries_by_folder.get(os.path.dirname(path), ()))
            for module, path in extensions.items()}


def apply_limits(limits: dict[str, int]) -> bool:
    """Hard resource limits (soft == hard, so student code cannot raise them); False where the system has none."""
    if resource is None:
        return False
    names = {"address_space": resource.RLIMIT_AS, "cpu_seconds": resource.RLIMIT_CPU,
             "file_size": resource.RLIMIT_FSIZE, "open_files": resource.RLIMIT_NOFILE,
             "processes": resource.RLIMIT_NPROC, "core": resource.RLIMIT_CORE}
    for key, value in limits.items():
        which = names[key]
        _, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass  # best effort: the wall-clock timeout in the parent still applies
    return True


def load_sibling(name: str) -> object:
    """``<name>.py`` from this folder, loaded by path (``-I`` keeps this folder off sys.path)."""
    path = os.path.join(os.path.dirname(os.path.realpath(__file__)), f"{name}.py")
    module = type(sys)(name)
    module.__file__ = path
    # through the bytecode cache in __pycache__ (the grader's own, beside the source), as an import would
    exec(SourceFileLoader(name, path).get_code(name), module.__dict__)
    return module


# Loaded once, by the trusted server, before any restriction.
PROGRAM = load_sibling("program")
LANDLOCK = load_sibling("landlock")
GUARD = load_sibling("guard")
CASE_USER = load_sibling("case_user")
PROCESSES = load_sibling("processes")
WIRE = load_sibling("wire")
WARM = load_sibling("warm")
PRECOMPILED = load_sibling("precompiled")
NAMESPACES = load_sibling("namespaces")
# the audit hook's frame and the encoder's are the harness's too (trimmed from student tracebacks)
HARNESS_FILES = frozenset((os.path.realpath(__file__), GUARD.__file__, WIRE.__file__, PROGRAM.__file__,
                           PRECOMPILED.__file__))


def prepare_syscall_filter() -> tuple[object, str]:
    """The fork server's prepared seccomp filter: (CaseFilter, "") or (None, why there is none)."""
    syscall_filter = load_sibling("syscall_filter")
    try:
        return syscall_filter.CaseFilter(), ""
    except syscall_filter.FilterUnavailable as error:
        return None, str(error)


def install_syscall_filter(case_filter: object, missing: str) -> tuple[str, str]:
    """The seccomp filter for this case: (architecture, "") once installed, ("", why not) otherwise."""
    if case_filter is None:
        return "", missing
    try:
        return case_filter.install(os.getpid()), ""
    except Exception as error:  # FilterUnavailable (the kernel refused it) or ctypes trouble
        return "", str(error)


def run_case(request: dict, result_fd: int, setup: dict) -> None:
    """Run one request in this (freshly forked) process; never returns normally to the caller's loop.

    ``setup`` is what the fork server prepared once (``prepare_cases``): the standard
    library's layout and the seccomp filter, or why there is none.
    """
    def emit(message):
        # The leading newline ends any partial line student code wrote to this pipe, so such
        # junk can never glue itself to (and spoil) a real message.
        data = ("\n" + WIRE.to_json(message) + "\n").encode("utf-8", "backslashreplace")
        while data:
            data = data[os.write(result_fd, data):]

    workdir = os.path.realpath(request["workdir"])
    os.chdir(workdir)
    # created by the grader, which reads it back (O_BINARY: Windows; O_NOFOLLOW: POSIX)
    output = os.open(".output", os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    os.close(null)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)  # what was printed survives a timeout kill
    rlimits = apply_limits(request["limits"]) or request.get("job_limits") is True  # Windows: the grader's job object
    submission = os.path.realpath(request["submission"])
    sys.dont_write_bytecode = True
    entries = {p: os.path.realpath(p) for p in sys.path if p and os.path.exists(p)}
    roots = setup["library_roots"]
    # Kernel-enforced layers first (where the kernel has them), then the switch to an unprivileged
    # user (as root), the seccomp filter (after the switch, which it would refuse) and the audit
    # hook; the first line on the result pipe says which layers are in force, before any student
    # code runs.
    kernel = setup["backend"] == "linux"
    # pop: as with the filter below, no reference to the C library stays within student code's reach
    spaces = setup.pop("namespaces", None)
    namespaces = NAMESPACES.enter_case(spaces) if spaces is not None else []
    landlock = LANDLOCK.restrict_filesystem(roots + [submission, *GUARD.IDENTITY_FILES], workdir) if kernel else 0
    aliases = CASE_USER.switch_user(request.get("user"), roots + [submission])
    if kernel:  # after the last change of credentials, which clears it (processes.die_with_parent)
        PROCESSES.die_with_parent(setup.pop("prctl"), setup["server"])
    shown = WIRE.shown_paths(aliases, submission, request.get("original"))  # paths as the student knows them
    # pop: this process's copy of the server's setup must not lead student code to the filter's ctypes
    seccomp, seccomp_missing = install_syscall_filter(setup.pop("case_filter"), setup["filter_missing"])
    GUARD.forget_ctypes()
    extension_entries = setup["extension_entries"]
    if aliases:
        CASE_USER.use_aliases(aliases, entries)  # before extension_paths: compiled modules load through the aliases
        known_path, known_entries = setup["aliased_extension_entries"]
        extension_entries = known_entries if sys.path == known_path else extension_paths(setup["extensions"], sys.path)
    GUARD.install_guard(roots, [submission, workdir], workdir, setup["extensions"], extension_entries,
                        request.get("created_files", 0), files_confined=landlock > 0)
    emit({"sandbox": {"landlock": landlock, "seccomp": seccomp, "seccomp_missing": seccomp_missing,
                      "backend": setup["backend"], "rlimits": rlimits, "namespaces": namespaces,
                      "namespaces_missing": setup["namespaces_missing"]}})
    import_root = aliases.get(submission, submission)
    sys.path.insert(0, import_root)
    if request.get("compile"):  # the grading's compiling step (precompiled.py), not a case: no student code runs
        emit({"final": True, "status": "compiled", "modules": PRECOMPILED.compile_tree(import_root)})
        return
    PRECOMPILED.install(import_root, request.get("code", ()))
    WIRE.show_warnings_as(shown)

    program, arrays = request["program"], request["arrays"]
    harness_files = HARNESS_FILES
    modules = {}

    def importer(name):
        if name not in modules:
            emit({"phase": "import", "module": name})
            modules[name] = __import__(name, fromlist=["*"])
        return modules[name]

    state = {}
    budget = [WIRE.MAX_ELEMENTS]
    try:
        _, results = PROGRAM.run_program(program, arrays, importer, announce=emit, state=state, clock=_perf,
                                         record=lambda value: WIRE.encode(value, budget, raw=True))
    except BaseException as error:  # SystemExit, KeyboardInterrupt... all belong to the student
        emit({"final": True, "status": "error", "where": state["phase"],
              "error": WIRE.describe_error(error, harness_files, shown), "student_seconds": state["seconds"]})
        return
    emit({"final": True, "status": "ok", "results": results, "student_seconds": state["seconds"]})


def read_exactly(fd: int, size: int) -> bytes | None:
    chunks, got = [], 0
    while got < size:
        chunk = os.read(fd, min(size - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_request(fd: int) -> tuple[bytes, int, float, float] | None:
    """The next request on ``fd``: (its marshalled blob, its result budget, its wall-clock seconds, its
    CPU seconds), or None once the grader has closed it (the frame: autograder/sandbox/protocol.py
    request_frame)."""
    header = read_exactly(fd, 20)
    if header is None:
        return None
    blob = read_exactly(fd, int.from_bytes(header[:4], "big"))
    if blob is None:
        return None
    return (blob, int.from_bytes(header[4:12], "big"), int.from_bytes(header[12:16], "big") / 1000,
            int.from_bytes(header[16:], "big") / 1000)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def send_frame(header: dict, payload: bytes = b"") -> None:
    text = WIRE.to_json(header).encode()
    write_all(1, len(text).to_bytes(4, "big") + text)
    if payload:
        write_all(1, payload)


def run_child(blob: bytes, result_fd: int, setup: dict, seconds: float = 0.0) -> None:
    """In the freshly forked (or spawned) child: decode this case's request and run it; never returns.

    ``seconds``: the case's wall-clock limit, which a spawned case enforces itself (watchdog).
    """
    code = 0
    flush = stream_flusher()
    try:
        request = marshal.loads(blob)
        if setup["backend"] == "linux":
            os.setsid()  # a spawned case got its own session (or process group) from the grader
        else:  # a spawned case ends by itself too: its grader may be gone (killed) by then
            grader = os.getppid() if os.name != "nt" else None
            # at the latest: the wall-clock limit with every second it may wait for a CPU (processes.wall_allowed)
            _thread.start_new_thread(watchdog, (PROCESSES.WAIT_CAP * seconds + 5, grader))
        run_case(request, result_fd, setup)
    except BaseException:
        code = 70
    flush()
    _exit(code)  # skip interpreter teardown (and any student atexit hook)


_exit = os._exit  # bound before any student code, which may rebind os._exit


def stream_flusher() -> object:
    """A function that flushes what the case printed last (a line without its newline), called
    once its final result is sent, without calling what student code may have put in place:
    the stdout and stderr objects captured here, before any student code (not whatever
    ``sys.stdout`` is by then), through their type's own ``flush``, and only while no instance
    attribute of theirs, of their buffer or of its raw file has been added or rebound
    (``sys.stdout.buffer.flush = ...`` would run in the C flush).  Whatever still hangs there
    (a descriptor swapped for a full pipe, this closure rewritten by code that walked up to
    it) is ended by the fork server or the grader, FINAL_GRACE after the final line.
    """
    captured = []
    for stream in (sys.stdout, sys.stderr):
        layers = [stream, getattr(stream, "buffer", None)]
        layers.append(getattr(layers[1], "raw", None))
        captured.append((stream, type(stream).flush, tuple(
            (layer, getattr(layer, "__dict__", None), tuple(getattr(layer, "__dict__", {}).items()))
            for layer in layers if layer is not None)))
    captured = tuple(captured)

    def untouched(layers):
        for layer, namespace, items in layers:
            now = getattr(layer, "__dict__", None)
            if now is not namespace or (now is not None and (len(now) != len(items) or any(
                    now.get(name, now) is not value for name, value in items))):
                return False
        return True

    def flush():
        for stream, flush_stream, layers in captured:
            try:
                if untouched(layers):
                    flush_stream(stream)
            except BaseException:
                pass
    return flush


def serve_one(setup: dict) -> bool:
    """Serve one request; False once the grader has closed the input.

    Per-case data lives only in this frame, which ends before the next case is read, and
    the request is decoded in the forked child only: a case walking up its frames (or
    ``gc``) finds its own request and nothing of another case.
    """
    request = read_request(0)
    if request is None:
        return False
    blob, budget, seconds, cpu_seconds = request
    read_fd, write_fd = os.pipe()
    WARM.freeze()  # what this server made since the last case: not walked (and copied) by the case's gc
    setup["server"] = os.getpid()  # the case's expected parent (a twin is a server of its own)
    new_pid_namespace = NAMESPACES.before_fork(setup["namespaces"])
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        run_child(blob, write_fd, setup)
    if new_pid_namespace:
        NAMESPACES.after_fork(setup["namespaces"])
    del blob, request
    os.close(write_fd)
    send_frame({"pid": pid})
    # fd 0, this server's requests, is watched during the case: the grader writes nothing there until
    # the case's frames are read, so anything on it (end of file above all) means the grader is gone
    # {"final": true}: the case's final result line is complete; the grader's time limit then waits for
    # the grace the server gives the case to end (FINAL_GRACE), which counts against no one
    payload, status, overflow, stopped, cpu = PROCESSES.relay(pid, read_fd, budget, setup["spared"], 0, seconds,
                                                              lambda: send_frame({"final": True}), cpu_seconds)
    if stopped == "gone":
        return False
    # "cpu": the case's CPU seconds, from its rusage when it was reaped (measured here, never told by the case)
    send_frame({"exit": os.waitstatus_to_exitcode(status), "overflow": overflow, "timeout": stopped != "",
                "cpu": round(cpu, 3), "length": len(payload)}, payload)
    return True


def prepare_cases() -> dict[str, object]:
    """What the fork server prepares once for all its cases (see run_case), before it forks any.

    Its only local name left in serve() is the returned dict, which each case empties of
    the filter (and so of ctypes) before student code runs: a case that walks frames up
    into serve() finds neither.
    """
    try:
        import ctypes  # noqa: F401  warm for each case's kernel-enforced set-up (which then forgets it)
    except ImportError:
        pass
    import array, traceback  # noqa: F401,E401  warm for each forked case's results and error report (wire.py)
    library_roots, package_folders, extensions = library_layout(sys.path)
    WARM.preload_extensions(extensions, GUARD.DENIED_IMPORTS)
    WARM.preload_modules({**GUARD.DENIED_IMPORTS, **GUARD.UNCONFINED_IMPORTS})  # never in a case's sys.modules
    WARM.preload_identity()
    LANDLOCK.hide_from_reading(package_folders)  # for this server and every case it forks
    case_filter, filter_missing = prepare_syscall_filter()
    prctl = PROCESSES.prctl_function()  # each case's parent-death signal (popped by the case, as the filter)
    WARM.freeze(collect=True)
    # A root server's cases usually import through the aliases of every standard folder: their
    # extension paths are computed here once, for exactly that sys.path (any other is computed by the case).
    aliased = CASE_USER.aliased_path(sys.path)
    return {"backend": "linux", "library_roots": library_roots, "extensions": extensions, "case_filter": case_filter,
            "filter_missing": filter_missing, "prctl": prctl,
            "extension_entries": extension_paths(extensions, sys.path),  # a case's own, unless it uses aliases
            "aliased_extension_entries": (aliased, extension_paths(extensions, aliased))}


def prepare_spawned() -> dict[str, object]:
    """prepare_cases for one spawned case (the portable backend): the standard library's layout only.

    No kernel layer (no Landlock, no seccomp filter, so no ctypes), no preloading: this
    process serves one case.
    """
    library_roots, _, extensions = library_layout(sys.path)
    return {"backend": "portable", "library_roots": library_roots, "extensions": extensions, "case_filter": None,
            "filter_missing": "the portable sandbox backend has no kernel layers",
            "namespaces": None, "namespaces_missing": "the portable sandbox backend has no namespaces",
            "extension_entries": extension_paths(extensions, sys.path), "aliased_extension_entries": (None, None)}


def serve_spawned() -> None:
    """The portable backend's case process: get ready, say so (one byte on stdout), run the one
    request read from stdin, exit.

    The case's results go to the grader on a copy of stdout made here, before run_case moves
    stdout and stderr into the case's ``.output``.
    """
    if os.name == "nt":
        import msvcrt
        for fd in (0, 1):
            msvcrt.setmode(fd, os.O_BINARY)  # no newline translation on the request or the results
    result_fd = os.dup(1)
    setup = prepare_spawned()
    write_all(result_fd, b"\x00")  # ready: the grader's clock for this case starts when it sends the request
    request = read_request(0)
    if request is None:
        os._exit(0)  # the grader closed the pipe without a request: it is stopping
    blob, _, seconds, _ = request
    del request
    run_child(blob, result_fd, setup, seconds)


def watchdog(seconds: float, parent: int | None) -> None:
    """A spawned case's own end: ``seconds`` after its request, or as soon as its grader is gone (POSIX:
    it is adopted by another process), even if nobody is left to kill it (the grader killed with -9).
    A thread of this process that student code cannot reach without native code (no threading object)."""
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up and (parent is None or os.getppid() == parent):
        time.sleep(0.25)
    os._exit(71)


TWIN_EXIT_SECONDS = 5.0  # how long a server whose input has closed waits for its twin to end


def start_twin(read_fd: int, write_fd: int, setup: dict) -> int:
    """Fork a second fork server from this prepared one; return its pid (the twin itself never returns).

    The twin serves the grader on its own pipes (``read_fd``, ``write_fd``, which the grader
    passed to this server for it) and costs no start-up of its own: it has everything
    ``prepare_cases`` made.  It is a subreaper too (that is not inherited) and kills
    everything below itself after each of its cases; this server spares it and what is
    below it (``setup["spared"]``).  The grader shuts it down by closing its pipes (the twin then
    exits) and then this server's input (this server then reaps it, see serve); a server the
    grader kills takes everything below it along, twin included.
    It first says it is up: ``{"twin": pid}``.
    """
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(read_fd, 0)
            os.dup2(write_fd, 1)
            os.close(read_fd)
            os.close(write_fd)
            PROCESSES.become_subreaper()
            setup["spared"] = ()
            send_frame({"twin": os.getpid()})
            while serve_one(setup):
                pass
        finally:
            os._exit(0)
    os.close(read_fd)
    os.close(write_fd)
    return pid


def serve(twin: tuple[int, int] | None = None) -> None:
    """Fork one fresh process per request; relay its results to the grader.

    Requests arrive on stdin as a 4-byte big-endian length, an 8-byte result budget, the
    case's wall-clock limit and its CPU limit in milliseconds (4 bytes each) and a marshal
    blob (written by the grader, so trusted).  For each, this server forks; the
    child starts its own session, moves its stdout/stderr to a file and runs the case,
    writing JSON lines to a private pipe.  The server answers with two frames, or three:
    ``{"pid": N}`` as soon as the child exists (so the grader can kill its
    process group on timeout), ``{"final": true}`` once the case's final result line is
    complete (the grader's own limit then waits for FINAL_GRACE), and ``{"exit": STATUS, "overflow": B, "timeout": T, "cpu": S, "length": L}``
    (S: the CPU seconds the case used, from its rusage) followed by the L bytes the child wrote
    (at most the budget), once the child is reaped and every process left below this server is killed.  This process never
    imports or runs student code.  ``twin``: the two descriptors of a second server to fork
    once prepared (see start_twin).

    Nothing of a grading outlives its grader, whatever ends it.  The grader's end of stdin
    closes with the grader (by any death): between cases this server reads end of file and
    exits; during a case it watches stdin too (processes.relay), kills the case at once and
    exits without answering.  It also ends a case by itself (``T``: true) once the case has used
    its CPU limit (read from /proc/PID/stat while it runs; RLIMIT_CPU behind that) and
    WALL_MARGIN after the grader's own wall-clock limit would have, so a sleeping case ends under
    a stuck grader, and FINAL_GRACE after the case's final line (its result stands).  Each case gets SIGKILL when
    this server dies (processes.die_with_parent).  The server itself sets no parent-death
    signal: it fires when the *thread* that started the process ends, and the grader starts
    its servers from grading threads that end before it closes them gracefully (close_servers:
    a server reaps its twin then, so their CPU time is counted); the pipe says the same
    thing without that flaw, and a twin watches its own pipe the same way.
    """
    spaces = NAMESPACES.prepare()  # first: a non-root server enters its user namespace while single-threaded
    PROCESSES.become_subreaper()
    if os.geteuid() == 0:
        # before prepare_cases hides site-packages: that Landlock layer also keeps the standard
        # library's own folder from being listed, and the aliases' import caches need one listing
        CASE_USER.warm_stdlib_aliases()
    setup = prepare_cases()
    setup["namespaces"], setup["namespaces_missing"] = spaces, spaces.missing
    setup["spared"] = (start_twin(*twin, setup),) if twin else ()
    while serve_one(setup):
        pass
    # The grader closed this server's input (it closes a twin's first): the twin ends too, and is
    # reaped here, so its CPU time is counted in this server's; then nothing is left below it.
    for pid in setup["spared"]:
        PROCESSES.wait_for(pid, TWIN_EXIT_SECONDS)
    PROCESSES.kill_descendants()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--case"]:
        serve_spawned()
    else:
        serve(tuple(map(int, sys.argv[2:4])) if sys.argv[1:2] == ["--twin"] else None)
