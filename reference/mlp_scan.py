"""Scanning MLPs expressed as 1D CNNs.

The MLP scans windows of 8 time steps with stride 4 over a (N, 24, 128) input and
computes y = relu(relu(x @ w1) @ w2) @ w3 with w1 (192, 8), w2 (8, 16), w3 (16, 4),
where the window vector x is time-major: x[t*24 + c] = A[n, c, 4*p + t].
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._types import Array, Layer
from .activation import ReLU
from .conv1d import Conv1d
from .flatten import Flatten


def _mlp_to_kernel(w: Array, in_channels: int, kernel_width: int, out_channels: int) -> Array:
    """w[t*in + c][o] (first kernel_width*in rows, first out cols) -> kernel W[o][c][t]."""
    w = np.asarray(w, dtype=np.float64)[:kernel_width * in_channels, :out_channels]
    return w.reshape(kernel_width, in_channels, out_channels).transpose(2, 1, 0).copy()


class _ScanningCNN:
    """Shared forward/backward over ``self.layers``."""

    layers: list[Layer]

    def forward(self, A: Array) -> Array:
        Z = A
        for layer in self.layers:
            Z = layer.forward(Z)
        return Z

    def backward(self, dLdZ: Array) -> Array:
        for layer in reversed(self.layers):
            dLdZ = layer.backward(dLdZ)
        return dLdZ


class CNN_SimpleScanningMLP(_ScanningCNN):
    """The full MLP applied at every window: (N, 24, 128) -> (N, 4*31) (Flatten of (N, 4, 31)).

    conv1 = Conv1d(24, 8, 8, 4), conv2 = Conv1d(8, 16, 1, 1), conv3 = Conv1d(16, 4, 1, 1);
    conv1.W[o][c][t] = w1[t*24 + c][o], conv2.W[o][c][0] = w2[c][o], conv3.W[o][c][0] = w3[c][o].
    """

    def __init__(self) -> None:
        self.conv1 = Conv1d(24, 8, 8, 4)
        self.conv2 = Conv1d(8, 16, 1, 1)
        self.conv3 = Conv1d(16, 4, 1, 1)
        self.layers = [self.conv1, ReLU(), self.conv2, ReLU(), self.conv3, Flatten()]

    def init_weights(self, weights: Sequence[Array]) -> None:
        w1, w2, w3 = weights
        self.conv1.conv1d_stride1.W = _mlp_to_kernel(w1, 24, 8, 8)
        self.conv2.conv1d_stride1.W = _mlp_to_kernel(w2, 8, 1, 16)
        self.conv3.conv1d_stride1.W = _mlp_to_kernel(w3, 16, 1, 4)


class CNN_DistributedScanningMLP(_ScanningCNN):
    """The same scan with shared (distributed) weights: (N, 24, 128) -> (N, 4*31).

    conv1 = Conv1d(24, 2, 2, 2): 2 neurons over 2 time steps, shared across 4 positions;
    conv2 = Conv1d(2, 8, 2, 2): 8 neurons over 2 conv1 positions, shared across 2 positions;
    conv3 = Conv1d(8, 4, 2, 1): 4 outputs over 2 conv2 positions.
    Only the shared slices are used: conv1.W[o][c][t] = w1[t*24 + c][o] (o < 2, t < 2),
    conv2.W[o][c][t] = w2[t*2 + c][o] (c < 2, t < 2), conv3.W[o][c][t] = w3[t*8 + c][o].
    """

    def __init__(self) -> None:
        self.conv1 = Conv1d(24, 2, 2, 2)
        self.conv2 = Conv1d(2, 8, 2, 2)
        self.conv3 = Conv1d(8, 4, 2, 1)
        self.layers = [self.conv1, ReLU(), self.conv2, ReLU(), self.conv3, Flatten()]

    def init_weights(self, weights: Sequence[Array]) -> None:
        w1, w2, w3 = weights
        self.conv1.conv1d_stride1.W = _mlp_to_kernel(w1, 24, 2, 2)
        self.conv2.conv1d_stride1.W = _mlp_to_kernel(w2, 2, 2, 8)
        self.conv3.conv1d_stride1.W = _mlp_to_kernel(w3, 8, 2, 4)
