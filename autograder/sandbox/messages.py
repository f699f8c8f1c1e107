"""What a case's child reports on its result pipe, checked before the grader uses any of it.

Threat model: student code can write anything to the result pipe (it is an inherited
descriptor), so every field is checked here before the grader uses it: a forged message
can only spoil the case it was written in, never raise in the grader, put non-finite
numbers or unprintable text into the report, or claim more than the comparison with the
expected values gives.
"""
from __future__ import annotations

import binascii
import json
import math
from array import array
from dataclasses import dataclass, field
from typing import Any

from autograder.util.compat import strict_base64
from autograder.util.safetext import for_terminal


@dataclass
class ChildOutcome:
    """What came back from one child run, before any comparison.

    ``status`` is ``ok`` (results holds one encoded value per program step),
    ``error`` (the student's code raised; ``error`` holds type, message and
    traceback), ``timeout``, ``crashed`` (the process ended without a final
    message: os._exit, a signal, the memory limit...) or ``protocol`` (the
    child's messages were unreadable).
    """
    status: str
    results: list[Any] = field(default_factory=list)
    error: dict[str, str] = field(default_factory=dict)
    where: dict[str, Any] = field(default_factory=dict)
    returncode: int | None = None
    output: str = ""
    wall_seconds: float = 0.0
    student_seconds: float = 0.0
    sandbox: dict[str, Any] = field(default_factory=dict)  # kernel layers in force, see clean_sandbox()
    cpu_seconds: float | None = None  # CPU time the case process used, measured from outside it; None: unknown

    def describe_where(self) -> str:
        """Where the child was: 'while importing mytorch.conv1d', 'in forward (step 1)'."""
        phase = self.where.get("phase")
        if phase == "import":
            return f"while importing {self.where.get('module')}"
        if phase == "construct":
            return f"while constructing {self.where.get('class')}"
        if phase == "set":
            return f"while setting {self.where.get('path')}"
        if phase == "step":
            what = "calling" if self.where.get("kind") == "call" else "reading"
            return f"while {what} {self.where.get('label')} (step {self.where.get('step', 0) + 1})"
        return "while starting up"


def parse_messages(data: bytes) -> list[dict[str, Any]]:
    """Split the result channel into JSON messages; unreadable lines are skipped."""
    messages = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(message, dict):
            messages.append(message)
    return messages


WHERE_FIELDS = {"phase": str, "module": str, "class": str, "path": str, "label": str, "kind": str, "step": int}
ERROR_FIELDS = {"type": 200, "message": 2000, "traceback": 8000}  # longest text kept
MAX_RESULT_DEPTH = 16  # wire.py nests lists at most MAX_DEPTH (8) deep, then tags


def clean_text(text: str, limit: int | None = None) -> str:
    """Text that is safe to print and to put in JSON: no lone surrogates, no terminal control codes."""
    text = text if limit is None else text[:limit]
    return for_terminal(text.encode("utf-8", "replace").decode("utf-8"), newlines=True)


def clean_where(message: Any) -> dict[str, Any] | None:
    """A progress message as ``describe_where`` needs it, or None if any of its fields is ill-typed."""
    if not isinstance(message, dict) or type(message.get("phase")) is not str:
        return None
    where = {}
    for key, kind in WHERE_FIELDS.items():
        if key in message:
            if type(message[key]) is not kind:
                return None
            where[key] = clean_text(message[key], 200) if kind is str else message[key]
    return where


def clean_results(value: Any, depth: int = 0) -> Any:
    """``value`` if it is something child.encode() can produce (tags' texts cleaned), else raise ValueError."""
    kind = type(value)
    if kind is float or kind is int or value is None:
        return value
    if kind is list and depth < MAX_RESULT_DEPTH:
        return [clean_results(v, depth + 1) for v in value]
    if kind is dict and set(value) == {"$f64", "$data"}:
        return unpack_floats(value["$f64"], value["$data"], depth)
    if kind is dict and set(value) <= {"$type", "$base", "$repr"} and type(value.get("$type")) is str:
        base = value.get("$base", [])
        if type(value.get("$repr", "")) is str and type(base) is list and all(type(b) is str for b in base):
            return {"$type": clean_text(value["$type"], 200), "$base": [clean_text(b, 200) for b in base[:4]],
                    "$repr": clean_text(value.get("$repr", ""), 200)}
    raise ValueError("malformed value")


class PackedFloats:
    """A rectangular nested list of floats as ``wire.RawFloats`` sent it, already validated: its
    ``shape`` (a tuple of ints >= 1) and ``raw``, exactly one native IEEE double per element.

    The grader compares it without a Python step per number (``autograder.judge.compare`` reads
    ``raw`` with NumPy); anything else sees the nested list (``tolist``, indexing, iteration,
    ``==`` with a list, ``numpy.array``), built on first use.  Immutable.
    """
    __slots__ = ("shape", "raw", "_list")

    def __init__(self, shape: tuple[int, ...], raw: bytes) -> None:
        self.shape, self.raw, self._list = shape, raw, None

    @property
    def size(self) -> int:
        return len(self.raw) // 8

    def tolist(self) -> list:
        """The nested list of exact floats (a new one each time: callers may change it)."""
        values = array("d", self.raw).tolist()
        for size in reversed(self.shape[1:]):
            values = [values[start:start + size] for start in range(0, len(values), size)]
        return values

    def _nested(self) -> list:
        if self._list is None:
            self._list = self.tolist()
        return self._list

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> Any:
        return self._nested()[index]

    def __iter__(self) -> Any:
        return iter(self._nested())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedFloats):
            return self.shape == other.shape and self.tolist() == other.tolist()
        if isinstance(other, list):
            return self.tolist() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # like a list

    def __repr__(self) -> str:
        return f"PackedFloats({list(self.shape)}, {len(self.raw)} bytes)"

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        import numpy  # only NumPy calls this, so it is loaded already
        values = numpy.frombuffer(self.raw, dtype=numpy.float64).reshape(self.shape)
        return values.astype(numpy.float64 if dtype is None else dtype, copy=True)


def unpack_floats(shape: Any, data: Any, depth: int) -> PackedFloats:
    """The nested list of floats that ``wire.RawFloats`` packed, as PackedFloats, or raise ValueError.

    Threat: student code can forge this too.  The shape must be a non-empty list of exact
    ints >= 1 (no empty level: a shape like [10**9, 0] would make a billion lists out of no
    data) nesting no deeper than MAX_RESULT_DEPTH, and the data strict base64 of exactly one
    double per element: the work and memory are linear in the bytes received (and the
    result budget bounds those).  The values come back as exact floats, NaN and infinities
    included, as the text form gives them; the checks judge them as before.
    """
    if (type(shape) is not list or not shape or depth + len(shape) > MAX_RESULT_DEPTH or type(data) is not str
            or not all(type(size) is int and size >= 1 for size in shape)):
        raise ValueError("malformed value")
    try:
        raw = strict_base64(data)
    except (binascii.Error, ValueError):
        raise ValueError("malformed value") from None
    if len(raw) != 8 * math.prod(shape):
        raise ValueError("malformed value")
    return PackedFloats(tuple(shape), raw)


NAMESPACES: tuple[str, ...] = ("ipc", "pid")  # a case's own namespaces (autograder/case/namespaces.py), in this order


def clean_sandbox(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Which layers the case had, from the child's first line (written before any student code ran).

    ``{"landlock": ABI version or 0, "seccomp": architecture or "", "seccomp_missing": why not,
    "backend": "linux" or "portable", "rlimits": whether resource limits were set,
    "namespaces": which of NAMESPACES the case had, "namespaces_missing": why one is missing}``, or {} when
    the child never got that far.  Only the first message counts: student code can write lines
    of its own, but only after this one.
    """
    first = messages[0].get("sandbox") if messages else None
    if not isinstance(first, dict):
        return {}
    landlock, seccomp, missing = first.get("landlock"), first.get("seccomp"), first.get("seccomp_missing", "")
    backend, rlimits = first.get("backend", "linux"), first.get("rlimits", True)
    namespaces, namespaces_missing = first.get("namespaces", []), first.get("namespaces_missing", "")
    if (type(landlock) is not int or type(seccomp) is not str or type(missing) is not str
            or backend not in ("linux", "portable") or type(rlimits) is not bool
            or type(namespaces) is not list or not set(namespaces) <= set(NAMESPACES)
            or type(namespaces_missing) is not str):
        return {}
    return {"landlock": max(0, landlock), "seccomp": clean_text(seccomp, 40),
            "seccomp_missing": clean_text(missing, 200), "backend": backend, "rlimits": rlimits,
            "namespaces": [name for name in NAMESPACES if name in namespaces],
            "namespaces_missing": clean_text(namespaces_missing, 200)}


def weakest_sandbox(one: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """The layers every case had: the lower Landlock ABI, seccomp and resource limits only if both had them."""
    if not one or not other:
        return one or other
    seccomp = other if one["seccomp"] else one  # the one without, if either is
    fewer = other if len(other["namespaces"]) < len(one["namespaces"]) else one  # and why it has fewer
    return {"landlock": min(one["landlock"], other["landlock"]), "seccomp": seccomp["seccomp"],
            "seccomp_missing": seccomp["seccomp_missing"],
            "backend": "portable" if "portable" in (one["backend"], other["backend"]) else "linux",
            "rlimits": one["rlimits"] and other["rlimits"],
            "namespaces": [name for name in one["namespaces"] if name in other["namespaces"]],
            "namespaces_missing": fewer["namespaces_missing"]}


def clean_seconds(value: Any) -> float:
    return float(value) if type(value) in (int, float) and math.isfinite(value) and value >= 0 else 0.0


def interpret(messages: list[dict[str, Any]], how: str, returncode: int | None,
              budget: int = 0) -> ChildOutcome:
    """Turn the child's messages into an outcome; only a well-formed final message counts."""
    where = {}
    for message in reversed(messages):  # the last well-formed progress message says where the child was
        if "phase" in message and not message.get("final"):
            where = clean_where(message) or {}
            if where:
                break
    final = next((m for m in reversed(messages) if m.get("final") is True), None)
    if how == "overflow":
        return ChildOutcome("protocol", where=where, returncode=returncode,
                            error={"message": f"the results were larger than the {budget // 1024} KiB this "
                                              f"case's expected values need"})
    if final is not None:
        status = final.get("status")
        seconds = clean_seconds(final.get("student_seconds"))
        error = final.get("error")
        try:
            if status == "ok" and isinstance(final.get("results"), list):
                return ChildOutcome("ok", results=clean_results(final["results"]), where=where,
                                    returncode=returncode, student_seconds=seconds)
            error_where = clean_where(final.get("where"))
            if (status == "error" and isinstance(error, dict) and error_where is not None
                    and all(type(error.get(key, "")) is str for key in ERROR_FIELDS)):
                error = {key: clean_text(error.get(key, ""), limit) for key, limit in ERROR_FIELDS.items()}
                return ChildOutcome("error", error=error, where=error_where, returncode=returncode,
                                    student_seconds=seconds)
        except (ValueError, RecursionError):
            pass
        return ChildOutcome("protocol", where=where, returncode=returncode,
                            error={"message": "the grading child sent a malformed result"})
    if how == "timeout":
        return ChildOutcome("timeout", where=where, returncode=returncode)
    return ChildOutcome("crashed", where=where, returncode=returncode)
