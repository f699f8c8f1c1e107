"""The fixture-program interpreter (autograder/case/program.py): one home, used by the child and the reference."""
import types

import numpy as np
import pytest

import autograder.case.child as child
import reference.program
from autograder.case import program
from autograder.contract.fixtures import DEFAULT_FIXTURES, load_fixture_set


def test_the_child_and_the_reference_run_the_same_interpreter():
    assert child.PROGRAM.__file__ == program.__file__
    assert child.PROGRAM.run_program.__code__.co_code == program.run_program.__code__.co_code
    assert reference.program.run_program is program.run_program


class Layer:
    def __init__(self, size, weight_init_fn=None, helper=None):
        self.W = weight_init_fn(size, 2)
        self.helper = helper
        self.calls = []

    def forward(self, A, scale=1.0):
        self.calls.append(A)
        return [[scale * v for v in row] for row in A]


def toy_importer(name):
    module = types.ModuleType(name)
    module.Layer = Layer
    return module


TOY = {"module": "mytorch.toy", "class": "Layer", "args": [3],
       "kwargs": {"weight_init_fn": {"$zeros_fn": True},
                  "helper": {"$new": {"module": "mytorch.toy", "class": "Layer",
                                      "args": [1, {"$const_fn": {"$array": "A"}}]}}},
       "set": [["W.0", {"$fill": {"shape": [2], "value": 7}}]],
       "steps": [{"call": "forward", "args": [{"$array": "A"}], "kwargs": {"scale": 2.0}},
                 {"read": "W"}, {"read": "helper.W.1"}]}


def test_a_program_builds_sets_calls_and_reads():
    state, announced = {}, []
    arrays = {"A": [[1.0, 2.0], [3.0, 4.0]]}
    instance, results = program.run_program(TOY, arrays, toy_importer, state=state, announce=announced.append)
    assert results == [[[2.0, 4.0], [6.0, 8.0]], [[7.0, 7.0], [0.0, 0.0], [0.0, 0.0]], [3.0, 4.0]]
    assert instance.calls[0] == arrays["A"] and instance.calls[0] is not arrays["A"]  # inputs are copies
    assert [p["phase"] for p in announced] == ["construct", "step", "step", "step"]
    assert state["phase"] == {"phase": "step", "step": 2, "label": "helper.W.1", "kind": "read"}
    assert state["seconds"] >= 0


def test_a_failure_leaves_where_it_happened():
    broken = {**TOY, "steps": [{"read": "W"}, {"call": "missing"}]}
    state = {}
    with pytest.raises(AttributeError):
        program.run_program(broken, {"A": [[1.0]]}, toy_importer, state=state)
    assert state["phase"] == {"phase": "step", "step": 1, "label": "missing", "kind": "call"}


def test_the_reference_gets_arrays_and_snapshots():
    case = load_fixture_set(DEFAULT_FIXTURES, only=["Conv1d"]).items["Conv1d"][0]
    _, results = reference.program.run_reference(case.program, case.inputs())
    for check in case.checks:
        expected = case.array(check["expected"])
        assert isinstance(results[check["step"]], np.ndarray)
        np.testing.assert_allclose(results[check["step"]], expected, rtol=1e-12, atol=1e-12)
