# HOSTILE: opens a folder outside its working folder and uses it as dir_fd, so that paths the
# audit hook checks against the working folder land elsewhere: creates a file in its own
# submission folder (one_dimensional), in the standard library folder (two_dimensional),
# a folder in its submission folder (batch1_channel1).

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
            folder = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        elif case == "two_dimensional":
            folder = os.path.dirname(os.__file__)
        else:
            folder = os.path.dirname(os.path.abspath(__file__))
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        if case == "batch1_channel1":
            os.mkdir("HOSTILE_PWNED_DIR", dir_fd=fd)
        else:
            os.close(os.open("HOSTILE_PWNED.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
