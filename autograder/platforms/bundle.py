"""Build the student handout: ``python -m autograder.platforms.bundle --out handout.zip``.

The zip holds, under one top folder (``--prefix``, default ``hw2p1``):
``student_template/``, ``runner.py``, ``autograder/`` (without caches),
the public ``fixtures/`` (only the files its manifest lists), ``handout/``,
``requirements.txt`` and a short generated ``README.md``.

It never holds ``reference/``, ``tests/`` or another fixture set: the file
list is built from an allow-list and then checked again (any ``.npz`` or
``manifest.json`` outside ``fixtures/``, any file whose bytes equal a file of
``reference/`` or of the project's tests, or a ``fixtures/`` whose seed is not
the public one stops the build).  The template must be a template: it is
graded on the public fixtures before anything is written, and every rubric
item must come out TODO (every case raising ``NotImplementedError``); an item
that passes, fails or crashes means a solution (or a broken stub) was left in
``student_template/`` and stops the build, naming the item and its classes.
The zip is deterministic: sorted entries, fixed timestamps and permissions.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from autograder import ROOT
from autograder.errors import GRADED, GraderError, exit_status

ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
DEFAULT_PREFIX = "hw2p1"
FOLDERS = ("student_template", "autograder", "handout")
FILES = ("runner.py", "requirements.txt")
FORBIDDEN_TOP = ("reference", "tests", ".git", ".ci", "hidden")
SKIPPED_NAMES = ("__pycache__", ".pytest_cache", ".DS_Store")
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".orig", ".rej", ".swp")
LEAK_MIN_BYTES = 64  # identical tiny files (an empty __init__.py) are not leaks

README = """\
# HW2P1: mytorch (CNN) - handout

You implement `mytorch`, a small CNN library written with the Python standard
library only (tensors are nested lists of floats; NumPy is not available while
grading). Your code goes in `student_template/mytorch/`; every graded method is
a stub that raises `NotImplementedError`. The exact classes, signatures and
attributes are in `handout/api.md`.

## Grade yourself

```bash
python -m pip install -r requirements.txt   # numpy, pytest, pytest-timeout, jsonschema (the grader's own needs)
python runner.py                            # grade student_template/ on the public fixtures
python runner.py --list                     # the rubric: items, points, policy
python runner.py --only Conv1d_stride1 -v   # one item, every failing case in full
python runner.py --json report.json         # the full report as JSON
python -m pytest autograder/ -k conv1d -x   # the same graded tests through pytest
```

Each item prints PASS/FAIL/TODO with its points; the details of every failure
follow (the case, the quantity, how many elements differ, where and by how
much), then `Total score: X/{main_max:g} (+B/{bonus_max:g} bonus)`. The exit code is 0
whenever grading ran; 2 means the grader could not run.

Your code runs in a sandbox: one process per case, a time limit per case
({timeout:g} s of CPU), no network, no subprocesses, no files outside a scratch folder.
Submissions may be graded with a different fixture set of the same
structure (other sizes and values), so a solution must compute its results,
not recognise the public ones.

## Contents

| path | what it is |
| --- | --- |
| `student_template/mytorch/` | your package (edit these files) |
| `handout/` | the writeup; `handout/api.md` is the API contract |
| `fixtures/` | the public test cases (`manifest.json` + one `.npz` per item) |
| `autograder/`, `runner.py` | the grader (do not edit: the course's copy is used) |

## Submitting

Submit your `mytorch/` folder (for example `zip -r handin.zip mytorch`, run in
`student_template/`). A `.zip`, `.tar` or `.tar.gz` holding `mytorch/` at its
top or one folder down is accepted; links, absolute paths and archives over
{archive_mib:g} MiB are rejected.
"""


class BundleError(GraderError):
    """The handout would be incomplete or would leak something it must not contain."""


def wanted(relative: str) -> bool:
    parts = PurePosixPath(relative).parts
    if any(p in SKIPPED_NAMES for p in parts) or any(p.startswith(".") for p in parts):
        return False
    return not relative.endswith(SKIPPED_SUFFIXES)


def tree_files(root: Path, folder: str) -> dict[str, bytes]:
    base = root / folder
    if not base.is_dir():
        raise BundleError(f"{base}: missing (the handout needs it)")
    files: dict[str, bytes] = {}
    for path in sorted(base.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            raise BundleError(f"{relative}: symbolic links are not bundled")
        if path.is_file() and wanted(relative):
            files[relative] = path.read_bytes()
    return files


def public_fixture_files(root: Path) -> dict[str, bytes]:
    """fixtures/manifest.json and exactly the files it lists, after checking it is the public set."""
    from autograder.contract.fixtures import PUBLIC_SEED, FixtureError, load_fixture_set
    fixtures = root / "fixtures"
    try:
        fixture_set = load_fixture_set(fixtures)
    except FixtureError as error:
        raise BundleError(f"the public fixture set does not verify: {error}") from None
    if fixture_set.seed != PUBLIC_SEED:
        raise BundleError(f"fixtures/ holds the set of seed {fixture_set.seed}, not the public seed {PUBLIC_SEED}: "
                          f"regenerate it with 'python -m reference.generate' before bundling")
    manifest = json.loads((fixtures / "manifest.json").read_text())
    files = {"fixtures/manifest.json": (fixtures / "manifest.json").read_bytes()}
    for entry in manifest["items"].values():
        files[f"fixtures/{entry['file']}"] = (fixtures / entry["file"]).read_bytes()
    return files


def readme_text() -> str:
    from autograder.contract.fixtures import read_rubric
    from autograder.contract.rubric import Section
    sections = read_rubric(ROOT / "fixtures").sections
    from autograder.archives.extract import MiB, ArchiveLimits
    from autograder.sandbox import Limits
    return README.format(main_max=sections[Section.MAIN].max, bonus_max=sections[Section.BONUS].max,
                         timeout=Limits.timeout, archive_mib=min(ArchiveLimits.max_bytes,
                                                                ArchiveLimits.max_archive_bytes) / MiB)


def protected_digests(root: Path) -> dict[str, str]:
    """sha256 of every file under reference/ and tests/ (test submissions excepted: they legitimately
    share the template's given files) big enough to matter."""
    digests: dict[str, str] = {}
    for folder in ("reference", "tests"):
        base = root / folder
        if not base.is_dir():
            continue
        for path in base.rglob("*"):
            if path.is_relative_to(root / "tests" / "submissions"):
                continue
            if path.is_file() and not path.is_symlink() and "__pycache__" not in path.parts:
                data = path.read_bytes()
                if len(data) >= LEAK_MIN_BYTES:
                    digests[hashlib.sha256(data).hexdigest()] = path.relative_to(root).as_posix()
    return digests


def check_contents(files: Mapping[str, bytes], root: Path) -> None:
    """Raise BundleError if the file list holds anything a student must not receive."""
    problems = []
    for name in files:
        parts = PurePosixPath(name).parts
        if parts[0] in FORBIDDEN_TOP:
            problems.append(f"{name}: {parts[0]}/ is never bundled")
        if name.endswith(".npz") and parts[0] != "fixtures":
            problems.append(f"{name}: fixture data outside fixtures/ (another fixture set?)")
        if parts[-1] == "manifest.json" and name != "fixtures/manifest.json":
            problems.append(f"{name}: a fixture manifest outside fixtures/")
    digests = protected_digests(root)
    for name, data in files.items():
        source = digests.get(hashlib.sha256(data).hexdigest()) if len(data) >= LEAK_MIN_BYTES else None
        if source is not None:
            problems.append(f"{name}: identical to {source} (a reference or test file, e.g. a solution)")
    if problems:
        raise BundleError("the handout would contain what students must not get:\n  " + "\n  ".join(problems))


def collect(root: Path = ROOT) -> dict[str, bytes]:
    """{path inside the bundle: bytes}, checked."""
    root = Path(root)
    files: dict[str, bytes] = {}
    for folder in FOLDERS:
        files.update(tree_files(root, folder))
    for name in FILES:
        path = root / name
        if not path.is_file():
            raise BundleError(f"{path}: missing (the handout needs it)")
        files[name] = path.read_bytes()
    files.update(public_fixture_files(root))
    files["README.md"] = readme_text().encode()
    if not any(name.startswith("student_template/mytorch/") and name.endswith(".py") for name in files):
        raise BundleError("student_template/mytorch/ has no Python file: the template is missing")
    check_contents(files, root)
    check_template(root)
    return files


def implemented_items(root: Path) -> list[str]:
    """Each rubric item that grading ``root``'s template on its public fixtures does not find TODO, described.

    Grades in-process with :func:`autograder.grading.core.grade` (the template's code runs sandboxed, as a
    student's does).  Raises BundleError when the template cannot be graded at all.
    """
    from autograder.config import Config
    from autograder.grading.core import grade
    from autograder.contract.fixtures import FixtureError, load_fixture_set
    from autograder.grading.submission import SubmissionError, locate_package
    try:
        report = grade(locate_package(root / "student_template"), load_fixture_set(root / "fixtures"),
                       Config(fixtures=root / "fixtures"))
    except (FixtureError, SubmissionError) as error:
        raise BundleError(f"the template cannot be graded: {error}") from None
    found = []
    for item in report.items:
        if item.status != "not_implemented":
            passed = sum(case.passed for case in item.cases)
            found.append(f"{item.name} (class {', '.join(item.rubric_item.classes)}: {item.status.replace('_', ' ')}, "
                         f"{passed}/{len(item.cases)} cases passed)")
    return found


def check_template(root: Path) -> None:
    """Raise BundleError unless every item of ``root``'s student_template/ is still TODO."""
    found = implemented_items(root)
    if found:
        raise BundleError(f"student_template/ is not a template: every graded method must raise NotImplementedError, "
                          f"but grading it finds implemented: {'; '.join(found)}")


def zip_bytes(files: Mapping[str, bytes], prefix: str = DEFAULT_PREFIX) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{prefix}/{name}" if prefix else name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if name == "runner.py" else 0o100644) << 16
            info.create_system = 3
            archive.writestr(info, files[name])
    return buffer.getvalue()


def build(out: Path, prefix: str = DEFAULT_PREFIX, root: Path = ROOT) -> dict[str, bytes]:
    """Write the handout zip to ``out``; return {path: bytes} of what it holds."""
    files = collect(root)
    data = zip_bytes(files, prefix)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.partial")
    temporary.write_bytes(data)
    temporary.replace(out)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m autograder.platforms.bundle``: the exit status (a BundleError: 2, autograder/errors.py)."""
    return exit_status(build_handout, argv)


def build_handout(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.platforms.bundle", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the zip to write, e.g. handout.zip")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX,
                        help="top folder inside the zip (default %(default)s; '' for none)")
    args = parser.parse_args(argv)
    files = build(args.out, args.prefix.strip("/"))
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({len(files)} files, {size / 1e6:.2f} MB): "
          f"{', '.join(sorted({PurePosixPath(n).parts[0] for n in files}))}")
    return GRADED


if __name__ == "__main__":
    sys.exit(main())
