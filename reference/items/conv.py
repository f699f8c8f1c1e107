"""Graded items: 1D and 2D convolution, stride 1 and strided with padding."""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.rubric import Section
from reference.casebuilder import (CaseBuilder, Item, normal, pick, pick_even, pick_odd, pick_where, repeat_pass)

POSITION = 2  # where this family's items stand in the rubric (families in increasing order)


def conv_case(rng: np.random.Generator, name: str, description: str, dims: int, N: int, C_in: int, C_out: int,
              K: int, size: int | tuple[int, int], stride: int | None = None, padding: int = 0,
              repeat: bool = False) -> CaseBuilder:
    """Conv{1,2}d_stride1 when ``stride`` is None, otherwise the strided Conv{1,2}d."""
    suffix = "1d" if dims == 1 else "2d"
    strided = stride is not None
    cls = f"Conv{suffix}" if strided else f"Conv{suffix}_stride1"
    hyper: dict[str, Any] = {"in_channels": C_in, "out_channels": C_out, "kernel_size": K}
    if strided:
        hyper.update(stride=stride, padding=padding)
    spatial: tuple[int, ...] = (size,) if dims == 1 else tuple(size)
    hyper["input_shape"] = [N, C_in, *spatial]
    case = CaseBuilder(name, description, f"mytorch.conv{suffix}", cls, hyper,
                       args=[C_in, C_out, K] + ([stride, padding] if strided else []))
    case.program["kwargs"] = {
        "weight_init_fn": case.init_fn("W", normal(rng, C_out, C_in, *([K] * dims))),
        "bias_init_fn": case.init_fn("b", normal(rng, C_out)),
    }
    A = case.array("A", normal(rng, N, C_in, *spatial))
    s = stride or 1
    out = [(d + 2 * padding - K) // s + 1 for d in spatial]
    formula = ("floor((W + 2*padding - K)/stride) + 1 per spatial axis" if strided
               else "W - K + 1 per spatial axis")
    case.call("forward", A, check="forward output Z", formula=f"(N, out_channels, ...) with {formula}")
    case.call("backward", case.array("dLdZ", normal(rng, N, C_out, *out)),
              check="backward dLdA", formula="same shape as the forward input A")
    prefix = f"conv{suffix}_stride1." if strided else ""
    case.read(prefix + "dLdW", formula="same shape as W: (out_channels, in_channels, K...)")
    case.read(prefix + "dLdb", formula="(out_channels,)")
    if repeat:
        repeat_pass(rng, case, (N, C_in, *spatial), (N, C_out, *out), prefix)
    return case


def build_conv1d_stride1(rng: np.random.Generator) -> list[CaseBuilder]:
    W = pick(rng, 2, 6)
    return [
        conv_case(rng, "batch1_channel1_kernel1", "batch 1, one input channel, kernel 1",
                  1, 1, 1, pick(rng, 1, 3), 1, pick(rng, 4, 8)),
        conv_case(rng, "kernel_equals_width", "kernel as wide as the input (output width 1)",
                  1, 2, pick(rng, 2, 3), pick(rng, 2, 3), W, W),
        conv_case(rng, "general", "general shapes",
                  1, 2, pick(rng, 2, 4), pick(rng, 3, 5), pick(rng, 3, 5), pick(rng, 10, 16), repeat=True),
    ]


def build_conv1d(rng: np.random.Generator) -> list[CaseBuilder]:
    return [
        conv_case(rng, "stride_remainder", "stride 2, the last input sample unused, no padding",
                  1, 2, pick(rng, 2, 3), pick(rng, 2, 4), 3, pick_even(rng, 8, 14), stride=2),  # (W-3) odd
        conv_case(rng, "stride_ge_kernel_padding", "stride 3 >= kernel 2, padding 1",
                  1, 2, pick(rng, 1, 3), pick(rng, 2, 3), 2, pick_where(rng, 9, 16, lambda w: w % 3 == 1),
                  stride=3, padding=1),  # W+2p-K and W+2p-K+1 both leave a remainder
        conv_case(rng, "padding_2_stride_2", "padding 2, stride 2, batch 1",
                  1, 1, pick(rng, 2, 3), pick(rng, 2, 4), pick(rng, 3, 4), pick(rng, 7, 12),
                  stride=2, padding=2),
        conv_case(rng, "stride_1_padding_1", "stride 1 with padding 1 (same-size output)",
                  1, 2, 2, 3, 3, pick(rng, 5, 9), stride=1, padding=1, repeat=True),
    ]


def build_conv2d_stride1(rng: np.random.Generator) -> list[CaseBuilder]:
    W = pick(rng, 3, 4)
    return [
        conv_case(rng, "batch1_channel1_kernel1", "batch 1, one input channel, kernel 1, H != W",
                  2, 1, 1, pick(rng, 1, 3), 1, (pick(rng, 3, 5), pick(rng, 6, 8))),
        conv_case(rng, "kernel_equals_width", "kernel as wide as the input (W == K), H > W",
                  2, 2, 2, 2, W, (W + pick(rng, 1, 3), W)),
        conv_case(rng, "general_non_square", "general non-square input",
                  2, 2, pick(rng, 2, 3), pick(rng, 2, 4), 3, (pick(rng, 6, 8), pick(rng, 9, 11)), repeat=True),
    ]


def build_conv2d(rng: np.random.Generator) -> list[CaseBuilder]:
    return [
        conv_case(rng, "stride_remainder_padding", "stride 2 with remainders, padding 1, H != W",
                  2, 2, 2, pick(rng, 2, 3), 3, (pick_even(rng, 6, 8), pick_odd(rng, 9, 11)), stride=2, padding=1),
        conv_case(rng, "stride_ge_kernel", "stride 3 >= kernel 2, no padding",
                  2, 2, pick(rng, 1, 2), 2, 2, (pick(rng, 7, 9), pick(rng, 5, 8)), stride=3, repeat=True),
        conv_case(rng, "padding_2_batch1", "padding 2, stride 2, batch 1, kernel 4",
                  2, 1, 2, 2, 4, (pick(rng, 5, 7), pick(rng, 6, 9)), stride=2, padding=2),
    ]


ITEMS = [
    Item("Conv1d_stride1", Section.MAIN, 10, ("Conv1d_stride1",),
         "items.md#5-conv1d_stride1-10-points-main", build_conv1d_stride1),
    Item("Conv1d", Section.MAIN, 5, ("Conv1d",),
         "items.md#6-conv1d-5-points-main", build_conv1d),
    Item("Conv2d_stride1", Section.MAIN, 10, ("Conv2d_stride1",),
         "items.md#7-conv2d_stride1-10-points-main", build_conv2d_stride1),
    Item("Conv2d", Section.MAIN, 5, ("Conv2d",),
         "items.md#8-conv2d-5-points-main", build_conv2d),
]
