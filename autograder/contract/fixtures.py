"""Loading and verifying a fixture set (``manifest.json`` + one ``.npz`` per item).

Every read of a manifest validates it against ``schemas/manifest.schema.json`` (once per
exact manifest: a pass is recorded by :mod:`autograder.contract.verified`);
every fixture file is checked against the sha256 recorded in the manifest
before it is loaded (with ``allow_pickle=False``).  Any problem raises
:class:`FixtureError`, whose message names the offending file: grading stops
rather than producing a silently wrong score.
"""
from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autograder import DEFAULT_FIXTURES
from autograder.contract.documents import DocumentError, validate_document, validate_document_bytes
from autograder.contract.npz import read_npz
from autograder.contract.rubric import Rubric, rubric_from_manifest, section_maxima

FORMAT_VERSION = 3  # 2: the manifest carries the rubric; 3: known-mistake values for likely-cause hints
MANIFEST_NAME = "manifest.json"
PUBLIC_SEED = 11785  # the seed of the public set in fixtures/; hidden sets are drawn with other seeds


class FixtureError(DocumentError):
    """A fixture set that cannot be trusted: missing, tampered or malformed."""


def validate_manifest(manifest: Any, source: str) -> None:
    validate_document("manifest.schema.json", manifest, source, FixtureError)


@dataclass
class Case:
    """One fixture case of one rubric item."""
    item: str
    name: str
    description: str
    hyperparameters: dict[str, Any]
    program: dict[str, Any]
    checks: list[dict[str, Any]]
    tolerance: dict[str, float]  # rtol, atol
    arrays: dict[str, np.ndarray] = field(repr=False)
    hints: dict[str, str] = field(default_factory=dict)  # known mistake -> the sentence naming it

    def variant_values(self, check: Mapping[str, Any]) -> list[tuple[str, np.ndarray]]:
        """(hint, value) of every known mistake the fixtures store for ``check`` (grader side only)."""
        return [(self.hints[name], self.arrays[f"{self.name}.var.{name}.{check['step']}"])
                for name in check.get("variants", ())]

    def inputs(self) -> dict[str, np.ndarray]:
        """The case's input arrays by program name: the only arrays a student run receives."""
        prefix = f"{self.name}.in."
        return {key[len(prefix):]: value for key, value in self.arrays.items() if key.startswith(prefix)}

    def array(self, key: str) -> np.ndarray:
        return self.arrays[key]

    @property
    def id(self) -> str:
        return f"{self.item}::{self.name}"


@dataclass
class FixtureSet:
    root: Path
    seed: int
    manifest_sha256: str
    generator_version: str
    rubric: Rubric  # restricted to the items loaded
    items: dict[str, list[Case]]  # item name -> its cases

    @property
    def id(self) -> str:
        return f"seed-{self.seed}-{self.manifest_sha256[:12]}"


@dataclass(frozen=True)
class Manifest:
    """A fixture set's manifest, read once and verified: the document, its sha256, its rubric."""
    document: dict[str, Any]
    sha256: str
    rubric: Rubric


def read_manifest(root: Path) -> Manifest:
    """The manifest of the fixture set in ``root``, checked against its schema and its section maxima."""
    path = Path(root) / MANIFEST_NAME
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise FixtureError(f"{path}: cannot read the fixture manifest ({error.strerror or error})") from None
    try:
        manifest = json.loads(raw)
    except ValueError as error:
        raise FixtureError(f"{path}: not valid JSON ({error})") from None
    validate_document_bytes("manifest.schema.json", raw, manifest, str(path), FixtureError)
    rubric = rubric_from_manifest(manifest)
    for section, maximum in section_maxima(rubric.items).items():
        if rubric.sections[section].max != maximum:
            raise FixtureError(f"{path}: the {section} section's maximum is {rubric.sections[section].max:g}, "
                               f"but its items' points add up to {maximum:g}")
    return Manifest(manifest, hashlib.sha256(raw).hexdigest(), rubric)


def read_rubric(root: Path = DEFAULT_FIXTURES) -> Rubric:
    """The rubric a fixture set carries (its manifest verified; no fixture file read)."""
    return read_manifest(root).rubric


def load_item_arrays(root: Path, item: str, entry: Mapping[str, Any]) -> dict[str, np.ndarray]:
    path = Path(root) / entry["file"]
    try:
        data = path.read_bytes()
    except OSError as error:
        raise FixtureError(f"{path}: cannot read fixture file of item {item} ({error.strerror or error})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise FixtureError(f"{path}: sha256 {digest[:16]}... does not match the manifest "
                           f"({entry['sha256'][:16]}...): the fixture file was modified or corrupted")
    arrays = read_npz(data)  # the generator's plain form, read fast; anything else goes through np.load
    if arrays is None:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        except Exception as error:  # a corrupt archive is reported, whatever numpy raises
            raise FixtureError(f"{path}: not a readable .npz without pickle ({error})") from None
    for key, value in arrays.items():
        if value.dtype != np.float64:
            raise FixtureError(f"{path}: array '{key}' has dtype {value.dtype}, expected float64")
    return arrays


def check_case_arrays(path: Path, item: str, case: Mapping[str, Any],
                      arrays: Mapping[str, np.ndarray], hints: Mapping[str, str]) -> None:
    """Every array the manifest names must exist with the recorded shape."""
    for key, shape in case["shapes"].items():
        if key not in arrays:
            raise FixtureError(f"{path}: item {item} case {case['name']}: array '{key}' is missing")
        if list(arrays[key].shape) != shape:
            raise FixtureError(f"{path}: item {item} case {case['name']}: array '{key}' has shape "
                               f"{list(arrays[key].shape)}, manifest says {shape}")
    for check in case["checks"]:
        if "expected" in check and check["expected"] not in case["shapes"]:
            raise FixtureError(f"{path}: item {item} case {case['name']}: check names unknown array "
                               f"'{check['expected']}'")
        for name in check.get("variants", ()):
            if f"{case['name']}.var.{name}.{check['step']}" not in case["shapes"] or name not in hints:
                raise FixtureError(f"{path}: item {item} case {case['name']}: check names unknown known-mistake "
                                   f"variant '{name}'")


def load_fixture_set(root: Path = DEFAULT_FIXTURES, only: Collection[str] | None = None,
                     verified: Manifest | None = None) -> FixtureSet:
    """Load and verify a fixture set; ``only`` restricts it to some item names.

    ``verified``: the set's manifest as ``read_manifest(root)`` already returned it (not read again).
    """
    root = Path(root)
    verified = verified or read_manifest(root)
    manifest = verified.document
    unknown = sorted(set(only or ()) - set(manifest["items"]))
    if unknown:
        raise FixtureError(f"{root / MANIFEST_NAME}: no item named {', '.join(unknown)}")
    items: dict[str, list[Case]] = {}
    for item, entry in manifest["items"].items():
        if only and item not in only:
            continue
        arrays = load_item_arrays(root, item, entry)
        cases = []
        for case in entry["cases"]:
            check_case_arrays(root / entry["file"], item, case, arrays, entry.get("hints", {}))
            prefix = case["name"] + "."
            cases.append(Case(item=item, name=case["name"], description=case["description"],
                              hyperparameters=case["hyperparameters"], program=case["program"],
                              checks=case["checks"], tolerance=entry["tolerance"],
                              arrays={k: v for k, v in arrays.items() if k.startswith(prefix)},
                              hints=entry.get("hints", {})))
        items[item] = cases
    return FixtureSet(root=root, seed=manifest["seed"], manifest_sha256=verified.sha256,
                      generator_version=manifest["generator_version"],
                      rubric=verified.rubric.restricted(items), items=items)
