"""The checks of a case: comparing what the student's code returned with the reference.

Runs in the grader's process only, on results the sandbox has already validated
the form of (``autograder.sandbox.messages.clean_results``); ``Mismatch`` carries the
message the student reads.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autograder.judge.compare import Mismatch, assert_close, check_drop_rate, dropped_channels, to_array
from autograder.contract.fixtures import Case, FixtureError
from autograder.judge.hints import likely_cause


def run_check(case: Case, check: Mapping[str, Any], results: Sequence[Any], hints: bool = True) -> None:
    """Run one check of a case; raise Mismatch with a student-facing message.

    With ``hints``, a wrong quantity that equals a known mistake's value as a whole gets one
    more line naming the mistake (``autograder.judge.hints``).
    """
    quantity = check["quantity"]
    value = results[check["step"]]
    tol = case.tolerance
    kind = check["kind"]
    if kind == "allclose":
        expected = case.array(check["expected"])
        try:
            got = to_array(value, expected.shape, quantity, check.get("formula"))
            assert_close(got, expected, tol["rtol"], tol["atol"], quantity)
        except Mismatch as mismatch:
            hint = likely_cause(case, check, value) if hints else None
            if hint is None:
                raise
            raise mismatch.with_hint(hint) from None
    elif kind == "dropout_forward":
        x = case.inputs()[check["input"]]
        dropped_channels(to_array(value, x.shape, quantity), x, check["p"], tol["rtol"], tol["atol"], quantity)
    elif kind == "dropout_backward":
        delta = case.inputs()[check["input"]]
        forward_check = next(c for c in case.checks if c["kind"] == "dropout_forward"
                             and c["step"] == check["forward_step"])
        x = case.inputs()[forward_check["input"]]
        try:
            forward = to_array(results[check["forward_step"]], x.shape, "forward output")
            dropped = dropped_channels(forward, x, check["p"], tol["rtol"], tol["atol"], "forward output")
        except Mismatch:
            raise Mismatch(quantity, "cannot be checked because the training forward output is wrong",
                           kind="mismatch") from None
        keep = (~dropped).astype(float)[(...,) + (None,) * (x.ndim - 2)]
        expected = delta * keep / (1.0 - check["p"])
        got = to_array(value, delta.shape, quantity)
        assert_close(got, expected, tol["rtol"], tol["atol"],
                     f"{quantity} (must be delta/(1-p) on the channels kept by the last forward, 0 elsewhere)")
    elif kind == "dropout_rate":
        shape = tuple(check["shape"])
        ones = np.ones(shape)
        dropped = dropped_channels(to_array(value, shape, quantity), ones, check["p"],
                                   tol["rtol"], tol["atol"], quantity)
        check_drop_rate(dropped, check["p"], check["max_sigma"], quantity)
    else:
        raise FixtureError(f"unknown check kind {kind!r} in item {case.item}")
