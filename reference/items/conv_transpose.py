"""Graded items: 1D and 2D transposed convolution."""
from __future__ import annotations

import numpy as np

from autograder.contract.rubric import Section
from reference.casebuilder import CaseBuilder, Item, normal, pick, pick_even, pick_odd, repeat_pass
from reference._types import Array
from reference.conv_transpose import ConvTranspose1d, ConvTranspose2d
from reference.items.conv import CONV1D_STRIDE1_VARIANTS, CONV2D_STRIDE1_VARIANTS
from reference.items.resampling import UPSAMPLE2D_ROWS_ONLY, upsample1d_backward_sums, upsample1d_k_zeros
from reference.variants import Variant

POSITION = 3  # where this family's items stand in the rubric (families in increasing order)


def conv_transpose_case(rng: np.random.Generator, name: str, description: str, dims: int, N: int, C_in: int,
                        C_out: int, K: int, factor: int, size: int | tuple[int, int],
                        repeat: bool = False) -> CaseBuilder:
    """ConvTranspose{1,2}d: forward, backward and the parameter gradients."""
    suffix = "1d" if dims == 1 else "2d"
    spatial: tuple[int, ...] = (size,) if dims == 1 else tuple(size)
    hyper = {"in_channels": C_in, "out_channels": C_out, "kernel_size": K,
             "upsampling_factor": factor, "input_shape": [N, C_in, *spatial]}
    case = CaseBuilder(name, description, "mytorch.conv_transpose", f"ConvTranspose{suffix}", hyper,
                       args=[C_in, C_out, K, factor])
    case.program["kwargs"] = {
        "weight_init_fn": case.init_fn("W", normal(rng, C_out, C_in, *([K] * dims))),
        "bias_init_fn": case.init_fn("b", normal(rng, C_out)),
    }
    out = [factor * (d - 1) + 1 - K + 1 for d in spatial]
    case.call("forward", case.array("A", normal(rng, N, C_in, *spatial)), check="forward output Z",
              formula="(N, out_channels, ...) with k*(W-1)+1 - K + 1 per spatial axis")
    case.call("backward", case.array("dLdZ", normal(rng, N, C_out, *out)),
              check="backward dLdA", formula="same shape as the forward input A")
    case.read(f"conv{suffix}_stride1.dLdW", formula="same shape as W")
    case.read(f"conv{suffix}_stride1.dLdb", formula="(out_channels,)")
    if repeat:
        repeat_pass(rng, case, (N, C_in, *spatial), (N, C_out, *out), f"conv{suffix}_stride1.")
    return case


def build_conv_transpose_1d(rng: np.random.Generator) -> list[CaseBuilder]:
    return [
        conv_transpose_case(rng, "factor_1_batch1", "upsampling factor 1, batch 1, one channel",
                            1, 1, 1, pick(rng, 1, 3), pick(rng, 2, 3), 1, pick(rng, 5, 8)),
        conv_transpose_case(rng, "factor_2", "upsampling factor 2, even width",
                            1, 2, pick(rng, 2, 3), pick(rng, 2, 3), 3, 2, pick_even(rng, 4, 8), repeat=True),
        conv_transpose_case(rng, "factor_3_kernel_1", "upsampling factor 3, kernel 1, odd width",
                            1, 2, 2, pick(rng, 2, 4), 1, 3, pick_odd(rng, 3, 7)),
    ]


def build_conv_transpose_2d(rng: np.random.Generator) -> list[CaseBuilder]:
    return [
        conv_transpose_case(rng, "factor_1_batch1", "upsampling factor 1, batch 1, H != W",
                            2, 1, 1, 2, 2, 1, (pick(rng, 3, 4), pick(rng, 5, 6))),
        conv_transpose_case(rng, "factor_2_non_square", "upsampling factor 2, non-square input",
                            2, 2, 2, pick(rng, 2, 3), 3, 2, (pick(rng, 3, 4), pick(rng, 5, 6)), repeat=True),
        conv_transpose_case(rng, "factor_3_kernel_1", "upsampling factor 3, kernel 1",
                            2, 2, pick(rng, 1, 2), 2, 1, 3, (pick(rng, 2, 3), pick(rng, 3, 4))),
    ]


# ----------------------------------------------------------------------------- known mistakes (hints)

def convtranspose1d_upsample_after_forward(self: ConvTranspose1d, A: Array) -> Array:
    return self.upsample1d.forward(self.conv1d_stride1.forward(A))


def convtranspose1d_upsample_after_backward(self: ConvTranspose1d, dLdZ: Array) -> Array:
    return self.conv1d_stride1.backward(self.upsample1d.backward(dLdZ))


def convtranspose2d_upsample_after_forward(self: ConvTranspose2d, A: Array) -> Array:
    return self.upsample2d.forward(self.conv2d_stride1.forward(A))


def convtranspose2d_upsample_after_backward(self: ConvTranspose2d, dLdZ: Array) -> Array:
    return self.conv2d_stride1.backward(self.upsample2d.backward(dLdZ))


UPSAMPLE_AFTER_HINT = "{} convolves first and upsamples the result, instead of upsampling the input first."
CONVTRANSPOSE1D_UPSAMPLE_AFTER = Variant(
    "convtranspose1d_upsample_after", UPSAMPLE_AFTER_HINT.format("ConvTranspose1d"),
    ((ConvTranspose1d, "forward", convtranspose1d_upsample_after_forward),
     (ConvTranspose1d, "backward", convtranspose1d_upsample_after_backward)))
CONVTRANSPOSE2D_UPSAMPLE_AFTER = Variant(
    "convtranspose2d_upsample_after", UPSAMPLE_AFTER_HINT.format("ConvTranspose2d"),
    ((ConvTranspose2d, "forward", convtranspose2d_upsample_after_forward),
     (ConvTranspose2d, "backward", convtranspose2d_upsample_after_backward)))

ITEMS = [
    Item("ConvTranspose1d", Section.MAIN, 5, ("ConvTranspose1d",),
         "items.md#9-convtranspose1d-5-points-main", build_conv_transpose_1d,
         variants=(CONVTRANSPOSE1D_UPSAMPLE_AFTER, upsample1d_k_zeros, upsample1d_backward_sums)
         + CONV1D_STRIDE1_VARIANTS),
    Item("ConvTranspose2d", Section.MAIN, 5, ("ConvTranspose2d",),
         "items.md#10-convtranspose2d-5-points-main", build_conv_transpose_2d,
         variants=(CONVTRANSPOSE2D_UPSAMPLE_AFTER, UPSAMPLE2D_ROWS_ONLY) + CONV2D_STRIDE1_VARIANTS),
]
