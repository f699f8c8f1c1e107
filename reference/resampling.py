"""Up- and down-sampling along the last one (1d) or two (2d) axes."""
from __future__ import annotations

import numpy as np

from ._types import Array


class Upsample1d:
    """Insert k-1 zeros between neighbouring samples of the last axis.

    forward:  A (N, C, W) -> Z (N, C, k*(W-1)+1), Z[..., k*i] = A[..., i], zeros elsewhere.
    backward: dLdZ (N, C, k*(W-1)+1) -> dLdA (N, C, W) = dLdZ[..., ::k].
    """

    def __init__(self, upsampling_factor: int) -> None:
        self.upsampling_factor = upsampling_factor

    def forward(self, A: Array) -> Array:
        A = np.asarray(A, dtype=np.float64)
        k = self.upsampling_factor
        Z = np.zeros(A.shape[:-1] + (k * (A.shape[-1] - 1) + 1,))
        Z[..., ::k] = A
        return Z

    def backward(self, dLdZ: Array) -> Array:
        return np.asarray(dLdZ, dtype=np.float64)[..., ::self.upsampling_factor].copy()


class Downsample1d:
    """Keep every k-th sample of the last axis.

    forward:  A (N, C, W) -> Z (N, C, ceil(W/k)), Z = A[..., ::k]; remembers W.
    backward: dLdZ (N, C, ceil(W/k)) -> dLdA (N, C, W), zeros with dLdA[..., ::k] = dLdZ.
    """

    def __init__(self, downsampling_factor: int) -> None:
        self.downsampling_factor = downsampling_factor

    def forward(self, A: Array) -> Array:
        A = np.asarray(A, dtype=np.float64)
        self.input_width = A.shape[-1]
        return A[..., ::self.downsampling_factor].copy()

    def backward(self, dLdZ: Array) -> Array:
        dLdZ = np.asarray(dLdZ, dtype=np.float64)
        dLdA = np.zeros(dLdZ.shape[:-1] + (self.input_width,))
        dLdA[..., ::self.downsampling_factor] = dLdZ
        return dLdA


class Upsample2d:
    """Upsample1d applied to both spatial axes.

    forward:  A (N, C, H, W) -> Z (N, C, k*(H-1)+1, k*(W-1)+1), Z[..., k*i, k*j] = A[..., i, j].
    backward: dLdA = dLdZ[..., ::k, ::k].
    """

    def __init__(self, upsampling_factor: int) -> None:
        self.upsampling_factor = upsampling_factor

    def forward(self, A: Array) -> Array:
        A = np.asarray(A, dtype=np.float64)
        k = self.upsampling_factor
        H, W = A.shape[-2:]
        Z = np.zeros(A.shape[:-2] + (k * (H - 1) + 1, k * (W - 1) + 1))
        Z[..., ::k, ::k] = A
        return Z

    def backward(self, dLdZ: Array) -> Array:
        k = self.upsampling_factor
        return np.asarray(dLdZ, dtype=np.float64)[..., ::k, ::k].copy()


class Downsample2d:
    """Downsample1d applied to both spatial axes.

    forward:  A (N, C, H, W) -> Z (N, C, ceil(H/k), ceil(W/k)), Z = A[..., ::k, ::k].
    backward: zeros of the forward input shape with dLdA[..., ::k, ::k] = dLdZ.
    """

    def __init__(self, downsampling_factor: int) -> None:
        self.downsampling_factor = downsampling_factor

    def forward(self, A: Array) -> Array:
        A = np.asarray(A, dtype=np.float64)
        self.input_hw = A.shape[-2:]
        k = self.downsampling_factor
        return A[..., ::k, ::k].copy()

    def backward(self, dLdZ: Array) -> Array:
        dLdZ = np.asarray(dLdZ, dtype=np.float64)
        k = self.downsampling_factor
        dLdA = np.zeros(dLdZ.shape[:-2] + tuple(self.input_hw))
        dLdA[..., ::k, ::k] = dLdZ
        return dLdA
