"""Nested-list tensor helpers (stdlib only).

A tensor is a nested ``list`` of ``float``: a (N, C, W) tensor is a list of N
lists of C lists of W floats.  Unless stated otherwise every function returns
fresh lists and never modifies its arguments.
"""

import random
from operator import mul


def shape(x):
    """The shape of a nested list as a tuple, e.g. ``shape([[1.0, 2.0]]) == (1, 2)``."""
    dims = []
    while isinstance(x, list):
        dims.append(len(x))
        if not x:
            break
        x = x[0]
    return tuple(dims)


def full(shape, value):
    """A tensor of the given shape filled with ``float(value)``."""
    value = float(value)
    if len(shape) == 1:
        return [value] * shape[0]
    return [full(shape[1:], value) for _ in range(shape[0])]


def zeros(shape):
    """A tensor of zeros, e.g. ``zeros((2, 3))`` -> 2 rows of 3 zeros."""
    return full(shape, 0.0)


def ones(shape):
    """A tensor of ones."""
    return full(shape, 1.0)


def randn(shape):
    """A tensor of independent standard normal draws (``random.gauss(0, 1)``)."""
    if len(shape) == 1:
        return [random.gauss(0.0, 1.0) for _ in range(shape[0])]
    return [randn(shape[1:]) for _ in range(shape[0])]


def tensor(x):
    """A deep copy of a nested list/tuple with every number converted to float."""
    if isinstance(x, (list, tuple)):
        return [tensor(v) for v in x]
    return float(x)


def dot(a, b):
    """Inner product of two equally long flat lists."""
    return sum(map(mul, a, b))


def map_rows(fn, x):
    """Apply ``fn(row) -> new_row`` to every innermost list of ``x``."""
    if x and isinstance(x[0], list):
        return [map_rows(fn, v) for v in x]
    return fn(x)


def zip_rows(fn, a, b):
    """Apply ``fn(row_a, row_b) -> new_row`` to matching innermost lists of ``a`` and ``b``."""
    if a and isinstance(a[0], list):
        return [zip_rows(fn, u, v) for u, v in zip(a, b)]
    return fn(a, b)


def add(a, b):
    """Elementwise ``a + b`` of two tensors of the same shape."""
    return zip_rows(lambda r, s: [u + v for u, v in zip(r, s)], a, b)


def scale(x, factor):
    """Elementwise ``factor * x``."""
    return map_rows(lambda r: [factor * v for v in r], x)


def sub_scaled(x, g, lr):
    """Elementwise ``x - lr * g`` (a gradient-descent step)."""
    return zip_rows(lambda r, s: [u - lr * v for u, v in zip(r, s)], x, g)


def transpose01(x):
    """Swap the first two axes: (A, B, ...) -> (B, A, ...).

    The two outer levels are new lists; deeper sub-lists are shared with ``x``,
    so treat the result as read-only (or copy it).
    """
    return [list(column) for column in zip(*x)]


def flatten(x):
    """All values of ``x`` in row-major (C) order as one flat list."""
    if x and isinstance(x[0], list):
        return [v for sub in x for v in flatten(sub)]
    return list(x)


def reshape(flat, shape):
    """Arrange a flat list into a tensor of ``shape`` (row-major); ``len(flat)`` must match."""
    if len(shape) == 1:
        return list(flat)
    step = len(flat) // shape[0]
    return [reshape(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def pad1d(A, p):
    """Zero-pad the last axis on both sides: (N, C, W) -> (N, C, W + 2p)."""
    edge = [0.0] * p
    return [[edge + row + edge for row in a_n] for a_n in A]


def unpad1d(A, p):
    """Drop ``p`` entries from both ends of the last axis: (N, C, W + 2p) -> (N, C, W)."""
    return [[row[p:len(row) - p] for row in a_n] for a_n in A]


def pad2d(A, p):
    """Zero-pad the last two axes on both sides: (N, C, H, W) -> (N, C, H + 2p, W + 2p)."""
    edge = [0.0] * p
    padded = []
    for a_n in A:
        channels = []
        for plane in a_n:
            width = len(plane[0]) + 2 * p
            channels.append([[0.0] * width for _ in range(p)]
                            + [edge + row + edge for row in plane]
                            + [[0.0] * width for _ in range(p)])
        padded.append(channels)
    return padded


def unpad2d(A, p):
    """Crop ``p`` from both ends of the last two axes: (N, C, H + 2p, W + 2p) -> (N, C, H, W)."""
    return [[[row[p:len(row) - p] for row in plane[p:len(plane) - p]] for plane in a_n]
            for a_n in A]
