# HOSTILE: loads compiled modules of its own choosing, past the import deny list (which checks
# names): a copy of the standard library's _socket shipped in the package as mytorch/_socket*.so
# (one_dimensional; tests/test_sandbox_native.py puts it there), a copy written into the working
# folder and loaded from there (two_dimensional), the standard library's own _socket loaded
# from lib-dynload under another name with _imp.create_dynamic (batch1_channel1).  Each then
# tries to send a UDP packet; the right answer follows, so only refusing the load costs points.

"""Flatten every axis but the batch axis."""

import _imp
import importlib.machinery
import importlib.util
import os
import sys

from .tensor import flatten, reshape, shape


def _case(A):
    """Which fixture case of the Flatten item is running (the hostile behaviour differs per case)."""
    if len(shape(A)) == 4:
        return "two_dimensional"
    return "batch1_channel1" if len(A) == 1 and len(A[0]) == 1 else "one_dimensional"


def _standard_library_socket():
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for entry in sys.path:
        path = os.path.join(entry, "_socket" + suffix)
        if os.path.exists(path):
            return path
    raise RuntimeError("hostile test setup: no _socket extension module on sys.path")


def _send(module):
    try:
        sock = module.socket(module.AF_INET, module.SOCK_DGRAM)
        sock.sendto(b"HOSTILE", ("127.0.0.1", 9))
    except Exception:
        pass  # whatever stops the packet, the load itself already happened


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        case = _case(A)
        if case == "one_dimensional":
            from . import _socket as module
        elif case == "two_dimensional":
            suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
            copy = os.path.join(os.getcwd(), "_socket" + suffix)
            with open(_standard_library_socket(), "rb") as source, open(copy, "wb") as target:
                target.write(source.read())
            module = importlib.util.module_from_spec(importlib.util.spec_from_file_location("net._socket", copy))
        else:
            spec = importlib.machinery.ModuleSpec("mytorch._socket", None, origin=_standard_library_socket())
            module = _imp.create_dynamic(spec)
        _send(module)
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
