# HOSTILE (not really): an honest, correct Flatten in idiomatic standard-library Python:
# a dataclass with defaulted fields, a namedtuple with defaults, a typing.NamedTuple, an
# enum, functools (lru_cache, reduce, wraps, partial) and itertools.  It must get full points:
# dataclasses and namedtuple set __defaults__ on functions they create.

"""Flatten every axis but the batch axis."""

import enum
import functools
import itertools
import operator
import typing
from collections import namedtuple
from dataclasses import dataclass, field

from .tensor import flatten, reshape, shape

Shape = namedtuple("Shape", "batch rest", defaults=((),))


class Saved(typing.NamedTuple):
    shape: Shape
    calls: int = 1


class Mode(enum.Enum):
    TRAIN = "train"
    EVAL = "eval"


def traced(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        self.calls += 1
        return method(self, *args, **kwargs)
    return wrapper


@functools.lru_cache(maxsize=None)
def size(dims: tuple) -> int:
    return functools.reduce(operator.mul, dims, 1)


@dataclass
class Flatten:
    """Row-major (C order) flatten of every axis but the first."""
    mode: Mode = Mode.TRAIN
    calls: int = 0
    saved: typing.Optional[Saved] = None
    history: list = field(default_factory=list)

    @traced
    def forward(self, A):
        dims = shape(A)
        self.saved = Saved(Shape(dims[0], tuple(dims[1:])))
        self.history.append(self.saved)
        rows = [flatten(a_n) for a_n in A]
        assert all(len(row) == size(self.saved.shape.rest) for row in rows)
        return [list(itertools.chain(row)) for row in rows]

    @traced
    def backward(self, dLdZ):
        return [reshape(row, list(self.saved.shape.rest)) for row in dLdZ]
