"""2D convolution (cross-correlation) with square kernels: stride 1, and strided/padded."""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._types import Array, InitFn
from .conv1d import init_conv_params
from .resampling import Downsample2d


class Conv2d_stride1:
    """Stride-1 2D cross-correlation with a square K x K kernel.

    W (out, in, K, K), b (out,).
    forward:  A (N, in, H, W) -> Z (N, out, H-K+1, W-K+1),
              Z[n,o,y,x] = b[o] + sum_{c,i,j} W[o,c,i,j] * A[n,c,y+i,x+j].
    backward: dLdZ -> dLdA (N, in, H, W); sets dLdW (out, in, K, K), dLdb (out,).
              dLdA = full cross-correlation of dLdZ (padded by K-1) with the flipped kernel.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 weight_init_fn: InitFn | None = None, bias_init_fn: InitFn | None = None) -> None:
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.W, self.b = init_conv_params(
            (out_channels, in_channels, kernel_size, kernel_size), weight_init_fn, bias_init_fn)
        self.dLdW = np.zeros(self.W.shape)
        self.dLdb = np.zeros(self.b.shape)

    def forward(self, A: Array) -> Array:
        self.A = np.asarray(A, dtype=np.float64)
        K = self.kernel_size
        windows = sliding_window_view(self.A, (K, K), axis=(2, 3))   # (N, in, Ho, Wo, K, K)
        return np.einsum("ncyxij,ocij->noyx", windows, self.W, optimize=True) + self.b[None, :, None, None]

    def backward(self, dLdZ: Array) -> Array:
        dLdZ = np.asarray(dLdZ, dtype=np.float64)
        K = self.kernel_size
        windows = sliding_window_view(self.A, (K, K), axis=(2, 3))
        self.dLdW = np.einsum("noyx,ncyxij->ocij", dLdZ, windows, optimize=True)
        self.dLdb = dLdZ.sum(axis=(0, 2, 3))
        padded = np.pad(dLdZ, ((0, 0), (0, 0), (K - 1, K - 1), (K - 1, K - 1)))
        pwin = sliding_window_view(padded, (K, K), axis=(2, 3))       # (N, out, H, W, K, K)
        return np.einsum("noyxij,ocij->ncyx", pwin, self.W[:, :, ::-1, ::-1], optimize=True)


class Conv2d:
    """Strided, zero-padded 2D cross-correlation = pad -> Conv2d_stride1 -> Downsample2d.

    forward:  A (N, in, H, W) -> Z (N, out, floor((H+2p-K)/s)+1, floor((W+2p-K)/s)+1).
    backward: dLdZ -> dLdA (N, in, H, W) (the reverse, padding cropped away).
    Parameters live in ``conv2d_stride1`` (W, b, dLdW, dLdb).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int = 0,
                 weight_init_fn: InitFn | None = None, bias_init_fn: InitFn | None = None) -> None:
        self.stride = stride
        self.pad = padding
        self.conv2d_stride1 = Conv2d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A: Array) -> Array:
        p = self.pad
        A_pad = np.pad(np.asarray(A, dtype=np.float64), ((0, 0), (0, 0), (p, p), (p, p)))
        return self.downsample2d.forward(self.conv2d_stride1.forward(A_pad))

    def backward(self, dLdZ: Array) -> Array:
        dLdA_pad = self.conv2d_stride1.backward(self.downsample2d.backward(dLdZ))
        p = self.pad
        H, W = dLdA_pad.shape[2:]
        return dLdA_pad[:, :, p:H - p, p:W - p]
