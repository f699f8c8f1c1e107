"""What a fixture case and a graded item are, and the helpers that draw them.

A builder ``build(rng) -> list[CaseBuilder]`` draws one item's cases.  Every
builder returns the same edge cases for any seed (batch 1, one channel,
kernel 1, kernel == width, stride with a remainder, stride >= kernel,
non-square inputs, factor 1, odd and even widths, padding, max-pool ties,
BatchNorm train then eval); the seed only draws the sizes and values, so a
hidden fixture set (another seed) has the same structure with other numbers.

Sizes are small on purpose: a straightforward nested-list solution must grade
the whole set in a few seconds.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np
from numpy.typing import ArrayLike

from autograder.contract.rubric import Policy, RubricItem, Section
from reference._types import Array
from reference.variants import Variant

# A case's program (see autograder/case/program.py); "class" is a keyword, hence the functional form.
Program = TypedDict("Program", {"module": str, "class": str, "args": list[Any], "kwargs": dict[str, Any],
                                "set": list[list[Any]], "steps": list[dict[str, Any]]})


class CaseBuilder:
    """Collects one case: its program, its input arrays and what to check.

    ``check`` entries name a step whose result the grader compares with the
    reference value (``kind`` "allclose"), or a property check (Dropout2d).
    """

    def __init__(self, name: str, description: str, module: str, cls: str, hyperparameters: Mapping[str, Any],
                 args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.description = description
        self.hyperparameters = dict(hyperparameters)
        self.inputs: dict[str, Array] = {}
        self.reference_kwargs: dict[str, Any] = {}
        self.program: Program = {"module": module, "class": cls, "args": list(args),
                                 "kwargs": dict(kwargs or {}), "set": [], "steps": []}
        self.checks: list[dict[str, Any]] = []

    def array(self, name: str, value: ArrayLike) -> dict[str, str]:
        """Register an input array and return its program reference."""
        self.inputs[name] = np.asarray(value, dtype=np.float64)
        return {"$array": name}

    def init_fn(self, name: str, value: ArrayLike) -> dict[str, dict[str, str]]:
        """Register an input array; return a program value for a function that returns it."""
        return {"$const_fn": self.array(name, value)}

    def set(self, path: str, name: str, value: ArrayLike) -> None:
        """Register an input array and assign it to the attribute ``path`` before the steps."""
        self.program["set"].append([path, self.array(name, value)])

    def call(self, method: str, *args: Any, check: str | None = None, formula: str | None = None,
             **kwargs: Any) -> int:
        """Add a step calling ``method``; with ``check``, compare its result. Return the step index."""
        step: dict[str, Any] = {"call": method, "args": list(args)}
        if kwargs:
            step["kwargs"] = kwargs
        return self._add_step(step, check, formula)

    def read(self, path: str, check: str | None = None, formula: str | None = None) -> int:
        """Add a step reading the attribute ``path``, always checked. Return the step index."""
        return self._add_step({"read": path}, check or path, formula)

    def _add_step(self, step: dict[str, Any], check: str | None, formula: str | None) -> int:
        self.program["steps"].append(step)
        index = len(self.program["steps"]) - 1
        if check:
            self.add_check({"kind": "allclose", "quantity": check, "step": index,
                            **({"formula": formula} if formula else {})})
        return index

    def add_check(self, check: dict[str, Any]) -> None:
        """Add a check entry as is (e.g. a Dropout2d property check)."""
        self.checks.append(check)


Builder = Callable[[np.random.Generator], list[CaseBuilder]]
"""An item's case builder: ``build(rng)`` draws the item's cases."""


@dataclass(frozen=True)
class Tolerance:
    """``|got - expected| <= atol + rtol * |expected|``, element by element."""
    rtol: float = 1e-6
    atol: float = 1e-9

    def to_dict(self) -> dict[str, float]:
        return {"rtol": self.rtol, "atol": self.atol}


@dataclass(frozen=True)
class Item:
    """One graded rubric item, declared once, beside its case builder.

    The generator writes every field but ``build`` into the fixture set's manifest,
    so a fixture set carries its own rubric; ``handout`` is the item's section in
    the student handout (``items.md#<anchor>``).  ``variants`` are the known mistakes whose
    values the fixtures store for likely-cause hints (``reference/variants.py``); ``hints=False``
    stores none, so the item's failures never carry a hint.
    """
    name: str
    section: Section
    points: float
    classes: tuple[str, ...]
    handout: str
    build: Callable[[np.random.Generator], list[CaseBuilder]] = field(repr=False)
    policy: Policy = Policy.ALL_OR_NOTHING
    tolerance: Tolerance = Tolerance()
    variants: tuple[Variant, ...] = ()
    hints: bool = True

    def rubric_item(self) -> RubricItem:
        return RubricItem(self.name, self.section, float(self.points), self.policy, tuple(self.classes),
                          self.handout)

def normal(rng: np.random.Generator, *shape: int) -> Array:
    """A standard normal float64 array of ``shape``."""
    return rng.normal(size=shape)


def pick(rng: np.random.Generator, low: int, high: int) -> int:
    """An integer uniformly drawn from [low, high]."""
    return int(rng.integers(low, high + 1))


def pick_where(rng: np.random.Generator, low: int, high: int, predicate: Callable[[int], bool]) -> int:
    """An integer drawn from those in [low, high] that satisfy ``predicate``."""
    return int(rng.choice([w for w in range(low, high + 1) if predicate(w)]))


def pick_odd(rng: np.random.Generator, low: int, high: int) -> int:
    """An odd integer drawn from [low, high]."""
    return pick_where(rng, low, high, lambda w: w % 2 == 1)


def pick_even(rng: np.random.Generator, low: int, high: int) -> int:
    """An even integer drawn from [low, high]."""
    return pick_where(rng, low, high, lambda w: w % 2 == 0)


def odd_with_remainder(divisor: int) -> Callable[[int], bool]:
    """Odd sizes that are not a multiple of ``divisor`` (ceil(W/k) != W/k)."""
    return lambda w: w % 2 == 1 and w % divisor != 0


def repeat_pass(rng: np.random.Generator, case: CaseBuilder, in_shape: Sequence[int], out_shape: Sequence[int],
                prefix: str) -> None:
    """A second forward/backward on the same layer: gradients are overwritten, not accumulated."""
    case.description += "; a second forward/backward on the same layer"
    case.call("forward", case.array("A2", normal(rng, *in_shape)), check="second forward output Z")
    case.call("backward", case.array("dLdZ2", normal(rng, *out_shape)), check="second backward dLdA")
    case.read(prefix + "dLdW", check=prefix + "dLdW after the second backward",
              formula="the second pass's gradient alone (overwrite, do not accumulate)")
    case.read(prefix + "dLdb", check=prefix + "dLdb after the second backward",
              formula="the second pass's gradient alone (overwrite, do not accumulate)")
