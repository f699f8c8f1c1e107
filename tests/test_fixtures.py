"""The fixture generator, the committed fixture set and its verification."""
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autograder.fixtures import DEFAULT_FIXTURES, MANIFEST_NAME, FixtureError, load_fixture_set, validate_manifest
from autograder.sandbox import Limits, build_request
from reference.cases import ITEM_BUILDERS
from reference.generate import DEFAULT_SEED, build_fixture_set, check_fixture_set, npz_bytes

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_SIZE_LIMIT = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def public_set():
    return build_fixture_set(DEFAULT_SEED)


@pytest.fixture
def fixture_copy(tmp_path):
    target = tmp_path / "fixtures"
    shutil.copytree(DEFAULT_FIXTURES, target)
    return target


def test_generation_is_byte_stable(public_set):
    manifest, files, _ = build_fixture_set(DEFAULT_SEED)
    assert files == public_set[1]
    assert manifest == public_set[0]


def test_committed_fixtures_match_the_reference():
    assert check_fixture_set(DEFAULT_FIXTURES) == []


def test_check_command_passes_on_a_clean_tree():
    run = subprocess.run([sys.executable, "-m", "reference.generate", "--check"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_every_rubric_item_has_a_fixture_file_with_at_least_three_cases(public_set):
    manifest = public_set[0]
    rubric = json.loads((ROOT / "autograder" / "rubric.json").read_text())
    assert list(manifest["items"]) == [i["name"] for i in rubric["items"]] == list(ITEM_BUILDERS)
    for item, entry in manifest["items"].items():
        assert len(entry["cases"]) >= 3, item
        assert len({c["name"] for c in entry["cases"]}) == len(entry["cases"]), item


def test_public_fixtures_are_small():
    total = sum(p.stat().st_size for p in DEFAULT_FIXTURES.iterdir())
    assert total < PUBLIC_SIZE_LIMIT


def test_every_fixture_loads_without_pickle():
    manifest = json.loads((DEFAULT_FIXTURES / MANIFEST_NAME).read_text())
    for entry in manifest["items"].values():
        with np.load(DEFAULT_FIXTURES / entry["file"], allow_pickle=False) as archive:
            for key in archive.files:
                assert archive[key].dtype == np.float64, key


def test_another_seed_draws_other_shapes(public_set):
    manifest = build_fixture_set(DEFAULT_SEED + 1)[0]
    differing = [item for item, entry in manifest["items"].items()
                 if [c["shapes"] for c in entry["cases"]]
                 != [c["shapes"] for c in public_set[0]["items"][item]["cases"]]]
    assert len(differing) >= len(manifest["items"]) // 2, differing


def tamper_array(path, key):
    """Rewrite one array of an .npz with a changed element, keeping everything else."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays[key] = arrays[key].copy()
    arrays[key].flat[0] += 1.0
    path.write_bytes(npz_bytes({k.removesuffix(".npy"): v for k, v in arrays.items()}))


def test_check_names_a_tampered_array_and_file(fixture_copy):
    tamper_array(fixture_copy / "Conv1d.npz", "stride_remainder.out.0")
    problems = check_fixture_set(fixture_copy)
    assert any("Conv1d.npz" in p and "stride_remainder.out.0" in p for p in problems), problems
    assert any("sha256" in p and "Conv1d.npz" in p for p in problems), problems
    run = subprocess.run([sys.executable, "-m", "reference.generate", "--check", "--out", str(fixture_copy)],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 1 and "stride_remainder.out.0" in run.stderr


def test_check_detects_a_tampered_sha256(fixture_copy):
    manifest = json.loads((fixture_copy / MANIFEST_NAME).read_text())
    manifest["items"]["Flatten"]["sha256"] = "0" * 64
    (fixture_copy / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n")
    problems = check_fixture_set(fixture_copy)
    assert any("Flatten.npz" in p and "sha256" in p for p in problems), problems


def test_loader_refuses_a_modified_file_and_names_it(fixture_copy):
    tamper_array(fixture_copy / "MaxPool2d.npz", "stride_ge_kernel.in.A")
    with pytest.raises(FixtureError, match=r"MaxPool2d\.npz.*sha256"):
        load_fixture_set(fixture_copy)


def test_loader_refuses_a_manifest_that_fails_its_schema(fixture_copy):
    manifest = json.loads((fixture_copy / MANIFEST_NAME).read_text())
    manifest["items"]["Conv1d"]["tolerance"]["rtol"] = "loose"
    (fixture_copy / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(FixtureError, match=r"manifest\.json.*rtol"):
        load_fixture_set(fixture_copy)


def test_loader_refuses_a_pickled_array(fixture_copy):
    path = fixture_copy / "Flatten.npz"
    with zipfile.ZipFile(path, "a") as archive:
        with archive.open("evil.npy", "w") as member:
            np.lib.format.write_array(member, np.array([object()], dtype=object), allow_pickle=True)
    manifest = json.loads((fixture_copy / MANIFEST_NAME).read_text())
    manifest["items"]["Flatten"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (fixture_copy / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(FixtureError, match=r"Flatten\.npz"):
        load_fixture_set(fixture_copy)


@pytest.mark.parametrize("broken", [
    {"format_version": 2},
    {"items": {}},
    {"seed": "eleven"},
])
def test_manifest_schema_rejects_malformed_manifests(public_set, broken):
    manifest = {**public_set[0], **broken}
    with pytest.raises(FixtureError):
        validate_manifest(manifest, source="test")


def test_schema_accepts_the_generated_manifest(public_set):
    validate_manifest(public_set[0], source="test")


def test_child_requests_carry_inputs_only():
    """Expected values never enter the process that runs student code."""
    fixture_set = load_fixture_set(DEFAULT_FIXTURES)
    for cases in fixture_set.items.values():
        for case in cases:
            request = build_request(ROOT / "student_template", case, Limits())
            assert set(request) == {"submission", "limits", "program", "arrays"}
            assert set(request["arrays"]) == set(case.inputs())
            expected_keys = {c["expected"] for c in case.checks if "expected" in c}
            assert expected_keys and not expected_keys & set(case.inputs())
            text = json.dumps(request)
            assert ".out." not in text and ".ref." not in text
