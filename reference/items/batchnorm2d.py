"""Graded item (bonus): BatchNorm2d, training then eval."""
from __future__ import annotations

import numpy as np

from autograder.rubric import Section
from reference.casebuilder import CaseBuilder, Item, normal, pick

POSITION = 9  # where this family's items stand in the rubric (families in increasing order)


def batchnorm_case(rng: np.random.Generator, name: str, description: str, shape: tuple[int, int, int, int],
                   alpha: float, train_steps: int) -> CaseBuilder:
    """BatchNorm2d: ``train_steps`` training forward/backward passes, then an eval forward."""
    C = shape[1]
    case = CaseBuilder(name, description, "mytorch.batchnorm2d", "BatchNorm2d",
                       {"num_features": C, "alpha": alpha, "input_shape": list(shape),
                        "train_steps": train_steps}, args=[C], kwargs={"alpha": alpha})
    case.set("BW", "BW", 1.0 + 0.5 * normal(rng, 1, C, 1, 1))
    case.set("Bb", "Bb", normal(rng, 1, C, 1, 1))
    for step in range(train_steps):
        Z = case.array(f"Z{step}", normal(rng, *shape) * rng.uniform(0.5, 3.0) + rng.uniform(-2, 2))
        case.call("forward", Z, check=f"training forward output (step {step + 1})", formula="same shape as Z")
        case.call("backward", case.array(f"dLdBZ{step}", normal(rng, *shape)),
                  check=f"backward dLdZ (step {step + 1})", formula="same shape as Z")
        case.read("dLdBW", check=f"dLdBW (step {step + 1})", formula="(1, C, 1, 1)")
        case.read("dLdBb", check=f"dLdBb (step {step + 1})", formula="(1, C, 1, 1)")
    case.read("running_M", formula="(1, C, 1, 1): alpha*running_M + (1-alpha)*batch mean")
    case.read("running_V", formula="(1, C, 1, 1): alpha*running_V + (1-alpha)*batch variance (biased)")
    case.call("forward", case.array("Z_eval", normal(rng, *shape)), eval=True,
              check="eval-mode forward output (uses running_M and running_V)", formula="same shape as Z")
    return case


def build_batchnorm2d(rng: np.random.Generator) -> list[CaseBuilder]:
    return [
        batchnorm_case(rng, "train_then_eval", "one training step then eval", (2, 3, pick(rng, 3, 4), 5),
                       0.9, 1),
        batchnorm_case(rng, "batch1_channel1", "batch 1, one channel, H != W", (1, 1, 3, pick(rng, 4, 6)),
                       float(np.round(rng.uniform(0.5, 0.95), 2)), 1),
        batchnorm_case(rng, "two_train_steps", "two training steps then eval",
                       (pick(rng, 2, 3), 2, 4, pick(rng, 2, 3)), float(np.round(rng.uniform(0.5, 0.95), 2)), 2),
    ]


ITEMS = [
    Item("BatchNorm2d", Section.BONUS, 5, ("BatchNorm2d",),
         "items.md#20-batchnorm2d-5-points-bonus", build_batchnorm2d),
]
