"""Fully connected layer."""
from __future__ import annotations

import numpy as np

from ._types import Array


class Linear:
    """Z = A W^T + b.

    W (out, in) and b (out,) are zero-initialised (assign them to set weights).
    forward:  A (N, in) -> Z (N, out).
    backward: dLdZ (N, out) -> dLdA = dLdZ W (N, in); dLdW = dLdZ^T A (out, in),
              dLdb = sum_n dLdZ (out,).
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        self.in_features = in_features
        self.out_features = out_features
        self.W = np.zeros((out_features, in_features))
        self.b = np.zeros(out_features)
        self.dLdW = np.zeros(self.W.shape)
        self.dLdb = np.zeros(self.b.shape)

    def forward(self, A: Array) -> Array:
        self.A = np.asarray(A, dtype=np.float64)
        return self.A @ self.W.T + self.b

    def backward(self, dLdZ: Array) -> Array:
        dLdZ = np.asarray(dLdZ, dtype=np.float64)
        self.dLdW = dLdZ.T @ self.A
        self.dLdb = dLdZ.sum(axis=0)
        return dLdZ @ self.W
