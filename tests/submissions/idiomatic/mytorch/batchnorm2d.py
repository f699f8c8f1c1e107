"""Batch normalisation over (N, H, W), per channel."""

from collections.abc import Callable, Iterable, Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from math import fsum, sqrt
from typing import NamedTuple

from ._nested import Mode, Tensor, flat


class ChannelStats(NamedTuple):
    """Mean and biased variance of one channel."""

    mean: float
    var: float

    @classmethod
    def of(cls, values: list[float]) -> "ChannelStats":
        m = len(values)
        mean = fsum(values) / m
        return cls(mean, fsum((v - mean) ** 2 for v in values) / m)


def channel_param(values: Iterable[float]) -> Tensor:
    """Per-channel values as a (1, C, 1, 1) tensor."""
    return [[[[float(v)]] for v in values]]


def channel_values(param: Tensor) -> list[float]:
    """The C values of a (1, C, 1, 1) tensor."""
    return [channel[0][0] for channel in param[0]]


def channel(Z: Tensor, c: int) -> Iterator[float]:
    """Every value of channel ``c`` of a (N, C, H, W) tensor, over n, y, x."""
    return (v for z_n in Z for v in flat(z_n[c]))


def channelwise(fn: Callable[..., float], *tensors: Tensor) -> Tensor:
    """``fn(c, *elements)`` for every element position of equally shaped (N, C, H, W) tensors."""
    return [[[[fn(c, *values) for values in zip(*rows, strict=True)]
              for rows in zip(*planes, strict=True)]
             for c, planes in enumerate(zip(*samples, strict=True))]
            for samples in zip(*tensors, strict=True)]


@dataclass(eq=False)
class BatchNorm2d:
    """Per-channel batch norm for (N, C, H, W) inputs; every parameter and statistic is (1, C, 1, 1)."""

    num_features: int
    alpha: float = 0.9
    eps: float = field(default=1e-8, init=False)
    BW: Tensor = field(init=False, repr=False)
    Bb: Tensor = field(init=False, repr=False)
    dLdBW: Tensor = field(init=False, repr=False)
    dLdBb: Tensor = field(init=False, repr=False)
    running_M: Tensor = field(init=False, repr=False)
    running_V: Tensor = field(init=False, repr=False)
    stats: list[ChannelStats] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        ones, zeros = [1.0] * self.num_features, [0.0] * self.num_features
        self.BW, self.Bb = channel_param(ones), channel_param(zeros)
        self.dLdBW, self.dLdBb = channel_param(zeros), channel_param(zeros)
        self.running_M, self.running_V = channel_param(zeros), channel_param(ones)

    def _batch_stats(self, Z: Tensor) -> list[ChannelStats]:
        """The batch's per-channel statistics; updates running_M and running_V."""
        stats = [ChannelStats.of(list(channel(Z, c))) for c in range(len(Z[0]))]
        a = self.alpha
        self.running_M = channel_param(a * old + (1 - a) * s.mean
                                       for old, s in zip(channel_values(self.running_M), stats, strict=True))
        self.running_V = channel_param(a * old + (1 - a) * s.var
                                       for old, s in zip(channel_values(self.running_V), stats, strict=True))
        return stats

    def _running_stats(self) -> list[ChannelStats]:
        return list(map(ChannelStats._make, zip(channel_values(self.running_M),
                                                channel_values(self.running_V), strict=True)))

    def forward(self, Z: Tensor, eval: bool = False) -> Tensor:
        """(N, C, H, W) -> BZ = BW * NZ + Bb, NZ normalised with the batch's (training) or the
        running (eval) statistics; only a training forward updates the running ones."""
        mode = Mode.of(eval)
        match mode:
            case Mode.TRAIN:
                stats = self._batch_stats(Z)
            case Mode.EVAL:
                stats = self._running_stats()
        inv_std = [1 / sqrt(s.var + self.eps) for s in stats]
        NZ = channelwise(lambda c, z: (z - stats[c].mean) * inv_std[c], Z)
        if mode is Mode.TRAIN:  # what backward needs
            self.Z, self.NZ, self.stats = deepcopy(Z), NZ, stats
        BW, Bb = channel_values(self.BW), channel_values(self.Bb)
        return channelwise(lambda c, nz: BW[c] * nz + Bb[c], NZ)

    def backward(self, dLdBZ: Tensor) -> Tensor:
        """(N, C, H, W) -> dLdZ; overwrites dLdBW and dLdBb (after a training forward)."""
        C = len(dLdBZ[0])
        BW = channel_values(self.BW)
        grads = [list(channel(dLdBZ, c)) for c in range(C)]
        normed = [list(channel(self.NZ, c)) for c in range(C)]
        self.dLdBW = channel_param(fsum(g * nz for g, nz in zip(gs, nzs, strict=True))
                                   for gs, nzs in zip(grads, normed, strict=True))
        self.dLdBb = channel_param(map(fsum, grads))
        # with dNZ = dLdBZ * BW: dLdZ = (dNZ - mean(dNZ) - NZ * mean(dNZ * NZ)) / sqrt(V + eps)
        m = len(grads[0])
        mean_d = [BW[c] * fsum(grads[c]) / m for c in range(C)]
        mean_dn = [BW[c] * fsum(g * nz for g, nz in zip(grads[c], normed[c], strict=True)) / m for c in range(C)]
        inv_std = [1 / sqrt(s.var + self.eps) for s in self.stats]
        return channelwise(lambda c, g, nz: (BW[c] * g - mean_d[c] - nz * mean_dn[c]) * inv_std[c],
                           dLdBZ, self.NZ)
