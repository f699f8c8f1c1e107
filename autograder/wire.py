"""What a grading case sends back: student values encoded, its error described, JSON lines written.

The forked case (``child.py``, which loads this file by path) encodes the student's
values (``encode``: lists, floats, ints and None as they are, everything else tagged
with its type and a short repr, never sent raw; with ``raw=True``, a rectangular nested
list of exact floats as its shape and its IEEE doubles in base64, ``RawFloats``, which
costs neither side a Python step per number), describes the student's exception
(``describe_error``) and writes every message with ``to_json``; the fork server writes
its frames with it too.  Standard library only, and no import of the autograder package:
it must load in a ``python -I -S`` process.
"""
from __future__ import annotations

import traceback  # imported once by the server, so a forked child reports errors without the import cost
from array import array  # array and binascii: loaded by the server too, before any restriction
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


def describe_error(error: BaseException, harness_files: frozenset[str],
                   aliases: dict[str, str] | None = None) -> dict[str, str]:
    """The student's exception with the harness frames trimmed (and /proc/self/fd/N aliases named).

    The harness frames are dropped before any source line is looked up (the harness's own
    files are never read for a student's traceback).
    """
    kept, tb = [], error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename not in harness_files:
            kept.append(tb)
        tb = tb.tb_next
    chain = None
    for tb in reversed(kept):  # the same frames and positions, without the harness's links
        chain = type(tb)(chain, tb.tb_frame, tb.tb_lasti, tb.tb_lineno)
    # without their columns: no ^^^ lines, which 3.11+ draw (each version by its own rules) and 3.10
    # cannot, so the frames read the same whichever Python grades
    frames = [traceback.FrameSummary(frame.filename, frame.lineno, frame.name, lookup_line=False, line=frame.line)
              for frame in traceback.extract_tb(chain)]
    if len(frames) > 12:
        omitted = len(frames) - 10
        head, tail = traceback.format_list(frames[:4]), traceback.format_list(frames[-6:])
        lines = head + [f"  ... {omitted} more frames ...\n"] + tail
    else:
        lines = traceback.format_list(frames)
    for root, alias in (aliases or {}).items():
        lines = [line.replace(f'File "{alias}/', f'File "{root}/') for line in lines]
    message = "".join(traceback.format_exception_only(type(error), error)).strip()
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
