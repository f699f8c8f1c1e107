"""Graded item (bonus): Dropout2d, graded by properties."""
from __future__ import annotations

import numpy as np

from autograder.contract.rubric import Section
from reference.casebuilder import CaseBuilder, Item, normal, pick

POSITION = 8  # where this family's items stand in the rubric (families in increasing order)


def dropout_case(rng: np.random.Generator, name: str, description: str, shape: tuple[int, int, int, int],
                 p: float, rate_sample: tuple[int, int, int, int] | None = None) -> CaseBuilder:
    """Dropout2d is graded by properties, never by the reference's random mask."""
    case = CaseBuilder(name, description, "mytorch.dropout", "Dropout2d",
                       {"p": p, "input_shape": list(shape)}, args=[p])
    case.reference_kwargs = {"rng_seed": int(rng.integers(2 ** 31))}
    x = case.array("x", rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape))
    forward = case.call("forward", x)
    backward = case.call("backward", case.array("delta", normal(rng, *shape)))
    case.add_check({"kind": "dropout_forward", "quantity": "training forward output", "step": forward,
                    "input": "x", "p": p})
    case.add_check({"kind": "dropout_backward", "quantity": "backward output", "step": backward,
                    "forward_step": forward, "input": "delta", "p": p})
    case.call("forward", x, eval=True, check="eval-mode forward output (must equal the input)")
    if rate_sample:
        sample = case.call("forward", {"$fill": {"shape": list(rate_sample), "value": 1.0}})
        case.add_check({"kind": "dropout_rate", "quantity": "fraction of dropped channels",
                        "step": sample, "shape": list(rate_sample), "p": p, "max_sigma": 5.0})
    return case


def build_dropout2d(rng: np.random.Generator) -> list[CaseBuilder]:
    return [
        dropout_case(rng, "half", "p = 0.5", (2, pick(rng, 3, 5), 3, pick(rng, 3, 4)), 0.5,
                     rate_sample=(200, 50, 1, 1)),
        dropout_case(rng, "low_p_batch1", "p = 0.2, batch 1", (1, pick(rng, 4, 6), 2, 3), 0.2,
                     rate_sample=(100, 50, 1, 2)),
        dropout_case(rng, "high_p", "p = 0.8, H != W", (3, 4, 2, pick(rng, 3, 5)), 0.8,
                     rate_sample=(100, 60, 2, 1)),
    ]


ITEMS = [
    Item("Dropout2d", Section.BONUS, 5, ("Dropout2d",),
         "items.md#19-dropout2d-5-points-bonus", build_dropout2d),
]
