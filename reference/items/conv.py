"""Graded items: 1D and 2D convolution, stride 1 and strided with padding."""
from __future__ import annotations

from typing import Any

import numpy as np

from numpy.lib.stride_tricks import sliding_window_view

from autograder.contract.rubric import Section
from reference._types import Array
from reference.casebuilder import (CaseBuilder, Item, normal, pick, pick_even, pick_odd, pick_where, repeat_pass)
from reference.conv1d import Conv1d, Conv1d_stride1
from reference.conv2d import Conv2d, Conv2d_stride1
from reference.items.resampling import downsample1d_backward_width, downsample1d_floor
from reference.variants import Variant, variant

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


# ----------------------------------------------------------------------------- known mistakes (hints)
# Each replaces one reference method; the reference's own backward is kept where only a gradient changes.

BACKWARD_1D, BACKWARD_2D = Conv1d_stride1.backward, Conv2d_stride1.backward


@variant("conv1d_unflipped_kernel",
         "Conv1d_stride1's dLdA correlates the padded dLdZ with the kernel as it is, not flipped "
         "(the backward of a cross-correlation is a convolution).", Conv1d_stride1, "backward")
def conv1d_unflipped_kernel(self: Conv1d_stride1, dLdZ: Array) -> Array:
    BACKWARD_1D(self, dLdZ)
    K = self.kernel_size
    padded = np.pad(np.asarray(dLdZ, dtype=np.float64), ((0, 0), (0, 0), (K - 1, K - 1)))
    return np.einsum("noxk,ock->ncx", sliding_window_view(padded, K, axis=2), self.W)


@variant("conv1d_forward_flipped",
         "Conv1d_stride1's forward convolves with the flipped kernel instead of cross-correlating "
         "with the kernel as it is.", Conv1d_stride1, "forward")
def conv1d_forward_flipped(self: Conv1d_stride1, A: Array) -> Array:
    self.A = np.asarray(A, dtype=np.float64)
    windows = sliding_window_view(self.A, self.kernel_size, axis=2)
    return np.einsum("ncxk,ock->nox", windows, self.W[:, :, ::-1]) + self.b[None, :, None]


@variant("conv1d_dldb_last_sample",
         "Conv1d_stride1's dLdb holds the last sample's sums only: it is overwritten for each "
         "sample instead of summed over the whole batch.", Conv1d_stride1, "backward")
def conv1d_dldb_last_sample(self: Conv1d_stride1, dLdZ: Array) -> Array:
    dLdA = BACKWARD_1D(self, dLdZ)
    self.dLdb = np.asarray(dLdZ, dtype=np.float64)[-1].sum(axis=-1)
    return dLdA


@variant("conv1d_dldw_last_sample",
         "Conv1d_stride1's dLdW holds the last sample's gradient only: it is overwritten for each "
         "sample instead of summed over the whole batch.", Conv1d_stride1, "backward")
def conv1d_dldw_last_sample(self: Conv1d_stride1, dLdZ: Array) -> Array:
    dLdA, A, dLdb = BACKWARD_1D(self, dLdZ), self.A, self.dLdb
    self.A = A[-1:]
    BACKWARD_1D(self, np.asarray(dLdZ, dtype=np.float64)[-1:])
    self.A, self.dLdb = A, dLdb
    return dLdA


@variant("conv1d_dldw_accumulates",
         "Conv1d_stride1's dLdW is added to the previous call's gradient instead of replacing it, "
         "so a second backward returns the sum of both passes.", Conv1d_stride1, "backward")
def conv1d_dldw_accumulates(self: Conv1d_stride1, dLdZ: Array) -> Array:
    before = self.dLdW
    dLdA = BACKWARD_1D(self, dLdZ)
    self.dLdW = before + self.dLdW
    return dLdA


@variant("conv1d_pad_after_downsample", "the strided Conv1d pads its output (after downsampling) instead of "
         "its input.", Conv1d, "forward")
def conv1d_pad_after_downsample(self: Conv1d, A: Array) -> Array:
    Z = self.downsample1d.forward(self.conv1d_stride1.forward(np.asarray(A, dtype=np.float64)))
    return np.pad(Z, ((0, 0), (0, 0), (self.pad, self.pad)))


@variant("conv1d_backward_keeps_padding", "the strided Conv1d's backward returns the gradient of the padded "
         "input: the padding is not cropped away.", Conv1d, "backward")
def conv1d_backward_keeps_padding(self: Conv1d, dLdZ: Array) -> Array:
    return self.conv1d_stride1.backward(self.downsample1d.backward(dLdZ))


@variant("conv2d_unflipped_kernel",
         "Conv2d_stride1's dLdA correlates the padded dLdZ with the kernel as it is, not flipped "
         "in both spatial axes (the backward of a cross-correlation is a convolution).",
         Conv2d_stride1, "backward")
def conv2d_unflipped_kernel(self: Conv2d_stride1, dLdZ: Array) -> Array:
    BACKWARD_2D(self, dLdZ)
    K = self.kernel_size
    padded = np.pad(np.asarray(dLdZ, dtype=np.float64), ((0, 0), (0, 0), (K - 1, K - 1), (K - 1, K - 1)))
    return np.einsum("noyxij,ocij->ncyx", sliding_window_view(padded, (K, K), axis=(2, 3)), self.W)


@variant("conv2d_dldw_last_sample",
         "Conv2d_stride1's dLdW holds the last sample's gradient only: it is overwritten for each "
         "sample instead of summed over the whole batch.", Conv2d_stride1, "backward")
def conv2d_dldw_last_sample(self: Conv2d_stride1, dLdZ: Array) -> Array:
    dLdA, A, dLdb = BACKWARD_2D(self, dLdZ), self.A, self.dLdb
    self.A = A[-1:]
    BACKWARD_2D(self, np.asarray(dLdZ, dtype=np.float64)[-1:])
    self.A, self.dLdb = A, dLdb
    return dLdA


@variant("conv2d_dldb_accumulates",
         "Conv2d_stride1's dLdb is added to the previous call's gradient instead of replacing it, "
         "so a second backward returns the sum of both passes.", Conv2d_stride1, "backward")
def conv2d_dldb_accumulates(self: Conv2d_stride1, dLdZ: Array) -> Array:
    before = self.dLdb
    dLdA = BACKWARD_2D(self, dLdZ)
    self.dLdb = before + self.dLdb
    return dLdA


@variant("conv2d_backward_keeps_padding", "the strided Conv2d's backward returns the gradient of the padded "
         "input: the padding is not cropped away.", Conv2d, "backward")
def conv2d_backward_keeps_padding(self: Conv2d, dLdZ: Array) -> Array:
    return self.conv2d_stride1.backward(self.downsample2d.backward(dLdZ))


def conv2d_unpadded_forward(self: Conv2d, A: Array) -> Array:
    return self.downsample2d.forward(self.conv2d_stride1.forward(np.asarray(A, dtype=np.float64)))


CONV2D_IGNORES_PADDING = Variant(
    "conv2d_ignores_padding", "the strided Conv2d never pads its input (and so crops nothing in backward).",
    ((Conv2d, "forward", conv2d_unpadded_forward), (Conv2d, "backward", conv2d_backward_keeps_padding.patches[0][2])))

CONV1D_STRIDE1_VARIANTS = (conv1d_unflipped_kernel, conv1d_forward_flipped, conv1d_dldb_last_sample,
                           conv1d_dldw_last_sample, conv1d_dldw_accumulates)
CONV2D_STRIDE1_VARIANTS = (conv2d_unflipped_kernel, conv2d_dldw_last_sample, conv2d_dldb_accumulates)
CONV1D_VARIANTS = CONV1D_STRIDE1_VARIANTS + (conv1d_pad_after_downsample, conv1d_backward_keeps_padding,
                                             downsample1d_floor, downsample1d_backward_width)
CONV2D_VARIANTS = CONV2D_STRIDE1_VARIANTS + (conv2d_backward_keeps_padding, CONV2D_IGNORES_PADDING)

ITEMS = [
    Item("Conv1d_stride1", Section.MAIN, 10, ("Conv1d_stride1",),
         "items.md#5-conv1d_stride1-10-points-main", build_conv1d_stride1,
         variants=CONV1D_STRIDE1_VARIANTS),
    Item("Conv1d", Section.MAIN, 5, ("Conv1d",),
         "items.md#6-conv1d-5-points-main", build_conv1d, variants=CONV1D_VARIANTS),
    Item("Conv2d_stride1", Section.MAIN, 10, ("Conv2d_stride1",),
         "items.md#7-conv2d_stride1-10-points-main", build_conv2d_stride1,
         variants=CONV2D_STRIDE1_VARIANTS),
    Item("Conv2d", Section.MAIN, 5, ("Conv2d",),
         "items.md#8-conv2d-5-points-main", build_conv2d, variants=CONV2D_VARIANTS),
]
