"""Fixture programs: what the grader asks a student's package to do for one case.

A *program* is plain JSON, shared by the generator (which runs it against this
NumPy reference to obtain the expected values) and by the grader's sandboxed
child (which runs the very same program against the student's ``mytorch``)::

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
(``convolution_layers.0.layers.0.conv2d_stride1.W``).  The result of a program is
one value per step: the return value of a ``call`` step, the attribute value of a
``read`` step.
"""
import importlib

import numpy as np

STUDENT_PACKAGE = "mytorch"


def reference_module_name(module):
    """Map ``mytorch.x`` (the student's module) to ``reference.x``."""
    head, _, tail = module.partition(".")
    if head != STUDENT_PACKAGE:
        raise ValueError(f"program module {module!r} is outside the {STUDENT_PACKAGE} package")
    return "reference." + tail


def resolve_path(obj, path):
    """Follow a dotted attribute path; integer components index lists."""
    for part in path.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def assign_path(obj, path, value):
    parent_path, _, last = path.rpartition(".")
    parent = resolve_path(obj, parent_path) if parent_path else obj
    if last.isdigit():
        parent[int(last)] = value
    else:
        setattr(parent, last, value)


def decode_value(value, arrays):
    """Turn a tagged program value into a NumPy-side Python value."""
    if isinstance(value, list):
        return [decode_value(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "$array" in value:
        return np.array(arrays[value["$array"]], dtype=np.float64)
    if "$fill" in value:
        spec = value["$fill"]
        return np.full(tuple(spec["shape"]), float(spec["value"]))
    if "$const_fn" in value:
        constant = decode_value(value["$const_fn"], arrays)
        return lambda *args, **kwargs: np.array(constant, dtype=np.float64)
    if "$zeros_fn" in value:
        return lambda *shape: np.zeros(shape)
    if "$new" in value:
        spec = value["$new"]
        module = importlib.import_module(reference_module_name(spec["module"]))
        return getattr(module, spec["class"])(*decode_value(spec.get("args", []), arrays))
    return {key: decode_value(v, arrays) for key, v in value.items()}


def run_reference(program, arrays, extra_kwargs=None):
    """Run ``program`` against the NumPy reference; return (instance, step results).

    ``extra_kwargs`` are constructor keywords only the reference takes (the
    Dropout2d ``rng``); they are never part of the program a student runs.
    """
    module = importlib.import_module(reference_module_name(program["module"]))
    cls = getattr(module, program["class"])
    kwargs = {k: decode_value(v, arrays) for k, v in program.get("kwargs", {}).items()}
    kwargs.update(extra_kwargs or {})
    instance = cls(*decode_value(program.get("args", []), arrays), **kwargs)
    for path, value in program.get("set", []):
        assign_path(instance, path, decode_value(value, arrays))
    results = []
    for step in program["steps"]:
        if "call" in step:
            method = resolve_path(instance, step["call"])
            args = decode_value(step.get("args", []), arrays)
            step_kwargs = {k: decode_value(v, arrays) for k, v in step.get("kwargs", {}).items()}
            results.append(snapshot(method(*args, **step_kwargs)))
        else:
            results.append(snapshot(resolve_path(instance, step["read"])))
    return instance, results


def snapshot(value):
    """Copy a step result so later in-place updates (``W -= lr*dLdW``) cannot change it."""
    if value is None:
        return None
    return np.array(value, dtype=np.float64, copy=True)
