"""Graded item (bonus): BatchNorm2d, training then eval."""
from __future__ import annotations

import numpy as np

from autograder.contract.rubric import Section
from reference._types import Array
from reference.batchnorm2d import BatchNorm2d
from reference.casebuilder import CaseBuilder, Item, normal, pick
from reference.variants import variant

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


EPS_SCALES = (0.0, 3e-5, 1.0)  # channel spreads: variance 0, about 1e-9 (near eps = 1e-8), ordinary


def batchnorm_eps_case(rng: np.random.Generator, name: str, description: str,
                       shape: tuple[int, int, int, int], alpha: float) -> CaseBuilder:
    """Channels where ``eps`` decides the result, in eval (set running statistics) and in training.

    Channel 0 is constant (variance 0): without eps, 0/0; channel 1 has a variance near
    1e-9, where eps outside the square root changes NZ by orders of magnitude; channel 2
    is ordinary.  The eval forward comes first, with running statistics set to the same
    kind of values, then one training step.
    """
    N, C, H, W = shape
    case = CaseBuilder(name, description, "mytorch.batchnorm2d", "BatchNorm2d",
                       {"num_features": C, "alpha": alpha, "input_shape": list(shape), "train_steps": 1,
                        "channel_variances": "0, about 1e-9, about 1"}, args=[C], kwargs={"alpha": alpha})
    case.set("BW", "BW", 1.0 + 0.5 * normal(rng, 1, C, 1, 1))
    case.set("Bb", "Bb", normal(rng, 1, C, 1, 1))
    case.set("running_M", "running_M", np.array([0.75, 0.0, 0.1]).reshape(1, C, 1, 1))
    case.set("running_V", "running_V", np.array([0.0, 1e-9, 2.0]).reshape(1, C, 1, 1))
    case.call("forward", case.array("Z_eval", normal(rng, *shape)), eval=True,
              check="eval-mode forward output (running_V of 0 and 1e-9: eps decides)", formula="same shape as Z")
    Z = normal(rng, *shape) * np.array(EPS_SCALES).reshape(1, C, 1, 1)
    Z[:, 0] = 0.75  # exactly representable: mean 0.75 and variance 0 exactly, in any summation order
    case.call("forward", case.array("Z0", Z), check="training forward output (variances 0 and ~1e-9)",
              formula="same shape as Z")
    case.call("backward", case.array("dLdBZ0", normal(rng, *shape)), check="backward dLdZ",
              formula="same shape as Z")
    case.read("dLdBW", formula="(1, C, 1, 1)")
    case.read("dLdBb", formula="(1, C, 1, 1)")
    case.read("running_V", formula="(1, C, 1, 1): alpha*running_V + (1-alpha)*batch variance (biased)")
    return case


def build_batchnorm2d(rng: np.random.Generator) -> list[CaseBuilder]:
    return [
        batchnorm_case(rng, "train_then_eval", "one training step then eval", (2, 3, pick(rng, 3, 4), 5),
                       0.9, 1),
        batchnorm_case(rng, "batch1_channel1", "batch 1, one channel, H != W", (1, 1, 3, pick(rng, 4, 6)),
                       float(np.round(rng.uniform(0.5, 0.95), 2)), 1),
        batchnorm_case(rng, "two_train_steps", "two training steps then eval",
                       (pick(rng, 2, 3), 2, 4, pick(rng, 2, 3)), float(np.round(rng.uniform(0.5, 0.95), 2)), 2),
        batchnorm_eps_case(rng, "eps_decides", "channels of variance 0 and about 1e-9: eval, then training",
                           (2, len(EPS_SCALES), pick(rng, 2, 3), pick(rng, 3, 4)),
                           float(np.round(rng.uniform(0.5, 0.95), 2))),
    ]


# ----------------------------------------------------------------------------- known mistakes (hints)

@variant("batchnorm_unbiased_variance", "the batch variance divides by m-1 (unbiased) instead of by "
         "m = N*H*W.", BatchNorm2d, "batch_statistics")
def batchnorm_unbiased_variance(self: BatchNorm2d, Z: Array) -> tuple[Array, Array]:
    return Z.mean(axis=(0, 2, 3), keepdims=True), Z.var(axis=(0, 2, 3), keepdims=True, ddof=1)


@variant("batchnorm_eps_outside_sqrt", "eps is added outside the square root (sqrt(V) + eps) instead of "
         "inside it.", BatchNorm2d, "std")
def batchnorm_eps_outside_sqrt(self: BatchNorm2d) -> Array:
    return np.sqrt(self.V) + self.eps


@variant("batchnorm_alpha_swapped_var", "the running variance keeps (1-alpha) of its old value and takes "
         "alpha of the batch's: alpha and 1-alpha are swapped.", BatchNorm2d, "update_running")
def batchnorm_alpha_swapped_var(self: BatchNorm2d, M: Array, V: Array) -> None:
    self.running_M = self.alpha * self.running_M + (1 - self.alpha) * M
    self.running_V = (1 - self.alpha) * self.running_V + self.alpha * V


@variant("batchnorm_alpha_swapped", "the running statistics keep (1-alpha) of their old values and take "
         "alpha of the batch's: alpha and 1-alpha are swapped.", BatchNorm2d, "update_running")
def batchnorm_alpha_swapped(self: BatchNorm2d, M: Array, V: Array) -> None:
    self.running_M = (1 - self.alpha) * self.running_M + self.alpha * M
    self.running_V = (1 - self.alpha) * self.running_V + self.alpha * V


@variant("batchnorm_eval_batch_stats", "in eval mode the batch's own statistics are used (and the running "
         "ones updated) instead of the running statistics.", BatchNorm2d, "forward")
def batchnorm_eval_batch_stats(self: BatchNorm2d, Z: Array, eval: bool = False) -> Array:
    BZ = FORWARD(self, Z, False)
    self.eval = eval
    return BZ


FORWARD = BatchNorm2d.forward
BATCHNORM_VARIANTS = (batchnorm_unbiased_variance, batchnorm_eps_outside_sqrt, batchnorm_alpha_swapped_var,
                      batchnorm_alpha_swapped, batchnorm_eval_batch_stats)

ITEMS = [
    Item("BatchNorm2d", Section.BONUS, 5, ("BatchNorm2d",),
         "items.md#20-batchnorm2d-5-points-bonus", build_batchnorm2d,
         variants=BATCHNORM_VARIANTS),
]
