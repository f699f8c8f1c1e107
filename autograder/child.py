"""Sandboxed child: a fork server that runs ONE fixture program per forked process.

Started by ``autograder.sandbox`` as ``python -I -S child.py`` (no site-packages:
only the standard library imports).  It is deliberately standalone (stdlib
only, no import of the autograder package, so it repeats the few lines of
``reference/program.py`` it needs) and it never sees expected values: a request
holds the submission folder, a fresh working folder, resource limits, the
program and its *input* arrays, nothing else.

This server process never runs student code.  For each request it forks a
child that starts a new session, moves stdout/stderr into a file, sets hard
resource limits, installs an audit hook, and only then imports the student's
package.  The child reports one JSON object per line on a private pipe:
progress lines ``{"phase": ...}`` (so a timeout or a hard exit can be reported
as "during forward") and a last line ``{"final": true, ...}`` with the encoded
step results or the student's error.  The grader trusts nothing in these lines:
it validates every value before comparing it.  Forking a warm interpreter
instead of starting a new one per case keeps the harness's own cost per case
to a few milliseconds.
"""
import marshal
import os
import resource
import sys
import time
import traceback  # imported once by the server, so a forked child reports errors without the import cost

_perf = time.perf_counter
MAX_DEPTH = 8
MAX_ELEMENTS = 20_000_000
FLOAT_RANGE = 2 ** 1024  # larger ints are tagged, not sent

DENIED_EVENTS = {
    "os.system": "running shell commands", "os.exec": "starting programs",
    "os.posix_spawn": "starting processes", "os.spawn": "starting processes",
    "os.fork": "forking processes", "os.forkpty": "forking processes",
    "subprocess.Popen": "starting processes", "pty.spawn": "starting processes",
    "os.kill": "sending signals", "os.killpg": "sending signals", "signal.pthread_kill": "sending signals",
    "resource.setrlimit": "changing resource limits", "resource.prlimit": "changing resource limits",
}
DENIED_EVENT_PREFIXES = {"socket.": "network access", "ctypes.": "ctypes", "winreg.": "registry access"}
DENIED_IMPORTS = {
    "ctypes": "ctypes", "_ctypes": "ctypes", "subprocess": "starting processes",
    "_posixsubprocess": "starting processes", "multiprocessing": "starting processes",
    "socket": "network access", "_socket": "network access", "ssl": "network access",
    "mmap": "memory mapping", "_xxsubinterpreters": "sub-interpreters",
}
WRITE_EVENTS = ("os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.chmod", "os.chown",
                "os.symlink", "os.link", "os.truncate", "os.utime", "shutil.rmtree",
                "shutil.copyfile", "shutil.copymode", "shutil.copystat", "shutil.move")
LIST_EVENTS = ("os.listdir", "os.scandir", "glob.glob", "os.walk", "os.fwalk")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
DEVICES = ("/dev/null", "/dev/urandom", "/dev/random")


def apply_limits(limits):
    """Hard resource limits (soft == hard, so student code cannot raise them)."""
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


def install_guard(read_roots, write_root):
    """An audit hook that refuses processes, sockets, ctypes and file access outside the sandbox.

    Audit hooks cannot be removed once added.  This is defence in depth on top
    of the process boundary and the resource limits, not a complete jail.
    """
    realpath, sep = os.path.realpath, os.sep
    read_roots = tuple(r.rstrip(sep) + sep for r in read_roots)
    write_root = write_root.rstrip(sep) + sep

    def inside(path, roots):
        if isinstance(path, int):
            return True  # an already-open descriptor
        try:
            full = realpath(os.fsdecode(path) if path not in (None, "") else ".")
        except Exception:
            return False
        return (full + sep).startswith(roots) or full in DEVICES

    def deny(what):
        raise PermissionError(f"sandbox: {what} is not allowed while grading")

    def hook(event, args):
        if event in DENIED_EVENTS:
            deny(DENIED_EVENTS[event])
        if event == "import":
            top = str(args[0]).partition(".")[0]
            if top in DENIED_IMPORTS or args[0] in DENIED_IMPORTS:
                raise ImportError(f"sandbox: importing '{args[0]}' is not allowed while grading "
                                  f"({DENIED_IMPORTS.get(args[0], DENIED_IMPORTS.get(top))})")
            return
        if event == "open":
            path, flags = args[0], args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            mode = args[1] if isinstance(args[1], str) else ""
            writing = bool(flags & WRITE_FLAGS) or any(c in mode for c in "wax+")
            if writing and not inside(path, (write_root,)):
                deny(f"writing {path!r} (only the temporary working folder is writable)")
            if not writing and not inside(path, read_roots):
                deny(f"reading {path!r}")
            return
        if event in LIST_EVENTS and not inside(args[0] if args else ".", read_roots):
            deny(f"listing {args[0]!r}")
        if event in WRITE_EVENTS:
            for path in args[:2]:
                if isinstance(path, (str, bytes, os.PathLike)) and not inside(path, (write_root,)):
                    deny(f"changing {path!r}")
        for prefix, what in DENIED_EVENT_PREFIXES.items():
            if event.startswith(prefix):
                deny(what)

    sys.addaudithook(hook)


# ----------------------------------------------------------------------------- program values

def clone(value):
    """A fresh copy of a nested list, so student code that mutates an input harms nothing."""
    return [clone(v) for v in value] if type(value) is list else value


def zeros(shape):
    return [0.0] * shape[-1] if len(shape) == 1 else [zeros(shape[1:]) for _ in range(shape[0])]


def fill(shape, value):
    return [float(value)] * shape[-1] if len(shape) == 1 else [fill(shape[1:], value) for _ in range(shape[0])]


def decode(value, arrays, importer):
    if type(value) is list:
        return [decode(v, arrays, importer) for v in value]
    if type(value) is not dict:
        return value
    if "$array" in value:
        return clone(arrays[value["$array"]])
    if "$fill" in value:
        return fill(value["$fill"]["shape"], value["$fill"]["value"])
    if "$const_fn" in value:
        constant = decode(value["$const_fn"], arrays, importer)
        return lambda *args, **kwargs: clone(constant)
    if "$zeros_fn" in value:
        return lambda *shape: zeros(list(shape))
    if "$new" in value:
        spec = value["$new"]
        return getattr(importer(spec["module"]), spec["class"])(*decode(spec.get("args", []), arrays, importer))
    return {k: decode(v, arrays, importer) for k, v in value.items()}


def resolve(obj, path):
    for part in path.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def assign(obj, path, value):
    parent_path, _, last = path.rpartition(".")
    parent = resolve(obj, parent_path) if parent_path else obj
    if last.isdigit():
        parent[int(last)] = value
    else:
        setattr(parent, last, value)


def safe_repr(value):
    try:
        text = object.__repr__(value) if type(value).__repr__ is object.__repr__ else repr(value)
    except BaseException as error:  # a student __repr__ may raise anything
        text = f"<repr raised {type(error).__name__}>"
    return text if len(text) <= 120 else text[:117] + "..."


def encode(value, budget, depth=0):
    """Encode a student value for the parent, tagging everything that is not list/float/int/None."""
    kind = type(value)
    if kind is float or (kind is int and -FLOAT_RANGE < value < FLOAT_RANGE):
        return value
    if value is None:
        return None
    if kind is list and depth < MAX_DEPTH:
        budget[0] -= len(value)
        if budget[0] < 0:
            return {"$type": "list", "$repr": "too many elements to return"}
        return [encode(v, budget, depth + 1) for v in value]
    return {"$type": f"{getattr(kind, '__module__', '?')}.{getattr(kind, '__qualname__', kind.__name__)}",
            "$base": [b.__name__ for b in getattr(kind, "__mro__", ())[1:3]],
            "$repr": safe_repr(value)}


# ----------------------------------------------------------------------------- error reports

def describe_error(error, harness_file):
    """The student's exception with the harness frames trimmed."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename != harness_file]
    if len(frames) > 12:
        omitted = len(frames) - 10
        head, tail = traceback.format_list(frames[:4]), traceback.format_list(frames[-6:])
        lines = head + [f"  ... {omitted} more frames ...\n"] + tail
    else:
        lines = traceback.format_list(frames)
    message = "".join(traceback.format_exception_only(type(error), error)).strip()
    return {"type": type(error).__name__, "message": message[:2000],
            "traceback": ("Traceback (most recent call last):\n" + "".join(lines) + message)[:8000]}


# ----------------------------------------------------------------------------- JSON out

_float_repr, _int_repr = float.__repr__, int.__repr__  # bound before student code runs
INF = float("inf")
ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def quote(text):
    out = []
    for ch in text:
        if ch in ESCAPES:
            out.append(ESCAPES[ch])
        elif ch < " ":
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def to_json(value):
    """A small JSON writer for what ``encode`` produces (the json module is not imported:
    it costs a third of the child's start-up, and student code could patch it)."""
    kind = type(value)
    if kind is float:
        if value != value:
            return "NaN"
        if value in (INF, -INF):
            return "Infinity" if value > 0 else "-Infinity"
        return _float_repr(value)
    if kind is list:
        return "[" + ",".join([to_json(v) for v in value]) + "]"
    if kind is dict:
        return "{" + ",".join([quote(k) + ":" + to_json(v) for k, v in value.items()]) + "}"
    if kind is str:
        return quote(value)
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    return _int_repr(value)


# ----------------------------------------------------------------------------- one case

def run_case(request, result_fd):
    """Run one request in this (freshly forked) process; never returns normally to the caller's loop."""
    def emit(message):
        data = (to_json(message) + "\n").encode("utf-8", "backslashreplace")
        while data:
            data = data[os.write(result_fd, data):]

    workdir = os.path.realpath(request["workdir"])
    os.chdir(workdir)
    output = os.open(os.path.join(workdir, ".output"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    os.close(null)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)  # what was printed survives a timeout kill
    apply_limits(request["limits"])
    submission = os.path.realpath(request["submission"])
    stdlib_roots = [os.path.realpath(p) for p in sys.path if p and os.path.exists(p)]
    sys.dont_write_bytecode = True
    install_guard(stdlib_roots + [submission, workdir], workdir)
    sys.path.insert(0, submission)

    program, arrays = request["program"], request["arrays"]
    harness_file = os.path.realpath(__file__)
    modules = {}

    def importer(name):
        if name not in modules:
            emit({"phase": "import", "module": name})
            modules[name] = __import__(name, fromlist=["*"])
        return modules[name]

    phase = {"phase": "import", "module": program["module"]}
    spent = 0.0
    results = []
    try:
        start = _perf()
        module = importer(program["module"])
        phase = {"phase": "construct", "class": program["class"]}
        emit(phase)
        cls = getattr(module, program["class"])
        kwargs = {k: decode(v, arrays, importer) for k, v in program["kwargs"].items()}
        instance = cls(*decode(program["args"], arrays, importer), **kwargs)
        for path, value in program["set"]:
            phase = {"phase": "set", "path": path}
            assign(instance, path, decode(value, arrays, importer))
        spent += _perf() - start
        budget = [MAX_ELEMENTS]
        for index, step in enumerate(program["steps"]):
            label = step.get("call") or step.get("read")
            phase = {"phase": "step", "step": index, "label": label, "kind": "call" if "call" in step else "read"}
            emit(phase)
            start = _perf()
            if "call" in step:
                method = resolve(instance, step["call"])
                args = decode(step.get("args", []), arrays, importer)
                step_kwargs = {k: decode(v, arrays, importer) for k, v in step.get("kwargs", {}).items()}
                value = method(*args, **step_kwargs)
            else:
                value = resolve(instance, step["read"])
            spent += _perf() - start
            results.append(encode(value, budget))
    except BaseException as error:  # SystemExit, KeyboardInterrupt... all belong to the student
        emit({"final": True, "status": "error", "where": phase, "error": describe_error(error, harness_file),
              "student_seconds": spent})
        return
    emit({"final": True, "status": "ok", "results": results, "student_seconds": spent})


# ----------------------------------------------------------------------------- the fork server

def read_exactly(fd, size):
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def serve():
    """Fork one fresh process per request; relay its results to the grader.

    Requests arrive on stdin as a 4-byte big-endian length and a marshal blob
    (written by the grader, so trusted).  For each, this server forks; the child
    starts its own session, moves its stdout/stderr to a file and runs the case,
    writing JSON lines to a private pipe.  The server answers with two frames:
    ``{"pid": N}`` as soon as the child exists (so the grader can kill its
    process group on timeout) and ``{"exit": STATUS, "length": L}`` followed by
    the L bytes the child wrote, once the pipe is closed and the child reaped.
    This process never imports or runs student code.
    """
    def frame(header, payload=b""):
        text = to_json(header).encode()
        write_all(1, len(text).to_bytes(4, "big") + text + payload)

    while True:
        size = read_exactly(0, 4)
        if size is None:
            return
        request = marshal.loads(read_exactly(0, int.from_bytes(size, "big")))
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                os.close(read_fd)
                os.setsid()
                run_case(request, write_fd)
            except BaseException:
                code = 70
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except BaseException:
                    pass
            os._exit(code)  # skip interpreter teardown (and any student atexit hook)
        os.close(write_fd)
        frame({"pid": pid})
        chunks, total, overflow = [], 0, False
        while True:
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            total += len(chunk)
            if total > request["max_result_bytes"]:
                overflow = True
                try:
                    os.killpg(pid, 9)
                except OSError:
                    pass
                break
            chunks.append(chunk)
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
        payload = b"".join(chunks)
        frame({"exit": os.waitstatus_to_exitcode(status), "overflow": overflow, "length": len(payload)}, payload)


if __name__ == "__main__":
    serve()
