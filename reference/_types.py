"""Types shared by the reference layer modules (its leading ``_`` keeps it out of ``LAYER_MODULES``)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]
"""Every array a layer takes or returns: float64, any shape."""

InitFn = Callable[..., ArrayLike]
"""``weight_init_fn(*W_shape)`` / ``bias_init_fn(out_channels)``: an array or nested lists."""


class Layer(Protocol):
    """What a model holds in its lists: ``forward(A) -> Z`` and ``backward(dLdZ) -> dLdA``."""

    def forward(self, A: Array, /) -> Array: ...

    def backward(self, dLdZ: Array, /) -> Array: ...


class Criterion(Protocol):
    """A loss: ``forward(A, Y) -> float`` and ``backward() -> dLdA``."""

    def forward(self, A: Array, Y: Array, /) -> float: ...

    def backward(self) -> Array: ...
