"""1D convolution (cross-correlation): stride 1, and strided/padded.

Tensors are nested lists of floats. Convolution here is cross-correlation (no
kernel flip in forward). Helpers such as ``zeros``, ``pad1d`` and ``unpad1d``
are in ``mytorch.tensor``.
"""

from .resampling import Downsample1d
from .tensor import randn, tensor, zeros


def init_conv_params(W_shape, weight_init_fn=None, bias_init_fn=None):
    """Return ``(W, b)`` as nested float lists (given: you do not need to change it).

    ``W = weight_init_fn(*W_shape)`` or standard normal draws when it is None;
    ``b = bias_init_fn(out_channels)`` or zeros when it is None.
    """
    out_channels = W_shape[0]
    W = randn(W_shape) if weight_init_fn is None else tensor(weight_init_fn(*W_shape))
    b = zeros((out_channels,)) if bias_init_fn is None else tensor(bias_init_fn(out_channels))
    return W, b


class Conv1d_stride1:
    """Stride-1 1D cross-correlation.

    W (out, in, K), b (out,); backward stores dLdW (out, in, K) and dLdb (out,).
    """

    def __init__(self, in_channels, out_channels, kernel_size,
                 weight_init_fn=None, bias_init_fn=None):
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.W, self.b = init_conv_params((out_channels, in_channels, kernel_size),
                                          weight_init_fn, bias_init_fn)
        self.dLdW = zeros((out_channels, in_channels, kernel_size))
        self.dLdb = zeros((out_channels,))

    def forward(self, A):
        """A (N, in, W) -> Z (N, out, W-K+1).

        Z[n][o][x] = b[o] + sum_{c,k} W[o][c][k] * A[n][c][x+k]. Store A for backward.
        """
        raise NotImplementedError("Conv1d_stride1.forward: Z[n][o][x] = b[o] + sum_{c,k} W[o][c][k] * A[n][c][x+k]")

    def backward(self, dLdZ):
        """dLdZ (N, out, W-K+1) -> dLdA (N, in, W); sets self.dLdW and self.dLdb (overwrite).

        dLdb[o] = sum_{n,x} dLdZ[n][o][x];  dLdW[o][c][k] = sum_{n,x} dLdZ[n][o][x] * A[n][c][x+k];
        dLdA = full cross-correlation of dLdZ (zero-padded by K-1 on both sides) with the flipped kernel.
        """
        raise NotImplementedError(
            "Conv1d_stride1.backward: compute dLdb, dLdW, then dLdA from dLdZ padded by K-1 and the flipped W")


class Conv1d:
    """Strided, zero-padded 1D cross-correlation = pad -> Conv1d_stride1 -> Downsample1d.

    Parameters live in ``conv1d_stride1`` (W, b, dLdW, dLdb).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding=0,
                 weight_init_fn=None, bias_init_fn=None):
        self.stride = stride
        self.pad = padding
        self.conv1d_stride1 = Conv1d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)
        self.downsample1d = Downsample1d(stride)

    def forward(self, A):
        """A (N, in, W) -> Z (N, out, floor((W + 2p - K)/s) + 1): pad p zeros on both sides, conv, downsample."""
        raise NotImplementedError(
            "Conv1d.forward: pad1d(A, self.pad) -> conv1d_stride1.forward -> downsample1d.forward")

    def backward(self, dLdZ):
        """dLdZ (N, out, floor((W + 2p - K)/s) + 1) -> dLdA (N, in, W): the reverse, padding cropped away."""
        raise NotImplementedError(
            "Conv1d.backward: downsample1d.backward -> conv1d_stride1.backward -> unpad1d(..., self.pad)")
