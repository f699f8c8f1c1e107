"""autograder/judge/compare.py: a student's value read as an array (to_array) and judged against the reference (assert_close)."""
import math
import re

import numpy as np
import pytest

from autograder.case.wire import encode
from autograder.judge.compare import Mismatch, assert_close, to_array
from helpers import FloatSubclass, mismatch


def test_to_array_accepts_nested_lists_of_numbers():
    array = to_array([[1, 2.5], [-3.0, 0]], (2, 2), "forward output Z")
    assert array.dtype == np.float64 and array.tolist() == [[1.0, 2.5], [-3.0, 0.0]]
    assert to_array(2.5, (), "loss").item() == 2.5


def test_to_array_rejects_a_tuple():
    message = mismatch(encode((1.0, 2.0), [100]), (2,))
    assert message.startswith("backward dLdA: got a tuple") and "return a list" in message
    message = mismatch([encode((1.0, 2.0), [100])], (1, 2))
    assert "element [0]" in message and "tuple" in message


def test_to_array_rejects_a_ragged_list():
    message = mismatch([[1.0, 2.0], [3.0]], (2, 2))
    assert "ragged" in message and "element [1] has shape (1,)" in message and "element [0] has shape (2,)" in message


def test_to_array_rejects_nan_and_names_its_index():
    message = mismatch([[1.0, 2.0], [3.0, math.nan]], (2, 2))
    assert "1 non-finite value(s)" in message and "first at [1, 1]" in message
    assert "2 non-finite" in mismatch([[math.inf, 2.0], [3.0, math.nan]], (2, 2))


def test_to_array_wrong_shape_shows_the_formula():
    message = mismatch([[1.0, 2.0, 3.0]], (1, 2), formula="(N, C, W-K+1)")
    assert "shape (1, 3) but the reference has shape (1, 2) (expected (N, C, W-K+1))" in message


def test_to_array_rejects_a_float_subclass():
    message = mismatch(encode([[FloatSubclass(1.0), 2.0]], [100]), (1, 2))
    assert "element [0, 0]" in message and "FloatSubclass, a float subclass" in message


def test_to_array_rejects_none():
    assert "got None" in mismatch(None, (2,))


def test_assert_close_message():
    expected = np.arange(1.0, 13.0).reshape(3, 4)
    got = expected.copy()
    got[1, 2] += 0.5       # expected 7: relative 0.5/7
    got[2, 0] -= 18.0      # expected 9: absolute 18, relative 2
    with pytest.raises(Mismatch) as raised:
        assert_close(got, expected, 1e-6, 1e-9, "conv1d_stride1.dLdW")
    message = str(raised.value)
    assert message.startswith("conv1d_stride1.dLdW: values differ from the reference")
    assert "Mismatched elements: 2 / 12 (16.7%)" in message
    assert "Max absolute difference: 18\n" in message
    assert "Max relative difference: 2\n" in message
    listed = re.findall(r"^\s+\[([\d, ]+)\]: (\S+) vs (\S+)$", message, re.M)
    assert listed == [("1, 2", "7.5", "7"), ("2, 0", "-9", "9")]


def test_assert_close_tolerances_and_scalars():
    expected = np.array([1.0, -2.0, 0.0])
    assert_close(expected + 1e-7 * np.abs(expected), expected, 1e-6, 1e-9, "q")  # within rtol: no error
    with pytest.raises(Mismatch) as raised:
        assert_close(np.array(2.0), np.array(1.5), 1e-6, 1e-9, "loss")
    assert "Mismatched elements: 1 / 1 (100%)" in str(raised.value)
    assert "got 2, expected 1.5" in str(raised.value)
