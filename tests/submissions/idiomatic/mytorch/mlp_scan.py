"""Scanning MLPs expressed as 1D CNNs.

The MLP scans windows of 8 time steps with stride 4 over a (N, 24, 128) input and
computes y = relu(relu(x @ w1) @ w2) @ w3 with w1 (192, 8), w2 (8, 16), w3 (16, 4),
where the window vector x is time-major: x[t*24 + c] = A[n][c][4*p + t].
"""

from collections.abc import Sequence

from ._nested import Tensor, backward_through, forward_through, shape_of
from .activation import ReLU
from .conv1d import Conv1d
from .flatten import Flatten


def mlp_kernel(w: Sequence[Sequence[float]], out_channels: int, in_channels: int, K: int) -> Tensor:
    """The (out, in, K) kernel of an MLP layer ``w`` (rows = time-major window inputs, columns = neurons):
    kernel[o][c][t] = w[t*in + c][o]; only the first K*in rows and out columns are used."""
    return [[[float(w[t * in_channels + c][o]) for t in range(K)] for c in range(in_channels)]
            for o in range(out_channels)]


class _ScanningMLP:
    """Shared behaviour: three Conv1d layers with ReLUs in between, then Flatten."""

    conv1: Conv1d
    conv2: Conv1d
    conv3: Conv1d

    def _build(self) -> None:
        self.layers = [self.conv1, ReLU(), self.conv2, ReLU(), self.conv3, Flatten()]

    def init_weights(self, weights: Sequence[Sequence[Sequence[float]]]) -> None:
        """weights = [w1 (192, 8), w2 (8, 16), w3 (16, 4)]; each conv kernel gets its slice."""
        for conv, w in zip((self.conv1, self.conv2, self.conv3), weights, strict=True):
            layer = conv.conv1d_stride1
            layer.W = mlp_kernel(w, *shape_of(layer.W))

    def forward(self, A: Tensor) -> Tensor:
        """(N, 24, 128) -> (N, 124)."""
        return forward_through(self.layers, A)

    def backward(self, dLdZ: Tensor) -> Tensor:
        """(N, 124) -> (N, 24, 128)."""
        return backward_through(self.layers, dLdZ)


class CNN_SimpleScanningMLP(_ScanningMLP):
    """The full MLP applied at every window: (N, 24, 128) -> (N, 4*31) (Flatten of (N, 4, 31))."""

    def __init__(self) -> None:
        self.conv1 = Conv1d(24, 8, 8, 4)
        self.conv2 = Conv1d(8, 16, 1, 1)
        self.conv3 = Conv1d(16, 4, 1, 1)
        self._build()


class CNN_DistributedScanningMLP(_ScanningMLP):
    """The same scan with shared (distributed) weights: (N, 24, 128) -> (N, 4*31)."""

    def __init__(self) -> None:
        self.conv1 = Conv1d(24, 2, 2, 2)
        self.conv2 = Conv1d(2, 8, 2, 2)
        self.conv3 = Conv1d(8, 4, 2, 1)
        self._build()
