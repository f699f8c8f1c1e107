"""Fully connected layer."""

from operator import mul

from .tensor import transpose01, zeros


class Linear:
    """Z = A W^T + b.

    W (out, in) and b (out,) are zero-initialised (assign them to set weights).
    forward:  A (N, in) -> Z (N, out).
    backward: dLdZ (N, out) -> dLdA = dLdZ W (N, in); dLdW = dLdZ^T A (out, in),
              dLdb = sum_n dLdZ (out,).
    """

    def __init__(self, in_features, out_features):
        self.in_features = in_features
        self.out_features = out_features
        self.W = zeros((out_features, in_features))
        self.b = zeros((out_features,))
        self.dLdW = zeros((out_features, in_features))
        self.dLdb = zeros((out_features,))

    def forward(self, A):
        self.A = A
        return [[sum(map(mul, w_o, a_n)) for w_o in self.W] for a_n in A]  # MUTANT: no bias

    def backward(self, dLdZ):
        dLdZ_T, A_T, W_T = transpose01(dLdZ), transpose01(self.A), transpose01(self.W)
        self.dLdW = [[float(sum(map(mul, d_o, a_i))) for a_i in A_T] for d_o in dLdZ_T]
        self.dLdb = [float(sum(d_o)) for d_o in dLdZ_T]
        return [[float(sum(map(mul, d_n, w_i))) for w_i in W_T] for d_n in dLdZ]
