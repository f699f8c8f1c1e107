# HOSTILE: writes outside its working folder: a file in the repo's fixtures folder
# (one_dimensional), the grading harness's working folder and its report.json via
# /proc/<ppid>/cwd (two_dimensional), its own submission folder, to keep state between cases
# (batch1_channel1).  Every target is named HOSTILE_PWNED* (tests/test_hostile.py checks).

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


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        case = _case(A)
        if case == "one_dimensional":
            targets = [os.path.join(_find_upwards("fixtures"), "HOSTILE_PWNED.txt")]
        elif case == "two_dimensional":
            cwd = f"/proc/{os.getppid()}/cwd"
            targets = [os.path.join(cwd, "HOSTILE_PWNED.json"), os.path.join(cwd, "report.json")]
        else:
            targets = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "HOSTILE_PWNED.py")]
        for target in targets:
            with open(target, "w") as handle:
                handle.write('{"scores": {"Flatten": 1000}}')
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
