"""Loading and verifying a fixture set (``manifest.json`` + one ``.npz`` per item).

Every read of a manifest validates it against ``schemas/manifest.schema.json``;
every fixture file is checked against the sha256 recorded in the manifest
before it is loaded (with ``allow_pickle=False``).  Any problem raises
:class:`FixtureError`, whose message names the offending file: grading stops
rather than producing a silently wrong score.
"""
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.documents import DocumentError, validate_document
from autograder.rubric import Rubric, rubric_from_manifest, section_maxima

FORMAT_VERSION = 2  # 2: the manifest carries the rubric
MANIFEST_NAME = "manifest.json"
DEFAULT_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PUBLIC_SEED = 11785  # the seed of the public set in fixtures/; hidden sets are drawn with other seeds


class FixtureError(DocumentError):
    """A fixture set that cannot be trusted: missing, tampered or malformed."""


def validate_manifest(manifest, source):
    validate_document("manifest.schema.json", manifest, source, FixtureError)


@dataclass
class Case:
    """One fixture case of one rubric item."""
    item: str
    name: str
    description: str
    hyperparameters: dict
    program: dict
    checks: list
    tolerance: dict
    arrays: dict = field(repr=False)

    def inputs(self):
        """The case's input arrays by program name: the only arrays a student run receives."""
        prefix = f"{self.name}.in."
        return {key[len(prefix):]: value for key, value in self.arrays.items() if key.startswith(prefix)}

    def array(self, key):
        return self.arrays[key]

    @property
    def id(self):
        return f"{self.item}::{self.name}"


@dataclass
class FixtureSet:
    root: Path
    seed: int
    manifest_sha256: str
    generator_version: str
    rubric: Rubric  # restricted to the items loaded
    items: dict  # item name -> list[Case]

    @property
    def id(self):
        return f"seed-{self.seed}-{self.manifest_sha256[:12]}"


def read_manifest(root):
    path = Path(root) / MANIFEST_NAME
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise FixtureError(f"{path}: cannot read the fixture manifest ({error.strerror or error})") from None
    try:
        manifest = json.loads(raw)
    except ValueError as error:
        raise FixtureError(f"{path}: not valid JSON ({error})") from None
    validate_manifest(manifest, source=str(path))
    rubric = rubric_from_manifest(manifest)
    for section, maximum in section_maxima(rubric.items).items():
        if rubric.sections[section].max != maximum:
            raise FixtureError(f"{path}: the {section} section's maximum is {rubric.sections[section].max:g}, "
                               f"but its items' points add up to {maximum:g}")
    return manifest, hashlib.sha256(raw).hexdigest()


def read_rubric(root=DEFAULT_FIXTURES):
    """The rubric a fixture set carries (its manifest verified; no fixture file read)."""
    return rubric_from_manifest(read_manifest(root)[0])


def load_item_arrays(root, item, entry):
    path = Path(root) / entry["file"]
    try:
        data = path.read_bytes()
    except OSError as error:
        raise FixtureError(f"{path}: cannot read fixture file of item {item} ({error.strerror or error})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise FixtureError(f"{path}: sha256 {digest[:16]}... does not match the manifest "
                           f"({entry['sha256'][:16]}...): the fixture file was modified or corrupted")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as error:  # a corrupt archive is reported, whatever numpy raises
        raise FixtureError(f"{path}: not a readable .npz without pickle ({error})") from None
    for key, value in arrays.items():
        if value.dtype != np.float64:
            raise FixtureError(f"{path}: array '{key}' has dtype {value.dtype}, expected float64")
    return arrays


def check_case_arrays(path, item, case, arrays):
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


def load_fixture_set(root=DEFAULT_FIXTURES, only=None):
    """Load and verify a fixture set; ``only`` restricts it to some item names."""
    root = Path(root)
    manifest, manifest_sha = read_manifest(root)
    unknown = sorted(set(only or ()) - set(manifest["items"]))
    if unknown:
        raise FixtureError(f"{root / MANIFEST_NAME}: no item named {', '.join(unknown)}")
    items = {}
    for item, entry in manifest["items"].items():
        if only and item not in only:
            continue
        arrays = load_item_arrays(root, item, entry)
        cases = []
        for case in entry["cases"]:
            check_case_arrays(root / entry["file"], item, case, arrays)
            prefix = case["name"] + "."
            cases.append(Case(item=item, name=case["name"], description=case["description"],
                              hyperparameters=case["hyperparameters"], program=case["program"],
                              checks=case["checks"], tolerance=entry["tolerance"],
                              arrays={k: v for k, v in arrays.items() if k.startswith(prefix)}))
        items[item] = cases
    return FixtureSet(root=root, seed=manifest["seed"], manifest_sha256=manifest_sha,
                      generator_version=manifest["generator_version"],
                      rubric=rubric_from_manifest(manifest).restricted(items), items=items)
