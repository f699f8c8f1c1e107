"""What a grading case sends back: student values encoded, its error described, JSON lines written.

The forked case (``child.py``, which loads this file by path) encodes the student's
values (``encode``: lists, floats, ints and None as they are, everything else tagged
with its type and a short repr, never sent raw; with ``raw=True``, a rectangular nested
list of exact floats as its shape and its IEEE doubles in base64, ``RawFloats``, which
costs neither side a Python step per number), describes the student's exception
(``describe_error``) and writes every message with ``to_json``; the fork server writes
its frames with it too.  Every path a case reports is named as the student knows it
(``shown_paths``): a ``/proc/self/fd/N`` alias as its folder, a readable copy of the submission
(a root grader's case user could not read the original) as the submitted folder.  Standard
library only, and no import of the autograder package: it must load in a ``python -I -S`` process.
"""
from __future__ import annotations

TYPE_CHECKING = False  # traceback is only named in annotations, never imported at run time
if TYPE_CHECKING:
    import traceback

import warnings  # loaded by the case anyway (precompiled.py)
from binascii import b2a_base64

MAX_DEPTH: int = 8
MAX_ELEMENTS: int = 20_000_000
FLOAT_RANGE: int = 2 ** 1024 - 2 ** 970  # ints from here on round to infinity as floats: tagged, not sent
RAW_MIN_ELEMENTS: int = 16  # shorter float lists are sent as text (easier to read, no gain in speed)


class RawFloats:
    """A rectangular nested list of exact floats, as ``to_json`` writes it:
    ``{"$f64": [shape], "$data": "<base64 of the native IEEE doubles, row-major>"}``."""

    def __init__(self, shape: list[int], data: str) -> None:
        self.shape, self.data = shape, data


def raw_floats(value: list, budget: list[int], depth: int) -> RawFloats | None:
    """``value`` as RawFloats if it is a rectangular nested list (no empty level, at most
    MAX_DEPTH deep from ``depth``) of at least RAW_MIN_ELEMENTS exact floats, else None.

    The budget is charged as ``encode`` would charge it, and only if it suffices (else
    None, and ``encode`` tags what is over).  Only exact lists and floats are looked at
    (``len`` and ``type``), so no student method runs here.
    """
    rows, shape, charged = [value], [], 0
    for _ in range(MAX_DEPTH - depth):
        size = len(rows[0])
        if size == 0 or any([len(row) != size for row in rows]):
            return None
        shape.append(size)
        charged += size * len(rows)
        if budget[0] < charged:
            return None  # checked before flattening: a list holding itself must not blow up here
        items = [item for row in rows for item in row]
        kinds = set(map(type, items))
        if kinds == {float}:
            if len(items) < RAW_MIN_ELEMENTS:
                return None
            from array import array  # here, not at the top: it imports collections (the fork server warms it)
            budget[0] -= charged
            return RawFloats(shape, b2a_base64(array("d", items).tobytes(), newline=False).decode("ascii"))
        if kinds != {list}:
            return None
        rows = items
    return None


def safe_repr(value: object) -> str:
    try:
        text = object.__repr__(value) if type(value).__repr__ is object.__repr__ else repr(value)
    except BaseException as error:  # a student __repr__ may raise anything
        text = f"<repr raised {type(error).__name__}>"
    return text if len(text) <= 120 else text[:117] + "..."


def encode(value: object, budget: list[int], depth: int = 0,
           raw: bool = False) -> float | int | list | dict | RawFloats | None:
    """Encode a student value for the parent, tagging everything that is not list/float/int/None.

    ``raw``: send rectangular float lists as RawFloats (what a grading case does).
    """
    kind = type(value)
    if kind is float or (kind is int and -FLOAT_RANGE < value < FLOAT_RANGE):
        return value
    if value is None:
        return None
    if kind is list and depth < MAX_DEPTH:
        packed = raw_floats(value, budget, depth) if raw else None
        if packed is not None:
            return packed
        budget[0] -= len(value)
        if budget[0] < 0:
            return {"$type": "list", "$repr": "too many elements to return"}
        return [encode(v, budget, depth + 1, raw) for v in value]
    return {"$type": f"{getattr(kind, '__module__', '?')}.{getattr(kind, '__qualname__', kind.__name__)}",
            "$base": [b.__name__ for b in getattr(kind, "__mro__", ())[1:3]],
            "$repr": safe_repr(value)}


def shown_paths(aliases: dict[str, str], submission: str, original: str | None) -> dict[str, str]:
    """{a folder as the case sees it: as the student knows it}, for ``shown_path``.

    ``aliases``: {folder: /proc/self/fd/N} (case_user.switch_user), each alias shown as its folder;
    ``original``: the submitted folder when ``submission`` is a readable copy of it
    (run_as.readable_submission), the copy (or its alias) shown as the original.
    """
    shown = {alias: folder for folder, alias in aliases.items()}
    if original:
        shown = {seen: original if folder == submission else folder for seen, folder in shown.items()}
        shown[submission] = original
    return shown


def shown_path(path: str, shown: dict[str, str]) -> str:
    """``path`` as the student knows it: below (or at) a folder of ``shown``, through its shown name."""
    for seen, name in shown.items():
        if path == seen or path.startswith(seen + "/"):
            return name + path[len(seen):]
    return path


def shown_text(text: str, shown: dict[str, str]) -> str:
    """``text`` (an exception's message: an ImportError names the module's file, the sandbox the path
    it refused) with each folder of ``shown`` named as shown_path names it, where it is a whole
    path component (``/proc/self/fd/5`` in ``/proc/self/fd/50`` stays)."""
    for seen, name in shown.items():
        parts = text.split(seen)
        for index in range(1, len(parts)):
            following = parts[index][:1]
            ends = not following or following == "/" or not (following.isalnum() or following in "._-")
            parts[index] = (name if ends else seen) + parts[index]
        text = "".join(parts)
    return text


def show_warnings_as(shown: dict[str, str]) -> None:
    """Warnings (a SyntaxWarning while compiling, a RuntimeWarning) name the file through shown_path.

    Installed in a case before any student code; the source line is still read from the file
    the case sees (the original may be unreadable to it).  Student code may replace it, as any
    ``warnings.showwarning``: the student's own output, then.
    """
    if not shown:
        return
    show = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if type(filename) is str:
            if line is None and type(lineno) is int:
                import linecache  # here: only a case that warns pays for it (and tokenize, re)
                line = linecache.getline(filename, lineno)
            filename = shown_path(filename, shown)
        show(message, category, filename, lineno, file, line)
    warnings.showwarning = showwarning


BOM = "\ufeff"


def without_bom(exception: traceback.TracebackException) -> None:
    """A SyntaxError on line 1 of a file that starts with a UTF-8 byte-order mark (Windows editors
    write one) with the line and the caret of that file without the mark.

    CPython (3.10 to 3.13 at least) reads the line it shows back from the file, mark included,
    and turns the parser's byte offsets (into the line without the mark) into characters by
    decoding that many bytes of the line with it: the text starts with U+FEFF and the caret
    lands two columns left.  Undone: the mark dropped, each offset the characters of the line
    that the original byte offset spans (the bytes the reported characters after the mark
    span, plus the mark's three).  An offset within the line's first three bytes, all reported
    as 1, stays 1.
    """
    text = exception.text
    line = text[len(BOM):].encode("utf-8", "surrogatepass")
    exception.text = text[len(BOM):]
    for name in ("offset", "end_offset"):
        reported = getattr(exception, name, None)
        if type(reported) is int and reported > 1:
            byte = len(text[1:reported].encode("utf-8", "surrogatepass")) + 3
            setattr(exception, name, len(line[:byte].decode("utf-8", "replace")))


# Where the standard library calls C code that acts with no audit event, so that only a kernel layer
# refuses it (seccomp: no process, no socket; Landlock: nothing in /dev/shm; RLIMIT_NPROC: no
# process): (file, function) of the innermost frame, and the action, for the sandbox's message.
KERNEL_REFUSALS: dict[tuple[str, str], str] = {
    ("multiprocessing/util.py", "spawnv_passfds"): "starting processes",  # _posixsubprocess.fork_exec
    ("multiprocessing/synchronize.py", "__init__"): "shared memory",  # _multiprocessing.SemLock: sem_open
    ("multiprocessing/shared_memory.py", "__init__"): "shared memory",  # _posixshmem.shm_open
    ("socket.py", "socketpair"): "network access",  # _socket.socketpair (asyncio's event loop)
}
REFUSED_ERRNOS: tuple[str, ...] = ("EPERM", "EACCES", "EAGAIN")  # seccomp, Landlock, RLIMIT_NPROC


def kernel_refusal(error: BaseException, frame: traceback.FrameSummary | None) -> str:
    """The sandbox's line for an OSError a kernel layer gave a known standard-library call
    (KERNEL_REFUSALS, by its innermost frame), else ""."""
    if frame is None or not isinstance(error, OSError) or type(frame.filename) is not str:
        return ""
    import errno
    if error.errno not in [getattr(errno, name, None) for name in REFUSED_ERRNOS]:
        return ""
    path = frame.filename.replace("\\", "/")
    for (file, function), what in KERNEL_REFUSALS.items():
        if frame.name == function and path.endswith("/" + file):
            return f"sandbox: {what} is not allowed while grading (refused by the kernel)"
    return ""


def describe_error(error: BaseException, harness_files: frozenset[str],
                   shown: dict[str, str] | None = None) -> dict[str, str]:
    """The student's exception with the harness frames trimmed, every path named as the student
    knows it (``shown``: shown_paths; files, a SyntaxError's file, paths in the message).

    The harness frames are dropped before any source line is looked up (the harness's own
    files are never read for a student's traceback); source lines are read from the files the
    case sees, before their paths are renamed.
    """
    shown = shown or {}
    kept, tb = [], error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename not in harness_files:
            kept.append(tb)
        tb = tb.tb_next
    chain = None
    for tb in reversed(kept):  # the same frames and positions, without the harness's links
        chain = type(tb)(chain, tb.tb_frame, tb.tb_lasti, tb.tb_lineno)
    import traceback  # here: a case with no error never pays for it (a fork server imports it once)
    # Named as the student knows them (the line read from the graded file first), and without their
    # columns: no ^^^ lines, which 3.11+ draw (each version by its own rules) and 3.10 cannot, so the
    # frames read the same whichever Python grades.
    frames = [traceback.FrameSummary(shown_path(frame.filename, shown), frame.lineno, frame.name, lookup_line=False,
                                     line=frame.line)
              for frame in traceback.extract_tb(chain)]
    if len(frames) > 12:
        omitted = len(frames) - 10
        head, tail = traceback.format_list(frames[:4]), traceback.format_list(frames[-6:])
        lines = head + [f"  ... {omitted} more frames ...\n"] + tail
    else:
        lines = traceback.format_list(frames)
    # as traceback.format_exception_only builds it, without looking up the chained exceptions' lines
    exception = traceback.TracebackException(type(error), error, None, lookup_lines=False, compact=True)
    if type(getattr(exception, "filename", None)) is str:  # a SyntaxError: its file and line, shown apart
        # (TracebackException keeps the line number as a str)
        if exception.lineno == "1" and type(exception.text) is str and exception.text.startswith(BOM):
            without_bom(exception)
        exception.filename = shown_path(exception.filename, shown)
    message = shown_text("".join(exception.format_exception_only()).strip(), shown)
    refusal = kernel_refusal(error, frames[-1] if frames else None)
    if refusal:
        message += "\n" + refusal
    return {"type": type(error).__name__, "message": message[:2000],
            "traceback": ("Traceback (most recent call last):\n" + "".join(lines) + message)[:8000]}


_float_repr, _int_repr = float.__repr__, int.__repr__  # bound before student code runs
INF: float = float("inf")
ESCAPES: dict[str, str] = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def quote(text: str) -> str:
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'  # nothing to escape (base64, names): no Python step per character
    out = []
    for ch in text:
        if ch in ESCAPES:
            out.append(ESCAPES[ch])
        elif ch < " ":
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def to_json(value: object) -> str:
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
    if kind is RawFloats:  # base64 needs no escaping
        return '{"$f64":' + to_json(value.shape) + ',"$data":"' + value.data + '"}'
    if kind is dict:
        return "{" + ",".join([quote(k) + ":" + to_json(v) for k, v in value.items()]) + "}"
    if kind is str:
        return quote(value)
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    return _int_repr(value)
