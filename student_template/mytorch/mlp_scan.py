"""Scanning MLPs expressed as 1D CNNs.

The MLP scans windows of 8 time steps with stride 4 over a (N, 24, 128) input and
computes y = relu(relu(x @ w1) @ w2) @ w3 with w1 (192, 8), w2 (8, 16), w3 (16, 4),
where the window vector x is time-major: x[t*24 + c] = A[n][c][4*p + t].
"""

from .activation import ReLU
from .conv1d import Conv1d
from .flatten import Flatten


class CNN_SimpleScanningMLP:
    """The full MLP applied at every window: (N, 24, 128) -> (N, 4*31) (Flatten of (N, 4, 31))."""

    def __init__(self):
        self.conv1 = Conv1d(24, 8, 8, 4)
        self.conv2 = Conv1d(8, 16, 1, 1)
        self.conv3 = Conv1d(16, 4, 1, 1)
        self.layers = [self.conv1, ReLU(), self.conv2, ReLU(), self.conv3, Flatten()]

    def init_weights(self, weights):
        """weights = [w1 (192, 8), w2 (8, 16), w3 (16, 4)] (nested lists, y = x @ w).

        Set conv1.conv1d_stride1.W[o][c][t] = w1[t*24 + c][o] (shape (8, 24, 8)), and likewise
        conv2 (16, 8, 1) from w2 and conv3 (4, 16, 1) from w3. Biases stay zero.
        """
        raise NotImplementedError(
            "CNN_SimpleScanningMLP.init_weights: conv1.conv1d_stride1.W[o][c][t] = w1[t*24 + c][o], etc.")

    def forward(self, A):
        """A (N, 24, 128) -> Z (N, 124): every layer of self.layers in order."""
        raise NotImplementedError("CNN_SimpleScanningMLP.forward: run A through self.layers in order")

    def backward(self, dLdZ):
        """dLdZ (N, 124) -> dLdA (N, 24, 128): every layer of self.layers in reverse order."""
        raise NotImplementedError("CNN_SimpleScanningMLP.backward: run dLdZ through self.layers in reverse order")


class CNN_DistributedScanningMLP:
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
        """weights = [w1 (192, 8), w2 (8, 16), w3 (16, 4)]; only the shared slices are used:

        conv1.W[o][c][t] = w1[t*24 + c][o] (o < 2, t < 2), conv2.W[o][c][t] = w2[t*2 + c][o]
        (c < 2, t < 2), conv3.W[o][c][t] = w3[t*8 + c][o] (c < 8, t < 2), each in conv*.conv1d_stride1.W.
        """
        raise NotImplementedError(
            "CNN_DistributedScanningMLP.init_weights: copy the shared slices of w1, w2, w3 into the conv kernels")

    def forward(self, A):
        """A (N, 24, 128) -> Z (N, 124): every layer of self.layers in order."""
        raise NotImplementedError("CNN_DistributedScanningMLP.forward: run A through self.layers in order")

    def backward(self, dLdZ):
        """dLdZ (N, 124) -> dLdA (N, 24, 128): every layer of self.layers in reverse order."""
        raise NotImplementedError("CNN_DistributedScanningMLP.backward: run dLdZ through self.layers in reverse order")
