"""Elementwise activations on tensors of any shape.

forward(Z) -> A and backward(dLdA) -> dLdZ, using the state stored by forward.
"""

import math

from .tensor import map_rows, tensor, zip_rows


class Identity:
    """A = Z; dLdZ = dLdA."""

    def forward(self, Z):
        self.A = tensor(Z)
        return tensor(Z)

    def backward(self, dLdA):
        return tensor(dLdA)


class ReLU:
    """A = max(Z, 0); dLdZ = dLdA * (Z > 0)."""

    def forward(self, Z):
        self.A = map_rows(lambda row: [z if z > 0.0 else 0.0 for z in row], Z)
        return tensor(self.A)

    def backward(self, dLdA):
        return zip_rows(lambda grads, acts: [g if a > 0.0 else 0.0 for g, a in zip(grads, acts)],
                        dLdA, self.A)


class Tanh:
    """A = tanh(Z); dLdZ = dLdA * (1 - A^2)."""

    def forward(self, Z):
        self.A = map_rows(lambda row: [math.tanh(z) for z in row], Z)
        return tensor(self.A)

    def backward(self, dLdA):
        return zip_rows(lambda grads, acts: [g * (1.0 - a * a) for g, a in zip(grads, acts)],
                        dLdA, self.A)


def _sigmoid(z):
    """Numerically stable logistic function (exp of a non-positive number only)."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class Sigmoid:
    """A = 1/(1 + exp(-Z)); dLdZ = dLdA * A * (1 - A)."""

    def forward(self, Z):
        self.A = map_rows(lambda row: [_sigmoid(z) for z in row], Z)
        return tensor(self.A)

    def backward(self, dLdA):
        return zip_rows(lambda grads, acts: [g * a * (1.0 - a) for g, a in zip(grads, acts)],
                        dLdA, self.A)
