# HOSTILE: asks for tens of GB: 256 MiB blocks hoarded in a global, so little memory is left
# to report the error (one_dimensional), a 5e9-element list (two_dimensional), one 40 GiB
# bytearray (batch1_channel1).

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

_HOARD = []


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        case = _case(A)
        if case == "one_dimensional":
            while True:
                _HOARD.append(bytearray(256 * 2 ** 20))
        if case == "two_dimensional":
            return [[0.0] * 5_000_000_000]
        return bytearray(40 * 2 ** 30)

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
