"""Flatten every axis but the batch axis."""

from .tensor import flatten, reshape, shape


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        self.input_shape = shape(A)
        return [tuple(flatten(a_n)) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
