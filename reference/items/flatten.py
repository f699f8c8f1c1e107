"""Graded item: Flatten."""
from __future__ import annotations

import numpy as np

from autograder.contract.rubric import Section
from reference.casebuilder import CaseBuilder, Item, normal, pick
from reference._types import Array
from reference.flatten import Flatten
from reference.variants import variant

POSITION = 7  # where this family's items stand in the rubric (families in increasing order)


def flatten_case(rng: np.random.Generator, name: str, description: str, shape: tuple[int, ...]) -> CaseBuilder:
    """Flatten: forward and backward of one input shape."""
    case = CaseBuilder(name, description, "mytorch.flatten", "Flatten", {"input_shape": list(shape)})
    case.call("forward", case.array("A", normal(rng, *shape)), check="forward output Z",
              formula="(N, C*W) or (N, C*H*W), row-major")
    case.call("backward", case.array("dLdZ", normal(rng, shape[0], int(np.prod(shape[1:])))),
              check="backward dLdA", formula="same shape as the forward input A")
    return case


def build_flatten(rng: np.random.Generator) -> list[CaseBuilder]:
    return [
        flatten_case(rng, "one_dimensional", "(N, C, W) input", (2, pick(rng, 2, 4), pick(rng, 3, 7))),
        flatten_case(rng, "two_dimensional", "(N, C, H, W) input, H != W",
                     (2, pick(rng, 2, 3), pick(rng, 2, 3), pick(rng, 4, 5))),
        flatten_case(rng, "batch1_channel1", "batch 1, one channel", (1, 1, pick(rng, 2, 6))),
    ]


# ----------------------------------------------------------------------------- known mistakes (hints)

@variant("flatten_backward_column_major", "backward un-flattens column-major (first axis fastest) instead of "
         "in the row-major order forward flattened in.", Flatten, "backward")
def flatten_backward_column_major(self: Flatten, dLdZ: Array) -> Array:
    dLdZ = np.asarray(dLdZ, dtype=np.float64)
    return np.stack([row.reshape(self.input_shape[1:], order="F") for row in dLdZ])


ITEMS = [
    Item("Flatten", Section.MAIN, 5, ("Flatten",),
         "items.md#18-flatten-5-points-main", build_flatten,
         variants=(flatten_backward_column_major,)),
]
