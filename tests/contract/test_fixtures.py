"""The fixture generator, the committed fixture set and its verification."""
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autograder.contract.fixtures import DEFAULT_FIXTURES, MANIFEST_NAME, FixtureError, load_fixture_set, validate_manifest
from autograder.sandbox import Limits, build_request
from reference.items import ITEMS
from helpers import ROOT, RUBRIC
from reference.check import check_fixture_set
from reference.build import DEFAULT_SEED, build_fixture_set, npz_bytes

PUBLIC_SIZE_LIMIT = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def public_set():
    return build_fixture_set(DEFAULT_SEED)


@pytest.fixture
def fixture_copy(tmp_path):
    target = tmp_path / "fixtures"
    shutil.copytree(DEFAULT_FIXTURES, target)
    return target


@pytest.mark.slow
def test_generation_is_byte_stable(public_set):
    manifest, files, _ = build_fixture_set(DEFAULT_SEED)
    assert files == public_set[1]
    assert manifest == public_set[0]


@pytest.mark.slow
def test_committed_fixtures_match_the_reference():
    assert check_fixture_set(DEFAULT_FIXTURES) == []


@pytest.mark.slow
def test_check_command_passes_on_a_clean_tree():
    run = subprocess.run([sys.executable, "-m", "reference.generate", "--check"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "match the reference" in run.stdout


def test_every_rubric_item_has_a_fixture_file_with_at_least_three_cases(public_set):
    manifest = public_set[0]
    assert list(manifest["items"]) == RUBRIC.names == [item.name for item in ITEMS]
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


@pytest.mark.slow
def test_another_seed_draws_other_shapes(public_set):
    manifest = build_fixture_set(DEFAULT_SEED + 1)[0]
    differing = [item for item, entry in manifest["items"].items()
                 if [c["shapes"] for c in entry["cases"]]
                 != [c["shapes"] for c in public_set[0]["items"][item]["cases"]]]
    assert len(differing) >= len(manifest["items"]) // 2, differing


def tamper_array(path, key, change=lambda a: a.flat.__setitem__(0, a.flat[0] + 1.0)):
    """Rewrite one array of an .npz (``change`` edits a copy in place), keeping everything else."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays[key] = arrays[key].copy()
    change(arrays[key])
    path.write_bytes(npz_bytes({k.removesuffix(".npy"): v for k, v in arrays.items()}))


def edit_manifest(root, edit):
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    edit(manifest)
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n")


def rehash(root, item):
    """Record the file's new sha256 in the manifest, as someone regenerating on another machine would."""
    digest = hashlib.sha256((root / f"{item}.npz").read_bytes()).hexdigest()
    edit_manifest(root, lambda m: m["items"][item].__setitem__("sha256", digest))


def check_command(fixtures, **env_changes):
    env = {key: value for key, value in os.environ.items() if key not in env_changes}
    env.update({key: value for key, value in env_changes.items() if value is not None})
    return subprocess.run([sys.executable, "-m", "reference.generate", "--check", "--out", str(fixtures)],
                          cwd=ROOT, capture_output=True, text=True, env=env)


def add_ulps(array, ulps, index=0):
    array.flat[index] = np.float64(array.flat[index]) + ulps * np.spacing(np.float64(array.flat[index]))


@pytest.mark.slow
def test_check_names_a_tampered_array_and_file(fixture_copy):
    tamper_array(fixture_copy / "Conv1d.npz", "stride_remainder.out.0")
    problems = check_fixture_set(fixture_copy)
    assert any("Conv1d.npz" in p and "stride_remainder.out.0" in p for p in problems), problems
    assert any("sha256" in p and "Conv1d.npz" in p for p in problems), problems
    run = check_command(fixture_copy)
    assert run.returncode == 1 and "stride_remainder.out.0" in run.stderr


@pytest.mark.slow
def test_check_detects_a_tampered_sha256(fixture_copy):
    edit_manifest(fixture_copy, lambda m: m["items"]["Flatten"].__setitem__("sha256", "0" * 64))
    problems = check_fixture_set(fixture_copy)
    assert problems == [f"{fixture_copy / 'Flatten.npz'}: sha256 does not match the one the manifest records "
                        f"(item Flatten)"]


@pytest.mark.slow
def test_computed_values_within_the_reproduction_tolerance_pass(fixture_copy):
    """Another BLAS kernel sums in another order: the last bits of expectations move, the check passes."""
    def nudge(array):
        for index in range(0, array.size, 3):
            add_ulps(array, 40, index)
    tamper_array(fixture_copy / "Conv2d_stride1.npz", "general_non_square.out.0", nudge)
    rehash(fixture_copy, "Conv2d_stride1")
    assert check_fixture_set(fixture_copy) == []


@pytest.mark.slow
@pytest.mark.parametrize("relative", [1e-9, 1e-6])
def test_an_expectation_moved_beyond_the_reproduction_tolerance_fails(fixture_copy, relative):
    key = "stride_remainder.out.2"
    tamper_array(fixture_copy / "Conv1d.npz", key, lambda a: a.__imul__(1 + relative))
    rehash(fixture_copy, "Conv1d")
    problems = check_fixture_set(fixture_copy)
    assert len(problems) == 1 and "Conv1d.npz" in problems[0] and key in problems[0], problems
    assert "reproduction tolerance" in problems[0] and "max abs diff" in problems[0]


@pytest.mark.slow
@pytest.mark.parametrize("key", ["stride_remainder.in.A", "stride_remainder.in.W"])
def test_an_input_one_ulp_off_fails(fixture_copy, key):
    tamper_array(fixture_copy / "Conv1d.npz", key, lambda a: add_ulps(a, 1, a.size // 2))
    rehash(fixture_copy, "Conv1d")
    problems = check_fixture_set(fixture_copy)
    assert len(problems) == 1 and key in problems[0] and "bit-identical" in problems[0], problems
    with np.load(fixture_copy / "Conv1d.npz", allow_pickle=False) as archive:
        shape = archive[key].shape
    where = [int(i) for i in np.unravel_index(int(np.prod(shape)) // 2, shape)]
    assert f"differs in 1 of {int(np.prod(shape))} elements" in problems[0] and f"first at {where}" in problems[0]


@pytest.mark.slow
def test_a_missing_or_extra_array_fails(fixture_copy):
    with np.load(fixture_copy / "Flatten.npz", allow_pickle=False) as archive:
        arrays = {k.removesuffix(".npy"): archive[k] for k in archive.files}
    removed = sorted(arrays)[0]
    del arrays[removed]
    arrays["bogus.out.0"] = np.zeros(3)
    (fixture_copy / "Flatten.npz").write_bytes(npz_bytes(arrays))
    rehash(fixture_copy, "Flatten")
    problems = check_fixture_set(fixture_copy)
    assert any(f"array '{removed}' is missing" in p for p in problems), problems
    assert any("unexpected array 'bogus.out.0'" in p for p in problems), problems


@pytest.mark.slow
def test_a_missing_item_file_fails(fixture_copy):
    (fixture_copy / "Flatten.npz").unlink()
    assert check_fixture_set(fixture_copy) == [f"{fixture_copy / 'Flatten.npz'}: missing (item Flatten)"]


@pytest.mark.slow
@pytest.mark.parametrize("edit, where", [
    (lambda m: m["items"].pop("Flatten"), "/items/Flatten: missing"),
    (lambda m: m["items"].__setitem__("Extra", m["items"]["Flatten"]), "/items/Extra: not in the regenerated"),
    (lambda m: m["items"]["Conv1d"]["cases"].pop(), "/items/Conv1d/cases: "),
    (lambda m: m["items"]["Conv1d"]["tolerance"].__setitem__("rtol", 1.0000000000000002e-06),
     "/items/Conv1d/tolerance/rtol: committed 1.0000000000000002e-06"),
    (lambda m: m["items"]["Conv1d"]["cases"][0]["hyperparameters"].__setitem__("stride", 3),
     "/items/Conv1d/cases/0/hyperparameters/stride: committed 3, regenerated 2"),
    (lambda m: m["items"]["Conv1d"]["cases"][0]["program"]["args"].__setitem__(0, 2.0),
     "/items/Conv1d/cases/0/program/args/0: committed 2.0, regenerated 2"),
    (lambda m: m.__setitem__("generator_version", "0.9"), "/generator_version: committed \"0.9\""),
], ids=["missing item", "extra item", "missing case", "tolerance", "hyperparameter", "int vs float", "metadata"])
def test_any_change_to_what_defines_a_case_fails(fixture_copy, edit, where):
    edit_manifest(fixture_copy, edit)
    problems = check_fixture_set(fixture_copy)
    assert any(where in p for p in problems), problems


def cpu_supports(coretype):
    """Whether this CPU can run OpenBLAS's kernel for ``coretype`` (a kernel it cannot run would crash)."""
    needs = {"Prescott": "sse3", "Sandybridge": "avx", "Haswell": "avx2", "Zen": "avx2", "SkylakeX": "avx512f"}
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return False
    return needs[coretype] in flags.split(":", 1)[1].split() or (needs[coretype] == "sse3" and "pni" in flags)


OPENBLAS_CORETYPES = ["Haswell", "SkylakeX", "Zen", "Sandybridge", "Prescott"]


@pytest.mark.slow
def test_check_passes_under_every_openblas_kernel():
    """OpenBLAS picks a kernel per CPU, and with it the summation order: the committed set must check on all."""
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the OpenBLAS core types named here are x86-64 kernels")
    supported = [coretype for coretype in OPENBLAS_CORETYPES if cpu_supports(coretype)]
    assert len(supported) >= 3, f"this CPU runs only {supported}"
    for coretype in [None, *supported]:  # None: the variable unset, OpenBLAS's own choice
        run = check_command(DEFAULT_FIXTURES, OPENBLAS_CORETYPE=coretype)
        assert run.returncode == 0, f"OPENBLAS_CORETYPE={coretype}:\n{run.stderr}"
        assert "match the reference" in run.stdout


def test_loader_refuses_a_modified_file_and_names_it(fixture_copy):
    tamper_array(fixture_copy / "MaxPool2d.npz", "stride_ge_kernel.in.A")
    with pytest.raises(FixtureError, match=r"MaxPool2d\.npz.*sha256"):
        load_fixture_set(fixture_copy)


def test_loader_refuses_a_manifest_that_fails_its_schema(fixture_copy):
    edit_manifest(fixture_copy, lambda m: m["items"]["Conv1d"]["tolerance"].__setitem__("rtol", "loose"))
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


@pytest.mark.slow
@pytest.mark.parametrize("broken", [
    {"format_version": 1},
    {"items": {}},
    {"seed": "eleven"},
    {"rubric": {"name": "HW2P1 mytorch", "version": "1.0.0"}},
])
def test_manifest_schema_rejects_malformed_manifests(public_set, broken):
    manifest = {**public_set[0], **broken}
    with pytest.raises(FixtureError):
        validate_manifest(manifest, source="test")


def test_an_item_without_cases_is_refused_naming_it(fixture_copy):
    """A rubric item with no graded case is a harness error, never a silent zero."""
    edit_manifest(fixture_copy, lambda m: m["items"]["Flatten"].__setitem__("cases", []))
    with pytest.raises(FixtureError, match=r"manifest\.json.* at items/Flatten/cases"):
        load_fixture_set(fixture_copy)


def test_section_maxima_must_be_the_sum_of_their_items(fixture_copy):
    edit_manifest(fixture_copy, lambda m: m["items"]["Flatten"].__setitem__("points", 6))
    with pytest.raises(FixtureError, match=r"main section's maximum is 100, but its items' points add up to 101"):
        load_fixture_set(fixture_copy)


def test_schema_accepts_the_generated_manifest(public_set):
    validate_manifest(public_set[0], source="test")


def test_child_requests_carry_inputs_only():
    """Expected values never enter the process that runs student code."""
    fixture_set = load_fixture_set(DEFAULT_FIXTURES)
    for cases in fixture_set.items.values():
        for case in cases:
            code = (("mytorch/conv1d.py", b"source", b"compiled"),)  # the compiled package (precompiled.py)
            request = build_request(ROOT / "student_template", case, Limits(), code=code)
            assert set(request) == {"submission", "limits", "created_files", "user", "program", "arrays", "code"}
            assert request["code"] == list(code)
            assert set(request["arrays"]) == set(case.inputs())
            expected_keys = {c["expected"] for c in case.checks if "expected" in c}
            assert expected_keys and not expected_keys & set(case.inputs())
            text = json.dumps({key: value for key, value in request.items() if key != "code"})
            assert ".out." not in text and ".ref." not in text and ".var." not in text


@pytest.mark.slow
def test_regenerating_keeps_files_whose_content_is_unchanged(fixture_copy):
    """Another machine's BLAS moves the last bits: regenerating rewrites only what really changed."""
    def nudge(array):
        add_ulps(array, 40, 0)
    tamper_array(fixture_copy / "Conv2d_stride1.npz", "general_non_square.out.0", nudge)   # within tolerance
    tamper_array(fixture_copy / "Conv1d.npz", "stride_remainder.out.2", lambda a: a.__imul__(1 + 1e-6))  # beyond
    rehash(fixture_copy, "Conv2d_stride1")
    rehash(fixture_copy, "Conv1d")
    nudged = (fixture_copy / "Conv2d_stride1.npz").read_bytes()
    untouched = (fixture_copy / "Flatten.npz").read_bytes()
    run = subprocess.run([sys.executable, "-m", "reference.generate", "--out", str(fixture_copy)],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "wrote 1 fixture files, kept 20 with the same content" in run.stdout
    assert (fixture_copy / "Conv2d_stride1.npz").read_bytes() == nudged
    assert (fixture_copy / "Flatten.npz").read_bytes() == untouched
    assert check_fixture_set(fixture_copy) == []


@pytest.mark.slow
def test_a_hidden_seed_is_refused_for_the_public_folder_unless_forced(tmp_path):
    """``--seed SECRET`` without ``--out`` would overwrite the public fixtures/ the handout ships."""
    repo = tmp_path / "repo"
    for folder in ("autograder", "reference", "fixtures"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = (repo / "fixtures" / "manifest.json").read_bytes()
    for out in ([], ["--out", "fixtures"], ["--out", str(repo / "fixtures" / ".." / "fixtures")]):
        run = subprocess.run([sys.executable, "-m", "reference.generate", "--seed", "4242", *out], cwd=repo,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 2 and "refusing to write seed 4242" in run.stderr and "--force" in run.stderr
        assert run.stderr.count("\n") == 1 and (repo / "fixtures" / "manifest.json").read_bytes() == manifest
    run = subprocess.run([sys.executable, "-m", "reference.generate", "--seed", "4242", "--force"], cwd=repo,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads((repo / "fixtures" / "manifest.json").read_text())["seed"] == 4242


def test_a_manifest_that_passed_its_schema_is_recorded_and_a_changed_one_checked_again(fixture_copy, tmp_path,
                                                                                        monkeypatch):
    from autograder.contract import documents
    from autograder.contract import verified
    from autograder.contract.fixtures import read_manifest
    cache = tmp_path / "cache"
    monkeypatch.setenv(verified.CACHE_ENV, str(cache))
    read_manifest(fixture_copy)
    assert len(list(cache.glob("verified-*"))) == 1
    checked = []
    monkeypatch.setattr(documents, "validate_document", lambda *args: checked.append(args))
    read_manifest(fixture_copy)
    assert checked == []  # the recorded pass: no schema check (and no jsonschema import)
    monkeypatch.undo()
    monkeypatch.setenv(verified.CACHE_ENV, str(cache))
    edit_manifest(fixture_copy, lambda m: m["items"]["Conv1d"]["tolerance"].__setitem__("rtol", "loose"))
    with pytest.raises(FixtureError, match=r"manifest\.json.*rtol"):
        read_manifest(fixture_copy)
    assert len(list(cache.glob("verified-*"))) == 1  # a refusal leaves no marker


def test_a_marker_in_a_folder_others_may_write_is_ignored(tmp_path, monkeypatch):
    from autograder.contract import verified
    cache = tmp_path / "cache"
    monkeypatch.setenv(verified.CACHE_ENV, str(cache))
    verified.remember(b"schema", b"document")
    assert verified.is_verified(b"schema", b"document")
    assert not verified.is_verified(b"schema", b"document!")
    cache.chmod(0o777)
    assert not verified.is_verified(b"schema", b"document")
    monkeypatch.setenv(verified.CACHE_ENV, "off")
    assert not verified.is_verified(b"schema", b"document")


def test_the_fast_npz_reader_gives_what_np_load_gives_or_nothing(tmp_path):
    """autograder.contract.npz reads the generator's plain form exactly as np.load does, and declines anything else
    (the loader then uses np.load, which reports what is wrong)."""
    import io
    import zipfile
    from autograder.contract.npz import read_npz
    for path in sorted(DEFAULT_FIXTURES.glob("*.npz")):
        data = path.read_bytes()
        fast = read_npz(data)
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            slow = {key: archive[key] for key in archive.files}
        assert fast is not None and fast.keys() == slow.keys(), path
        for key, value in slow.items():
            assert (fast[key].dtype, fast[key].shape, fast[key].tobytes()) == (value.dtype, value.shape,
                                                                               value.tobytes())
            assert fast[key].flags.writeable and fast[key].flags.owndata
    plain = {"s": np.float64(2.5), "v": np.arange(3.0), "m": np.ones((2, 3)), "e": np.zeros((0, 4))}
    others = {"f32": np.arange(3, dtype=np.float32), "big": np.arange(3.0).astype(">f8"),
              "fortran": np.asfortranarray(np.ones((2, 3))), "ints": np.arange(3)}

    def npz(arrays, save=np.savez):
        buffer = io.BytesIO()
        save(buffer, **arrays)
        return buffer.getvalue()

    read = read_npz(npz(plain))
    assert read is not None and {k: (v.shape, v.tolist()) for k, v in read.items()} == \
        {k: (np.shape(v), np.asarray(v).tolist()) for k, v in plain.items()}
    for name, array in others.items():
        assert read_npz(npz({**plain, name: array})) is None, name
    assert read_npz(npz(plain, np.savez_compressed)) is None
    assert read_npz(b"not a zip") is None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # data longer than the header's shape says
        one = io.BytesIO()
        np.save(one, np.arange(3.0))
        archive.writestr("x.npy", one.getvalue() + b"\0" * 8)
    assert read_npz(buffer.getvalue()) is None


def test_the_fast_zip_reader_reads_what_zipfile_reads_or_declines():
    """autograder.contract.npz.stored_members gives zipfile's members of a fixture file, and for an archive
    damaged anywhere (end record, directory, headers, data) either exactly what zipfile reads or None."""
    import io
    import random
    import zipfile
    from autograder.contract.npz import stored_members

    def with_zipfile(data):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return [(info.filename, archive.read(info)) for info in archive.infolist()]
        except Exception as error:  # what zipfile refuses must be declined
            return error

    files = [path.read_bytes() for path in sorted(DEFAULT_FIXTURES.glob("*.npz"))]
    for data in files:
        assert stored_members(data) == with_zipfile(data)
    small = min(files, key=len)
    rng = random.Random(11785)
    accepted = 0
    for _ in range(3000):
        data = bytearray(small)
        for _ in range(rng.randint(1, 3)):
            where = rng.choice([len(data) - rng.randint(1, 400), rng.randrange(min(len(data), 4000)),
                                rng.randrange(len(data))])
            change = rng.random()
            if change < 0.7:
                data[where] = rng.randrange(256)
            elif change < 0.85:
                del data[where]
            else:
                data[where:where] = bytes([rng.randrange(256)])
        if rng.random() < 0.05:
            del data[rng.randrange(len(data)):]
        members = stored_members(bytes(data))
        if members is not None:
            accepted += 1
            assert members == with_zipfile(bytes(data))
    assert accepted  # some damage (a date, an attribute) is harmless, and then both read the same
    assert stored_members(b"") is None and stored_members(b"PK\x05\x06" + bytes(18)) == []
