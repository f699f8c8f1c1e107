"""2D convolution (cross-correlation) with square kernels: stride 1, and strided/padded.

The same three correlations as in 1D (see conv1d.py), on planes.
"""

from itertools import chain
from math import fsum

from ._nested import (InitFn, Tensor, correlate2d, crop_plane, flat, flip_plane, keeps_input,
                      pad_plane, per_channel, transpose01, zeros)
from .conv1d import init_conv_params
from .resampling import Downsample2d


class Conv2d_stride1:
    """Stride-1 2D cross-correlation: W (out, in, K, K), b (out,); backward sets dLdW, dLdb."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 weight_init_fn: InitFn | None = None, bias_init_fn: InitFn | None = None) -> None:
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.W, self.b = init_conv_params(shape, weight_init_fn, bias_init_fn)
        self.dLdW: Tensor = zeros(*shape)
        self.dLdb: list[float] = zeros(out_channels)
        self.A: Tensor = []  # the last forward input (a private copy)

    @keeps_input("A")
    def forward(self, A: Tensor) -> Tensor:
        """(N, in, H, W) -> (N, out, H-K+1, W-K+1)."""
        return correlate2d(A, self.W, self.b)

    def backward(self, dLdZ: Tensor) -> Tensor:
        """(N, out, H-K+1, W-K+1) -> (N, in, H, W); overwrites dLdW and dLdb."""
        self.dLdb = [fsum(chain.from_iterable(map(flat, channel))) for channel in transpose01(dLdZ)]
        self.dLdW = transpose01(correlate2d(transpose01(self.A), transpose01(dLdZ)))
        rotated = [list(map(flip_plane, kernels)) for kernels in transpose01(self.W)]
        padded = per_channel(lambda plane: pad_plane(plane, self.kernel_size - 1), dLdZ)
        return correlate2d(padded, rotated)


class Conv2d:
    """Strided, zero-padded 2D cross-correlation = pad -> Conv2d_stride1 -> Downsample2d.

    The parameters live in ``conv2d_stride1`` (W, b, dLdW, dLdb).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 padding: int = 0, weight_init_fn: InitFn | None = None,
                 bias_init_fn: InitFn | None = None) -> None:
        self.stride = stride
        self.pad = padding
        self.conv2d_stride1 = Conv2d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A: Tensor) -> Tensor:
        """(N, in, H, W) -> (N, out, floor((H+2p-K)/s)+1, floor((W+2p-K)/s)+1)."""
        padded = per_channel(lambda plane: pad_plane(plane, self.pad), A)
        return self.downsample2d.forward(self.conv2d_stride1.forward(padded))

    def backward(self, dLdZ: Tensor) -> Tensor:
        """-> (N, in, H, W): the reverse of forward, the padding cropped away."""
        dLdA_padded = self.conv2d_stride1.backward(self.downsample2d.backward(dLdZ))
        return per_channel(lambda plane: crop_plane(plane, self.pad), dLdA_padded)
