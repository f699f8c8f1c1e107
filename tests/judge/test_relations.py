"""Relation diagnostics (autograder/judge/relations.py), directly on the public fixtures' checks.

The mutants (tests/test_mutants.py, RELATION_HINTS) check the sentences end to end through runner.py;
here each relation is made by hand from a case's expected value, a correct or nearly correct value
and an unrelated wrong one get no relation on any check, and no sentence carries a number.
"""
import re

import numpy as np
import pytest

from autograder.contract.fixtures import Case, load_fixture_set
from autograder.judge.checks import run_check
from autograder.judge.compare import Mismatch
from autograder.judge.relations import describe
from helpers import ROOT


@pytest.fixture(scope="module")
def fixture_set():
    return load_fixture_set(ROOT / "fixtures")


def allclose_checks(fixture_set):
    return [(case, check) for cases in fixture_set.items.values() for case in cases
            for check in case.checks if check["kind"] == "allclose"]


def find(fixture_set, item, case_name, quantity):
    case = next(c for c in fixture_set.items[item] if c.name == case_name)
    return case, next(c for c in case.checks if c.get("quantity") == quantity)


def said(case, check, got):
    return describe(case, check, np.asarray(got, dtype=float).tolist())


def made_up_case(arrays, expected, quantity, hyperparameters=None):
    """A case of one check whose inputs are ``arrays`` and whose expected value is ``expected``."""
    check = {"kind": "allclose", "quantity": quantity, "step": 0, "expected": "c.out.0"}
    stored = {f"c.in.{name}": value for name, value in arrays.items()} | {"c.out.0": expected}
    return Case("Made", "c", "", hyperparameters or {}, {"steps": [{}]}, [check], {"rtol": 1e-6, "atol": 1e-9},
                stored), check


def test_a_correct_or_nearly_correct_value_relates_to_nothing(fixture_set):
    """Even if it were asked (it never is: a passing quantity looks for no cause), a value within the
    tolerance of the expected one gets no relation."""
    for case, check in allclose_checks(fixture_set):
        expected = case.array(check["expected"])
        assert said(case, check, expected) is None, (case.id, check["quantity"])
        assert said(case, check, expected * (1 + 0.5 * case.tolerance["rtol"])) is None, (case.id, check["quantity"])
        results = [None] * (check["step"] + 1)
        results[check["step"]] = expected.tolist()
        run_check(case, check, results)


def test_an_unrelated_wrong_value_relates_to_nothing(fixture_set):
    rng = np.random.default_rng(11785)
    for case, check in allclose_checks(fixture_set):
        expected = case.array(check["expected"])
        for wrong in (expected + rng.normal(size=expected.shape) * (1 + np.abs(expected)),
                      expected + 1.0 + np.abs(expected)):
            assert said(case, check, wrong) is None, (case.id, check["quantity"], said(case, check, wrong))


def test_a_factor_is_named_in_the_cases_terms(fixture_set):
    case, check = find(fixture_set, "MeanPool2d_stride1", "general_non_square", "forward output Z")  # K = 3, N = 2
    expected = case.array(check["expected"])
    assert said(case, check, 9 * expected) == ("every value is the expected one times K²: a factor is missing, "
                                               "inverted or applied twice.")
    assert said(case, check, expected / 3).startswith("every value is the expected one times 1/K:")
    assert said(case, check, 2 * expected).startswith("every value is the expected one times N:")
    assert said(case, check, 5.5 * expected).startswith("every value is the expected one times the same constant:")
    assert said(case, check, -expected).startswith("every value has the wrong sign:")
    case, check = find(fixture_set, "Dropout2d", "high_p", "eval-mode forward output (must equal the input)")
    assert said(case, check, case.array(check["expected"]) / 0.2).startswith(
        "every value is the expected one times 1/(1-p):")


def test_a_bias_missing_or_doubled_is_named(fixture_set):
    case, check = find(fixture_set, "Conv1d_stride1", "general", "forward output Z")
    expected, b = case.array(check["expected"]), case.inputs()["b"]
    assert said(case, check, expected - b[None, :, None]) == ("each channel is off by minus its bias b: the bias is "
                                                              "never added.")
    assert said(case, check, expected + b[None, :, None]) == ("each channel is off by its bias b: the bias is "
                                                              "added twice.")
    assert said(case, check, expected - 2 * b[None, :, None]) == ("each channel is off by minus twice its bias b: the "
                                                                  "bias is subtracted, not added.")
    assert said(case, check, expected + np.array([0.5, -1.0, 2.0])[None, :, None]).startswith(
        "each channel is off by its own constant:")
    assert said(case, check, expected + 0.25).startswith("every value is off by the same constant:")


def test_orientation_shift_and_zeroed_regions_are_named(fixture_set):
    case, check = find(fixture_set, "Conv2d_stride1", "general_non_square", "dLdW")  # (4, 2, 3, 3)
    expected = case.array(check["expected"])
    assert said(case, check, expected[..., ::-1]).startswith(
        "it is the expected value flipped along the kernel width:")
    assert said(case, check, expected[..., ::-1, ::-1]).startswith(
        "it is the expected value flipped along the kernel height and kernel width:")
    assert said(case, check, np.swapaxes(expected, 2, 3)).startswith(
        "it is the expected value with its kernel height and kernel width swapped:")
    case, check = find(fixture_set, "Conv2d_stride1", "general_non_square", "backward dLdA")  # (2, 2, 7, 11)
    expected = case.array(check["expected"])
    shifted = np.zeros_like(expected)
    shifted[..., 1:] = expected[..., :-1]
    assert said(case, check, shifted).startswith("it is the expected value shifted toward the end of the width:")
    shifted = np.full_like(expected, 7.0)
    shifted[..., :-2, :-2] = expected[..., 2:, 2:]
    assert said(case, check, shifted).startswith("it is the expected value shifted toward the start of the height "
                                                 "and width:")
    zeroed = expected.copy()
    zeroed[:, :, -1, :] = 0
    assert said(case, check, zeroed).startswith("it is right except that the last positions along the height are "
                                                "left at zero:")
    border = expected.copy()
    border[..., 0, :] = border[..., -1, :] = border[..., :, 0] = border[..., :, -1] = 0
    assert said(case, check, border).startswith("it is right except on the border, left at zero:")
    assert said(case, check, np.zeros_like(expected)).startswith("every value is zero:")


def test_a_wrong_size_along_one_axis_is_named(fixture_set):
    case, check = find(fixture_set, "Conv1d", "stride_1_padding_1", "forward output Z")  # (2, 3, 6)
    expected = case.array(check["expected"])
    assert said(case, check, expected[..., :-1]) == ("it is the expected value with positions along the width "
                                                     "missing at the end: a size off by one, or padding on one "
                                                     "side only.")
    assert said(case, check, expected[..., 1:-1]).endswith("missing at both ends: the padding is missing.")
    padded = np.concatenate([np.ones_like(expected[..., :2]), expected], axis=-1)
    assert said(case, check, padded).startswith("it is the expected value with extra positions along the width at "
                                                "the start:")
    assert said(case, check, expected.reshape(2, 18)).startswith("it holds the expected values in the wrong shape:")
    assert said(case, check, expected.transpose(0, 2, 1).reshape(expected.shape)).startswith(
        "it holds the expected values, each once, at other positions:")


def test_a_wrong_size_along_two_axes_is_named(fixture_set):
    case, check = find(fixture_set, "Conv2d_stride1", "general_non_square", "backward dLdA")  # (2, 2, 7, 11)
    expected = case.array(check["expected"])
    padded = np.pad(expected, ((0, 0), (0, 0), (1, 1), (1, 1)))
    assert said(case, check, padded) == ("it is the expected value with extra positions along the height and width "
                                         "at both ends: the padding is not cropped, or applied twice.")
    assert said(case, check, expected[..., :-1, :-2]).startswith(
        "it is the expected value with positions along the height and width missing at the end:")


def test_another_quantity_of_the_case_is_named(fixture_set):
    case, check = find(fixture_set, "Flatten", "one_dimensional", "backward dLdA")
    assert said(case, check, case.inputs()["A"]) == ("it equals the input A: the wrong variable is returned (or "
                                                     "stored), or it is never updated.")
    case, check = find(fixture_set, "Conv1d_stride1", "general", "dLdb after the second backward")
    _, first = find(fixture_set, "Conv1d_stride1", "general", "dLdb")
    got = case.array(check["expected"]) + case.array(first["expected"])
    assert said(case, check, got) == ("it is the expected value plus the dLdb: it accumulates across calls instead "
                                      "of being overwritten.")


def test_a_sum_over_the_wrong_axes_is_named():
    dLdZ = np.random.default_rng(3).normal(size=(3, 3, 4))
    case, check = made_up_case({"dLdZ": dLdZ}, dLdZ.sum(axis=(0, 2)), "dLdb")
    assert said(case, check, dLdZ.sum(axis=(1, 2))) == ("it is the sum of the input dLdZ along its channel axis "
                                                        "and width: a sum over the wrong axes.")
    assert said(case, check, dLdZ.mean(axis=(0, 2))).startswith("it is the mean of the input dLdZ along its sample "
                                                                "axis and width:")


def test_dropout_eval_that_still_drops_is_named(fixture_set):
    case, check = find(fixture_set, "Dropout2d", "half", "eval-mode forward output (must equal the input)")
    x = case.array(check["expected"])  # (2, 5, 3, 3), p = 0.5
    keep = (np.arange(10).reshape(2, 5, 1, 1) % 3 != 0)
    assert said(case, check, x * keep / 0.5).startswith("channels are dropped and the others scaled by 1/(1-p) "
                                                        "as in training:")


def test_the_check_names_a_relation_after_the_stored_variants(fixture_set):
    case, check = find(fixture_set, "MeanPool2d_stride1", "general_non_square", "forward output Z")
    results = [None] * (check["step"] + 1)
    results[check["step"]] = (9 * case.array(check["expected"])).tolist()
    with pytest.raises(Mismatch) as raised:
        run_check(case, check, results)
    assert raised.value.hint.startswith("every value is the expected one times K²")
    assert f"likely cause: your forward output Z is exactly what this mistake gives: {raised.value.hint}" \
        in str(raised.value)
    with pytest.raises(Mismatch) as quiet:
        run_check(case, check, results, hints=False)
    assert quiet.value.hint is None and "likely cause" not in str(quiet.value)


FACTOR_NAMES = re.compile(r"1/\(1-p\)|\(1-p\)|\(m-1\)|m-1|1/")


def test_no_sentence_carries_a_number(fixture_set):
    """The student view of a hidden set shows the sentence: the factor's name only, never a value or a size."""
    rng = np.random.default_rng(5)
    sentences = set()
    for case, check in allclose_checks(fixture_set):
        expected = case.array(check["expected"])
        if expected.ndim < 2:
            continue
        for got in (3 * expected, expected / 2, -expected, expected + 0.5, np.flip(expected, -1),
                    expected[..., :-1], np.concatenate([expected, expected], axis=-1),
                    np.where(rng.random(expected.shape) < 0.2, 0.0, expected)):
            sentence = said(case, check, got)
            if sentence:
                sentences.add(sentence)
    assert len(sentences) > 20
    for sentence in sentences:
        assert not re.search(r"\d", FACTOR_NAMES.sub("", sentence)), sentence


def dropout_results(case, forward, backward=None):
    """The results of a Dropout2d case: its training forward (and backward) as given, the rest unset."""
    results = [None] * len(case.program["steps"])
    results[0] = forward.tolist()
    if backward is not None:
        results[1] = backward.tolist()
    return results


def dropout_check(case, kind):
    return next(check for check in case.checks if check["kind"] == kind)


def test_dropout_training_slips_are_named(fixture_set):
    case = next(c for c in fixture_set.items["Dropout2d"] if c.name == "half")  # p = 0.5, (2, 5, 3, 3)
    x, delta = case.inputs()["x"], case.inputs()["delta"]
    keep = (np.arange(10).reshape(2, 5, 1, 1) % 3 != 0).astype(float)
    forward, backward = dropout_check(case, "dropout_forward"), dropout_check(case, "dropout_backward")

    def cause(check, results):
        with pytest.raises(Mismatch) as raised:
            run_check(case, check, results)
        return raised.value.hint

    assert cause(forward, dropout_results(case, x * keep * 0.5)).startswith(
        "kept channels are multiplied by (1-p) instead of divided by it:")
    assert cause(forward, dropout_results(case, x * keep)).startswith("kept channels are not scaled:")
    per_element = (np.arange(x.size).reshape(x.shape) % 2).astype(float)
    assert cause(forward, dropout_results(case, x * per_element / 0.5)).startswith("the mask is drawn per element:")
    other_mask = 1.0 - keep
    for got in (delta * other_mask / 0.5, delta / 0.5):  # a new mask, or none
        assert cause(backward, dropout_results(case, x * keep / 0.5, got)).startswith(
            "the backward keeps other channels than the last training forward:")
    assert cause(backward, dropout_results(case, x * keep / 0.5, delta * keep)).startswith(
        "every value is the expected one times (1-p)")
    # a wrong forward: the backward cannot be checked, and is given no cause
    assert cause(backward, dropout_results(case, x * keep, delta * keep)) is None


def test_dropout_rate_with_p_as_the_keep_probability_is_named(fixture_set):
    case = next(c for c in fixture_set.items["Dropout2d"] if c.name == "low_p_batch1")  # p = 0.2
    check = dropout_check(case, "dropout_rate")
    shape = tuple(check["shape"])
    dropped = np.random.default_rng(7).random(shape[:2] + (1, 1)) < 0.8  # dropped with probability 1-p
    results = [None] * len(case.program["steps"])
    results[check["step"]] = (np.ones(shape) * ~dropped / 0.8).tolist()
    with pytest.raises(Mismatch) as raised:
        run_check(case, check, results)
    assert raised.value.hint == ("channels are dropped with probability 1-p: p is the probability of dropping a "
                                 "channel, not of keeping it.")
    results[check["step"]] = (np.ones(shape) / 0.8).tolist()
    with pytest.raises(Mismatch) as raised:
        run_check(case, check, results)
    assert raised.value.hint == "no channel is ever dropped in training."
