"""Softmax cross-entropy loss."""
from __future__ import annotations

import numpy as np

from ._types import Array


class CrossEntropyLoss:
    """Mean over the batch of -sum_j Y[n,j] * log softmax(A)[n,j].

    forward(A, Y): A (N, classes) logits, Y (N, classes) one-hot -> float.
    backward() -> (softmax(A) - Y) / N, shape (N, classes).
    """

    def forward(self, A: Array, Y: Array) -> float:
        self.A = np.asarray(A, dtype=np.float64)
        self.Y = np.asarray(Y, dtype=np.float64)
        shifted = self.A - self.A.max(axis=1, keepdims=True)          # stable log-softmax
        log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.softmax = np.exp(log_softmax)
        return float(-(self.Y * log_softmax).sum() / self.A.shape[0])

    def backward(self) -> Array:
        return (self.softmax - self.Y) / self.A.shape[0]
