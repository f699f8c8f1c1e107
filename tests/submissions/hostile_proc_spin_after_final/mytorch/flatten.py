# HOSTILE: a correct Flatten that, in its last step, arranges for the case to hang once its
# final result has been sent: sys.stdout replaced by an object whose flush() spins forever
# (one_dimensional); the real stdout left with a partial line and its buffer's flush() rebound
# to a spin (two_dimensional); a partial line on the real stdout, whose descriptor is now a full
# pipe, so that flushing it blocks in write(2) for ever (batch1_channel1).  Each case must keep
# its points, and the grading must not wait for any of them.

"""Flatten every axis but the batch axis."""

import os
import sys

from .tensor import flatten, reshape, shape


def _case(A):
    """Which fixture case of the Flatten item is running (the hostile behaviour differs per case)."""
    if len(shape(A)) == 3 and len(A) == 1 and len(A[0]) == 1:
        return "batch1_channel1"
    return "two_dimensional" if len(shape(A)) == 4 else "one_dimensional"


def _spin(*args):
    while True:
        pass


class _Spinner:
    def write(self, text):
        return len(text)

    flush = _spin


_kept = []  # the pipe's read end stays open: a write to it blocks instead of failing


def _hang_after_the_end(case):
    if case == "one_dimensional":
        sys.stdout = _Spinner()
    elif case == "two_dimensional":
        sys.stdout.write("a partial line")
        sys.stdout.buffer.flush = _spin
    else:
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        try:
            while True:
                os.write(write_end, b"x" * 65536)
        except BlockingIOError:
            pass
        os.set_blocking(write_end, True)
        _kept.append(read_end)
        sys.stdout.write("a partial line")
        os.dup2(write_end, 1)


class Flatten:
    """Row-major (C order) flatten of every axis but the first."""

    def forward(self, A):
        self.input_shape = shape(A)
        self.case = _case(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        dLdA = [reshape(row, self.input_shape[1:]) for row in dLdZ]
        _hang_after_the_end(self.case)
        return dLdA
