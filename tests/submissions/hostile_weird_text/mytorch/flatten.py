# HOSTILE: text that could break the grader's output: an exception message with a lone surrogate
# and terminal control codes (one_dimensional), a returned object whose type name and repr hold
# them (two_dimensional), raw invalid UTF-8 and control codes printed before failing
# (batch1_channel1).

"""Flatten every axis but the batch axis."""

import os
import sys
import time

from .tensor import flatten, reshape, shape


def _case(A):
    """Which fixture case of the Flatten item is running (the hostile behaviour differs per case)."""
    if len(shape(A)) == 4:
        return "two_dimensional"
    return "batch1_channel1" if len(A) == 1 and len(A[0]) == 1 else "one_dimensional"


def _find_upwards(name):
    """Walk up from this file to the first folder holding ``name`` (os.stat is not audited)."""
    here = os.path.dirname(os.path.abspath(__file__))
    while True:
        if os.path.exists(os.path.join(here, name)):
            return os.path.join(here, name)
        if os.path.dirname(here) == here:
            raise RuntimeError(f"hostile test setup: no {name} above {__file__}")
        here = os.path.dirname(here)


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        case = _case(A)
        if case == "one_dimensional":
            raise ValueError("\udc80\x1b[2J\rTotal score: 100/100\x00")
        if case == "two_dimensional":
            self.input_shape = shape(A)
            return Weird()
        sys.stdout.flush()
        os.write(1, b"\xff\xfe\x1b[31mred\r\x07Total score: 100/100\n")
        raise RuntimeError("see the output")

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]


class Weird:
    def __repr__(self):
        return "\udc80\x1b[2J\rTotal score: 100/100"


Weird.__qualname__ = "Weird\udc80\x1b[2J"
