"""Fixture programs: what a case asks a ``mytorch`` package to do, and the one interpreter that does it.

Standard library only: the sandboxed child (``child.py``, started with ``python
-I -S``) loads this file by path and runs programs against the student's package
on nested lists; the generator (``reference/program.py``) runs the very same
programs against the NumPy reference, passing ``tensor=`` to make arrays.

A *program* is plain JSON::

    {"module": "mytorch.conv1d", "class": "Conv1d",
     "args": [3, 4, 2, 2], "kwargs": {"weight_init_fn": {"$const_fn": {"$array": "W"}}},
     "set": [["conv1d_stride1.b", {"$array": "b"}]],
     "steps": [{"call": "forward", "args": [{"$array": "A"}]},
               {"call": "backward", "args": [{"$array": "dLdZ"}]},
               {"read": "conv1d_stride1.dLdW"}]}

Values may be JSON literals or one of these tagged forms:

- ``{"$array": NAME}``: an input array of the case (never an expected value);
- ``{"$fill": {"shape": [...], "value": v}}``: a constant tensor of that shape;
- ``{"$const_fn": VALUE}``: a function ignoring its arguments and returning VALUE;
- ``{"$zeros_fn": true}``: a function ``f(*shape)`` returning zeros of that shape;
- ``{"$new": {"module": M, "class": C, "args": [...]}}``: an instance of ``M.C``.

Attribute paths are dotted; an integer component indexes a list
(``convolution_layers.0.layers.0.conv2d_stride1.W``).  Running a program builds
the object (``class``, ``args``, ``kwargs``), assigns the ``set`` paths, then
runs the steps: the result is one value per step, the return value of a ``call``
step or the attribute value of a ``read`` step.
"""
from __future__ import annotations

import time
TYPE_CHECKING = False  # typing is not imported at run time: a spawned case process would pay ~13 ms for it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Importer = Callable[[str], Any]  # module name -> module


def clone(value: Any) -> Any:
    """A fresh copy of a nested list (the default ``tensor``): code that mutates an input harms nothing."""
    return [clone(v) for v in value] if type(value) is list else value


def zeros(shape: list[int]) -> list:
    return [0.0] * shape[-1] if len(shape) == 1 else [zeros(shape[1:]) for _ in range(shape[0])]


def fill(shape: list[int], value: float) -> list:
    return [float(value)] * shape[-1] if len(shape) == 1 else [fill(shape[1:], value) for _ in range(shape[0])]


def decode(value: Any, arrays: dict[str, Any], importer: Importer, tensor: Callable[[Any], Any] = clone) -> Any:
    """A program value as the code under test receives it; every tensor goes through ``tensor``."""
    if type(value) is list:
        return [decode(v, arrays, importer, tensor) for v in value]
    if type(value) is not dict:
        return value
    if "$array" in value:
        return tensor(arrays[value["$array"]])
    if "$fill" in value:
        return tensor(fill(value["$fill"]["shape"], value["$fill"]["value"]))
    if "$const_fn" in value:
        constant = decode(value["$const_fn"], arrays, importer, tensor)
        return lambda *args, **kwargs: tensor(constant)
    if "$zeros_fn" in value:
        return lambda *shape: tensor(zeros(list(shape)))
    if "$new" in value:
        spec = value["$new"]
        return getattr(importer(spec["module"]), spec["class"])(*decode(spec.get("args", []), arrays, importer,
                                                                          tensor))
    return {k: decode(v, arrays, importer, tensor) for k, v in value.items()}


def resolve(obj: Any, path: str) -> Any:
    """Follow a dotted attribute path; integer components index lists."""
    for part in path.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def assign(obj: Any, path: str, value: Any) -> None:
    parent_path, _, last = path.rpartition(".")
    parent = resolve(obj, parent_path) if parent_path else obj
    if last.isdigit():
        parent[int(last)] = value
    else:
        setattr(parent, last, value)


def run_program(program: dict[str, Any], arrays: dict[str, Any], importer: Importer, *,
                tensor: Callable[[Any], Any] = clone, record: Callable[[Any], Any] = clone,
                announce: Callable[[dict[str, Any]], None] = lambda phase: None,
                state: dict[str, Any] | None = None, extra_kwargs: dict[str, Any] | None = None,
                clock: Callable[[], float] = time.perf_counter) -> tuple[Any, list[Any]]:
    """Build the program's object and run its steps; return (the object, one ``record(value)`` per step).

    ``state`` (updated as the program runs) says where it is, ``state["phase"]`` (what
    ``announce`` is also told before constructing and before each step), and how long the
    code under test has run so far, ``state["seconds"]`` (building and steps; not
    ``record``): if the code under test raises, the caller still knows both.
    ``extra_kwargs`` go to the constructor only (what the reference alone accepts).
    """
    state = {} if state is None else state
    state.update(phase={"phase": "import", "module": program["module"]}, seconds=0.0)
    start = clock()
    module = importer(program["module"])
    state["phase"] = {"phase": "construct", "class": program["class"]}
    announce(state["phase"])
    cls = getattr(module, program["class"])
    kwargs = {k: decode(v, arrays, importer, tensor) for k, v in program["kwargs"].items()}
    kwargs.update(extra_kwargs or {})
    instance = cls(*decode(program["args"], arrays, importer, tensor), **kwargs)
    for path, value in program["set"]:
        state["phase"] = {"phase": "set", "path": path}
        assign(instance, path, decode(value, arrays, importer, tensor))
    state["seconds"] += clock() - start
    results = []
    for index, step in enumerate(program["steps"]):
        kind = "call" if "call" in step else "read"
        state["phase"] = {"phase": "step", "step": index, "label": step[kind], "kind": kind}
        announce(state["phase"])
        start = clock()
        if kind == "call":
            method = resolve(instance, step["call"])
            args = decode(step.get("args", []), arrays, importer, tensor)
            step_kwargs = {k: decode(v, arrays, importer, tensor) for k, v in step.get("kwargs", {}).items()}
            value = method(*args, **step_kwargs)
        else:
            value = resolve(instance, step["read"])
        state["seconds"] += clock() - start
        results.append(record(value))
    return instance, results
