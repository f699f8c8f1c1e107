# HOSTILE: creates a sub-interpreter (which has none of the grader's audit hooks) by loading
# the standard library's _xxsubinterpreters (_interpreters from 3.13 on) under another name:
# from lib-dynload with importlib (one_dimensional), with _imp.create_dynamic (two_dimensional),
# from a copy in the working folder (batch1_channel1).  Code run in it tries a UDP packet and a fork.  The right
# answer follows, so only refusing the load (or the sub-interpreter) costs points.

"""Flatten every axis but the batch axis."""

import _imp
import importlib.machinery
import importlib.util
import os
import sys

from .tensor import flatten, reshape, shape

SUBINTERPRETERS = "_interpreters" if sys.version_info >= (3, 13) else "_xxsubinterpreters"  # renamed in 3.13

UNHOOKED = """
import os
try:
    import socket
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"HOSTILE", ("127.0.0.1", 9))
except Exception:
    pass
try:
    if os.fork() == 0:
        os._exit(0)
except Exception:
    pass
"""


def _case(A):
    """Which fixture case of the Flatten item is running (the hostile behaviour differs per case)."""
    if len(shape(A)) == 4:
        return "two_dimensional"
    return "batch1_channel1" if len(A) == 1 and len(A[0]) == 1 else "one_dimensional"


def _standard_library_module(name):
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for entry in sys.path:
        path = os.path.join(entry, name + suffix)
        if os.path.exists(path):
            return path
    raise RuntimeError(f"hostile test setup: no {name} extension module on sys.path")


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        case = _case(A)
        origin = _standard_library_module(SUBINTERPRETERS)
        if case == "one_dimensional":
            spec = importlib.util.spec_from_file_location("mytorch." + SUBINTERPRETERS, origin)
            interpreters = importlib.util.module_from_spec(spec)
        elif case == "two_dimensional":
            interpreters = _imp.create_dynamic(importlib.machinery.ModuleSpec("x." + SUBINTERPRETERS, None,
                                                                              origin=origin))
        else:
            copy = os.path.join(os.getcwd(), os.path.basename(origin))
            with open(origin, "rb") as source, open(copy, "wb") as target:
                target.write(source.read())
            spec = importlib.util.spec_from_file_location("sub." + SUBINTERPRETERS, copy)
            interpreters = importlib.util.module_from_spec(spec)
        interpreter = interpreters.create()
        interpreters.run_string(interpreter, UNHOOKED)
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
