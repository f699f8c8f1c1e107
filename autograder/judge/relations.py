"""Relation diagnostics: how a wrong student array relates to the expected one, found at grading time.

The stored variants (:mod:`autograder.judge.hints`, tried first) name the mistakes the fixtures
were built from; most unseen mistakes are simple relations between the student's array and the
reference's one instead: a constant factor named in the case's terms (K, 1/k, N, K², 1/(1-p),
m...), a lost sign, a bias missing, doubled or subtracted, a kernel flipped or transposed, a shift
along an axis, a region left at zero, positions missing or extra at the ends of an axis, the
expected values at other positions, the value of another quantity of the same case, a sum over the
wrong axes, a value accumulated over two calls; and Dropout2d's statistical slips (kept channels
scaled wrongly, a mask per element, p as the keep probability, a backward that does not reuse the
forward's mask, an eval mode that still drops).  :func:`describe` looks for them, cheapest and most
specific first, and names the first that holds.

A relation holds only EXACTLY: the whole array (the overlap, for a shift; the wrong elements, for
a region left at zero) within the item's tolerance, as a stored variant must; a fitted relation
(an unnamed factor, an offset) only with several more elements than fitted parameters, and never
one that says nothing (a candidate equal to the expected value).  Only a failing quantity is
looked at, never a correct one; the work is a few dozen NumPy passes over arrays of at most a few
thousand elements.

Each sentence is fixed text in the student's terms (axes, the case's parameter NAMES, the program's
array names): never a number, neither from an array nor a parameter's value nor a size (how many
positions a shift or a wrong width is off by would tell a hidden case's padding or size), so the
student view of a hidden set may show it as it shows a variant's hint.
"""
from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from autograder.contract.fixtures import Case
from autograder.judge.compare import Mismatch, as_floats, measure_shape
from autograder.sandbox.messages import PackedFloats

MAX_SHIFT = 3  # positions a shifted array may be off by
FITTED_SLACK = 3  # a fitted relation needs this many more elements than parameters
CONSTANTS = {"2": 2.0, "1/2": 0.5}  # factors named only when no parameter of the case explains them


def matches(got: np.ndarray, value: np.ndarray, rtol: float, atol: float) -> bool:
    """Whether ``got`` equals ``value`` as a whole: same shape, every element within the tolerance."""
    if got.shape != value.shape:
        return False
    for i in (0, got.size // 2) if got.size else ():  # most candidates differ here: two numbers decide
        g, v = float(got.flat[i]), float(value.flat[i])
        if not abs(g - v) <= atol + rtol * abs(v):
            return False
    return bool((np.abs(got - value) <= atol + rtol * np.abs(value)).all())


def student_array(value: Any) -> np.ndarray | None:
    """The student's value as a float64 array of whatever shape it has; None if it is not a finite,
    rectangular array of numbers (its own message says so)."""
    try:
        if value is None or isinstance(value, dict):
            return None
        if type(value) is not PackedFloats:
            measure_shape(value, "value", 0)
        array = as_floats(value, "value")
    except (Mismatch, RecursionError):
        return None
    return array if np.all(np.isfinite(array)) else None


@dataclass
class Relation:
    """What :func:`describe` compares: the student's array, the expected one, the case around them."""
    case: Case
    check: Mapping[str, Any]
    got: np.ndarray
    expected: np.ndarray
    rtol: float
    atol: float

    def close(self, got: np.ndarray, value: np.ndarray) -> bool:
        return matches(got, value, self.rtol, self.atol)

    def says_something(self, candidate: np.ndarray) -> bool:
        """A candidate equal to the expected value explains nothing."""
        return candidate.shape != self.expected.shape or not self.close(candidate, self.expected)

    def varies(self, array: np.ndarray, axes: tuple[int, ...] | None = None) -> bool:
        """Whether ``array`` is not constant (along ``axes``, within each slice of the others) by more
        than the tolerance at the student's scale: a constant explains little, and any two constant
        arrays are related by a factor and by an offset."""
        spread = np.abs(array - array.mean(axis=axes, keepdims=True))
        return bool(np.any(spread > self.atol + self.rtol * self.scale))

    @cached_property
    def scale(self) -> float:
        """The student's largest magnitude."""
        return float(np.max(np.abs(self.got), initial=0.0))

    def holds(self, candidate: np.ndarray) -> bool:
        return self.says_something(candidate) and self.close(self.got, candidate)

    @cached_property
    def others(self) -> list[tuple[str, np.ndarray]]:
        """(how the student knows it, array) of the case's other quantities: its inputs, by the
        program's names, and the other checks' expected values, by their quantities."""
        found = [(f"the input {name}", array) for name, array in sorted(self.case.inputs().items())]
        return found + [(f"the {check['quantity']}", self.case.array(check["expected"])) for check in self.case.checks
                        if check.get("expected") and check["expected"] != self.check.get("expected")]


# ----------------------------------------------------------------------------- the student's terms

WEIGHT = re.compile(r"(^|[ .])(dLdW|W)( |$)")


def axis_names(quantity: str, ndim: int) -> tuple[str, ...]:
    """The axes of a quantity in the handout's words (each reads after "along the"): samples, channels,
    height and width; a kernel's output and input channels and its own height and width."""
    if WEIGHT.search(quantity):
        names = {2: ("output axis", "input axis"),
                 3: ("output-channel axis", "input-channel axis", "kernel width"),
                 4: ("output-channel axis", "input-channel axis", "kernel height", "kernel width")}
    else:
        names = {1: ("channel axis",), 2: ("sample axis", "feature axis"),
                 3: ("sample axis", "channel axis", "width"), 4: ("sample axis", "channel axis", "height", "width")}
    return names.get(ndim, tuple(f"axis {i}" for i in range(ndim)))


def joined(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# ----------------------------------------------------------------------------- named factors

def named_factors(case: Case) -> list[tuple[str, float]]:
    """(name, value) of the scale factors an item's mistakes can introduce, in the handout's symbols,
    most specific first: the kernel size K, the resampling factor k, the stride s, 1/(1-p), the batch
    size N, BatchNorm's element count per channel m = N·H·W, then bare constants."""
    hp = case.hyperparameters
    shape = hp.get("input_shape") or []
    two_d = len(shape) == 4
    found: list[tuple[str, float]] = []

    def add(name: str, value: float) -> None:
        if np.isfinite(value) and value not in (0.0, 1.0, -1.0):
            found.append((name, float(value)))

    def powers(symbol: str, value: float) -> None:
        add(symbol, value)
        add(f"1/{symbol}", 1.0 / value)
        if two_d:
            add(f"{symbol}²", value * value)
            add(f"1/{symbol}²", 1.0 / (value * value))

    for key in ("kernel_size", "kernel", "filter_size"):
        if isinstance(hp.get(key), (int, float)) and hp[key] > 0:
            powers("K", hp[key])
    for key in ("factor", "upsampling_factor"):
        if isinstance(hp.get(key), (int, float)) and hp[key] > 0:
            powers("k", hp[key])
    if isinstance(hp.get("stride"), (int, float)) and hp["stride"] > 0:
        powers("s", hp["stride"])
    if isinstance(hp.get("p"), (int, float)) and 0 < hp["p"] < 1:
        p = hp["p"]
        for name, value in (("1/(1-p)", 1 / (1 - p)), ("(1-p)", 1 - p), ("(1-p)²", (1 - p) ** 2), ("1/p", 1 / p),
                            ("p", p)):
            add(name, value)
    batch = shape[0] if shape else hp.get("batch_size")
    if isinstance(batch, int) and batch > 0:
        add("N", batch)
        add("1/N", 1.0 / batch)
        if "num_features" in hp and len(shape) == 4:
            m = shape[0] * shape[2] * shape[3]
            add("m", m)
            add("1/m", 1.0 / m)
            if m > 1:
                add("m/(m-1)", m / (m - 1))
                add("(m-1)/m", (m - 1) / m)
    for name, value in CONSTANTS.items():
        add(name, value)
    return found


# ----------------------------------------------------------------------------- the relations, cheapest first

def all_zero(r: Relation) -> str | None:
    if r.got.size and np.all(np.abs(r.got) <= r.atol) and r.says_something(np.zeros_like(r.expected)):
        return "every value is zero: the quantity is never computed, or keeps its initial zeros."
    return None


def another_quantity(r: Relation) -> str | None:
    for name, array in r.others:
        if array.shape == r.got.shape and r.holds(array) and r.varies(array):
            return f"it equals {name}: the wrong variable is returned (or stored), or it is never updated."
    return None


def lost_sign(r: Relation) -> str | None:
    if r.got.shape == r.expected.shape and r.holds(-r.expected):
        return "every value has the wrong sign: a minus sign is lost, or a difference is taken the wrong way round."
    return None


def factor(r: Relation) -> str | None:
    """got = c * expected for one constant c, named in the case's terms when it can be."""
    if r.got.shape != r.expected.shape:
        return None
    scale = float(np.sum(r.expected * r.expected))
    nonzero = int(np.count_nonzero(np.abs(r.expected) > r.atol))
    if scale == 0.0 or nonzero < 2:
        return None
    c = float(np.sum(r.got * r.expected)) / scale
    if not r.holds(c * r.expected):
        return None
    names = [name for name, value in named_factors(r.case)
             if abs(c - value) <= 1e-6 * abs(value) and r.close(r.got, value * r.expected)]
    symbols = [name for name in names if name not in CONSTANTS]
    if not symbols and "2" in names:
        return ("every value is twice the expected one: something is counted twice, or accumulated over "
                "two calls instead of overwritten.")
    if not symbols and "1/2" in names:
        return "every value is half the expected one: a sum is halved, or only one of two terms is counted."
    names = symbols
    if names:
        name = names[0] + (f" (or {joined(names[1:])})" if len(names) > 1 else "")
        return f"every value is the expected one times {name}: a factor is missing, inverted or applied twice."
    if nonzero >= 1 + FITTED_SLACK:
        return "every value is the expected one times the same constant: one scale factor is wrong or missing."
    return None


def accumulated(r: Relation) -> str | None:
    """got = expected + another quantity of the case (a gradient added to the last call's, an input added twice)."""
    for name, array in r.others:
        if array.shape == r.expected.shape and np.any(np.abs(array) > r.atol) and r.holds(r.expected + array):
            if name.startswith("the input"):
                return f"it is the expected value plus {name}: {name[4:]} is added once too often."
            return (f"it is the expected value plus {name}: it accumulates across calls instead of being "
                    f"overwritten.")
    return None


def offset(r: Relation) -> str | None:
    """got = expected + one constant per channel (axis 1; a feature of a 2-D output), or + one constant
    overall: a bias missing or added twice, named when the case has it as an input."""
    e = r.expected
    if r.got.shape != e.shape or r.got.size < 1 + FITTED_SLACK or not r.varies(e):
        return None
    diff = r.got - e
    if e.ndim >= 2 and e.size // e.shape[1] >= 2:
        axes = tuple(a for a in range(e.ndim) if a != 1)
        per_channel = diff.mean(axis=axes, keepdims=True)
        if r.varies(e, axes) and r.holds(e + per_channel):
            unit = "feature" if e.ndim == 2 else "channel"
            channels = per_channel.reshape(-1)
            for name, array in sorted(r.case.inputs().items()):
                if array.shape == channels.shape and np.any(np.abs(array) > r.atol):
                    if r.close(channels, -array):
                        return f"each {unit} is off by minus its bias {name}: the bias is never added."
                    if r.close(channels, array):
                        return f"each {unit} is off by its bias {name}: the bias is added twice."
                    if r.close(channels, -2 * array):
                        return f"each {unit} is off by minus twice its bias {name}: the bias is subtracted, not added."
            if e.shape[1] > 1 and not r.close(per_channel, np.full_like(per_channel, channels.mean())):
                return (f"each {unit} is off by its own constant: a bias is missing, doubled, or taken from "
                        f"the wrong {unit}.")
    if r.holds(e + float(diff.mean())):
        return "every value is off by the same constant: a bias or constant term is missing, doubled or wrong."
    return None


def orientation(r: Relation) -> str | None:
    """got = expected flipped along some spatial or kernel axes, or with two axes swapped."""
    e, names = r.expected, axis_names(r.check["quantity"], r.expected.ndim)
    if r.got.shape == e.shape:
        spatial = [a for a in range(2, e.ndim) if e.shape[a] > 1]
        for count in range(1, len(spatial) + 1):
            for axes in itertools.combinations(spatial, count):
                if r.holds(np.flip(e, axes)):
                    return (f"it is the expected value flipped along the {joined([names[a] for a in axes])}: "
                            f"a kernel or window is read in the wrong orientation.")
    for a, b in ((e.ndim - 2, e.ndim - 1), (0, 1)):
        if e.ndim >= 2 and a >= 0 and e.shape[a] > 1 and e.shape[b] > 1:
            swapped = np.swapaxes(e, a, b)
            if r.got.shape == swapped.shape and r.holds(swapped):
                return (f"it is the expected value with its {names[a]} and {names[b]} swapped: "
                        f"an index order is transposed.")
    return None


def shift(r: Relation) -> str | None:
    """got[i] = expected[i - s] along the spatial axes (all by the same s), wherever both exist."""
    e = r.expected
    if r.got.shape != e.shape or e.ndim < 3:
        return None
    names = axis_names(r.check["quantity"], e.ndim)
    spatial = [a for a in range(2, e.ndim) if e.shape[a] > 2]
    for count in range(1, len(spatial) + 1):
        for axes in itertools.combinations(spatial, count):
            for s in itertools.chain.from_iterable((k, -k) for k in range(1, MAX_SHIFT + 1)):
                if any(2 * abs(s) > e.shape[a] for a in axes):
                    continue
                dst = tuple(slice(s, None) if a in axes and s > 0 else slice(None, s) if a in axes
                            else slice(None) for a in range(e.ndim))
                src = tuple(slice(None, -s) if a in axes and s > 0 else slice(-s, None) if a in axes
                            else slice(None) for a in range(e.ndim))
                moved = e[src]
                if r.close(r.got[dst], moved) and not r.close(moved, e[dst]):
                    where = "end" if s > 0 else "start"
                    return (f"it is the expected value shifted toward the {where} of the "
                            f"{joined([names[a] for a in axes])}: padding on one side only, or an index off by one.")
    return None


def zeroed_region(r: Relation) -> str | None:
    """got = expected except where it is zero: a border, the last positions, whole samples or channels."""
    e = r.expected
    if r.got.shape != e.shape or e.ndim == 0:
        return None
    wrong = np.abs(r.got - e) > r.atol + r.rtol * np.abs(e)
    if not wrong.any() or not np.all(np.abs(r.got[wrong]) <= r.atol) or wrong.all():
        return None
    names = axis_names(r.check["quantity"], e.ndim)
    where = np.nonzero(wrong)
    for axis in range(e.ndim - 1, -1, -1):
        size, hit = e.shape[axis], np.unique(where[axis])
        if size < 2:
            continue
        others = tuple(a for a in range(e.ndim) if a != axis)
        whole = np.all(wrong[tuple(hit if a == axis else slice(None) for a in range(e.ndim))]
                       | (np.abs(e[tuple(hit if a == axis else slice(None) for a in range(e.ndim))]) <= r.atol))
        if not others or whole:
            if hit[-1] == size - 1 and len(hit) == hit[-1] - hit[0] + 1 and len(hit) < size:
                return (f"it is right except that the last positions along the {names[axis]} are left at zero: "
                        f"a loop stops early, or a last block is skipped.")
            if hit[0] == 0 and len(hit) == hit[-1] + 1 and len(hit) < size:
                return (f"it is right except that the first positions along the {names[axis]} are left at zero: "
                        f"a loop starts late, or a first block is skipped.")
    if e.ndim >= 3:
        border = np.zeros(e.shape, dtype=bool)
        for a in range(2, e.ndim):
            for index in (0, e.shape[a] - 1):
                border[tuple(index if b == a else slice(None) for b in range(e.ndim))] = True
        if np.all(border[wrong]):
            return "it is right except on the border, left at zero: the border positions are skipped."
    return "it is right except where it is left at zero: some positions are never computed or never written."


def sum_axes(shape: tuple[int, ...], target: tuple[int, ...]) -> Iterator[tuple[tuple[int, ...], bool]]:
    """(axes, keepdims) of every sum of an array of ``shape`` that has the shape ``target``."""
    if len(target) == len(shape):
        axes = tuple(a for a in range(len(shape)) if target[a] != shape[a])
        if axes and all(target[a] == 1 for a in axes):
            yield axes, True
    for kept in itertools.combinations(range(len(shape)), len(target)):
        if len(kept) < len(shape) and tuple(shape[a] for a in kept) == target:
            yield tuple(a for a in range(len(shape)) if a not in kept), False


def axis_sum(r: Relation) -> str | None:
    """got = the sum (or mean) of another quantity over axes other than the right ones."""
    g = r.got
    for name, array in r.others:
        if array.ndim < g.ndim or array.size <= g.size or array.size % g.size:
            continue
        for axes, keep in sum_axes(array.shape, g.shape):
            total = array.sum(axis=axes, keepdims=keep)
            for value, what in ((total, "sum"), (total / (array.size // total.size), "mean")):
                if r.close(g, value) and r.says_something(value) and r.varies(value):
                    over = joined([axis_names("", array.ndim)[a] for a in axes])
                    why = "a sum over the wrong axes" if what == "sum" else "a mean or sum over the wrong axes"
                    return f"it is the {what} of {name} along its {over}: {why}."
    return None


def dropout_in_eval(r: Relation) -> str | None:
    """Dropout2d's eval-mode output (the input itself) with channels still dropped and scaled by 1/(1-p)."""
    p = r.case.hyperparameters.get("p")
    e = r.expected
    if not isinstance(p, (int, float)) or not 0 < p < 1 or r.got.shape != e.shape or e.ndim < 3:
        return None
    flat_got, flat_e = r.got.reshape(e.shape[0], e.shape[1], -1), e.reshape(e.shape[0], e.shape[1], -1) / (1 - p)
    zero = np.all(np.abs(flat_got) <= r.atol, axis=2)
    kept = np.all(np.abs(flat_got - flat_e) <= r.atol + r.rtol * np.abs(flat_e), axis=2)
    if np.all(zero | kept) and zero.any():
        return ("channels are dropped and the others scaled by 1/(1-p) as in training: in eval mode Dropout2d "
                "must return its input unchanged.")
    return None


def resized(r: Relation) -> str | None:
    """A wrong shape whose values are the expected ones: positions missing or extra at the ends of some
    axes, all shorter or all longer (padding on one side or twice, a width off by one), or the right
    values in another shape."""
    g, e = r.got, r.expected
    if g.shape == e.shape:
        return None
    if g.ndim == e.ndim:
        differ = [a for a in range(e.ndim) if g.shape[a] != e.shape[a]]
        shorter = all(g.shape[a] < e.shape[a] for a in differ)
        if len(differ) <= 2 and (shorter or all(g.shape[a] > e.shape[a] for a in differ)):
            small, large = (g, e) if shorter else (e, g)
            extras = [large.shape[a] - small.shape[a] for a in differ]
            for starts in itertools.product(*(range(extra + 1) for extra in extras)):
                window = dict(zip(differ, starts))
                part = large[tuple(slice(window[a], window[a] + small.shape[a]) if a in window else slice(None)
                                   for a in range(e.ndim))]
                if not (r.close(small, part) if shorter else r.close(part, small)):
                    continue
                ends = {"at the end" if start == 0 else "at the start" if start == extra else "at both ends"
                        for start, extra in zip(starts, extras)}
                end = ends.pop() if len(ends) == 1 else "at one end or both"
                names = axis_names(r.check["quantity"], e.ndim)
                along = joined([names[a] for a in differ])
                if shorter:
                    why = ("the padding is missing" if end == "at both ends" else
                           "a size off by one, or padding on one side only")
                    return f"it is the expected value with positions along the {along} missing {end}: {why}."
                why = ("the padding is not cropped, or applied twice" if end == "at both ends" else
                       "a size off by one, or padding not cropped on one side")
                return f"it is the expected value with extra positions along the {along} {end}: {why}."
    if g.size == e.size and r.close(g.reshape(e.shape), e):
        return "it holds the expected values in the wrong shape: a reshape or an axis is wrong."
    return None


def permuted(r: Relation) -> str | None:
    """got holds exactly the expected values, each once, at other positions (a flatten or index order)."""
    g, e = r.got.reshape(-1), r.expected.reshape(-1)
    if g.size != e.size or g.size < 1 + FITTED_SLACK or not r.varies(r.expected):
        return None
    if r.close(np.sort(g), np.sort(e)):
        return ("it holds the expected values, each once, at other positions: a kernel or window read in another "
                "orientation, or a wrong index order or reshape.")
    return None


# cheapest and most specific first; the eval-mode Dropout2d before all_zero: every channel may be dropped
RELATIONS = (dropout_in_eval, all_zero, another_quantity, lost_sign, factor, accumulated, offset, orientation, shift,
             zeroed_region, axis_sum, resized, permuted)


def describe(case: Case, check: Mapping[str, Any], value: Any, results: Sequence[Any] = ()) -> str | None:
    """The sentence naming the first relation that holds exactly between the student's ``value`` of
    ``check`` and its expected value, else None.  Call it on a failing quantity only.  Dropout2d's
    statistical checks (no stored expected value) are read from the input and, for the backward,
    the training forward in ``results``."""
    if check["kind"] in DROPOUT_CHECKS:
        return dropout(case, check, value, results)
    got = student_array(value)
    if got is None or "expected" not in check:
        return None
    relation = Relation(case, check, got, case.array(check["expected"]),
                        case.tolerance["rtol"], case.tolerance["atol"])
    if relation.close(got, relation.expected):  # a correct value: nothing to explain
        return None
    for find in RELATIONS if got.size > 1 else (all_zero,):  # one number relates to anything
        sentence = find(relation)
        if sentence:
            return sentence
    return None


# ----------------------------------------------------------------------------- Dropout2d's statistics

DROPOUT_CHECKS = ("dropout_forward", "dropout_backward", "dropout_rate")


def channel_scales(got: np.ndarray, x: np.ndarray, rtol: float, atol: float) -> tuple[np.ndarray, np.ndarray] | None:
    """(dropped, scale) of every (n, c) channel of a Dropout2d output ``got`` of the input ``x``: each
    channel all zeros, or ``scale`` times its input; None when a channel is neither."""
    g, v = got.reshape(got.shape[0] * got.shape[1], -1), x.reshape(x.shape[0] * x.shape[1], -1)
    dropped = np.all(np.abs(g) <= atol, axis=1)
    norm = np.sum(v * v, axis=1)
    scale = np.divide(np.sum(g * v, axis=1), norm, out=np.zeros_like(norm), where=norm > 0)
    fitted = scale[:, None] * v
    scaled = np.all(np.abs(g - fitted) <= atol + rtol * np.abs(fitted), axis=1)
    return (dropped, scale) if np.all(dropped | scaled) else None


def per_element(got: np.ndarray, x: np.ndarray, p: float, rtol: float, atol: float) -> bool:
    """Whether every element is zero or x/(1-p), some channel holding both: a mask drawn per element."""
    kept = x / (1 - p)
    zero, scaled = np.abs(got) <= atol, np.abs(got - kept) <= atol + rtol * np.abs(kept)
    mixed = np.any(zero & ~scaled, axis=(2, 3)) & np.any(scaled & ~zero, axis=(2, 3))
    return bool(np.all(zero | scaled) and mixed.any())


SCALES = (  # (the factor kept channels are scaled by, as a function of p; the sentence naming the slip)
    (lambda p: 1 - p, ("kept channels are multiplied by (1-p) instead of divided by it: inverted dropout scales "
                       "them by 1/(1-p).")),
    (lambda p: 1.0, "kept channels are not scaled: inverted dropout multiplies them by 1/(1-p)."),
    (lambda p: 1 / p, ("kept channels are scaled by 1/p instead of 1/(1-p): p is the probability of dropping a "
                       "channel, not of keeping it.")),
)


def dropout(case: Case, check: Mapping[str, Any], value: Any, results: Sequence[Any]) -> str | None:
    """Dropout2d's training checks: kept channels scaled by the wrong factor, a mask drawn per element,
    p taken as the probability of keeping, a backward that ignores or redraws the forward's mask."""
    rtol, atol, p = case.tolerance["rtol"], case.tolerance["atol"], float(check["p"])
    if not 0 < p < 1:
        return None
    inputs = case.inputs()
    if check["kind"] == "dropout_backward":
        x = inputs[check["input"]]
        forward_check = next((c for c in case.checks if c["kind"] == "dropout_forward"
                              and c["step"] == check["forward_step"]), None)
        forward = student_array(results[check["forward_step"]]) if len(results) > check["forward_step"] else None
        got = student_array(value)
        if forward_check is None or forward is None or got is None or got.shape != x.shape:
            return None
        forward_input = inputs[forward_check["input"]]
        classified = channel_scales(forward, forward_input, rtol, atol) if forward.shape == forward_input.shape \
            else None
        if classified is None or not np.allclose(classified[1][~classified[0]], 1 / (1 - p), rtol=rtol, atol=0):
            return None  # a wrong forward: the backward cannot be checked, its message says so
        keep = (~classified[0]).astype(float).reshape(x.shape[:2] + (1,) * (x.ndim - 2))
        relation = Relation(case, check, got, x * keep / (1 - p), rtol, atol)
        if relation.close(got, relation.expected):
            return None
        channels = channel_scales(got, x, rtol, atol)
        if channels is not None and np.allclose(channels[1][~channels[0]], 1 / (1 - p), rtol=rtol, atol=0):
            return ("the backward keeps other channels than the last training forward: it must reuse the "
                    "forward's mask, neither ignore it nor draw a new one.")
        return factor(relation) or lost_sign(relation)
    if check["kind"] == "dropout_forward":
        x = inputs[check["input"]]
    else:
        x = np.ones(tuple(check["shape"]))
    got = student_array(value)
    if got is None or got.shape != x.shape or got.ndim != 4:
        return None
    if per_element(got, x, p, rtol, atol):
        return ("the mask is drawn per element: Dropout2d drops whole channels, one draw per sample and "
                "channel.")
    channels = channel_scales(got, x, rtol, atol)
    if channels is None:
        return None
    dropped, scale = channels
    kept = scale[~dropped]
    for factor_of, sentence in SCALES:
        if kept.size and np.allclose(kept, factor_of(p), rtol=rtol, atol=0) \
                and not np.isclose(factor_of(p), 1 / (1 - p), rtol=rtol, atol=0):
            return sentence
    if check["kind"] == "dropout_rate" and (not kept.size or np.allclose(kept, 1 / (1 - p), rtol=rtol, atol=0)):
        fraction, n = float(dropped.mean()), dropped.size
        if fraction == 0.0:
            return "no channel is ever dropped in training."
        sigma = math.sqrt(p * (1 - p) / n)
        if abs(p - 0.5) > check["max_sigma"] * sigma and abs(fraction - (1 - p)) <= check["max_sigma"] * sigma:
            return ("channels are dropped with probability 1-p: p is the probability of dropping a channel, not "
                    "of keeping it.")
    return None
