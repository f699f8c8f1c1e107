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

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from autograder.rubric import Policy, RubricItem, Section



class CaseBuilder:
    """Collects one case: its program, its input arrays and what to check.

    ``check`` entries name a step whose result the grader compares with the
    reference value (``kind`` "allclose"), or a property check (Dropout2d).
    """

    def __init__(self, name, description, module, cls, hyperparameters, args=(), kwargs=None):
        self.name = name
        self.description = description
        self.hyperparameters = dict(hyperparameters)
        self.inputs = {}
        self.reference_kwargs = {}
        self.program = {"module": module, "class": cls, "args": list(args),
                        "kwargs": dict(kwargs or {}), "set": [], "steps": []}
        self.checks = []

    def array(self, name, value):
        """Register an input array and return its program reference."""
        self.inputs[name] = np.asarray(value, dtype=np.float64)
        return {"$array": name}

    def init_fn(self, name, value):
        return {"$const_fn": self.array(name, value)}

    def set(self, path, name, value):
        self.program["set"].append([path, self.array(name, value)])

    def call(self, method, *args, check=None, formula=None, **kwargs):
        step = {"call": method, "args": list(args)}
        if kwargs:
            step["kwargs"] = kwargs
        return self._add_step(step, check, formula)

    def read(self, path, check=None, formula=None):
        return self._add_step({"read": path}, check or path, formula)

    def _add_step(self, step, check, formula):
        self.program["steps"].append(step)
        index = len(self.program["steps"]) - 1
        if check:
            self.add_check({"kind": "allclose", "quantity": check, "step": index,
                            **({"formula": formula} if formula else {})})
        return index

    def add_check(self, check):
        self.checks.append(check)


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
    the student handout (``items.md#<anchor>``).
    """
    name: str
    section: Section
    points: float
    classes: tuple[str, ...]
    handout: str
    build: Callable[[np.random.Generator], list[CaseBuilder]] = field(repr=False)
    policy: Policy = Policy.ALL_OR_NOTHING
    tolerance: Tolerance = Tolerance()

    def rubric_item(self) -> RubricItem:
        return RubricItem(self.name, self.section, float(self.points), self.policy, tuple(self.classes),
                          self.handout)

def normal(rng, *shape):
    return rng.normal(size=shape)


def pick(rng, low, high):
    """An integer uniformly drawn from [low, high]."""
    return int(rng.integers(low, high + 1))


def pick_where(rng, low, high, predicate):
    """An integer drawn from those in [low, high] that satisfy ``predicate``."""
    return int(rng.choice([w for w in range(low, high + 1) if predicate(w)]))


def pick_odd(rng, low, high):
    return pick_where(rng, low, high, lambda w: w % 2 == 1)


def pick_even(rng, low, high):
    return pick_where(rng, low, high, lambda w: w % 2 == 0)


def odd_with_remainder(divisor):
    """Odd sizes that are not a multiple of ``divisor`` (ceil(W/k) != W/k)."""
    return lambda w: w % 2 == 1 and w % divisor != 0


def repeat_pass(rng, case, in_shape, out_shape, prefix):
    """A second forward/backward on the same layer: gradients are overwritten, not accumulated."""
    case.description += "; a second forward/backward on the same layer"
    case.call("forward", case.array("A2", normal(rng, *in_shape)), check="second forward output Z")
    case.call("backward", case.array("dLdZ2", normal(rng, *out_shape)), check="second backward dLdA")
    case.read(prefix + "dLdW", check=prefix + "dLdW after the second backward",
              formula="the second pass's gradient alone (overwrite, do not accumulate)")
    case.read(prefix + "dLdb", check=prefix + "dLdb after the second backward",
              formula="the second pass's gradient alone (overwrite, do not accumulate)")
