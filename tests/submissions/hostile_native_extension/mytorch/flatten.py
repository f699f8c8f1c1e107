# HOSTILE: loads compiled modules of its own choosing, past the import deny list (which checks
# names): a copy of the standard library's _socket shipped in the package as mytorch/_socket*.so
# (one_dimensional; tests/test_sandbox_native.py puts it there), a copy written into the working
# folder and loaded from there (two_dimensional), the standard library's own _socket loaded
# from lib-dynload under another name with _imp.create_dynamic (batch1_channel1).  Each then
# tries to send a UDP packet; the right answer follows, so only refusing the load costs points.
# Where _socket is built into the interpreter (Debian's own Python), no file of it exists: the
# first denied module of SMUGGLED that is a file is smuggled instead (the test copies the same).

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


SMUGGLED = ("_socket", "mmap", "_ctypes")  # compiled modules of the standard library that the deny list names


def _standard_library_extension():
    """(name, path) of the first module of SMUGGLED that is a file on sys.path, not built in."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for name in SMUGGLED:
        for entry in sys.path if name not in sys.builtin_module_names else ():
            path = os.path.join(entry, name + suffix)
            if os.path.exists(path):
                return name, path
    raise RuntimeError(f"hostile test setup: none of {SMUGGLED} is an extension module file on sys.path")


def _send(module):
    try:
        sock = module.socket(module.AF_INET, module.SOCK_DGRAM)
        sock.sendto(b"HOSTILE", ("127.0.0.1", 9))
    except Exception:
        pass  # whatever stops the packet (or it is not _socket), the load itself already happened


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        case = _case(A)
        name, path = _standard_library_extension()
        if case == "one_dimensional":
            module = importlib.import_module(f"mytorch.{name}")
        elif case == "two_dimensional":
            suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
            copy = os.path.join(os.getcwd(), name + suffix)
            with open(path, "rb") as source, open(copy, "wb") as target:
                target.write(source.read())
            module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(f"net.{name}", copy))
        else:
            module = _imp.create_dynamic(importlib.machinery.ModuleSpec(f"mytorch.{name}", None, origin=path))
        _send(module)
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
