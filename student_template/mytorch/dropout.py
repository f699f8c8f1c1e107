"""Channel-wise (spatial) dropout."""

import random  # noqa: F401 (for your masks: the standard library's random)


class Dropout2d:
    """Drop whole channels with probability ``p`` (p is the probability of DROPPING a channel)."""

    def __init__(self, p=0.5):
        self.p = p
        self.mask = None

    def forward(self, x, eval=False):
        """x (N, C, H, W) -> same shape.

        Training: one keep/drop decision per (n, c) (e.g. ``random.random() < p`` drops it);
        store ``self.mask`` (N, C) with 1.0 for kept and 0.0 for dropped channels;
        a kept channel is scaled by 1/(1-p), a dropped one is all zeros.
        eval=True: return a copy of x (the mask is left untouched).
        """
        raise NotImplementedError("Dropout2d.forward: one random keep/drop per (n, c); kept channels times 1/(1-p)")

    def backward(self, delta):
        """delta (N, C, H, W) -> delta * mask / (1 - p), with the mask of the last training forward."""
        raise NotImplementedError("Dropout2d.backward: apply the stored mask and the 1/(1-p) scale to delta")
