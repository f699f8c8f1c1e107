"""autograder/case/wire.py: values as a case sends them (raw doubles for rectangular float lists) and as the
grader reads them back (autograder/sandbox/messages.py), judged as the plain lists they stand for."""
import json
import math

import numpy as np
import pytest

from autograder.case.wire import encode
from autograder.judge.compare import Mismatch, to_array
from helpers import FloatSubclass, mismatch


def wire_round_trip(value, budget=10_000):
    """``value`` as a grading case sends it (raw floats on) and the grader reads it back."""
    from autograder.sandbox.messages import clean_results
    from autograder.case.wire import to_json
    return clean_results(json.loads(to_json(encode(value, [budget], raw=True))))


def test_rectangular_float_lists_travel_as_raw_doubles_and_come_back_exact():
    from autograder.case.wire import RawFloats
    value = [[[math.nan, -0.0, 5e-324, 1.0 / 3.0] * 5, [math.inf, -math.inf, 1e308, -2.5] * 5]] * 3
    assert type(encode(value, [10_000], raw=True)) is RawFloats
    back = wire_round_trip(value)
    assert np.array_equal(np.array(back), np.array(value), equal_nan=True)
    assert all(type(x) is float for row in back for line in row for x in line)
    assert math.copysign(1.0, back[0][0][1]) == -1.0
    assert "2 non-finite" in mismatch(wire_round_trip([[1.0] * 16, [math.nan, math.inf] + [1.0] * 14]), (2, 16))


@pytest.mark.slow
def test_lists_that_are_not_rectangular_exact_floats_keep_the_text_form():
    from autograder.sandbox.messages import clean_results
    from autograder.case.wire import RawFloats, to_json
    for value in ([[1.0] * 16, [1.0] * 15], [[1.0] * 15 + [1]], [[FloatSubclass(1.0)] + [1.0] * 15], [1.0] * 15,
                  [[], []], [[True] + [1.0] * 15]):
        assert type(encode(value, [10_000], raw=True)) is not RawFloats  # (a rectangular row inside may be)
        assert wire_round_trip(value) == clean_results(json.loads(to_json(encode(value, [10_000]))))
    assert "FloatSubclass, a float subclass" in mismatch(wire_round_trip([[FloatSubclass(1.0)] + [1.0] * 15]), (1, 16))
    selfish = []
    selfish.extend([selfish] * 1000)  # a list holding itself: the budget stops it before any blow-up
    assert wire_round_trip(selfish, budget=20_000) is not None


def test_packed_raw_doubles_are_judged_exactly_as_the_nested_lists_they_stand_for():
    """Raw doubles stay packed (shape + bytes) until compared; every value, shape and message is
    what the same nested list gives, alone or inside a list, and the list is there on demand."""
    from autograder.sandbox.messages import PackedFloats
    rows = [[1.0 / 3.0] * 16, [2.0] * 14 + [-0.0, -math.inf]]
    packed = wire_round_trip(rows)
    assert type(packed) is PackedFloats and packed == rows and packed.tolist() == rows
    assert len(packed) == 2 and list(packed[1][:2]) == [2.0, 2.0] and np.array(packed).shape == (2, 16)
    with_nan = [rows[0], [math.nan] + rows[1][1:]]
    for value, plain in ((packed, rows), (wire_round_trip(with_nan), with_nan), (wire_round_trip([rows[0]] * 3), [rows[0]] * 3),
                         ([wire_round_trip(rows[0]), rows[0]], [rows[0], rows[0]]),
                         ([wire_round_trip(rows[0]), rows[0][:15]], [rows[0], rows[0][:15]]),
                         ([wire_round_trip(rows[0]), [1]], [rows[0], [1]])):
        for shape in ((2, 16), (3, 16), (16,), (), (2, 15)):
            def judged(v):
                try:
                    got = to_array(v, shape, "q", "f")
                    return got.shape, got.tobytes()
                except Mismatch as error:
                    return str(error), error.kind
                except ValueError as error:  # (a ragged list where one number is expected)
                    return type(error)
            assert judged(value) == judged(plain), (value, shape)


@pytest.mark.parametrize("forged", [
    {"$f64": [2, 0], "$data": ""}, {"$f64": [], "$data": ""}, {"$f64": [1], "$data": "AAAAAAAAAAAAAAAA"},
    {"$f64": [True], "$data": "AAAAAAAAAAA="}, {"$f64": [2], "$data": "AAAAAAAAAAA="},
    {"$f64": [1] * 17, "$data": "AAAAAAAAAAA="}, {"$f64": [1], "$data": "not base64!"},
    {"$f64": [1], "$data": "AAAAAAAAAAA=", "$type": "x"}, {"$f64": "1", "$data": "AAAAAAAAAAA="},
])
def test_forged_raw_doubles_are_refused(forged):
    from autograder.sandbox.messages import clean_results
    assert clean_results({"$f64": [1], "$data": "AAAAAAAAAAA="}) == [0.0]
    with pytest.raises(ValueError):
        clean_results([forged])
