"""Graded item (bonus): the ResNet block."""
from __future__ import annotations

import numpy as np

from autograder.contract.rubric import Section
from reference.casebuilder import CaseBuilder, Item, normal, pick
from reference._types import Array
from reference.items.batchnorm2d import batchnorm_eps_outside_sqrt, batchnorm_unbiased_variance
from reference.items.conv import (CONV2D_IGNORES_PADDING, conv2d_backward_keeps_padding, conv2d_dldw_last_sample,
                                  conv2d_unflipped_kernel)
from reference.resblock import ResBlock
from reference.variants import variant

POSITION = 10  # where this family's items stand in the rubric (families in increasing order)


def resblock_case(rng: np.random.Generator, name: str, description: str, shape: tuple[int, int, int, int],
                  out_channels: int, filter_size: int, stride: int, padding: int,
                  dead_channel: bool = False) -> CaseBuilder:
    """ResBlock with set weights: forward, backward, and every block's dLdW and dLdBW.

    ``dead_channel``: the first convolution's output channel 0 has all-zero weights, so it is
    its bias everywhere and the BatchNorm2d after it sees a variance of 0 (only eps keeps it finite).
    """
    N, C_in = shape[0], shape[1]
    conv_residual = stride != 1 or C_in != out_channels or filter_size != 1 or padding != 0
    case = CaseBuilder(name, description, "mytorch.resblock", "ResBlock",
                       {"in_channels": C_in, "out_channels": out_channels, "filter_size": filter_size,
                        "stride": stride, "padding": padding, "input_shape": list(shape),
                        "residual": "ConvBlock" if conv_residual else "Identity"},
                       args=[C_in, out_channels, filter_size, stride, padding])
    blocks = {"convolution_layers.0": (C_in, filter_size), "convolution_layers.2": (out_channels, 1)}
    if conv_residual:
        blocks["residual_connection"] = (C_in, filter_size)
    for index, (path, (c, k)) in enumerate(blocks.items()):
        conv = f"{path}.layers.0.conv2d_stride1"
        weights = normal(rng, out_channels, c, k, k) * 0.5
        if dead_channel and index == 0:
            weights[0] = 0.0
        case.set(f"{conv}.W", f"W{index}", weights)
        case.set(f"{conv}.b", f"b{index}", normal(rng, out_channels) * 0.1)
        case.set(f"{path}.layers.1.BW", f"BW{index}", 1.0 + 0.3 * normal(rng, 1, out_channels, 1, 1))
        case.set(f"{path}.layers.1.Bb", f"Bb{index}", 0.3 * normal(rng, 1, out_channels, 1, 1))
    out = [(d + 2 * padding - filter_size) // stride + 1 for d in shape[2:]]
    case.call("forward", case.array("A", normal(rng, *shape)), check="forward output",
              formula="(N, out_channels, floor((H+2p-f)/s)+1, floor((W+2p-f)/s)+1)")
    case.call("backward", case.array("dLdZ", normal(rng, N, out_channels, *out)),
              check="backward dLdA", formula="same shape as the forward input A")
    for path in blocks:
        case.read(f"{path}.layers.0.conv2d_stride1.dLdW", formula="same shape as W")
        case.read(f"{path}.layers.1.dLdBW", formula="(1, out_channels, 1, 1)")
    return case


def build_resblock(rng: np.random.Generator) -> list[CaseBuilder]:
    C = pick(rng, 2, 3)
    return [
        resblock_case(rng, "identity_residual", "in == out, filter 1, stride 1, padding 0 (identity skip)",
                      (2, C, pick(rng, 3, 4), pick(rng, 4, 5)), C, 1, 1, 0),
        resblock_case(rng, "default_stride3", "filter 3, stride 3, padding 1 (the defaults), H != W",
                      (2, pick(rng, 1, 2), pick(rng, 6, 8), pick(rng, 9, 10)), pick(rng, 2, 3), 3, 3, 1),
        resblock_case(rng, "stride2_channels_change", "filter 3, stride 2, padding 1, channels change",
                      (2, 2, pick(rng, 5, 6), pick(rng, 6, 7)), 3, 3, 2, 1),
        resblock_case(rng, "dead_channel", "a first-convolution channel of zero weights: its BatchNorm2d "
                      "sees variance 0", (2, 2, pick(rng, 4, 5), pick(rng, 5, 6)), 2, 3, 1, 1, dead_channel=True),
    ]


# ----------------------------------------------------------------------------- known mistakes (hints)

@variant("resblock_relu_before_add", "the final ReLU is applied to the main path before the residual is "
         "added, instead of to their sum.", ResBlock, "forward")
def resblock_relu_before_add(self: ResBlock, A: Array) -> Array:
    Z = A
    for layer in self.convolution_layers:
        Z = layer.forward(Z)
    return self.final_activation.forward(Z) + self.residual_connection.forward(A)


@variant("resblock_no_residual_grad", "backward returns only the main path's gradient: the residual "
         "connection's gradient is dropped.", ResBlock, "backward")
def resblock_no_residual_grad(self: ResBlock, grad: Array) -> Array:
    dmain = self.final_activation.backward(grad)
    for layer in reversed(self.convolution_layers):
        dmain = layer.backward(dmain)
    return dmain


RESBLOCK_VARIANTS = (resblock_relu_before_add, resblock_no_residual_grad, batchnorm_unbiased_variance,
                     batchnorm_eps_outside_sqrt, conv2d_unflipped_kernel, conv2d_dldw_last_sample,
                     conv2d_backward_keeps_padding, CONV2D_IGNORES_PADDING)

ITEMS = [
    Item("ResBlock", Section.BONUS, 5, ("ConvBlock", "ResBlock"),
         "items.md#21-resblock-5-points-bonus", build_resblock,
         variants=RESBLOCK_VARIANTS),
]
