"""Flatten all non-batch axes."""
from __future__ import annotations

import numpy as np

from ._types import Array


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A: Array) -> Array:
        A = np.asarray(A, dtype=np.float64)
        self.input_shape = A.shape
        return A.reshape(A.shape[0], -1).copy()

    def backward(self, dLdZ: Array) -> Array:
        return np.asarray(dLdZ, dtype=np.float64).reshape(self.input_shape).copy()
