"""Shared helpers for nested-list tensors: shapes, elementwise maps, resampling, correlation.

Everything returns fresh lists and never changes its arguments.  A (N, C, W)
tensor is ``A[n][c][x]``, a (N, C, H, W) tensor ``A[n][c][y][x]``.
"""

import operator
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Sequence
from copy import deepcopy
from enum import Enum
from functools import lru_cache, partial, reduce, wraps
from itertools import chain, islice, product
from math import fsum
from typing import Any, Protocol, TypeAlias

Row: TypeAlias = list[float]
Plane: TypeAlias = list[Row]
Tensor: TypeAlias = list[Any]  # nested lists of floats, any depth
InitFn: TypeAlias = Callable[..., Any]

# (N, C, H, W) of a 2d tensor; plain tuples compare equal to it.
Shape4 = namedtuple("Shape4", "N C H W")


class Layer(Protocol):
    def forward(self, A: Tensor) -> Tensor: ...
    def backward(self, dLdZ: Tensor) -> Tensor: ...


class Mode(Enum):
    """Training or evaluation behaviour of Dropout2d and BatchNorm2d."""

    TRAIN = "train"
    EVAL = "eval"

    @classmethod
    def of(cls, eval_flag: bool) -> "Mode":
        return cls.EVAL if eval_flag else cls.TRAIN


# ----------------------------------------------------------------------------- shapes and construction

def shape_of(x: Any) -> tuple[int, ...]:
    """The shape of a nested list, following the first element of every level."""
    def dims(x: Any) -> Iterator[int]:
        while isinstance(x, list):
            yield len(x)
            if not x:
                return
            x = x[0]
    return tuple(dims(x))


def prod(values: Iterable[int]) -> int:
    return reduce(operator.mul, values, 1)


def zeros(*shape: int) -> Tensor:
    """Zeros of ``shape``; every row is its own list (no aliasing)."""
    head, *rest = shape
    return [0.0] * head if not rest else [zeros(*rest) for _ in range(head)]


def as_floats(x: Any) -> Any:
    """A deep copy of nested lists/tuples with every number converted to float."""
    return [as_floats(v) for v in x] if isinstance(x, (list, tuple)) else float(x)


def flat(x: Any) -> Iterator[float]:
    """Every value of ``x`` in row-major order."""
    if isinstance(x, list) and x and isinstance(x[0], list):
        yield from chain.from_iterable(map(flat, x))
    else:
        yield from x


def reshape(values: Iterable[float], shape: Sequence[int]) -> Tensor:
    """Lay ``values`` out row-major in a tensor of ``shape``; the sizes must match exactly."""
    stream = iter(values)

    def build(dims: Sequence[int]) -> Tensor:
        head, *rest = dims
        if rest:
            return [build(rest) for _ in range(head)]
        row = list(islice(stream, head))
        if len(row) != head:
            raise ValueError(f"reshape: not enough values for shape {tuple(shape)}")
        return row

    result = build(shape)
    if next(stream, None) is not None:
        raise ValueError(f"reshape: too many values for shape {tuple(shape)}")
    return result


def transpose01(x: Tensor) -> Tensor:
    """Swap the two outer axes; the inner lists are deep copies."""
    return [deepcopy(list(column)) for column in zip(*x, strict=True)]


# ----------------------------------------------------------------------------- elementwise

def map_nested(fn: Callable[[float], float], x: Tensor) -> Tensor:
    return [map_nested(fn, v) for v in x] if isinstance(x, list) else fn(x)


def zip_nested(fn: Callable[[float, float], float], a: Tensor, b: Tensor) -> Tensor:
    if isinstance(a, list):
        return [zip_nested(fn, u, v) for u, v in zip(a, b, strict=True)]
    return fn(a, b)


add = partial(zip_nested, operator.add)


def per_channel(fn: Callable[[Any], Any], A: Tensor) -> Tensor:
    """Apply ``fn`` to every ``A[n][c]`` (a row in 1d, a plane in 2d)."""
    return [[fn(channel) for channel in a_n] for a_n in A]


def forward_through(layers: Iterable[Layer], A: Tensor) -> Tensor:
    return reduce(lambda x, layer: layer.forward(x), layers, A)


def backward_through(layers: Sequence[Layer], grad: Tensor) -> Tensor:
    return reduce(lambda g, layer: layer.backward(g), reversed(layers), grad)


def keeps_input(attribute: str) -> Callable[[Callable[..., Tensor]], Callable[..., Tensor]]:
    """Decorator for ``forward(self, A, ...)``: store a private deep copy of ``A`` first."""
    def decorate(method: Callable[..., Tensor]) -> Callable[..., Tensor]:
        @wraps(method)
        def forward(self: Any, A: Tensor, *args: Any, **kwargs: Any) -> Tensor:
            setattr(self, attribute, deepcopy(A))
            return method(self, A, *args, **kwargs)
        return forward
    return decorate


# ----------------------------------------------------------------------------- resampling of one axis

def every_kth(values: Iterable[Any], k: int) -> list[Any]:
    """``values[::k]`` for any iterable."""
    return list(islice(values, 0, None, k))


def spread(values: Sequence[float], k: int, width: int) -> Row:
    """Zeros of ``width`` with ``values`` at positions 0, k, 2k, ... (``len(values)`` must fit exactly)."""
    row = [0.0] * width
    row[::k] = values
    return row


def spread2d(plane: Plane, k: int, height: int, width: int) -> Plane:
    """Zeros of (height, width) with ``plane[i][j]`` at ``[k*i][k*j]``."""
    out = [[0.0] * width for _ in range(height)]
    for y, row in zip(range(0, height, k), plane, strict=True):
        out[y] = spread(row, k, width)
    return out


def dilated_length(n: int, k: int) -> int:
    return k * (n - 1) + 1


# ----------------------------------------------------------------------------- padding and flipping

def pad_row(row: Row, p: int) -> Row:
    return [*([0.0] * p), *row, *([0.0] * p)]


def pad_plane(plane: Plane, p: int) -> Plane:
    width = len(plane[0]) + 2 * p
    return [*([0.0] * width for _ in range(p)), *(pad_row(row, p) for row in plane),
            *([0.0] * width for _ in range(p))]


def crop_row(row: Row, p: int) -> Row:
    return row[p:len(row) - p]


def crop_plane(plane: Plane, p: int) -> Plane:
    return [crop_row(row, p) for row in plane[p:len(plane) - p]]


def flip_plane(plane: Plane) -> Plane:
    """Rotate by 180 degrees (flip both axes)."""
    return [row[::-1] for row in reversed(plane)]


# ----------------------------------------------------------------------------- cross-correlation

def dot(xs: Iterable[float], ys: Iterable[float]) -> float:
    """Inner product of two equally long sequences (the products summed without further rounding error)."""
    return fsum(x * y for x, y in zip(xs, ys, strict=True))


def correlate1d(A: Tensor, kernels: Tensor, bias: Sequence[float] | None = None) -> Tensor:
    """Stride-1 cross-correlation: A (N, C, W), kernels (O, C, K) -> (N, O, W-K+1).

    Z[n][o][x] = bias[o] + sum_{c,k} kernels[o][c][k] * A[n][c][x+k]; the kernel may
    be as wide as the input (the result is then one wide).
    """
    K = len(kernels[0][0])
    flat_kernels = [list(chain.from_iterable(kernel)) for kernel in kernels]
    offsets = bias if bias is not None else [0.0] * len(kernels)
    return [[[b_o + dot(k_o, chain.from_iterable(row[x:x + K] for row in a_n))
              for x in range(len(a_n[0]) - K + 1)]
             for k_o, b_o in zip(flat_kernels, offsets, strict=True)]
            for a_n in A]


def correlate2d(A: Tensor, kernels: Tensor, bias: Sequence[float] | None = None) -> Tensor:
    """Stride-1 cross-correlation: A (N, C, H, W), kernels (O, C, KH, KW) -> (N, O, H-KH+1, W-KW+1).

    Kernels need not be square (backward correlates with dLdZ, which is not).
    """
    KH, KW = len(kernels[0][0]), len(kernels[0][0][0])
    flat_kernels = [list(flat(kernel)) for kernel in kernels]
    offsets = bias if bias is not None else [0.0] * len(kernels)

    def window(a_n: Tensor, y: int, x: int) -> Iterator[float]:
        return chain.from_iterable(row[x:x + KW] for plane in a_n for row in plane[y:y + KH])

    def output_plane(a_n: Tensor, k_o: Row, b_o: float) -> Plane:
        H_out, W_out = len(a_n[0]) - KH + 1, len(a_n[0][0]) - KW + 1
        return [[b_o + dot(k_o, window(a_n, y, x)) for x in range(W_out)] for y in range(H_out)]

    return [[output_plane(a_n, k_o, b_o) for k_o, b_o in zip(flat_kernels, offsets, strict=True)]
            for a_n in A]


@lru_cache(maxsize=None)
def window_offsets(K: int) -> tuple[tuple[int, int], ...]:
    """(i, j) for 0 <= i, j < K in row-major order (the same few K are asked for again and again)."""
    return tuple(product(range(K), repeat=2))


def window_cells(y: int, x: int, K: int) -> Iterator[tuple[int, int]]:
    """The positions of the K x K window whose top-left corner is (y, x), in row-major order."""
    return ((y + i, x + j) for i, j in window_offsets(K))
