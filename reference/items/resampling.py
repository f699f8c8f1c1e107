"""Graded items: up- and downsampling, 1D and 2D."""
from __future__ import annotations

import numpy as np

from autograder.contract.rubric import Section
from reference._types import Array
from reference.casebuilder import (Builder, CaseBuilder, Item, normal, odd_with_remainder, pick, pick_even,
                                   pick_where)
from reference.resampling import Downsample1d, Downsample2d, Upsample1d, Upsample2d
from reference.variants import Variant, variant

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


# ----------------------------------------------------------------------------- known mistakes (hints)

@variant("downsample1d_floor", "Downsample1d keeps floor(W/k) samples instead of ceil(W/k): "
         "the last, partial block is dropped.", Downsample1d, "forward")
def downsample1d_floor(self: Downsample1d, A: Array) -> Array:
    A = np.asarray(A, dtype=np.float64)
    self.input_width, k = A.shape[-1], self.downsampling_factor
    return A[..., :(A.shape[-1] // k) * k:k].copy()


@variant("downsample1d_backward_width", "Downsample1d.backward rebuilds the width as k*(W_out-1)+1 instead "
         "of the input width remembered by forward.", Downsample1d, "backward")
def downsample1d_backward_width(self: Downsample1d, dLdZ: Array) -> Array:
    dLdZ, k = np.asarray(dLdZ, dtype=np.float64), self.downsampling_factor
    dLdA = np.zeros(dLdZ.shape[:-1] + (k * (dLdZ.shape[-1] - 1) + 1,))
    dLdA[..., ::k] = dLdZ
    return dLdA


@variant("upsample1d_k_zeros", "Upsample1d inserts k zeros between samples instead of k-1.",
         Upsample1d, "forward")
def upsample1d_k_zeros(self: Upsample1d, A: Array) -> Array:
    A, k = np.asarray(A, dtype=np.float64), self.upsampling_factor + 1
    Z = np.zeros(A.shape[:-1] + (k * (A.shape[-1] - 1) + 1,))
    Z[..., ::k] = A
    return Z


@variant("upsample1d_backward_sums", "Upsample1d.backward sums each block of k gradients instead of keeping "
         "only the gradients of the original samples (the inserted zeros' gradients leak in).",
         Upsample1d, "backward")
def upsample1d_backward_sums(self: Upsample1d, dLdZ: Array) -> Array:
    dLdZ, k = np.asarray(dLdZ, dtype=np.float64), self.upsampling_factor
    return np.stack([dLdZ[..., i:i + k].sum(axis=-1) for i in range(0, dLdZ.shape[-1], k)], axis=-1)


@variant("downsample2d_floor", "Downsample2d keeps floor(H/k) x floor(W/k) samples instead of ceil: "
         "the last, partial blocks are dropped.", Downsample2d, "forward")
def downsample2d_floor(self: Downsample2d, A: Array) -> Array:
    A, k = np.asarray(A, dtype=np.float64), self.downsampling_factor
    self.input_hw = A.shape[-2:]
    H, W = A.shape[-2:]
    return A[..., :(H // k) * k:k, :(W // k) * k:k].copy()


def upsample2d_rows_only_forward(self: Upsample2d, A: Array) -> Array:
    A, k = np.asarray(A, dtype=np.float64), self.upsampling_factor
    Z = np.zeros(A.shape[:-2] + (k * (A.shape[-2] - 1) + 1, A.shape[-1]))
    Z[..., ::k, :] = A
    return Z


def upsample2d_rows_only_backward(self: Upsample2d, dLdZ: Array) -> Array:
    return np.asarray(dLdZ, dtype=np.float64)[..., ::self.upsampling_factor, :].copy()


UPSAMPLE2D_ROWS_ONLY = Variant(
    "upsample2d_rows_only", "Upsample2d inserts zeros between rows only: the width is not upsampled.",
    ((Upsample2d, "forward", upsample2d_rows_only_forward), (Upsample2d, "backward", upsample2d_rows_only_backward)))


ITEMS = [
    Item("Downsampling1d", Section.MAIN, 2.5, ("Downsample1d",),
         "items.md#1-downsampling1d-25-points-main", build_resampling_1d("Downsample1d"),
         variants=(downsample1d_floor, downsample1d_backward_width)),
    Item("Upsampling1d", Section.MAIN, 2.5, ("Upsample1d",),
         "items.md#2-upsampling1d-25-points-main", build_resampling_1d("Upsample1d"),
         variants=(upsample1d_k_zeros, upsample1d_backward_sums)),
    Item("Downsampling2d", Section.MAIN, 2.5, ("Downsample2d",),
         "items.md#3-downsampling2d-25-points-main", build_resampling_2d("Downsample2d"),
         variants=(downsample2d_floor,)),
    Item("Upsampling2d", Section.MAIN, 2.5, ("Upsample2d",),
         "items.md#4-upsampling2d-25-points-main", build_resampling_2d("Upsample2d"),
         variants=(UPSAMPLE2D_ROWS_ONLY,)),
]
