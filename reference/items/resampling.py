"""Graded items: up- and downsampling, 1D and 2D."""
from __future__ import annotations

import numpy as np

from autograder.rubric import Section
from reference.casebuilder import (Builder, CaseBuilder, Item, normal, odd_with_remainder, pick, pick_even,
                                   pick_where)

POSITION = 1  # where this family's items stand in the rubric (families in increasing order)


RESAMPLE_FORMULAS = {
    "Upsample1d": "(N, C, k*(W-1)+1)", "Downsample1d": "(N, C, ceil(W/k))",
    "Upsample2d": "(N, C, k*(H-1)+1, k*(W-1)+1)", "Downsample2d": "(N, C, ceil(H/k), ceil(W/k))",
}


def resample_case(rng: np.random.Generator, name: str, description: str, cls: str, factor: int,
                  in_shape: tuple[int, ...]) -> CaseBuilder:
    """An up- or downsampling class: forward and backward of one input shape."""
    case = CaseBuilder(name, description, "mytorch.resampling", cls,
                       {"factor": factor, "input_shape": list(in_shape)}, args=[factor])
    A = case.array("A", normal(rng, *in_shape))
    case.call("forward", A, check="forward output Z", formula=RESAMPLE_FORMULAS[cls])
    out_shape = list(in_shape)
    for axis in range(2, len(in_shape)):
        size = in_shape[axis]
        out_shape[axis] = factor * (size - 1) + 1 if cls.startswith("Up") else -(-size // factor)
    case.call("backward", case.array("dLdZ", normal(rng, *out_shape)),
              check="backward dLdA", formula="same shape as the forward input A")
    return case


def build_resampling_1d(cls: str) -> Builder:
    """The case builder of the 1D resampling class ``cls``."""
    def build(rng: np.random.Generator) -> list[CaseBuilder]:
        k = pick(rng, 2, 4)
        k3 = pick(rng, 3, 5)
        return [
            resample_case(rng, "factor_1", "factor 1 (identity), batch 1, one channel",
                          cls, 1, (1, 1, pick(rng, 3, 8))),
            resample_case(rng, "even_width", f"factor {k}, even width",
                          cls, k, (2, pick(rng, 2, 3), pick_even(rng, 6, 12))),
            resample_case(rng, "odd_width_remainder", f"factor {k3}, odd width not a multiple of the factor",
                          cls, k3, (2, pick(rng, 2, 3), pick_where(rng, 7, 15, odd_with_remainder(k3)))),
        ]
    return build


def build_resampling_2d(cls: str) -> Builder:
    """The case builder of the 2D resampling class ``cls``."""
    def build(rng: np.random.Generator) -> list[CaseBuilder]:
        k = pick(rng, 2, 3)
        return [
            resample_case(rng, "factor_1", "factor 1 (identity), batch 1, one channel, H != W",
                          cls, 1, (1, 1, pick(rng, 3, 4), pick(rng, 5, 7))),
            resample_case(rng, "even_non_square", f"factor {k}, even H and W, H != W",
                          cls, k, (2, 2, pick_even(rng, 4, 6), pick_even(rng, 8, 10))),
            resample_case(rng, "odd_remainder", "factor 3, odd H and W with remainders",
                          cls, 3, (2, pick(rng, 1, 2), pick_where(rng, 5, 9, odd_with_remainder(3)),
                                   pick_where(rng, 10, 15, odd_with_remainder(3)))),
        ]
    return build


ITEMS = [
    Item("Downsampling1d", Section.MAIN, 2.5, ("Downsample1d",),
         "items.md#1-downsampling1d-25-points-main", build_resampling_1d("Downsample1d")),
    Item("Upsampling1d", Section.MAIN, 2.5, ("Upsample1d",),
         "items.md#2-upsampling1d-25-points-main", build_resampling_1d("Upsample1d")),
    Item("Downsampling2d", Section.MAIN, 2.5, ("Downsample2d",),
         "items.md#3-downsampling2d-25-points-main", build_resampling_2d("Downsample2d")),
    Item("Upsampling2d", Section.MAIN, 2.5, ("Upsample2d",),
         "items.md#4-upsampling2d-25-points-main", build_resampling_2d("Upsample2d")),
]
