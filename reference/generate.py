"""Generate (or check) the fixture set from the NumPy reference.

    python -m reference.generate [--seed S] [--out DIR]   # write DIR/*.npz + DIR/manifest.json
    python -m reference.generate --check [--out DIR]      # regenerate in memory, compare content, exit 1 on a difference
    python -m reference.generate --seed S --out DIR --no-hints   # a (hidden) set without known-mistake values

A seed other than the public one is refused for the public ``fixtures/`` folder
(exit 2) unless ``--force``: a hidden set belongs in a folder of its own.

One ``.npz`` per rubric item.  Array keys are ``<case>.in.<name>`` (inputs the
student's code receives), ``<case>.out.<step>`` (the reference's value of a
checked step), ``<case>.ref.<name>`` (informational, e.g. the reference's
dropout mask) and ``<case>.var.<variant>.<step>`` (a known mistake's value of a
checked step, where it differs from the reference's: see ``reference/variants.py``;
the check lists it in ``variants`` and the item's ``hints`` name the mistake).
Files are written as stored (uncompressed) zip archives with a
fixed timestamp, so the bytes depend on the seed alone.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

from autograder.contract.fixtures import MANIFEST_NAME
from autograder.errors import USAGE
from reference.build import DEFAULT_SEED, build_fixture_set, manifest_bytes, without_hints
from reference.casebuilder import Item
from reference.items import ITEMS

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "fixtures"


def write_fixture_set(seed: int, out: Path, items: Sequence[Item] = ITEMS) -> None:
    """Write the fixture set of ``seed`` (item files and manifest) into ``out``; print a summary.

    An item file already in ``out`` with the same content (``reference.check.same_content``: inputs
    bit for bit, computed values within the reproduction tolerance) is kept byte for byte, so that
    regenerating on another machine, whose BLAS sums in another order, rewrites only what changed.
    """
    from reference.check import same_content
    manifest, files, _ = build_fixture_set(seed, items)
    out.mkdir(parents=True, exist_ok=True)
    kept = 0
    for entry in manifest["items"].values():
        path = out / entry["file"]
        existing = path.read_bytes() if path.is_file() else None
        if existing is not None and same_content(existing, files[entry["file"]]):
            files[entry["file"]] = existing
            entry["sha256"] = hashlib.sha256(existing).hexdigest()
            kept += 1
        else:
            path.write_bytes(files[entry["file"]])
    (out / MANIFEST_NAME).write_bytes(manifest_bytes(manifest))
    total = sum(len(d) for d in files.values())
    print(f"wrote {len(files) - kept} fixture files, kept {kept} with the same content "
          f"({total / 1e6:.2f} MB in all) and {MANIFEST_NAME} to {out} (seed {seed})")


def is_public_folder(out: Path) -> bool:
    """Whether ``out`` is the public ``fixtures/`` folder (DEFAULT_OUT), however it is spelled."""
    try:
        return Path(out).resolve() == DEFAULT_OUT.resolve()
    except OSError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: generate, or with ``--check`` compare; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m reference.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the fixture set (default %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="fixture folder (default: fixtures/)")
    parser.add_argument("--check", action="store_true",
                        help="regenerate in memory and compare with the fixtures in --out: inputs and metadata "
                             "bit for bit, computed values within the reproduction tolerance; exit 1 on a difference")
    parser.add_argument("--force", action="store_true",
                        help="allow a seed other than the public one to overwrite the public fixtures/ folder")
    parser.add_argument("--no-hints", action="store_true",
                        help="store no known-mistake values: failures against this set never carry a likely cause")
    args = parser.parse_args(argv)
    if not args.check and args.seed != DEFAULT_SEED and not args.force and is_public_folder(args.out):
        print(f"error: refusing to write seed {args.seed} into the public fixture folder {args.out} (the handout "
              f"ships it): give a hidden set its own --out DIR, or pass --force", file=sys.stderr)
        return USAGE
    if args.check:
        from reference.check import REPRODUCTION_TOLERANCE, check_fixture_set
        problems = check_fixture_set(args.out)
        for problem in problems:
            print(f"FIXTURE CHECK FAILED: {problem}", file=sys.stderr)
        if problems:
            return 1
        print(f"fixtures in {args.out} match the reference (inputs bit-identical, computed values within "
              f"{REPRODUCTION_TOLERANCE.describe()})")
        return 0
    write_fixture_set(args.seed, args.out, without_hints() if args.no_hints else ITEMS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
