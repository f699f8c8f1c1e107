# HOSTILE: a correct Flatten that, once mytorch.cnn is loaded, makes CNN's loss an integer
# beyond float's range: 2**1024 (batch1_stride1), 2**1024 - 1 (strided: still rounds to
# infinity as a float), -2**1024 + 1 (kernel1_stride_ge_kernel).  The grader must report a
# clear mismatch, never its own OverflowError.

"""Flatten every axis but the batch axis."""

import sys

from .tensor import flatten, reshape, shape

HUGE = {3: 2 ** 1024, 5: 2 ** 1024 - 1, 1: -2 ** 1024 + 1}  # by the first layer's kernel size


def _huge_loss(cnn):
    weights = cnn.convolutional_layers[0].conv1d_stride1.W
    return HUGE[len(weights[0][0])]


def _spoil_cnn_loss():
    cnn = sys.modules.get("mytorch.cnn")
    if cnn is not None:
        cnn.CNN.loss = property(_huge_loss, lambda self, new: None)


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        _spoil_cnn_loss()
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
