"""Scanning MLPs expressed as 1D CNNs.

The MLP scans windows of 8 time steps with stride 4 over a (N, 24, 128) input and
computes y = relu(relu(x @ w1) @ w2) @ w3 with w1 (192, 8), w2 (8, 16), w3 (16, 4),
where the window vector x is time-major: x[t*24 + c] = A[n][c][4*p + t].
"""

from .activation import ReLU
from .conv1d import Conv1d
from .flatten import Flatten


def mlp_to_kernel(w, in_channels, kernel_width, out_channels):
    """MLP weights w[t*in + c][o] (y = x @ w) -> conv kernel W[o][c][t] of shape (out, in, width).

    Only the first ``kernel_width*in_channels`` rows and ``out_channels`` columns are used.
    """
    return [[[float(w[t * in_channels + c][o]) for t in range(kernel_width)]
             for c in range(in_channels)]
            for o in range(out_channels)]


class _ScanningCNN:
    """Forward and backward through ``self.layers``."""

    def forward(self, A):
        """A (N, 24, 128) -> Z (N, 4*31)."""
        Z = A
        for layer in self.layers:
            Z = layer.forward(Z)
        return Z

    def backward(self, dLdZ):
        """dLdZ (N, 4*31) -> dLdA (N, 24, 128); every conv stores dLdW and dLdb."""
        for layer in reversed(self.layers):
            dLdZ = layer.backward(dLdZ)
        return dLdZ


class CNN_SimpleScanningMLP(_ScanningCNN):
    """The full MLP applied at every window: (N, 24, 128) -> (N, 4*31) (Flatten of (N, 4, 31)).

    conv1 = Conv1d(24, 8, 8, 4), conv2 = Conv1d(8, 16, 1, 1), conv3 = Conv1d(16, 4, 1, 1).
    """

    def __init__(self):
        self.conv1 = Conv1d(24, 8, 8, 4)
        self.conv2 = Conv1d(8, 16, 1, 1)
        self.conv3 = Conv1d(16, 4, 1, 1)
        self.layers = [self.conv1, ReLU(), self.conv2, ReLU(), self.conv3, Flatten()]

    def init_weights(self, weights):
        """weights = [w1 (192, 8), w2 (8, 16), w3 (16, 4)]: conv1.W[o][c][t] = w1[t*24 + c][o], ..."""
        w1, w2, w3 = weights
        self.conv1.conv1d_stride1.W = mlp_to_kernel(w1, 24, 8, 8)
        self.conv2.conv1d_stride1.W = mlp_to_kernel(w2, 8, 1, 16)
        self.conv3.conv1d_stride1.W = mlp_to_kernel(w3, 16, 1, 4)


class CNN_DistributedScanningMLP(_ScanningCNN):
    """The same scan with shared (distributed) weights: (N, 24, 128) -> (N, 4*31).

    conv1 = Conv1d(24, 2, 2, 2): 2 neurons over 2 time steps, shared across 4 positions;
    conv2 = Conv1d(2, 8, 2, 2): 8 neurons over 2 conv1 positions, shared across 2 positions;
    conv3 = Conv1d(8, 4, 2, 1): 4 outputs over 2 conv2 positions.
    """

    def __init__(self):
        self.conv1 = Conv1d(24, 2, 2, 2)
        self.conv2 = Conv1d(2, 8, 2, 2)
        self.conv3 = Conv1d(8, 4, 2, 1)
        self.layers = [self.conv1, ReLU(), self.conv2, ReLU(), self.conv3, Flatten()]

    def init_weights(self, weights):
        """Only the shared slices are used: conv1.W[o][c][t] = w1[t*24 + c][o] (o < 2, t < 2),
        conv2.W[o][c][t] = w2[t*2 + c][o] (c < 2, t < 2), conv3.W[o][c][t] = w3[t*8 + c][o]."""
        w1, w2, w3 = weights
        self.conv1.conv1d_stride1.W = mlp_to_kernel(w1, 24, 2, 2)
        # MUTANT: w2 rows read with the full layer width 8 (t*8 + c) instead of the 2 shared channels (t*2 + c)
        self.conv2.conv1d_stride1.W = [[[float(w2[t * 8 + c][o]) for t in range(2)] for c in range(2)]
                                       for o in range(8)]
        self.conv3.conv1d_stride1.W = mlp_to_kernel(w3, 8, 2, 4)
