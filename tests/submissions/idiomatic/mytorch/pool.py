"""Max and mean pooling over square K x K windows (tensors (N, C, H, W) as nested lists)."""

from dataclasses import dataclass, field
from fractions import Fraction
from itertools import product
from math import fsum
from typing import NamedTuple

from ._nested import Plane, Tensor, per_channel, window_cells, zeros
from .resampling import Downsample2d


class Cell(NamedTuple):
    """A position in a plane."""

    y: int
    x: int


def output_size(plane: Plane, K: int) -> tuple[int, int]:
    return len(plane) - K + 1, len(plane[0]) - K + 1


@dataclass(eq=False)
class MaxPool2d_stride1:
    """Stride-1 max pooling with a K x K window; ties go to the first maximum in row-major order."""

    kernel: int
    input_size: tuple[int, int] = field(default=(0, 0), init=False, repr=False)
    argmax: list[list[list[list[Cell]]]] = field(default_factory=list, init=False, repr=False)

    def first_argmax(self, plane: Plane, y: int, x: int) -> Cell:
        # max() keeps the first of equal keys, and window_cells is row-major.
        return Cell(*max(window_cells(y, x, self.kernel), key=lambda cell: plane[cell[0]][cell[1]]))

    def forward(self, A: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H-K+1, W-K+1); remembers every window's argmax."""
        self.input_size = (len(A[0][0]), len(A[0][0][0]))

        def argmax_plane(plane: Plane) -> list[list[Cell]]:
            H_out, W_out = output_size(plane, self.kernel)
            return [[self.first_argmax(plane, y, x) for x in range(W_out)] for y in range(H_out)]

        self.argmax = per_channel(argmax_plane, A)
        return [[[[plane[cell.y][cell.x] for cell in cells] for cells in cell_rows]
                  for plane, cell_rows in zip(a_n, argmax_n, strict=True)]
                 for a_n, argmax_n in zip(A, self.argmax, strict=True)]

    def backward(self, dLdZ: Tensor) -> Tensor:
        """(N, C, H-K+1, W-K+1) -> (N, C, H, W): each gradient added at its window's argmax."""
        dLdA = zeros(len(dLdZ), len(dLdZ[0]), *self.input_size)
        for n, c in product(range(len(dLdZ)), range(len(dLdZ[0]))):
            for grads, cells in zip(dLdZ[n][c], self.argmax[n][c], strict=True):
                for grad, (y, x) in zip(grads, cells, strict=True):
                    dLdA[n][c][y][x] += grad
        return dLdA


@dataclass(eq=False)
class MeanPool2d_stride1:
    """Stride-1 mean pooling with a K x K window."""

    kernel: int
    input_size: tuple[int, int] = field(default=(0, 0), init=False, repr=False)

    @property
    def weight(self) -> float:
        """1/K^2, the share of every window cell (rounded once, from the exact fraction)."""
        return float(Fraction(1, self.kernel ** 2))

    def forward(self, A: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H-K+1, W-K+1), the mean of each window."""
        self.input_size = (len(A[0][0]), len(A[0][0][0]))
        K, weight = self.kernel, self.weight

        def mean_plane(plane: Plane) -> Plane:
            H_out, W_out = output_size(plane, K)
            return [[weight * fsum(plane[i][j] for i, j in window_cells(y, x, K)) for x in range(W_out)]
                    for y in range(H_out)]

        return per_channel(mean_plane, A)

    def backward(self, dLdZ: Tensor) -> Tensor:
        """(N, C, H-K+1, W-K+1) -> (N, C, H, W): dLdZ / K^2 spread over each window, accumulated."""
        K, weight = self.kernel, self.weight

        def spread_plane(grads: Plane) -> Plane:
            out = zeros(*self.input_size)
            for (y, row), x in product(enumerate(grads), range(len(grads[0]))):
                share = weight * row[x]
                for i, j in window_cells(y, x, K):
                    out[i][j] += share
            return out

        return per_channel(spread_plane, dLdZ)


@dataclass(eq=False)
class MaxPool2d:
    """Strided max pooling = MaxPool2d_stride1 -> Downsample2d(stride)."""

    kernel: int
    stride: int
    maxpool2d_stride1: MaxPool2d_stride1 = field(init=False)
    downsample2d: Downsample2d = field(init=False)

    def __post_init__(self) -> None:
        self.maxpool2d_stride1 = MaxPool2d_stride1(self.kernel)
        self.downsample2d = Downsample2d(self.stride)

    def forward(self, A: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, ceil((H-K+1)/s), ceil((W-K+1)/s))."""
        return self.downsample2d.forward(self.maxpool2d_stride1.forward(A))

    def backward(self, dLdZ: Tensor) -> Tensor:
        return self.maxpool2d_stride1.backward(self.downsample2d.backward(dLdZ))


@dataclass(eq=False)
class MeanPool2d:
    """Strided mean pooling = MeanPool2d_stride1 -> Downsample2d(stride)."""

    kernel: int
    stride: int
    meanpool2d_stride1: MeanPool2d_stride1 = field(init=False)
    downsample2d: Downsample2d = field(init=False)

    def __post_init__(self) -> None:
        self.meanpool2d_stride1 = MeanPool2d_stride1(self.kernel)
        self.downsample2d = Downsample2d(self.stride)

    def forward(self, A: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, ceil((H-K+1)/s), ceil((W-K+1)/s))."""
        return self.downsample2d.forward(self.meanpool2d_stride1.forward(A))

    def backward(self, dLdZ: Tensor) -> Tensor:
        return self.meanpool2d_stride1.backward(self.downsample2d.backward(dLdZ))
