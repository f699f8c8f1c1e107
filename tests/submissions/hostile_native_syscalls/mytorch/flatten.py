# HOSTILE: system calls that Python makes without any audit event, where only the kernel's
# seccomp filter stops them (as root, nothing else does): chroot into the working folder
# (one_dimensional), a pidfd for the fork server that started the case (two_dimensional), the
# same for process 1 from a thread (batch1_channel1: threads must run, under the same filter).
# The right answer follows, so only the refused calls cost points.

"""Flatten every axis but the batch axis."""

import os
import threading

from .tensor import flatten, reshape, shape


def _case(A):
    """Which fixture case of the Flatten item is running (the hostile behaviour differs per case)."""
    if len(shape(A)) == 4:
        return "two_dimensional"
    return "batch1_channel1" if len(A) == 1 and len(A[0]) == 1 else "one_dimensional"


def _in_a_thread(call):
    outcome = []

    def run():
        try:
            outcome.append(call())
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        case = _case(A)
        if case == "one_dimensional":
            os.chroot(os.getcwd())
        elif case == "two_dimensional":
            os.close(os.pidfd_open(os.getppid()))
        else:
            os.close(_in_a_thread(lambda: os.pidfd_open(1)))
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
