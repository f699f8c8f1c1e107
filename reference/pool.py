"""Max and mean pooling over square K x K windows."""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._types import Array
from .resampling import Downsample2d


class MaxPool2d_stride1:
    """Stride-1 max pooling.

    forward:  A (N, C, H, W) -> Z (N, C, H-K+1, W-K+1), Z[n,c,y,x] = max of A[n,c,y:y+K,x:x+K].
              Ties: the first maximum in row-major window order wins (np.argmax).
    backward: dLdZ -> dLdA (N, C, H, W); each dLdZ[n,c,y,x] is added at its window's argmax
              (accumulated where windows overlap).
    """

    def __init__(self, kernel: int) -> None:
        self.kernel = kernel

    def forward(self, A: Array) -> Array:
        A = np.asarray(A, dtype=np.float64)
        K = self.kernel
        self.input_shape = A.shape
        windows = sliding_window_view(A, (K, K), axis=(2, 3))
        flat = windows.reshape(windows.shape[:4] + (K * K,))            # (N, C, Ho, Wo, K*K)
        self.argmax = np.argmax(flat, axis=-1)                          # first max, row-major
        return np.take_along_axis(flat, self.argmax[..., None], axis=-1)[..., 0]

    def backward(self, dLdZ: Array) -> Array:
        dLdZ = np.asarray(dLdZ, dtype=np.float64)
        K = self.kernel
        n, c, y, x = np.indices(dLdZ.shape)
        rows = y + self.argmax // K
        cols = x + self.argmax % K
        dLdA = np.zeros(self.input_shape)
        np.add.at(dLdA, (n, c, rows, cols), dLdZ)
        return dLdA


class MeanPool2d_stride1:
    """Stride-1 mean pooling.

    forward:  A (N, C, H, W) -> Z (N, C, H-K+1, W-K+1), the mean of each K x K window.
    backward: dLdZ -> dLdA (N, C, H, W); dLdZ / K^2 spread over each window, accumulated.
    """

    def __init__(self, kernel: int) -> None:
        self.kernel = kernel

    def forward(self, A: Array) -> Array:
        A = np.asarray(A, dtype=np.float64)
        K = self.kernel
        self.input_shape = A.shape
        return sliding_window_view(A, (K, K), axis=(2, 3)).mean(axis=(-2, -1))

    def backward(self, dLdZ: Array) -> Array:
        dLdZ = np.asarray(dLdZ, dtype=np.float64)
        K = self.kernel
        Ho, Wo = dLdZ.shape[2:]
        dLdA = np.zeros(self.input_shape)
        for i in range(K):
            for j in range(K):
                dLdA[:, :, i:i + Ho, j:j + Wo] += dLdZ / (K * K)
        return dLdA


class MaxPool2d:
    """Strided max pooling = MaxPool2d_stride1 -> Downsample2d(stride).

    forward:  A (N, C, H, W) -> Z (N, C, ceil((H-K+1)/s), ceil((W-K+1)/s)).
    backward: dLdZ -> dLdA (N, C, H, W).
    """

    def __init__(self, kernel: int, stride: int) -> None:
        self.kernel = kernel
        self.stride = stride
        self.maxpool2d_stride1 = MaxPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A: Array) -> Array:
        return self.downsample2d.forward(self.maxpool2d_stride1.forward(A))

    def backward(self, dLdZ: Array) -> Array:
        return self.maxpool2d_stride1.backward(self.downsample2d.backward(dLdZ))


class MeanPool2d:
    """Strided mean pooling = MeanPool2d_stride1 -> Downsample2d(stride).

    forward:  A (N, C, H, W) -> Z (N, C, ceil((H-K+1)/s), ceil((W-K+1)/s)).
    backward: dLdZ -> dLdA (N, C, H, W).
    """

    def __init__(self, kernel: int, stride: int) -> None:
        self.kernel = kernel
        self.stride = stride
        self.meanpool2d_stride1 = MeanPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A: Array) -> Array:
        return self.downsample2d.forward(self.meanpool2d_stride1.forward(A))

    def backward(self, dLdZ: Array) -> Array:
        return self.meanpool2d_stride1.backward(self.downsample2d.backward(dLdZ))
