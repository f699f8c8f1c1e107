# HOSTILE: uses numpy from the base Python installation's site-packages (inside the standard
# library's folder, which the sandbox may read): sys.path.append (one_dimensional),
# sys.path.insert and importlib.import_module (two_dimensional), loading numpy/__init__.py by
# path (batch1_channel1).  The answer is computed with numpy.

"""Flatten every axis but the batch axis."""

import importlib
import importlib.util
import os
import sys

from .tensor import reshape, shape


def _case(A):
    """Which fixture case of the Flatten item is running (the hostile behaviour differs per case)."""
    if len(shape(A)) == 4:
        return "two_dimensional"
    return "batch1_channel1" if len(A) == 1 and len(A[0]) == 1 else "one_dimensional"


SITE_PACKAGES = os.path.join(os.path.dirname(os.__file__), "site-packages")


def _numpy(case):
    if case == "one_dimensional":
        sys.path.append(SITE_PACKAGES)
        import numpy
        return numpy
    if case == "two_dimensional":
        sys.path.insert(0, SITE_PACKAGES)
        return importlib.import_module("numpy")
    package = os.path.join(SITE_PACKAGES, "numpy")
    spec = importlib.util.spec_from_file_location("numpy", os.path.join(package, "__init__.py"),
                                                  submodule_search_locations=[package])
    numpy = importlib.util.module_from_spec(spec)
    sys.modules["numpy"] = numpy
    spec.loader.exec_module(numpy)
    return numpy


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        np = _numpy(_case(A))
        self.input_shape = shape(A)
        array = np.asarray(A, dtype=float)
        return array.reshape(array.shape[0], -1).tolist()

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
