"""Channel-wise (spatial) dropout."""

import random

from .tensor import scale, tensor


class Dropout2d:
    """Drop whole channels with probability ``p`` (inverted dropout).

    forward(x, eval=False): x (N, C, H, W) -> same shape.
        Training: one decision per (n, c) (n outer, c inner): ``random.random() < p``
        drops the channel.  ``mask`` (N, C) holds 1.0 for kept and 0.0 for dropped
        channels; y = x * mask / (1 - p).  eval=True: y = x (a copy).
    backward(delta): delta (N, C, H, W) -> delta * mask / (1 - p), using the mask of
        the last training forward.
    """

    def __init__(self, p=0.5):
        self.p = p
        self.mask = None

    def _apply_mask(self, x):
        """x * mask / (1 - p), channel by channel (p = 1 drops everything)."""
        factor = 1.0 / (1.0 - self.p) if self.p < 1 else 0.0
        return [[scale(channel, keep * factor) for channel, keep in zip(x_n, mask_n)]
                for x_n, mask_n in zip(x, self.mask)]

    def forward(self, x, eval=False):
        if eval:  # MUTANT: eval keeps every channel but still scales by 1/(1-p)
            return [[[[v / (1.0 - self.p) for v in row] for row in plane] for plane in x_n] for x_n in x]
        self.mask = [[0.0 if random.random() < self.p else 1.0 for _ in x_n] for x_n in x]
        return self._apply_mask(x)

    def backward(self, delta):
        return self._apply_mask(delta)
