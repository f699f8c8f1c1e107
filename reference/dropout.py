"""Channel-wise (spatial) dropout."""
from __future__ import annotations

import random

import numpy as np

from ._types import Array


class Dropout2d:
    """Drop whole channels with probability p (inverted dropout).

    forward(x, eval=False): x (N, C, H, W) -> same shape.
        Training: for n in range(N), for c in range(C) (n outer, c inner) draw
        ``rng.random() < p`` -> channel (n, c) dropped. ``mask`` (N, C) holds 1.0 for kept
        and 0.0 for dropped channels; y = x * mask / (1 - p).
        eval=True: y = x (a copy); the mask is left untouched.
    backward(delta): delta (N, C, H, W) -> delta * mask / (1 - p) (mask of the last
        training forward).
    ``rng`` is a ``random.Random``; a fresh unseeded one is used when None.
    """

    def __init__(self, p: float = 0.5, rng: random.Random | None = None) -> None:
        self.p = p
        self.rng = rng if rng is not None else random.Random()
        self.mask: Array | None = None

    def _scale(self) -> float:
        return 1.0 / (1.0 - self.p) if self.p < 1 else 0.0

    def forward(self, x: Array, eval: bool = False) -> Array:
        x = np.asarray(x, dtype=np.float64)
        if eval:
            return x.copy()
        N, C = x.shape[:2]
        self.mask = np.array([[0.0 if self.rng.random() < self.p else 1.0 for _ in range(C)]
                              for _ in range(N)]).reshape(N, C)
        return x * self._broadcast_mask(x.ndim) * self._scale()

    def backward(self, delta: Array) -> Array:
        delta = np.asarray(delta, dtype=np.float64)
        return delta * self._broadcast_mask(delta.ndim) * self._scale()

    def _broadcast_mask(self, ndim: int) -> Array:
        return self.mask.reshape(self.mask.shape + (1,) * (ndim - 2))
