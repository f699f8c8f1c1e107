"""The fixture set built in memory from the NumPy reference: what ``reference.generate`` writes and
``reference.check`` compares against (one home, so neither imports the other's command).

One ``.npz`` per rubric item; see :mod:`reference.generate` for the array keys and the file format.
"""
from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from autograder.contract.fixtures import FORMAT_VERSION, PUBLIC_SEED, validate_manifest
from reference._types import Array
from reference.casebuilder import CaseBuilder, Item, Tolerance
from reference.items import ITEMS, rubric
from reference.program import run_reference, snapshot
from reference.variants import Variant

GENERATOR_VERSION = "1.0.0"
DEFAULT_SEED = PUBLIC_SEED
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


def item_rng(seed: int, item: str) -> np.random.Generator:
    """An independent stream per item, so adding a case to one item moves no other."""
    return np.random.default_rng([seed, zlib.crc32(item.encode())])


def reference_run(case: CaseBuilder, record: Callable[[Any], Any] = snapshot) -> tuple[Any, list[Any]]:
    """Run one case's program against the reference (a fresh Dropout2d rng each time).

    ``record`` is called with each step's value as the program runs (see ``autograder.case.program``).
    """
    extra: dict[str, Any] = {}
    if "rng_seed" in case.reference_kwargs:
        extra["rng"] = random.Random(case.reference_kwargs["rng_seed"])
    return run_reference(case.program, case.inputs, extra, record)


HINT_MARGIN = 100.0  # a variant's value is stored only where it is this many tolerances from the reference's


def differs(value: Array | None, expected: Array, tolerance: Tolerance) -> bool:
    """Whether a variant's finite ``value`` is clearly wrong: another shape, or some element beyond
    ``HINT_MARGIN`` times the grader's tolerance, ``|value - expected| > M * (atol + rtol * |expected|)``.

    A variant within a few tolerances of the reference (eps misplaced where the variance is large)
    is not stored: a student who slipped elsewhere could match it, and the hint would mislead.
    """
    if value is None or not np.all(np.isfinite(value)):
        return False  # a student's non-finite value is rejected before any comparison
    if value.shape != expected.shape:
        return True
    margin = HINT_MARGIN * (tolerance.atol + tolerance.rtol * np.abs(expected))
    return bool(np.any(np.abs(value - expected) > margin))


def variant_values(case: CaseBuilder, variant: Variant, results: list[Any],
                   tolerance: Tolerance) -> dict[int, Array]:
    """Step -> the variant's value, for every checked step where it differs from the reference's ``results``.

    A variant whose program raises on this case (e.g. a shape it cannot handle) gives the steps before.
    """
    values: list[Any] = []
    try:
        with variant.applied():
            reference_run(case, record=lambda value: values.append(snapshot(value)))
    except Exception:  # the mistake breaks this case from here on: the steps before it still count
        pass
    steps = {check["step"] for check in case.checks if check["kind"] == "allclose"}
    return {step: values[step] for step in sorted(steps)
            if step < len(values) and differs(values[step], results[step], tolerance)}


def run_case(case: CaseBuilder, variants: Sequence[Variant] = (), tolerance: Tolerance = Tolerance()
             ) -> tuple[dict[str, Any], dict[str, Array]]:
    """Run one case against the reference (and each of ``variants``); return (manifest entry, arrays)."""
    instance, results = reference_run(case)
    stored = {variant.name: variant_values(case, variant, results, tolerance) for variant in variants}
    arrays = {f"{case.name}.in.{key}": value for key, value in case.inputs.items()}
    checks: list[dict[str, Any]] = []
    for check in case.checks:
        check = dict(check)
        if check["kind"] == "allclose":
            key = f"{case.name}.out.{check['step']}"
            arrays[key] = results[check["step"]]
            check["expected"] = key
            names = [name for name, values in stored.items() if check["step"] in values]
            for name in names:
                arrays[f"{case.name}.var.{name}.{check['step']}"] = stored[name][check["step"]]
            if names:
                check["variants"] = names
        checks.append(check)
    if hasattr(instance, "mask"):
        arrays[f"{case.name}.ref.mask"] = np.asarray(instance.mask, dtype=np.float64)
    entry = {
        "name": case.name,
        "description": case.description,
        "hyperparameters": case.hyperparameters,
        "shapes": {key: list(value.shape) for key, value in arrays.items()},
        "program": case.program,
        "checks": checks,
    }
    return entry, arrays


def npz_bytes(arrays: Mapping[str, ArrayLike]) -> bytes:
    """A deterministic .npz: stored zip entries with a fixed timestamp, no pickle."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for key in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(arrays[key], dtype=np.float64, order="C"),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=ZIP_TIMESTAMP)
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def build_fixture_set(seed: int, items: Sequence[Item] = ITEMS
                      ) -> tuple[dict[str, Any], dict[str, bytes], dict[str, dict[str, Array]]]:
    """Return (manifest, {file name: bytes}, {item: arrays}) for ``seed``.

    The manifest carries the rubric: the declarations of ``items`` (all but their
    builders) and the rubric's name, version and sections.
    """
    entries: dict[str, dict[str, Any]]
    files: dict[str, bytes]
    item_arrays: dict[str, dict[str, Array]]
    entries, files, item_arrays = {}, {}, {}
    for item in items:
        cases: list[dict[str, Any]]
        arrays: dict[str, Array]
        cases, arrays = [], {}
        variants = item.variants if item.hints else ()
        for case in item.build(item_rng(seed, item.name)):
            entry, case_arrays = run_case(case, variants, item.tolerance)
            cases.append(entry)
            arrays.update(case_arrays)
        file_name = f"{item.name}.npz"
        files[file_name] = npz_bytes(arrays)
        item_arrays[item.name] = arrays
        entries[item.name] = {
            **item.rubric_item().to_dict(),
            "file": file_name,
            "sha256": hashlib.sha256(files[file_name]).hexdigest(),
            "tolerance": item.tolerance.to_dict(),
            "hints": {v.name: v.hint for v in variants
                      if any(v.name in check.get("variants", ()) for case in cases for check in case["checks"])},
            "cases": cases,
        }
    manifest = {"format_version": FORMAT_VERSION, "generator_version": GENERATOR_VERSION,
                "seed": seed, "rubric": rubric(items).header(), "items": entries}
    validate_manifest(manifest, source="generated manifest")
    return manifest, files, item_arrays


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """The manifest as written: indented JSON with a final newline."""
    return (json.dumps(manifest, indent=1) + "\n").encode()


def without_hints(items: Sequence[Item] = ITEMS) -> list[Item]:
    """``items`` declared with ``hints=False``: a fixture set of them stores no known-mistake value."""
    return [replace(item, hints=False) for item in items]


def hints_disabled(manifest: Mapping[str, Any]) -> bool:
    """Whether a manifest was generated ``--no-hints``: no item names a known mistake."""
    return not any(entry.get("hints") for entry in manifest.get("items", {}).values())
