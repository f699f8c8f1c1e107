"""Graded items: CNNs that act as scanning MLPs."""
from __future__ import annotations

import numpy as np

from autograder.rubric import Section
from reference.casebuilder import Builder, CaseBuilder, Item, normal

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


ITEMS = [
    Item("SimpleScanningMLP", Section.MAIN, 5, ("CNN_SimpleScanningMLP",),
         "items.md#15-simplescanningmlp-5-points-main", build_scanning("CNN_SimpleScanningMLP")),
    Item("DistributedScanningMLP", Section.MAIN, 5, ("CNN_DistributedScanningMLP",),
         "items.md#16-distributedscanningmlp-5-points-main", build_scanning("CNN_DistributedScanningMLP")),
]
