"""Graded items: max and mean pooling, stride 1 and strided."""
from __future__ import annotations

import numpy as np

from numpy.lib.stride_tricks import sliding_window_view

from autograder.contract.rubric import Section
from reference._types import Array
from reference.casebuilder import Builder, CaseBuilder, Item, normal, pick, pick_odd
from reference.items.resampling import downsample2d_floor
from reference.pool import MaxPool2d_stride1, MeanPool2d_stride1
from reference.variants import variant

POSITION = 4  # where this family's items stand in the rubric (families in increasing order)


TIES_DESCRIPTION = {"MaxPool2d": "tied maxima inside overlapping windows (the first maximum wins)",
                    "MeanPool2d": "small repeated integer values in overlapping windows"}


def pool_case(rng: np.random.Generator, name: str, description: str, kind: str, shape: tuple[int, int, int, int],
              K: int, stride: int | None = None, ties: bool = False) -> CaseBuilder:
    """Max/MeanPool2d(_stride1). ``ties`` draws small integers so windows share maxima."""
    cls = kind if stride is not None else f"{kind}_stride1"
    hyper = {"kernel": K, "input_shape": list(shape)}
    if stride is not None:
        hyper["stride"] = stride
    case = CaseBuilder(name, description, "mytorch.pool", cls, hyper,
                       args=[K] + ([stride] if stride is not None else []))
    values = rng.integers(0, 3, size=shape).astype(float) if ties else normal(rng, *shape)
    s = stride or 1
    out = [-(-(d - K + 1) // s) for d in shape[2:]]
    formula = ("ceil((H-K+1)/stride) by ceil((W-K+1)/stride)" if stride is not None
               else "(H-K+1) by (W-K+1)")
    case.call("forward", case.array("A", values), check="forward output Z", formula=f"(N, C, {formula})")
    case.call("backward", case.array("dLdZ", normal(rng, shape[0], shape[1], *out)),
              check="backward dLdA", formula="same shape as the forward input A")
    return case


def build_pool_stride1(kind: str) -> Builder:
    """The case builder of the stride-1 ``kind`` ("MaxPool2d" or "MeanPool2d")."""
    def build(rng: np.random.Generator) -> list[CaseBuilder]:
        H = pick(rng, 3, 4)
        return [
            pool_case(rng, "ties", TIES_DESCRIPTION[kind],
                      kind, (2, 2, pick(rng, 4, 5), pick(rng, 6, 7)), pick(rng, 2, 3), ties=True),
            pool_case(rng, "kernel_1_batch1", "kernel 1, batch 1, one channel, H != W",
                      kind, (1, 1, pick(rng, 3, 4), pick(rng, 5, 6)), 1),
            pool_case(rng, "kernel_equals_height", "kernel as tall as the input, W > H",
                      kind, (2, pick(rng, 1, 3), H, H + pick(rng, 1, 3)), H),
            pool_case(rng, "general_non_square", "general non-square input",
                      kind, (2, pick(rng, 2, 3), pick(rng, 6, 8), pick(rng, 9, 11)), 3),
        ]
    return build


def build_pool_strided(kind: str) -> Builder:
    """The case builder of the strided ``kind`` ("MaxPool2d" or "MeanPool2d")."""
    def build(rng: np.random.Generator) -> list[CaseBuilder]:
        return [
            pool_case(rng, "stride_remainder_ties", "stride 2 with remainders, " + TIES_DESCRIPTION[kind],
                      kind, (2, 2, pick_odd(rng, 6, 9), pick_odd(rng, 9, 11)), 3, stride=2, ties=True),
            pool_case(rng, "stride_ge_kernel", "stride 3 >= kernel 2 (gaps between windows)",
                      kind, (2, pick(rng, 1, 2), pick(rng, 7, 9), pick(rng, 5, 8)), 2, stride=3),
            pool_case(rng, "batch1_overlap", "batch 1, overlapping windows (kernel 3, stride 2)",
                      kind, (1, pick(rng, 2, 3), pick(rng, 5, 7), pick(rng, 8, 10)), 3, stride=2),
            pool_case(rng, "taller_than_wide", "H > W (kernel 2, stride 2): height and width are not interchangeable",
                      kind, (2, 2, pick(rng, 9, 11), pick(rng, 5, 6)), 2, stride=2),
        ]
    return build


# ----------------------------------------------------------------------------- known mistakes (hints)

@variant("maxpool_last_tie", "a window whose maximum appears twice sends its gradient to the last maximum "
         "instead of the first (row-major order).", MaxPool2d_stride1, "forward")
def maxpool_last_tie(self: MaxPool2d_stride1, A: Array) -> Array:
    A, K = np.asarray(A, dtype=np.float64), self.kernel
    self.input_shape = A.shape
    windows = sliding_window_view(A, (K, K), axis=(2, 3))
    flat = windows.reshape(windows.shape[:4] + (K * K,))
    self.argmax = K * K - 1 - np.argmax(flat[..., ::-1], axis=-1)
    return flat.max(axis=-1)


@variant("maxpool_backward_overwrites", "where overlapping windows share a maximum, each window's gradient "
         "overwrites the previous one instead of adding to it.", MaxPool2d_stride1, "backward")
def maxpool_backward_overwrites(self: MaxPool2d_stride1, dLdZ: Array) -> Array:
    dLdZ, K = np.asarray(dLdZ, dtype=np.float64), self.kernel
    dLdA = np.zeros(self.input_shape)
    for n, c, y, x in np.ndindex(*dLdZ.shape):
        i, j = divmod(int(self.argmax[n, c, y, x]), K)
        dLdA[n, c, y + i, x + j] = dLdZ[n, c, y, x]
    return dLdA


@variant("meanpool_no_divide", "each window's gradient is spread without dividing by the window's K*K "
         "elements.", MeanPool2d_stride1, "backward")
def meanpool_no_divide(self: MeanPool2d_stride1, dLdZ: Array) -> Array:
    return MEANPOOL_BACKWARD(self, dLdZ) * self.kernel ** 2


@variant("meanpool_backward_overwrites", "overlapping windows overwrite each other's gradient share instead of "
         "adding to it.", MeanPool2d_stride1, "backward")
def meanpool_backward_overwrites(self: MeanPool2d_stride1, dLdZ: Array) -> Array:
    dLdZ, K = np.asarray(dLdZ, dtype=np.float64), self.kernel
    Wo = dLdZ.shape[3]
    dLdA = np.zeros(self.input_shape)
    for y in range(dLdZ.shape[2]):
        for i in range(K):
            for j in range(K):
                dLdA[:, :, y + i, j:j + Wo] = dLdZ[:, :, y] / (K * K)
    return dLdA


MEANPOOL_BACKWARD = MeanPool2d_stride1.backward
MAXPOOL_STRIDE1_VARIANTS = (maxpool_last_tie, maxpool_backward_overwrites)
MEANPOOL_STRIDE1_VARIANTS = (meanpool_no_divide, meanpool_backward_overwrites)
STRIDED = (downsample2d_floor,)

ITEMS = [
    Item("MaxPool2d_stride1", Section.MAIN, 10, ("MaxPool2d_stride1",),
         "items.md#11-maxpool2d_stride1-10-points-main", build_pool_stride1("MaxPool2d"),
         variants=MAXPOOL_STRIDE1_VARIANTS),
    Item("MaxPool2d", Section.MAIN, 5, ("MaxPool2d",),
         "items.md#12-maxpool2d-5-points-main", build_pool_strided("MaxPool2d"),
         variants=MAXPOOL_STRIDE1_VARIANTS + STRIDED),
    Item("MeanPool2d_stride1", Section.MAIN, 10, ("MeanPool2d_stride1",),
         "items.md#13-meanpool2d_stride1-10-points-main", build_pool_stride1("MeanPool2d"),
         variants=MEANPOOL_STRIDE1_VARIANTS),
    Item("MeanPool2d", Section.MAIN, 5, ("MeanPool2d",),
         "items.md#14-meanpool2d-5-points-main", build_pool_strided("MeanPool2d"),
         variants=MEANPOOL_STRIDE1_VARIANTS + STRIDED),
]
