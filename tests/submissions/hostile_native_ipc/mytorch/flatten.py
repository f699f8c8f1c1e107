# HOSTILE: a channel between cases that outlives them, after switching the audit hook off with
# native code (mytorch/_hook_off.py, which tests/test_sandbox_native.py copies in from
# tests/submissions/_hook_off.py): System V shared memory (one_dimensional), message queues
# (two_dimensional), semaphores and POSIX message queues (batch1_channel1), created under fixed
# names so that a later case, or another student's template, finds what this one stored there
# (issue 22: a template replayed a correct submission's results for 100/100).  Only the kernel's
# seccomp filter refuses these; each case tries every call of its channel and reports what the
# kernel answered.  The right answer follows, so only the refused calls cost points.

"""Flatten every axis but the batch axis."""

import os

from . import _hook_off as native
from .tensor import flatten, reshape, shape

KEY = 0x6D797470  # "mytp": the System V key a later case looks for
QUEUE = b"mytorch-results"  # the POSIX message queue a later case opens
IPC_CREAT, IPC_NOWAIT, IPC_STAT = 0o1000, 0o4000, 2


def _case(A):
    """Which fixture case of the Flatten item is running (the hostile behaviour differs per case)."""
    if len(shape(A)) == 4:
        return "two_dimensional"
    return "batch1_channel1" if len(A) == 1 and len(A[0]) == 1 else "one_dimensional"


CHANNELS = {
    "one_dimensional": [
        ("shmget", (KEY, 1 << 20, IPC_CREAT | 0o666)), ("shmat", (0, None, 0)), ("shmctl", (0, IPC_STAT, None)),
        ("shmdt", (None,))],
    "two_dimensional": [
        ("msgget", (KEY, IPC_CREAT | 0o666)), ("msgsnd", (0, None, 0, IPC_NOWAIT)),
        ("msgrcv", (0, None, 0, 0, IPC_NOWAIT)), ("msgctl", (0, IPC_STAT, None))],
    "batch1_channel1": [
        ("semget", (KEY, 1, IPC_CREAT | 0o666)), ("semop", (0, None, 0)), ("semtimedop", (0, None, 0, None)),
        ("semctl", (0, 0, IPC_STAT, 0)), ("mq_open", (QUEUE, os.O_CREAT | os.O_RDWR, 0o666, None)),
        ("mq_unlink", (QUEUE,)), ("mq_timedsend", (0, None, 0, 0, None)), ("mq_timedreceive", (0, None, 0, None, None)),
        ("mq_notify", (0, None)), ("mq_getsetattr", (0, None, None))],
}


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        native.refusals([(name, lambda name=name, args=args: native.raw(name, *args))
                         for name, args in CHANNELS[_case(A)] if native.available(name)])
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
