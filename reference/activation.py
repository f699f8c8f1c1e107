"""Elementwise activations: forward(Z) -> A, backward(dLdA) -> dLdZ, any shape."""
from __future__ import annotations

import numpy as np

from ._types import Array


class Identity:
    """A = Z; dLdZ = dLdA."""

    def forward(self, Z: Array) -> Array:
        self.A = np.array(Z, dtype=np.float64)
        return self.A.copy()

    def backward(self, dLdA: Array) -> Array:
        return np.array(dLdA, dtype=np.float64)


class ReLU:
    """A = max(Z, 0); dLdZ = dLdA * (Z > 0)."""

    def forward(self, Z: Array) -> Array:
        Z = np.asarray(Z, dtype=np.float64)
        self.A = np.maximum(Z, 0.0)
        return self.A.copy()

    def backward(self, dLdA: Array) -> Array:
        return np.asarray(dLdA, dtype=np.float64) * (self.A > 0)


class Tanh:
    """A = tanh(Z); dLdZ = dLdA * (1 - A^2)."""

    def forward(self, Z: Array) -> Array:
        self.A = np.tanh(np.asarray(Z, dtype=np.float64))
        return self.A.copy()

    def backward(self, dLdA: Array) -> Array:
        return np.asarray(dLdA, dtype=np.float64) * (1.0 - self.A ** 2)


class Sigmoid:
    """A = 1/(1 + exp(-Z)); dLdZ = dLdA * A * (1 - A)."""

    def forward(self, Z: Array) -> Array:
        Z = np.asarray(Z, dtype=np.float64)
        # exp of a non-positive number only: no overflow warnings for large |Z|.
        E = np.exp(-np.abs(Z))
        self.A = np.where(Z >= 0, 1.0 / (1.0 + E), E / (1.0 + E))
        return self.A.copy()

    def backward(self, dLdA: Array) -> Array:
        return np.asarray(dLdA, dtype=np.float64) * self.A * (1.0 - self.A)
