"""2D convolution (cross-correlation) with square kernels: stride 1, and strided/padded.

Tensors are nested lists of floats. Helpers such as ``zeros``, ``pad2d`` and
``unpad2d`` are in ``mytorch.tensor``.
"""

from .conv1d import init_conv_params
from .resampling import Downsample2d
from .tensor import zeros


class Conv2d_stride1:
    """Stride-1 2D cross-correlation with a square K x K kernel.

    W (out, in, K, K), b (out,); backward stores dLdW (out, in, K, K) and dLdb (out,).
    """

    def __init__(self, in_channels, out_channels, kernel_size,
                 weight_init_fn=None, bias_init_fn=None):
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        W_shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.W, self.b = init_conv_params(W_shape, weight_init_fn, bias_init_fn)
        self.dLdW = zeros(W_shape)
        self.dLdb = zeros((out_channels,))

    def forward(self, A):
        """A (N, in, H, W) -> Z (N, out, H-K+1, W-K+1).

        Z[n][o][y][x] = b[o] + sum_{c,i,j} W[o][c][i][j] * A[n][c][y+i][x+j]. Store A for backward.
        """
        raise NotImplementedError(
            "Conv2d_stride1.forward: Z[n][o][y][x] = b[o] + sum_{c,i,j} W[o][c][i][j] * A[n][c][y+i][x+j]")

    def backward(self, dLdZ):
        """dLdZ (N, out, H-K+1, W-K+1) -> dLdA (N, in, H, W); sets self.dLdW and self.dLdb (overwrite).

        dLdb[o] = sum_{n,y,x} dLdZ[n][o][y][x];
        dLdW[o][c][i][j] = sum_{n,y,x} dLdZ[n][o][y][x] * A[n][c][y+i][x+j];
        dLdA = full cross-correlation of dLdZ (zero-padded by K-1 on all sides) with W flipped on both axes.
        """
        raise NotImplementedError(
            "Conv2d_stride1.backward: compute dLdb, dLdW, then dLdA from dLdZ padded by K-1 and the flipped W")


class Conv2d:
    """Strided, zero-padded 2D cross-correlation = pad -> Conv2d_stride1 -> Downsample2d.

    Parameters live in ``conv2d_stride1`` (W, b, dLdW, dLdb).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding=0,
                 weight_init_fn=None, bias_init_fn=None):
        self.stride = stride
        self.pad = padding
        self.conv2d_stride1 = Conv2d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        """A (N, in, H, W) -> Z (N, out, floor((H+2p-K)/s)+1, floor((W+2p-K)/s)+1): pad H and W, conv, downsample."""
        raise NotImplementedError(
            "Conv2d.forward: pad2d(A, self.pad) -> conv2d_stride1.forward -> downsample2d.forward")

    def backward(self, dLdZ):
        """dLdZ (N, out, floor((H+2p-K)/s)+1, floor((W+2p-K)/s)+1) -> dLdA (N, in, H, W), padding cropped away."""
        raise NotImplementedError(
            "Conv2d.backward: downsample2d.backward -> conv2d_stride1.backward -> unpad2d(..., self.pad)")
