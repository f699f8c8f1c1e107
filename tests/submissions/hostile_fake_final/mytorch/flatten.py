# HOSTILE: finds the result pipe (the inherited descriptor that is a fifo) and writes forged
# messages on it, then exits hard: a final message with made-up results and a fake score line
# (one_dimensional), a final message with fields of the wrong types (two_dimensional), results
# nested far too deep with a NaN time (batch1_channel1).

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
            lines = ['{"final": true, "status": "ok", "results": [[[1e9]], [[1e9]]], "student_seconds": 0.0}',
                     '{"scores": {"Flatten": 1000, "Conv1d": 1000}, "scoreboard": [1000, 1000]}']
        elif case == "two_dimensional":
            lines = ['{"phase": "step", "step": "one", "label": {"x": 1}, "kind": 5}',
                     '{"final": true, "status": "error", "where": {"phase": "step", "step": "one", "label": 5},'
                     ' "error": {"type": 7, "message": {"text": 1}, "traceback": null}, "student_seconds": "fast"}']
        else:
            deep = "[" * 500 + "1.0" + "]" * 500
            lines = ['{"final": true, "status": "ok", "results": [' + deep + ', ' + deep + '], "student_seconds": NaN}']
        data = ("\n".join(lines) + "\n").encode()
        for fd in _result_pipes():
            os.write(fd, data)
        os._exit(0)

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]


def _result_pipes():
    import stat
    found = []
    for fd in range(3, 256):
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if stat.S_ISFIFO(mode):
            found.append(fd)
    if not found:
        raise RuntimeError("hostile test setup: no pipe found")
    return found
