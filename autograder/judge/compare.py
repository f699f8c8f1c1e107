"""Validate what a student's code returned and compare it with the reference.

Messages follow numpy's ``assert_allclose`` (how many elements mismatch, where,
by how much) but speak of the student's quantities: ``backward dLdA``,
``conv1d_stride1.dLdW``, ``running_V``...
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.judge import diffmap
from autograder.judge.results import Finding
from autograder.sandbox.messages import PackedFloats

MAX_LISTED = 5
MAX_NUMBER_TEXT = 40  # characters of a huge number shown in a message


@dataclass(frozen=True)
class Difference:
    """What :func:`assert_close` found: the tolerance compared with, how many elements differ of how
    many, the largest differences, and the first differing elements (index, got, expected), or the
    one value of a scalar (index ``()``)."""
    rtol: float
    atol: float
    count: int
    total: int
    max_absolute: float
    max_relative: float
    first: tuple[tuple[tuple[int, ...], float, float], ...]

    def lines(self) -> list[str]:
        lines = [f"  {mismatched_elements(self.count, self.total)}",
                 f"  Max absolute difference: {self.max_absolute:.6g}",
                 f"  Max relative difference: {self.max_relative:.6g}"]
        if len(self.first) == 1 and self.first[0][0] == ():
            _, got, expected = self.first[0]
            return [*lines, f"  got {got:.10g}, expected {expected:.10g}"]
        lines.append("  First mismatches (index: got vs expected):")
        return lines + [f"    {format_index(index)}: {got:.10g} vs {expected:.10g}" for index, got, expected in self.first]


def mismatched_elements(count: int, total: int) -> str:
    """``Mismatched elements: 3 / 12 (25%)``: a values mismatch's count, in its details and in the summary."""
    return f"Mismatched elements: {count} / {total} ({100.0 * count / total:.3g}%)"


class Mismatch(Exception):
    """A student value that is malformed or not close enough to the reference, in parts.

    ``quantity``: what was compared (``backward dLdA``); ``summary``: what is wrong with it, one
    sentence; ``kind`` says which, in the words of the student-facing view of hidden sets
    (:mod:`autograder.report.student_view`): ``"mismatch"`` (values differ), ``"shape"``
    (a well-formed result of the wrong shape) or ``"invalid"`` (None, a wrong type,
    a ragged list, NaN or inf).  ``difference``: the counts, largest differences and first
    elements of a values mismatch; ``picture``: where an array differs
    (``autograder.judge.diffmap.picture``, also in the JSON report).  ``hint``: the sentence
    naming a known mistake whose value the student's equals (``autograder.judge.hints``).
    ``str()`` and :meth:`lines` are the message the student reads; :meth:`finding` what a
    renderer needs to shorten it without reading it.
    """

    def __init__(self, quantity: str, summary: str, kind: str = "invalid", difference: Difference | None = None,
                 picture: dict[str, Any] | None = None, hint: str | None = None) -> None:
        self.quantity = quantity
        self.summary = summary
        self.kind = kind
        self.difference = difference
        self.picture = picture
        self.hint = hint
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """The message: ``quantity: summary``, then indented details (the difference, where it differs,
        the likely cause)."""
        lines = [f"{self.quantity}: {self.summary}"]
        if self.difference is not None:
            lines += self.difference.lines()
        if self.picture is not None:
            lines += diffmap.render(self.picture)
        if self.hint is not None:
            lines.append(cause_line(self.quantity, self.hint))
        return lines

    def with_hint(self, hint: str) -> Mismatch:
        """The same mismatch naming a known mistake."""
        return Mismatch(self.quantity, self.summary, self.kind, self.difference, self.picture, hint)

    def finding(self) -> Finding:
        """This mismatch as a case's result keeps it: its lines, counts and whether it names a cause."""
        return Finding(self.quantity, tuple("\n".join(self.lines()).split("\n")),
                       None if self.difference is None else (self.difference.count, self.difference.total),
                       self.hint is not None, self.hint or "")


CAUSE_PREFIX = "likely cause:"  # starts the line a known mistake's hint adds to a failure message


def cause_line(quantity: str, hint: str) -> str:
    """The line a failure message gets for a known mistake's ``hint``."""
    return f"  {CAUSE_PREFIX} your {quantity} is exactly what this mistake gives: {hint}"


def format_shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def format_index(index: Sequence[int]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]"


def describe_foreign(tagged: Mapping[str, Any]) -> str:
    """A message for a value the child tagged as not list/float/int."""
    kind = tagged.get("$type", "?")
    bases = tagged.get("$base", [])
    short = kind.rsplit(".", 1)[-1]
    if kind == "builtins.tuple":
        return "a tuple; return a list (tuples are not accepted)"
    if "numpy" in kind or short == "ndarray":
        return f"a NumPy-like object ({short}); mytorch must return nested Python lists"
    if "float" in bases and short != "float":
        return f"an instance of {short}, a float subclass; return plain float values"
    if "list" in bases:
        return f"an instance of {short}, a list subclass; return plain lists"
    if kind == "builtins.generator":
        return "a generator; build and return a list"
    if kind == "builtins.bool":
        return "a bool"
    if kind == "builtins.int":
        return f"an integer too large to be a float ({tagged.get('$repr', '')})"
    if kind == "builtins.str":
        return f"a string ({tagged.get('$repr', '')})"
    if tagged.get("$repr") == "too many elements to return":
        return "a list with far too many elements"
    return f"a {short} object ({tagged.get('$repr', '')})"


def to_array(value: Any, expected_shape: Sequence[int], quantity: str,
             formula: str | None = None) -> np.ndarray:
    """Turn the child's encoded value into a float64 array of ``expected_shape`` or raise Mismatch."""
    expected_shape = tuple(expected_shape)
    if value is None:
        raise Mismatch(quantity, "got None; did the method forget to return (or to set the attribute)?")
    if isinstance(value, dict):
        raise Mismatch(quantity, f"got {describe_foreign(value)}; expected "
                       + ("a float" if expected_shape == () else f"a nested list of floats of shape "
                                                                  f"{format_shape(expected_shape)}"))
    if type(value) is PackedFloats:  # validated raw doubles: the shape is known, every element a float
        if expected_shape == ():
            if value.size != 1:
                raise Mismatch(quantity, "got a list; expected a single float")
            return check_finite(as_floats(value, quantity).reshape(()), quantity)
        if value.shape != expected_shape:
            hint = f" (expected {formula})" if formula else ""
            raise Mismatch(quantity, f"shape {format_shape(value.shape)} but the reference has shape "
                           f"{format_shape(expected_shape)}{hint}", kind="shape")
        return check_finite(as_floats(value, quantity), quantity)
    if expected_shape == ():
        if isinstance(value, list):
            single = value
            while isinstance(single, list) and len(single) == 1:
                single = single[0]  # [x], [[x]]...: one number, accepted as that number
            if isinstance(single, (list, PackedFloats)) or not all_numbers(single):  # ragged, empty: never np.size
                raise Mismatch(quantity, "got a list; expected a single float")
            value = single
        return check_finite(as_floats(value, quantity), quantity)
    if not isinstance(value, list):
        raise Mismatch(quantity, f"got a single number ({short_number(value)}); expected a nested list of shape "
                       f"{format_shape(expected_shape)}")
    shape = measure_shape(value, quantity, len(expected_shape))
    if shape != expected_shape:
        hint = f" (expected {formula})" if formula else ""
        raise Mismatch(quantity, f"shape {format_shape(shape)} but the reference has shape "
                       f"{format_shape(expected_shape)}{hint}", kind="shape")
    return check_finite(as_floats(value, quantity), quantity)


def as_floats(value: Any, quantity: str) -> np.ndarray:
    """A float64 array of a number or nested list of numbers; an int beyond float's range is a Mismatch."""
    if type(value) is PackedFloats:
        return np.frombuffer(value.raw, dtype=np.float64).reshape(value.shape).copy()
    try:
        return np.array(value, dtype=np.float64)
    except OverflowError:
        raise Mismatch(quantity, "got an integer too large to be a float (beyond ±1.8e308); "
                       "return float values") from None


def short_number(value: float) -> str:
    """``repr`` of a number, cut to MAX_NUMBER_TEXT characters (an int may have thousands of digits)."""
    try:
        text = repr(value)
    except ValueError:  # more digits than int's string conversion limit
        return "an integer with too many digits to show"
    return text if len(text) <= MAX_NUMBER_TEXT else f"{text[:MAX_NUMBER_TEXT]}... ({len(text)} characters)"


def all_numbers(value: Any) -> bool:
    if type(value) is PackedFloats:
        return True
    if isinstance(value, list):
        return all(all_numbers(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def measure_shape(value: Any, quantity: str, expected_ndim: int,
                  index: tuple[int, ...] = ()) -> tuple[int, ...]:
    """The shape of a rectangular nested list of numbers; raises Mismatch naming the first problem."""
    if type(value) is PackedFloats:
        return value.shape
    if not isinstance(value, list):
        wanted = "a list" if len(index) < expected_ndim else "a float"
        if isinstance(value, dict):
            raise Mismatch(quantity, f"element {format_index(index)} is {describe_foreign(value)}; "
                           f"expected {wanted}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Mismatch(quantity, f"element {format_index(index)} is {value!r}; expected {wanted}")
        return ()
    if not value:
        return (0,)
    shapes = [measure_shape(v, quantity, expected_ndim, index + (i,)) for i, v in enumerate(value)]
    for i, s in enumerate(shapes):
        if s != shapes[0]:
            raise Mismatch(quantity, f"ragged nested list: element {format_index(index + (i,))} has shape "
                           f"{format_shape(s)} but element {format_index(index + (0,))} has shape "
                           f"{format_shape(shapes[0])}")
    return (len(value),) + shapes[0]


def check_finite(array: np.ndarray, quantity: str) -> np.ndarray:
    finite = np.isfinite(array)
    if finite.all():
        return array
    bad = np.argwhere(~finite)
    if bad.size:
        first = tuple(int(i) for i in bad[0])
        raise Mismatch(quantity, f"{len(bad)} non-finite value(s) (NaN or inf), first at "
                       f"{format_index(first)}: {float(array[first])!r}")
    return array


def assert_close(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float, quantity: str) -> None:
    """Raise Mismatch unless |got - expected| <= atol + rtol*|expected| everywhere."""
    diff = np.abs(got - expected)
    bad = diff > atol + rtol * np.abs(expected)
    if not bad.any():
        return
    count, total = int(bad.sum()), bad.size
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(expected != 0, diff / np.abs(expected), np.inf)
    if expected.ndim == 0:
        first: tuple[tuple[tuple[int, ...], float, float], ...] = (((), float(got), float(expected)),)
    else:
        indices = [tuple(int(i) for i in index) for index in np.argwhere(bad)[:MAX_LISTED]]
        first = tuple((index, float(got[index]), float(expected[index])) for index in indices)
    difference = Difference(rtol, atol, count, total, float(diff.max()), float(relative[bad].max()), first)
    pic = diffmap.picture(got, expected, bad)
    raise Mismatch(quantity, f"values differ from the reference (rtol={rtol:g}, atol={atol:g})", "mismatch",
                   difference, None if pic is None else {"quantity": quantity, **pic})


def dropped_channels(output: np.ndarray, inputs: np.ndarray, p: float, rtol: float, atol: float,
                     quantity: str) -> np.ndarray:
    """Classify each (n, c) channel of a Dropout2d output as dropped (True) or kept (False).

    Raises Mismatch if a channel is neither all zeros nor exactly ``x / (1 - p)``.
    """
    N, C = output.shape[:2]
    scaled = inputs / (1.0 - p)
    flat_out = output.reshape(N, C, -1)
    flat_scaled = scaled.reshape(N, C, -1)
    zero = np.all(np.abs(flat_out) <= atol, axis=2)
    kept = np.all(np.abs(flat_out - flat_scaled) <= atol + rtol * np.abs(flat_scaled), axis=2)
    neither = np.argwhere(~zero & ~kept)
    if neither.size:
        n, c = (int(i) for i in neither[0])
        partial = bool(np.any(np.abs(flat_out[n, c]) <= atol))
        hint = (" Some elements are zero and others are not: the mask must be drawn once per (sample, channel),"
                " not per element." if partial else
                f" Kept channels must be scaled by 1/(1-p) = {1.0 / (1.0 - p):.6g}.")
        raise Mismatch(quantity, f"{len(neither)} of {N * C} channels are neither all zeros nor x/(1-p); "
                       f"first: channel (n={n}, c={c}): got {np.array2string(flat_out[n, c][:6], precision=6)}, "
                       f"x/(1-p) = {np.array2string(flat_scaled[n, c][:6], precision=6)}.{hint}",
                       kind="mismatch")
    return zero


def check_drop_rate(dropped: np.ndarray, p: float, max_sigma: float, quantity: str) -> None:
    """The fraction of dropped channels must be within ``max_sigma`` binomial deviations of ``p``."""
    n = dropped.size
    fraction = float(dropped.mean())
    sigma = math.sqrt(p * (1.0 - p) / n)
    if abs(fraction - p) > max_sigma * max(sigma, 1e-12):
        raise Mismatch(quantity, f"{100 * fraction:.1f}% of {n} channels were dropped, but p = {p:g} is the "
                       f"probability of DROPPING a channel (expected {100 * p:.1f}% "
                       f"± {100 * max_sigma * sigma:.1f}%)", kind="mismatch")
