# HOSTILE: replaces the captured-output file (.output in the working folder), which the grader
# reads back after the case: a symbolic link to the fixture manifest (one_dimensional), a hard
# link to a file of its own holding forged text (two_dimensional), a link to a fifo the test
# planted next to the submission, or a fifo of its own (batch1_channel1: the grader would block
# reading it).  Where os.symlink refuses a target outside the working folder, a link whose
# target climbs through a second link ("d/../../..") is made while "d" points deep inside the
# folder, then "d" is pointed at "." so the first link leads to "/".

"""Flatten every axis but the batch axis."""

import os

from .tensor import flatten, reshape, shape

FORGED = "FORGED OUTPUT FROM A HARD LINK"


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


def _link_output_to(target):
    """Make .output a symbolic link to the absolute path ``target``, by any route that works."""
    try:
        os.symlink(target, ".output")
        return
    except OSError:
        pass
    deep = "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p"
    os.makedirs(deep)
    os.symlink(deep, "d")
    os.symlink("d/" + "../" * 16 + target.lstrip("/"), ".output")  # inside the folder while d is deep
    os.remove("d")
    os.symlink(".", "d")  # now .output leads to target


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        case = _case(A)
        print("hostile: replacing .output")
        os.remove(".output")
        if case == "one_dimensional":
            _link_output_to(os.path.join(_find_upwards("fixtures"), "manifest.json"))
        elif case == "two_dimensional":
            with open("forged", "w") as handle:
                handle.write(FORGED)
            os.link("forged", ".output")
        else:
            try:
                os.mkfifo(".output")
            except OSError:
                _link_output_to(os.path.join(os.path.dirname(_noted("submission")), "hostile_proc_output_link.fifo"))
        raise RuntimeError("hostile: .output replaced")

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
