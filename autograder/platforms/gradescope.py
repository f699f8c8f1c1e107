"""Gradescope: build the autograder zip, and grade inside it.

    python -m autograder.platforms.gradescope --out autograder.zip [--target ubuntu-22.04|ubuntu-24.04]
        [--wheelhouse DIR] [--fixtures hidden/] [--visibility V] [--test-visibility ITEM=V ...]
        [--stdout-visibility V] [--only ITEM,...] [--timeout S] [--hidden-detail passed|kinds]
    python -m autograder.platforms.gradescope run        # what the zip's run_autograder calls
    python -m autograder.platforms.gradescope check      # what the zip's setup.sh ends with

The zip holds, at its top (Gradescope's layout): ``setup.sh``, ``run_autograder``,
``gradescope_config.json`` (the builder's options), ``runner.py``, ``autograder/``, the
public ``fixtures/``, ``wheels/`` and ``requirements-lock.txt`` (:mod:`autograder.platforms.gradescope_setup`:
the image is built without the network, with the target's released ``python3``); with
``--fixtures`` the grading set (a hidden one) goes in ``grading_fixtures/``.  Never
``reference/``, ``tests/`` or a solution (the handout's checks,
:func:`autograder.platforms.bundle.check_contents`, are applied to every file but the grading set
and the wheels).

``run`` (:mod:`autograder.platforms.gradescope_run`) grades ``$AUTOGRADER_ROOT/submission`` (default root ``/autograder``):
``mytorch/`` at its top or one folder down, or loose ``.py`` files of the package
uploaded directly (wrapped into a ``mytorch/`` package in a scratch folder), and
writes ``$AUTOGRADER_ROOT/results/results.json``, always a valid file
(:mod:`autograder.report.gradescope`), even when grading fails.  Each test's ``visibility``
and the top-level ``stdout_visibility`` come from the config.  Whatever
``--stdout-visibility`` says, what students can see of stdout is the student view
(:func:`autograder.platforms.gradescope_run.printed_report`): a hidden set's seed and values
reach stdout only while it is ``hidden`` (staff only).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autograder.errors import GRADED, exit_status
from autograder.platforms.gradescope_config import (CONFIG_NAME, STAFF_ONLY, VISIBILITIES, GradescopeBuildError,
                                                     make_config)
from autograder.platforms.gradescope_setup import DEFAULT_TARGET, TARGETS, WheelError
from autograder.report.visibility import HIDDEN_DETAILS
from autograder import ROOT

ROOT_ENV = "AUTOGRADER_ROOT"
DEFAULT_AUTOGRADER_ROOT = Path("/autograder")
GRADING_FIXTURES = "grading_fixtures"
EXECUTABLES = ("setup.sh", "run_autograder")
RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: grades $ROOT/submission, writes $ROOT/results/results.json.
# AUTOGRADER_ROOT (default /autograder) and AUTOGRADER_PYTHON are for trying it outside Gradescope.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-}"
if [ -z "$PYTHON" ]; then
  if [ -x "$ROOT/venv/bin/python" ]; then PYTHON="$ROOT/venv/bin/python"; else PYTHON=python3; fi
fi
mkdir -p "$ROOT/results"
rm -f "$ROOT/results/results.json"
cd "$ROOT/source" && AUTOGRADER_ROOT="$ROOT" "$PYTHON" -m autograder.platforms.gradescope run
if [ ! -s "$ROOT/results/results.json" ]; then  # Python itself could not run: still a valid file
  cat > "$ROOT/results/results.json" <<'EOF'
{"score": 0, "execution_time": 0, "output": "Grading error: the autograder could not start. Score: 0.",
 "output_format": "text", "test_output_format": "text", "test_name_format": "text",
 "tests": [{"name": "Grading error", "score": 0, "max_score": 0, "status": "failed", "visibility": "visible",
            "output": "The autograder could not start; no points were awarded. Please contact the course staff.",
            "output_format": "text", "name_format": "text"}]}
EOF
fi
exit 0
"""


def fixture_files(source: Path, target: str) -> dict[str, bytes]:
    """A verified fixture set's manifest and the files it lists, under ``target/``."""
    from autograder.contract.fixtures import FixtureError, load_fixture_set
    try:
        load_fixture_set(source)
    except FixtureError as error:
        raise GradescopeBuildError(f"the fixture set {source} does not verify: {error}") from None
    manifest = json.loads((source / "manifest.json").read_text())
    files = {f"{target}/manifest.json": (source / "manifest.json").read_bytes()}
    for entry in manifest["items"].values():
        files[f"{target}/{entry['file']}"] = (source / entry["file"]).read_bytes()
    return files


def collect(config: Mapping[str, Any], grading_fixtures: Path | None = None, root: Path = ROOT,
            wheelhouse: Path | None = None) -> dict[str, bytes]:
    """{path inside the zip: bytes}, checked like the student handout; the wheels fetched for the
    config's target (:func:`autograder.platforms.gradescope_setup.wheel_files`)."""
    from autograder.platforms.bundle import BundleError, check_contents, public_fixture_files, tree_files
    from autograder.platforms.gradescope_setup import setup_sh, wheel_files
    try:
        files = tree_files(root, "autograder")
        files["runner.py"] = (root / "runner.py").read_bytes()
        files.update(public_fixture_files(root))
        check_contents(files, root)
    except (BundleError, OSError) as error:
        raise GradescopeBuildError(str(error)) from None
    if grading_fixtures is not None:
        files.update(fixture_files(Path(grading_fixtures), GRADING_FIXTURES))
    target = TARGETS[config.get("target", DEFAULT_TARGET)]
    try:
        files.update(wheel_files(target, wheelhouse))
    except WheelError as error:
        raise GradescopeBuildError(f"cannot fetch the wheels for {target.name}: {error}") from error
    files["setup.sh"] = setup_sh(target, files).encode()
    files["run_autograder"] = RUN_AUTOGRADER.encode()
    files[CONFIG_NAME] = (json.dumps(dict(config), indent=1) + "\n").encode()
    return files


def zip_bytes(files: Mapping[str, bytes]) -> bytes:
    """A deterministic zip: sorted entries, fixed timestamps; the two scripts executable; wheels (already
    compressed) stored as they are."""
    from autograder.platforms.bundle import ZIP_TIMESTAMP
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".whl") else zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if name in EXECUTABLES else 0o100644) << 16
            info.create_system = 3
            archive.writestr(info, files[name])
    return buffer.getvalue()


def stdout_note(config: Mapping[str, Any], grading_fixtures: Path | None) -> str:
    """What students see of stdout, said when the zip is built: with a hidden set and a stdout they
    may see, the student view (never the seed or values), not the staff's full report."""
    if config["stdout_visibility"] == STAFF_ONLY:
        return "stdout: the staff's full report (students never see it)"
    if grading_fixtures is None or grading_set_is_public(Path(grading_fixtures)):
        return f"stdout ({config['stdout_visibility']}): the full report (public fixture set)"
    return (f"stdout ({config['stdout_visibility']}): students may see it, so it shows only the student view of "
            f"the hidden set ({config['hidden_detail']}), never its seed or values; build with "
            f"--stdout-visibility hidden for the staff's full report")


def grading_set_is_public(fixtures: Path) -> bool:
    from autograder.contract.fixtures import MANIFEST_NAME
    from autograder.report.visibility import FULL, set_identity, student_detail
    try:
        raw = (fixtures / MANIFEST_NAME).read_bytes()
        seed = json.loads(raw).get("seed")
    except (OSError, ValueError, AttributeError):
        return False
    return student_detail(set_identity(hashlib.sha256(raw).hexdigest(), seed)) == FULL


def build(out: Path, config: Mapping[str, Any], grading_fixtures: Path | None = None,
          wheelhouse: Path | None = None) -> dict[str, bytes]:
    """Write the autograder zip to ``out``; return {path: bytes} of what it holds."""
    from autograder.util.atomic import write_atomic
    from autograder.contract.fixtures import FixtureError, read_manifest
    try:
        names = set(read_manifest(Path(grading_fixtures) if grading_fixtures else ROOT / "fixtures").rubric.names)
    except FixtureError as error:
        raise GradescopeBuildError(f"the fixture set does not verify: {error}") from None
    unknown = sorted((set(config["only"]) | set(config["test_visibility"])) - names)
    if unknown:
        raise GradescopeBuildError(f"unknown rubric item(s): {', '.join(unknown)} (see 'python runner.py --list')")
    files = collect(config, grading_fixtures, wheelhouse=wheelhouse)
    write_atomic(Path(out), zip_bytes(files))
    return files


def check(source: Path = ROOT) -> int:
    """setup.sh's last step, in the image: the packages import and the grading set verifies; else exit 1
    (the image build fails with the reason, rather than every student getting 0)."""
    from autograder.platforms.gradescope_run import load_config
    try:
        import jsonschema  # noqa: F401
        import numpy  # noqa: F401
        from autograder.contract.fixtures import load_fixture_set
        config = load_config(source)
        load_fixture_set(source / config["fixtures"], only=list(config.get("only") or []))
    except Exception as error:  # anything: the image must not be built
        print(f"setup.sh: the autograder cannot grade in this image: {type(error).__name__}: {error}",
              file=sys.stderr)
        return 1
    print(f"autograder ready: Python {sys.version.split()[0]}, numpy {numpy.__version__}, "
          f"fixture set {config['fixtures']}/")
    return 0


def parse_test_visibility(values: Sequence[str]) -> dict[str, str]:
    pairs = {}
    for value in values:
        item, sep, visibility = value.partition("=")
        if not sep or not item.strip():
            raise GradescopeBuildError(f"--test-visibility takes ITEM=VISIBILITY, not {value!r}")
        pairs[item.strip()] = visibility.strip()
    return pairs


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m autograder.platforms.gradescope [run|check]``: build the zip (no command), or the zip's
    own commands; the exit status (a build error: 2, autograder/errors.py)."""
    parser = argparse.ArgumentParser(prog="python -m autograder.platforms.gradescope", description=__doc__.split("\n")[0])
    add_build_arguments(parser)
    parser.set_defaults(run=build_command)
    commands = parser.add_subparsers(dest="command", title="commands inside Gradescope")
    commands.add_parser("run", help="grade /autograder/submission (what the zip's run_autograder calls)").set_defaults(
        run=lambda args: run_command())
    commands.add_parser("check", help="check the installed grader (what the zip's setup.sh ends with)").set_defaults(
        run=lambda args: check())
    args = parser.parse_args(argv)
    if args.command is None and args.out is None:
        parser.error("the following arguments are required: --out")
    return exit_status(args.run, args)


def run_command() -> int:
    """Grade in Gradescope (autograder/platforms/gradescope_run.py)."""
    from autograder.platforms.gradescope_run import run_in_gradescope
    return run_in_gradescope(Path(os.environ.get(ROOT_ENV) or DEFAULT_AUTOGRADER_ROOT))


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    """The zip builder's options (``--out`` is required when no command is named)."""
    parser.add_argument("--out", type=Path, help="the zip to write, e.g. autograder.zip (required)")
    parser.add_argument("--target", choices=TARGETS, default=DEFAULT_TARGET,
                        help="the assignment's Gradescope base image, whose own python3 grades: " + ", ".join(
                            f"{t.name} (Python {t.python})" for t in TARGETS.values()) + "; default %(default)s")
    parser.add_argument("--wheelhouse", type=Path, metavar="DIR",
                        help="keep the downloaded wheels in DIR/TARGET/ and reuse them (a build with every wheel "
                             "there needs no network); default: a temporary folder")
    parser.add_argument("--fixtures", type=Path, help="grade with this fixture set (a hidden one); default: public")
    parser.add_argument("--visibility", default="visible", choices=VISIBILITIES, help="every test's default")
    parser.add_argument("--test-visibility", action="append", default=[], metavar="ITEM=VISIBILITY",
                        help="one test's visibility (repeatable)")
    parser.add_argument("--stdout-visibility", default=STAFF_ONLY, choices=VISIBILITIES,
                        help="who sees the grader's stdout (default %(default)s: the staff, who get the full "
                             "report); any other value: students may see it, so with a hidden set it is the "
                             "student view")
    parser.add_argument("--only", default="", metavar="ITEM[,ITEM]", help="grade only these rubric items")
    parser.add_argument("--timeout", type=float, help="CPU seconds one case may use (see runner.py --help)")
    parser.add_argument("--allow-unsandboxed", action="store_true",
                        help="grade even where the image has no kernel layers (the portable sandbox backend)")
    parser.add_argument("--hidden-detail", choices=HIDDEN_DETAILS, default=HIDDEN_DETAILS[0],
                        help="with a hidden --fixtures set, what the tests (and a stdout students may see) show of "
                             "each case: passed (default): whether it passed; kinds: also how it failed")


def build_command(args: argparse.Namespace) -> int:
    """Build the zip as ``args`` say; print what was written."""
    try:
        config = make_config(args.visibility, parse_test_visibility(args.test_visibility), args.stdout_visibility,
                             [x.strip() for x in args.only.split(",") if x.strip()], args.timeout,
                             GRADING_FIXTURES if args.fixtures else "fixtures", args.allow_unsandboxed,
                             args.hidden_detail, args.target)
        files = build(args.out, config, args.fixtures, args.wheelhouse)
    except OSError as error:
        raise GradescopeBuildError(str(error)) from None
    target = TARGETS[args.target]
    wheels = sum(len(data) for name, data in files.items() if name.endswith(".whl"))
    print(f"wrote {args.out} ({len(files)} files, {args.out.stat().st_size / 1e6:.2f} MB, of which wheels "
          f"{wheels / 1e6:.2f} MB); upload it as the Gradescope autograder with the base image {target.name} "
          f"(its python3 is {target.python})")
    print(stdout_note(config, args.fixtures))
    return GRADED


if __name__ == "__main__":
    sys.exit(main())
