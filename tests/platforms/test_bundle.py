"""The student handout zip: what it holds, what it must never hold, and that it works on its own."""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from autograder.archives.extract import extract_archive
from autograder.platforms.bundle import BundleError, DEFAULT_PREFIX, check_contents, public_fixture_files
from helpers import COMPLETE, ITEMS, ROOT

EXPECTED_TOP = {"README.md", "autograder", "fixtures", "handout", "requirements.txt", "runner.py", "student_template"}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "handout.zip"
    done = subprocess.run([sys.executable, "-m", "autograder.platforms.bundle", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        contents = {name: archive.read(name) for name in names}
    return out, names, contents


def relative(name):
    path = PurePosixPath(name)
    assert path.parts[0] == DEFAULT_PREFIX, name
    return PurePosixPath(*path.parts[1:])


@pytest.mark.slow
def test_bundle_holds_the_handout_and_nothing_else(bundle):
    _, names, contents = bundle
    paths = [relative(name) for name in names]
    assert {p.parts[0] for p in paths} == EXPECTED_TOP
    for path in paths:
        assert not {"reference", "tests", "__pycache__", ".pytest_cache", "hidden"} & set(path.parts), path
        assert path.suffix not in (".pyc", ".pyo")
        assert path.suffix != ".npz" or path.parts[0] == "fixtures", path
    # exactly the public fixture set: its manifest and the files it lists, byte for byte
    manifest = json.loads((ROOT / "fixtures" / "manifest.json").read_text())
    fixture_files = {str(p) for p in paths if p.parts[0] == "fixtures"}
    assert fixture_files == {"fixtures/manifest.json"} | {f"fixtures/{e['file']}" for e in manifest["items"].values()}
    # every bundled file is the repository's file, unchanged (the README is generated)
    for name, data in contents.items():
        path = relative(name)
        if str(path) != "README.md":
            assert (ROOT / path).read_bytes() == data, path
    repo_template = {p.relative_to(ROOT).as_posix() for p in (ROOT / "student_template").rglob("*.py")
                     if "__pycache__" not in p.parts}
    assert repo_template and repo_template <= {str(p) for p in paths}
    readme = contents[f"{DEFAULT_PREFIX}/README.md"].decode()
    assert "python runner.py" in readme and "handout/api.md" in readme


@pytest.mark.slow
def test_bundle_is_deterministic(bundle, tmp_path):
    out, _, _ = bundle
    again = tmp_path / "again.zip"
    subprocess.run([sys.executable, "-m", "autograder.platforms.bundle", "--out", str(again)], cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.slow
def test_unpacked_bundle_grades_the_template_without_the_repository(bundle, tmp_path):
    out, _, _ = bundle
    unpacked = extract_archive(out, tmp_path / "unpacked") / DEFAULT_PREFIX  # also: the handout passes our own checks
    assert not (unpacked / "reference").exists() and not (unpacked / "tests").exists()
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run([sys.executable, "runner.py", "--json", "report.json"], cwd=unpacked, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    last = json.loads(done.stdout.rstrip("\n").splitlines()[-1])
    assert last["scoreboard"] == [0.0, 0.0]
    assert last["scores"] == {name: 0.0 for name in ITEMS}
    report = json.loads((unpacked / "report.json").read_text())
    assert report["status"] == "graded" and Path(report["fixture_set"]["path"]).parent == unpacked
    # the template is stubs: every item is "not implemented", not broken
    assert {item["status"] for item in report["items"]} == {"not_implemented"}


@pytest.mark.parametrize("name, data, problem", [
    ("reference/conv1d.py", b"x = 1\n", "reference/ is never bundled"),
    ("tests/e2e/test_runner.py", b"x = 1\n", "tests/ is never bundled"),
    ("autograder/hidden/Flatten.npz", b"PK", "fixture data outside fixtures/"),
    ("hidden/manifest.json", b"{}", "hidden/ is never bundled"),
    ("handout/manifest.json", b"{}", "a fixture manifest outside fixtures/"),
])
def test_forbidden_content_stops_the_build(name, data, problem):
    with pytest.raises(BundleError, match=problem):
        check_contents({"runner.py": b"", name: data}, ROOT)


def test_a_copy_of_a_reference_file_stops_the_build():
    source = ROOT / "reference" / "conv1d.py"
    with pytest.raises(BundleError, match="identical to reference/conv1d.py"):
        check_contents({"student_template/mytorch/conv1d.py": source.read_bytes()}, ROOT)


def test_only_the_public_fixture_set_is_bundled(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(ROOT / "fixtures", root / "fixtures")
    (root / "fixtures" / "Extra.npz").write_bytes(b"stray")  # not in the manifest: not bundled
    files = public_fixture_files(root)
    assert "fixtures/Extra.npz" not in files and "fixtures/manifest.json" in files
    manifest = json.loads((root / "fixtures" / "manifest.json").read_text())
    manifest["seed"] += 1  # a hidden set generated over fixtures/ by mistake
    (root / "fixtures" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="not the public seed"):
        public_fixture_files(root)


@pytest.mark.slow
def test_a_template_with_an_implemented_class_stops_the_build(tmp_path):
    """A solution left in student_template/ (here Flatten, from the complete solution) is not bundled."""
    repo = tmp_path / "repo"
    for folder in ("autograder", "fixtures", "handout", "student_template"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("runner.py", "requirements.txt"):
        shutil.copy(ROOT / name, repo / name)
    for module in ("flatten.py", "tensor.py"):
        shutil.copy(COMPLETE / "mytorch" / module, repo / "student_template" / "mytorch" / module)
    out = tmp_path / "handout.zip"
    done = subprocess.run([sys.executable, "-m", "autograder.platforms.bundle", "--out", str(out)], cwd=repo,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and not out.exists()
    assert "student_template/ is not a template" in done.stderr and "Flatten (class Flatten: passed" in done.stderr
    assert done.stderr.count("\n") == 1 and "Conv1d" not in done.stderr  # one line; only what is implemented
