"""Graded items: CNNs that act as scanning MLPs."""
from __future__ import annotations

import numpy as np

from autograder.contract.rubric import Section
from reference.casebuilder import Builder, CaseBuilder, Item, normal
from reference import mlp_scan
from reference._types import Array
from reference.items.conv import conv1d_unflipped_kernel
from reference.items.flatten import flatten_backward_column_major
from reference.items.resampling import downsample1d_floor
from reference.variants import variant

POSITION = 5  # where this family's items stand in the rubric (families in increasing order)


SCAN_SHAPES = {"w1": (192, 8), "w2": (8, 16), "w3": (16, 4)}


def scanning_case(rng: np.random.Generator, name: str, description: str, cls: str, N: int,
                  sparse: bool = False) -> CaseBuilder:
    """A scanning MLP class: the kernels after init_weights, then forward, backward and the dLdW."""
    case = CaseBuilder(name, description, "mytorch.mlp_scan", cls,
                       {"input_shape": [N, 24, 128], "weight_shapes": {k: list(v) for k, v in SCAN_SHAPES.items()}})
    weights = []
    for key, shape in SCAN_SHAPES.items():
        w = normal(rng, *shape)
        if sparse:
            w *= rng.random(shape) < 0.5
        weights.append(case.array(key, w))
    case.call("init_weights", weights)
    for conv in ("conv1", "conv2", "conv3"):
        case.read(f"{conv}.conv1d_stride1.W", check=f"{conv}.conv1d_stride1.W after init_weights",
                  formula="(out_channels, in_channels, kernel_size)")
    case.call("forward", case.array("A", normal(rng, N, 24, 128)), check="forward output Z",
              formula="(N, 4*31)")
    case.call("backward", case.array("dLdZ", normal(rng, N, 124)), check="backward dLdA",
              formula="(N, 24, 128)")
    for conv in ("conv1", "conv2", "conv3"):
        case.read(f"{conv}.conv1d_stride1.dLdW", formula="same shape as W")
    return case


def build_scanning(cls: str) -> Builder:
    """The case builder of the scanning MLP class ``cls``."""
    def build(rng: np.random.Generator) -> list[CaseBuilder]:
        return [
            scanning_case(rng, "batch1", "batch 1", cls, 1),
            scanning_case(rng, "batch2", "batch 2", cls, 2),
            scanning_case(rng, "sparse_weights", "batch 1, half of the MLP weights zero", cls, 1, sparse=True),
        ]
    return build


# ----------------------------------------------------------------------------- known mistakes (hints)

@variant("scan_channel_major", "the MLP weights are laid out channel-major (row c*K + t) instead of "
         "time-major (row t*C + c, as the window vector is flattened).", mlp_scan, "_mlp_to_kernel")
def scan_channel_major(w: Array, in_channels: int, kernel_width: int, out_channels: int) -> Array:
    w = np.asarray(w, dtype=np.float64)[:kernel_width * in_channels, :out_channels]
    return w.reshape(in_channels, kernel_width, out_channels).transpose(2, 0, 1).copy()


SCAN_VARIANTS = (scan_channel_major, conv1d_unflipped_kernel, downsample1d_floor, flatten_backward_column_major)

ITEMS = [
    Item("SimpleScanningMLP", Section.MAIN, 5, ("CNN_SimpleScanningMLP",),
         "items.md#15-simplescanningmlp-5-points-main", build_scanning("CNN_SimpleScanningMLP"),
         variants=SCAN_VARIANTS),
    Item("DistributedScanningMLP", Section.MAIN, 5, ("CNN_DistributedScanningMLP",),
         "items.md#16-distributedscanningmlp-5-points-main", build_scanning("CNN_DistributedScanningMLP"),
         variants=SCAN_VARIANTS),
]
