"""Channel-wise (spatial) dropout, "inverted": kept channels are scaled by 1/(1-p)."""

import random
from copy import deepcopy
from dataclasses import dataclass, field
from fractions import Fraction

from ._nested import Mode, Plane, Tensor


@dataclass(eq=False)
class Dropout2d:
    """Drop whole channels with probability ``p`` (the probability of DROPPING a channel)."""

    p: float = 0.5
    mask: list[list[float]] | None = field(default=None, init=False, repr=False)

    @property
    def scale(self) -> float:
        """1/(1-p) computed exactly, rounded once (0 when every channel is dropped)."""
        keep = 1 - Fraction(self.p)
        return float(1 / keep) if keep else 0.0

    def _apply_mask(self, x: Tensor) -> Tensor:
        scale = self.scale

        def channel(plane: Plane, kept: float) -> Plane:
            return [[v * scale for v in row] if kept else [0.0] * len(row) for row in plane]

        return [[channel(plane, kept) for plane, kept in zip(x_n, mask_n, strict=True)]
                for x_n, mask_n in zip(x, self.mask, strict=True)]

    def forward(self, x: Tensor, eval: bool = False) -> Tensor:
        """(N, C, H, W) -> same shape; training draws one keep/drop decision per (n, c)."""
        match Mode.of(eval):
            case Mode.EVAL:
                return deepcopy(x)
            case Mode.TRAIN:
                self.mask = [[0.0 if random.random() < self.p else 1.0 for _ in x_n] for x_n in x]
                return self._apply_mask(x)

    def backward(self, delta: Tensor) -> Tensor:
        """delta * mask / (1 - p), with the mask of the last training forward."""
        return self._apply_mask(delta)
