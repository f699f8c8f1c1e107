# HOSTILE: runs compiled bytecode of its own making instead of source (hand-made bytecode can
# corrupt the interpreter's memory; here it is harmless, but nobody could read it): a
# sourceless mytorch/_fast.pyc shipped in the package (one_dimensional; the test puts it
# there), a .pyc written into the working folder and imported from there (two_dimensional),
# the same loaded with SourcelessFileLoader (batch1_channel1).  The bytecode flattens correctly.

"""Flatten every axis but the batch axis."""

import importlib.machinery
import importlib.util
import marshal
import os
import sys

from .tensor import reshape, shape

FAST = "def flatten_rows(A):\n    return [[x for x in _walk(a)] for a in A]\n\n" \
       "def _walk(a):\n    if isinstance(a, list):\n        for b in a:\n            yield from _walk(b)\n" \
       "    else:\n        yield a\n"


def _case(A):
    """Which fixture case of the Flatten item is running (the hostile behaviour differs per case)."""
    if len(shape(A)) == 4:
        return "two_dimensional"
    return "batch1_channel1" if len(A) == 1 and len(A[0]) == 1 else "one_dimensional"


def _write_pyc(name):
    path = os.path.join(os.getcwd(), name + ".pyc")
    header = importlib.util.MAGIC_NUMBER + b"\0" * 12
    with open(path, "wb") as handle:
        handle.write(header + marshal.dumps(compile(FAST, name + ".py", "exec")))
    return path


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        case = _case(A)
        if case == "one_dimensional":
            from . import _fast as fast
        elif case == "two_dimensional":
            _write_pyc("fast_copy")
            sys.path.insert(0, os.getcwd())
            import fast_copy as fast
        else:
            loader = importlib.machinery.SourcelessFileLoader("fast_loaded", _write_pyc("fast_loaded"))
            fast = importlib.util.module_from_spec(importlib.util.spec_from_loader("fast_loaded", loader))
            loader.exec_module(fast)
        self.input_shape = shape(A)
        return fast.flatten_rows(A)

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
