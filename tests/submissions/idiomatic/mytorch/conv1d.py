"""1D convolution (cross-correlation): stride 1, and strided/padded.

Both gradients of the stride-1 layer are cross-correlations again, so one
function, ``correlate1d``, does all the arithmetic:

* forward:  Z    = correlate(A, W) + b
* dLdW:     dLdW = correlate(A with batch and channels swapped, dLdZ likewise), swapped back
* dLdA:     dLdA = correlate(dLdZ padded by K-1, W flipped with in/out channels swapped)
"""

import random
from collections.abc import Sequence
from itertools import chain
from math import fsum

from ._nested import (InitFn, Tensor, as_floats, correlate1d, crop_row, keeps_input, pad_row,
                      per_channel, transpose01, zeros)
from .resampling import Downsample1d


def init_conv_params(W_shape: Sequence[int], weight_init_fn: InitFn | None = None,
                     bias_init_fn: InitFn | None = None) -> tuple[Tensor, list[float]]:
    """``(W, b)``: ``weight_init_fn(*W_shape)`` (standard normal when None) and
    ``bias_init_fn(out_channels)`` (zeros when None), as float lists."""
    out_channels, *rest = W_shape

    def randn(*shape: int) -> Tensor:
        head, *tail = shape
        return [random.gauss(0.0, 1.0) if not tail else randn(*tail) for _ in range(head)]

    W = randn(*W_shape) if weight_init_fn is None else as_floats(weight_init_fn(*W_shape))
    b = zeros(out_channels) if bias_init_fn is None else as_floats(bias_init_fn(out_channels))
    return W, b


def flipped_transposed(W: Tensor) -> Tensor:
    """(out, in, K) -> (in, out, K) with every kernel reversed: the kernel of dLdA."""
    return [[row[::-1] for row in kernels] for kernels in transpose01(W)]


class Conv1d_stride1:
    """Stride-1 1D cross-correlation: W (out, in, K), b (out,); backward sets dLdW, dLdb."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 weight_init_fn: InitFn | None = None, bias_init_fn: InitFn | None = None) -> None:
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        shape = (out_channels, in_channels, kernel_size)
        self.W, self.b = init_conv_params(shape, weight_init_fn, bias_init_fn)
        self.dLdW: Tensor = zeros(*shape)
        self.dLdb: list[float] = zeros(out_channels)
        self.A: Tensor = []  # the last forward input (a private copy)

    @keeps_input("A")
    def forward(self, A: Tensor) -> Tensor:
        """(N, in, W) -> (N, out, W-K+1): Z[n][o][x] = b[o] + sum_{c,k} W[o][c][k] * A[n][c][x+k]."""
        return correlate1d(A, self.W, self.b)

    def backward(self, dLdZ: Tensor) -> Tensor:
        """(N, out, W-K+1) -> (N, in, W); overwrites dLdW (out, in, K) and dLdb (out,)."""
        self.dLdb = [fsum(chain.from_iterable(channel)) for channel in transpose01(dLdZ)]
        self.dLdW = transpose01(correlate1d(transpose01(self.A), transpose01(dLdZ)))
        padded = per_channel(lambda row: pad_row(row, self.kernel_size - 1), dLdZ)
        return correlate1d(padded, flipped_transposed(self.W))


class Conv1d:
    """Strided, zero-padded 1D cross-correlation = pad -> Conv1d_stride1 -> Downsample1d.

    The parameters live in ``conv1d_stride1`` (W, b, dLdW, dLdb).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 padding: int = 0, weight_init_fn: InitFn | None = None,
                 bias_init_fn: InitFn | None = None) -> None:
        self.stride = stride
        self.pad = padding
        self.conv1d_stride1 = Conv1d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)
        self.downsample1d = Downsample1d(stride)

    def forward(self, A: Tensor) -> Tensor:
        """(N, in, W) -> (N, out, floor((W + 2p - K)/s) + 1)."""
        padded = per_channel(lambda row: pad_row(row, self.pad), A)
        return self.downsample1d.forward(self.conv1d_stride1.forward(padded))

    def backward(self, dLdZ: Tensor) -> Tensor:
        """(N, out, floor((W + 2p - K)/s) + 1) -> (N, in, W)."""
        dLdA_padded = self.conv1d_stride1.backward(self.downsample1d.backward(dLdZ))
        return per_channel(lambda row: crop_row(row, self.pad), dLdA_padded)
