"""Flatten every axis but the batch axis."""

from dataclasses import dataclass, field

from ._nested import Tensor, flat, reshape, shape_of


@dataclass(eq=False)
class Flatten:
    """Row-major (C order) flatten of every axis but the first."""

    input_shape: tuple[int, ...] = field(default_factory=tuple, init=False)

    def forward(self, A: Tensor) -> Tensor:
        """(N, C, W) -> (N, C*W), or (N, C, H, W) -> (N, C*H*W); remembers A's shape."""
        self.input_shape = shape_of(A)
        return [list(flat(a_n)) for a_n in A]

    def backward(self, dLdZ: Tensor) -> Tensor:
        """(N, prod) -> the forward input's shape."""
        _, *sample_shape = self.input_shape
        return [reshape(row, sample_shape) for row in dLdZ]
