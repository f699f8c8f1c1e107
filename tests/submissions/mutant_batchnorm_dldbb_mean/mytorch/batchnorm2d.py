"""Batch normalisation over (N, H, W), per channel."""

import math

from .tensor import full, transpose01


def _per_channel(value):
    """Per-channel list [v_0, ..., v_{C-1}] -> a (1, C, 1, 1) tensor."""
    return [[[[float(v)]] for v in value]]


def _channels(param):
    """A (1, C, 1, 1) tensor -> the per-channel list [v_0, ..., v_{C-1}]."""
    return [channel[0][0] for channel in param[0]]


class BatchNorm2d:
    """Per-channel batch norm for (N, C, H, W) inputs.

    BW (ones), Bb (zeros), running_M (zeros), running_V (ones), dLdBW, dLdBb: (1, C, 1, 1).
    forward(Z, eval=False) -> BZ (N, C, H, W):
        train: M, V = mean and biased variance over (N, H, W); NZ = (Z - M)/sqrt(V + eps);
               running_M = alpha*running_M + (1-alpha)*M (same for running_V with V).
        eval:  NZ = (Z - running_M)/sqrt(running_V + eps); running stats unchanged.
        BZ = BW*NZ + Bb.
    backward(dLdBZ) -> dLdZ (N, C, H, W); dLdBW = sum(dLdBZ*NZ), dLdBb = sum(dLdBZ) over (N, H, W);
        after a training forward, with dNZ = dLdBZ*BW and means over (N, H, W):
        dLdZ = (dNZ - mean(dNZ) - NZ*mean(dNZ*NZ)) / sqrt(V + eps);
        after an eval forward (the statistics are constants): dLdZ = dNZ / sqrt(running_V + eps).
    """

    def __init__(self, num_features, alpha=0.9):
        self.num_features = num_features
        self.alpha = alpha
        self.eps = 1e-8
        shape = (1, num_features, 1, 1)
        self.BW = full(shape, 1.0)
        self.Bb = full(shape, 0.0)
        self.dLdBW = full(shape, 0.0)
        self.dLdBb = full(shape, 0.0)
        self.running_M = full(shape, 0.0)
        self.running_V = full(shape, 1.0)

    def forward(self, Z, eval=False):
        self.eval = eval
        by_channel = transpose01(Z)                    # (C, N, H, W), read-only view
        if eval:
            M, V = _channels(self.running_M), _channels(self.running_V)
        else:
            M, V = [], []
            for planes in by_channel:
                values = [v for plane in planes for row in plane for v in row]
                mean = sum(values) / len(values)
                M.append(mean)
                V.append(sum((v - mean) ** 2 for v in values) / len(values))
            a = self.alpha
            self.running_M = _per_channel(a * r + (1 - a) * m
                                          for r, m in zip(_channels(self.running_M), M))
            self.running_V = _per_channel(a * r + (1 - a) * v
                                          for r, v in zip(_channels(self.running_V), V))
        self.std = [math.sqrt(v + self.eps) for v in V]
        NZ, BZ = [], []
        for z_n in Z:
            nz_n, bz_n = [], []
            for plane, m, s, w, b in zip(z_n, M, self.std, _channels(self.BW), _channels(self.Bb)):
                nz_plane = [[(v - m) / s for v in row] for row in plane]
                nz_n.append(nz_plane)
                bz_n.append([[w * v + b for v in row] for row in nz_plane])
            NZ.append(nz_n)
            BZ.append(bz_n)
        self.NZ = NZ
        return BZ

    def backward(self, dLdBZ):
        BW = _channels(self.BW)
        grad_by_channel, nz_by_channel = transpose01(dLdBZ), transpose01(self.NZ)
        dBW, dBb = [], []
        for d_planes, nz_planes in zip(grad_by_channel, nz_by_channel):
            dBb.append(sum(d for plane in d_planes for row in plane for d in row))
            dBW.append(sum(d * nz for d_plane, nz_plane in zip(d_planes, nz_planes)
                           for d_row, nz_row in zip(d_plane, nz_plane)
                           for d, nz in zip(d_row, nz_row)))
        # MUTANT: dLdBb averaged over the N*H*W elements of a channel instead of summed
        m = len(dLdBZ) * len(dLdBZ[0][0]) * len(dLdBZ[0][0][0])
        self.dLdBW, self.dLdBb = _per_channel(dBW), _per_channel(d / m for d in dBb)
        count = len(dLdBZ) * len(dLdBZ[0][0]) * len(dLdBZ[0][0][0])    # m = N*H*W
        dLdZ = []
        for d_n, nz_n in zip(dLdBZ, self.NZ):
            g_n = []
            for d_plane, nz_plane, w, s, gw, gb in zip(d_n, nz_n, BW, self.std, dBW, dBb):
                if self.eval:
                    g_n.append([[w * d / s for d in d_row] for d_row in d_plane])
                    continue
                mean_dNZ, mean_dNZ_NZ = w * gb / count, w * gw / count
                g_n.append([[(w * d - mean_dNZ - nz * mean_dNZ_NZ) / s
                             for d, nz in zip(d_row, nz_row)]
                            for d_row, nz_row in zip(d_plane, nz_plane)])
            dLdZ.append(g_n)
        return dLdZ
