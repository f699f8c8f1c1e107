"""1D convolution (cross-correlation): stride 1, and strided/padded."""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._types import Array, InitFn
from .resampling import Downsample1d


def init_conv_params(W_shape: tuple[int, ...], weight_init_fn: InitFn | None = None,
                     bias_init_fn: InitFn | None = None) -> tuple[Array, Array]:
    """Return (W, b) as float64 arrays.

    ``W = weight_init_fn(*W_shape)`` (nested lists allowed) or a standard normal
    draw from ``np.random.default_rng()``; ``b = bias_init_fn(out_channels)`` or zeros.
    """
    out_channels = W_shape[0]
    if weight_init_fn is None:
        W = np.random.default_rng().standard_normal(W_shape)
    else:
        W = np.asarray(weight_init_fn(*W_shape), dtype=np.float64)
    if bias_init_fn is None:
        b = np.zeros(out_channels)
    else:
        b = np.asarray(bias_init_fn(out_channels), dtype=np.float64)
    if W.shape != tuple(W_shape) or b.shape != (out_channels,):
        raise ValueError(f"init fns returned W {W.shape}, b {b.shape}; "
                         f"expected {tuple(W_shape)}, ({out_channels},)")
    return W, b


class Conv1d_stride1:
    """Stride-1 1D cross-correlation.

    W (out, in, K), b (out,).
    forward:  A (N, in, W) -> Z (N, out, W-K+1),
              Z[n,o,x] = b[o] + sum_{c,k} W[o,c,k] * A[n,c,x+k].
    backward: dLdZ (N, out, W-K+1) -> dLdA (N, in, W); sets dLdW (out, in, K), dLdb (out,).
              dLdA = full cross-correlation of dLdZ (zero-padded by K-1) with the flipped kernel.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 weight_init_fn: InitFn | None = None, bias_init_fn: InitFn | None = None) -> None:
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.W, self.b = init_conv_params((out_channels, in_channels, kernel_size),
                                          weight_init_fn, bias_init_fn)
        self.dLdW = np.zeros(self.W.shape)
        self.dLdb = np.zeros(self.b.shape)

    def forward(self, A: Array) -> Array:
        self.A = np.asarray(A, dtype=np.float64)
        windows = sliding_window_view(self.A, self.kernel_size, axis=2)  # (N, in, Wout, K)
        return np.einsum("ncxk,ock->nox", windows, self.W, optimize=True) + self.b[None, :, None]

    def backward(self, dLdZ: Array) -> Array:
        dLdZ = np.asarray(dLdZ, dtype=np.float64)
        K = self.kernel_size
        windows = sliding_window_view(self.A, K, axis=2)
        self.dLdW = np.einsum("nox,ncxk->ock", dLdZ, windows, optimize=True)
        self.dLdb = dLdZ.sum(axis=(0, 2))
        padded = np.pad(dLdZ, ((0, 0), (0, 0), (K - 1, K - 1)))
        pwin = sliding_window_view(padded, K, axis=2)                   # (N, out, W, K)
        return np.einsum("noxk,ock->ncx", pwin, self.W[:, :, ::-1], optimize=True)


class Conv1d:
    """Strided, zero-padded 1D cross-correlation = pad -> Conv1d_stride1 -> Downsample1d.

    forward:  A (N, in, W) -> Z (N, out, floor((W + 2p - K)/s) + 1).
    backward: dLdZ -> dLdA (N, in, W) (the reverse, padding cropped away).
    Parameters live in ``conv1d_stride1`` (W, b, dLdW, dLdb).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int = 0,
                 weight_init_fn: InitFn | None = None, bias_init_fn: InitFn | None = None) -> None:
        self.stride = stride
        self.pad = padding
        self.conv1d_stride1 = Conv1d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)
        self.downsample1d = Downsample1d(stride)

    def forward(self, A: Array) -> Array:
        p = self.pad
        A_pad = np.pad(np.asarray(A, dtype=np.float64), ((0, 0), (0, 0), (p, p)))
        return self.downsample1d.forward(self.conv1d_stride1.forward(A_pad))

    def backward(self, dLdZ: Array) -> Array:
        dLdA_pad = self.conv1d_stride1.backward(self.downsample1d.backward(dLdZ))
        p = self.pad
        return dLdA_pad[:, :, p:dLdA_pad.shape[2] - p]
