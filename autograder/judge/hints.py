"""Likely-cause hints: does a wrong student quantity equal a known mistake's value?

The fixture generator stores, for each checked quantity, the values that known
student mistakes give where they differ from the reference (``<case>.var.*``
arrays, named by the check's ``variants``; the item's ``hints`` hold the sentence
naming each mistake).  Runs in the grader's process only, after a mismatch: the
sandboxed child never receives these values (``Case.inputs()`` only).

A hint fires only when the WHOLE quantity matches a variant, shape included,
element by element within the item's tolerance
(``|got - variant| <= atol + rtol * |variant|``): never on a correct value, which
passes before any hint is looked for.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autograder.judge.compare import Mismatch, to_array
from autograder.contract.fixtures import Case

def matches(got: np.ndarray, value: np.ndarray, rtol: float, atol: float) -> bool:
    """Whether ``got`` equals ``value`` as a whole: same shape, every element within the tolerance."""
    return got.shape == value.shape and bool(np.all(np.abs(got - value) <= atol + rtol * np.abs(value)))


def likely_cause(case: Case, check: Mapping[str, Any], value: Any) -> str | None:
    """The sentence naming the known mistake whose value the student's ``value`` of ``check`` equals, else None."""
    rtol, atol = case.tolerance["rtol"], case.tolerance["atol"]
    converted: dict[tuple[int, ...], np.ndarray | None] = {}  # the student's value, converted once per shape
    for hint, variant in case.variant_values(check):
        if variant.shape not in converted:
            try:
                converted[variant.shape] = to_array(value, variant.shape, check["quantity"])
            except Mismatch:  # not even this mistake's shape
                converted[variant.shape] = None
        got = converted[variant.shape]
        if got is not None and matches(got, variant, rtol, atol):
            return hint
    return None
