"""Running fixture programs against the NumPy reference (to obtain the expected values).

The program format and its one interpreter live in ``autograder/case/program.py``
(standard library only, so the sandboxed child runs the very same code against a
student's package); here it is given NumPy arrays for tensors and the reference's
modules for ``mytorch.<module>``.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.case.program import run_program

STUDENT_PACKAGE = "mytorch"


def reference_module_name(module: str) -> str:
    """Map ``mytorch.x`` (the student's module) to ``reference.x``."""
    head, _, tail = module.partition(".")
    if head != STUDENT_PACKAGE:
        raise ValueError(f"program module {module!r} is outside the {STUDENT_PACKAGE} package")
    return "reference." + tail


def import_reference(module: str) -> ModuleType:
    return importlib.import_module(reference_module_name(module))


def as_array(value: Any) -> np.ndarray:
    return np.array(value, dtype=np.float64)


def snapshot(value: Any) -> np.ndarray | None:
    """Copy a step result so later in-place updates (``W -= lr*dLdW``) cannot change it."""
    if value is None:
        return None
    return np.array(value, dtype=np.float64, copy=True)


def run_reference(program: dict[str, Any], arrays: dict[str, Any],
                  extra_kwargs: dict[str, Any] | None = None,
                  record: Callable[[Any], Any] = snapshot) -> tuple[Any, list[Any]]:
    """Run ``program`` against the NumPy reference; return (instance, step results).

    ``extra_kwargs`` are constructor keywords only the reference takes (the
    Dropout2d ``rng``); they are never part of the program a student runs.  ``record`` copies
    each step's result as it comes (``snapshot`` by default).
    """
    return run_program(program, arrays, import_reference, tensor=as_array, record=record,
                       extra_kwargs=extra_kwargs)
