"""Likely-cause hints: the known-mistake registry, what the fixtures store, and what the grader says.

The mutants (tests/e2e/test_mutants.py) check the hints end to end through runner.py; here each
variant is checked directly: the public fixtures store it for some case (it differs clearly from
the reference), a student whose quantity equals the stored value gets exactly its hint, and the
reference's own value (a correct solution) never matches it.
"""
import json
import re

import pytest

from helpers import ROOT
from autograder.judge.checks import run_check
from autograder.judge.compare import Mismatch
from autograder.contract.fixtures import load_fixture_set
from autograder.judge.hints import matches
from autograder.sandbox import Limits, build_request
from reference.items import ITEMS as DECLARED

HINT_LINE = re.compile(r"likely cause: your (.+) is exactly what this mistake gives: (.+)$", re.MULTILINE)
MIN_VARIANTS = 25


@pytest.fixture(scope="module")
def fixture_set():
    return load_fixture_set(ROOT / "fixtures")


def declared_variants():
    """name -> Variant, over every item's declaration (a variant may serve several items)."""
    found = {}
    for item in DECLARED:
        for variant in item.variants:
            assert found.setdefault(variant.name, variant) is variant, f"two variants named {variant.name}"
    return found


def stored_checks(fixture_set):
    """(case, check) for every check the public fixtures store a variant's value for."""
    return [(case, check) for cases in fixture_set.items.values() for case in cases
            for check in case.checks if check.get("variants")]


def test_registry_holds_enough_distinct_mistakes():
    variants = declared_variants()
    assert len(variants) >= MIN_VARIANTS, sorted(variants)
    hints = [v.hint for v in variants.values()]
    assert len(set(hints)) == len(hints), "two variants with the same hint: name the layer"


def test_hints_name_the_mistake_in_one_sentence():
    for variant in declared_variants().values():
        assert variant.hint.endswith(".") and variant.hint.count(". ") == 0, variant.name
        assert "np." not in variant.hint and "self." not in variant.hint, f"{variant.name}: code in the hint"


def test_every_variant_differs_from_the_reference_on_some_public_case(fixture_set):
    """Each variant's test: the generator found a case where it differs clearly (so it is stored)."""
    stored = {name for _, check in stored_checks(fixture_set) for name in check["variants"]}
    assert stored == set(declared_variants()), f"never stored: {sorted(set(declared_variants()) - stored)}"


def test_the_manifest_names_each_stored_variant_with_its_declared_hint(fixture_set):
    manifest = json.loads((ROOT / "fixtures" / "manifest.json").read_text())
    variants = declared_variants()
    for item, entry in manifest["items"].items():
        used = {name for case in entry["cases"] for check in case["checks"] for name in check.get("variants", ())}
        assert set(entry.get("hints", {})) == used, item
        for name, hint in entry.get("hints", {}).items():
            assert hint == variants[name].hint


def test_a_student_value_equal_to_a_variant_gets_exactly_its_hint(fixture_set):
    fired = set()
    for case, check in stored_checks(fixture_set):
        expected = case.array(check["expected"])
        for hint, value in case.variant_values(check):
            results = [None] * len(case.program["steps"])
            results[check["step"]] = value.tolist()
            with pytest.raises(Mismatch) as raised:
                run_check(case, check, results)
            lines = HINT_LINE.findall(str(raised.value))
            assert len(lines) == 1, (case.id, check["quantity"], str(raised.value)[-500:])
            quantity, said = lines[0]
            assert quantity == check["quantity"]
            # the first stored variant that matches as a whole is named (two may coincide on a check)
            first = next(h for h, v in case.variant_values(check) if matches(value, v, **case.tolerance))
            assert said == first
            fired.add(said)
            with pytest.raises(Mismatch) as quiet:
                run_check(case, check, results, hints=False)
            assert "likely cause" not in str(quiet.value)
            assert not matches(expected, value, **case.tolerance), f"{case.id}: a variant equals the reference"
    assert fired == {v.hint for v in declared_variants().values()}


def test_a_correct_value_passes_and_a_near_miss_gets_no_hint(fixture_set):
    for case, check in stored_checks(fixture_set):
        expected = case.array(check["expected"])
        results = [None] * len(case.program["steps"])
        results[check["step"]] = expected.tolist()
        run_check(case, check, results)  # no Mismatch: hints are never even looked for
        _, value = case.variant_values(check)[0]
        if value.shape == expected.shape and value.size > 1:
            partly = expected.copy()
            partly.flat[0] = value.flat[0] + 1.0 + abs(value.flat[0])  # the mistake's values but one
            partly.flat[1:] = value.flat[1:]
            results[check["step"]] = partly.tolist()
            with pytest.raises(Mismatch) as raised:
                run_check(case, check, results)
            assert "likely cause" not in str(raised.value)


def test_the_child_never_receives_a_variant_or_expected_value(fixture_set):
    for cases in fixture_set.items.values():
        for case in cases:
            request = build_request(ROOT, case, Limits())
            assert set(request["arrays"]) == {key.split(".", 2)[2] for key in case.arrays
                                              if key.split(".")[1] == "in"}
            assert not any(".var." in key or ".out." in key for key in request["arrays"])


def test_an_item_declared_without_hints_stores_no_variant():
    from dataclasses import replace
    from reference.build import build_fixture_set
    item = next(i for i in DECLARED if i.name == "Flatten")
    for hints in (True, False):
        manifest, _, arrays = build_fixture_set(11785, [replace(item, hints=hints)])
        entry = manifest["items"]["Flatten"]
        stored = [key for key in arrays["Flatten"] if ".var." in key]
        assert bool(stored) == hints and bool(entry["hints"]) == hints


@pytest.mark.slow
def test_a_set_generated_without_hints_is_checked_as_such(tmp_path):
    from reference.check import check_fixture_set
    from reference.build import hints_disabled
    from reference.generate import main
    assert main(["--seed", "7", "--out", str(tmp_path), "--no-hints"]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert hints_disabled(manifest) and '"variants"' not in json.dumps(manifest)
    assert check_fixture_set(tmp_path) == []
