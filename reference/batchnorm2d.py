"""Batch normalisation over (N, H, W) per channel."""
from __future__ import annotations

import numpy as np

from ._types import Array


class BatchNorm2d:
    """Per-channel batch norm for (N, C, H, W) inputs.

    BW (ones), Bb (zeros), running_M (zeros), running_V (ones), dLdBW, dLdBb: (1, C, 1, 1).
    forward(Z, eval=False) -> BZ (N, C, H, W):
        train: M, V = mean, biased variance over (N, H, W); NZ = (Z - M)/sqrt(V + eps);
               running_M = alpha*running_M + (1-alpha)*M (same for running_V with V).
        eval:  NZ = (Z - running_M)/sqrt(running_V + eps); running stats unchanged.
        BZ = BW*NZ + Bb.
    backward(dLdBZ) -> dLdZ (N, C, H, W); dLdBW = sum(dLdBZ*NZ), dLdBb = sum(dLdBZ) over (N, H, W);
        after a training forward, with dNZ = dLdBZ*BW and means over (N, H, W):
        dLdZ = (dNZ - mean(dNZ) - NZ*mean(dNZ*NZ)) / sqrt(V + eps);
        after an eval forward (stats are constants): dLdZ = dNZ / sqrt(running_V + eps).
    """

    def __init__(self, num_features: int, alpha: float = 0.9) -> None:
        self.num_features = num_features
        self.alpha = alpha
        self.eps = 1e-8
        shape = (1, num_features, 1, 1)
        self.BW = np.ones(shape)
        self.Bb = np.zeros(shape)
        self.dLdBW = np.zeros(shape)
        self.dLdBb = np.zeros(shape)
        self.running_M = np.zeros(shape)
        self.running_V = np.ones(shape)

    def forward(self, Z: Array, eval: bool = False) -> Array:
        self.Z = np.asarray(Z, dtype=np.float64)
        self.eval = eval
        if eval:
            self.M, self.V = self.running_M, self.running_V
        else:
            self.M, self.V = self.batch_statistics(self.Z)
            self.update_running(self.M, self.V)
        self.NZ = (self.Z - self.M) / self.std()
        return self.BW * self.NZ + self.Bb

    def batch_statistics(self, Z: Array) -> tuple[Array, Array]:
        """Per-channel mean and biased variance (divided by m = N*H*W) over (N, H, W)."""
        return Z.mean(axis=(0, 2, 3), keepdims=True), Z.var(axis=(0, 2, 3), keepdims=True)

    def update_running(self, M: Array, V: Array) -> None:
        """running = alpha*running + (1-alpha)*batch, for the mean and the variance."""
        self.running_M = self.alpha * self.running_M + (1 - self.alpha) * M
        self.running_V = self.alpha * self.running_V + (1 - self.alpha) * V

    def std(self) -> Array:
        """sqrt(V + eps): what NZ divides by."""
        return np.sqrt(self.V + self.eps)

    def backward(self, dLdBZ: Array) -> Array:
        dLdBZ = np.asarray(dLdBZ, dtype=np.float64)
        axes = (0, 2, 3)
        self.dLdBW = (dLdBZ * self.NZ).sum(axis=axes, keepdims=True)
        self.dLdBb = dLdBZ.sum(axis=axes, keepdims=True)
        dNZ = dLdBZ * self.BW
        if self.eval:
            return dNZ / self.std()
        return (dNZ - dNZ.mean(axis=axes, keepdims=True)
                - self.NZ * (dNZ * self.NZ).mean(axis=axes, keepdims=True)) / self.std()
