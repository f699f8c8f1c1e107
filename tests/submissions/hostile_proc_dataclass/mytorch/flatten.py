# HOSTILE (not really): an honest, correct Flatten in idiomatic standard-library Python:
# a dataclass with defaulted fields, a namedtuple with defaults, a typing.NamedTuple, an
# enum, functools (lru_cache, reduce, wraps), itertools and a codec loaded on first use.  It
# must get full points: dataclasses and namedtuple set __defaults__ on functions they create,
# and as uid 65534 the lazily imported codec lives in a folder that user may not search.

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
NAME = "Flatten".encode("cp1252").decode("cp1252")  # a codec (encodings.cp1252) loaded on first use


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
