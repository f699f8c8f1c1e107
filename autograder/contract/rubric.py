"""The rubric: which items are graded, for how many points, under which policy.

A fixture set carries its own rubric (the manifest's ``rubric`` and each item's
``section``, ``points``, ``policy``, ``classes`` and ``handout``), written by the
generator from the item declarations in ``reference/items/``; nothing in the
grader lists items by hand.  This module turns that part of a (schema-checked)
manifest into typed objects and scores an item's case results.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autograder.util.compat import StrEnum


class Section(StrEnum):
    MAIN = "main"
    BONUS = "bonus"


class Policy(StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"  # the original course's rule: every case passes, or 0
    PROPORTIONAL = "proportional"      # points * passed cases / cases


@dataclass(frozen=True)
class RubricItem:
    name: str
    section: Section
    points: float
    policy: Policy
    classes: tuple[str, ...]
    handout: str  # where the handout explains the item: "items.md#<anchor>"

    def score(self, passed: int, total: int) -> float:
        """Points earned with ``passed`` of ``total`` cases passing (0 without cases)."""
        if total == 0:
            return 0.0
        if self.policy is Policy.PROPORTIONAL:
            return self.points * passed / total
        return float(self.points) if passed == total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"section": str(self.section), "points": self.points, "policy": str(self.policy),
                "classes": list(self.classes), "handout": self.handout}


@dataclass(frozen=True)
class SectionInfo:
    title: str
    max: float


@dataclass(frozen=True)
class Rubric:
    name: str
    version: str
    sections: Mapping[Section, SectionInfo]
    items: tuple[RubricItem, ...]

    @property
    def names(self) -> list[str]:
        return [item.name for item in self.items]

    def item(self, name: str) -> RubricItem:
        return next(item for item in self.items if item.name == name)

    def restricted(self, only: Iterable[str]) -> Rubric:
        """The same rubric with only the items named (in rubric order); section maxima unchanged."""
        only = set(only)
        if not only:
            return self
        return Rubric(self.name, self.version, self.sections, tuple(i for i in self.items if i.name in only))

    def identity(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version}

    def sha256(self) -> str:
        """A hash of the rubric's whole content (every item's points, policy, section...), not only its version."""
        content = {"rubric": self.header(), "items": [[item.name, item.to_dict()] for item in self.items]}
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()

    def header(self) -> dict[str, Any]:
        """The manifest's ``rubric`` object (the items' own fields sit in each item's entry)."""
        return {"name": self.name, "version": self.version,
                "sections": {str(s): {"title": info.title, "max": info.max} for s, info in self.sections.items()}}


def rubric_from_manifest(manifest: Mapping[str, Any]) -> Rubric:
    """The rubric of a manifest that passed ``manifest.schema.json``."""
    header = manifest["rubric"]
    sections = {Section(name): SectionInfo(info["title"], float(info["max"]))
                for name, info in header["sections"].items()}
    items = tuple(RubricItem(name=name, section=Section(entry["section"]), points=float(entry["points"]),
                             policy=Policy(entry["policy"]), classes=tuple(entry["classes"]),
                             handout=entry["handout"])
                  for name, entry in manifest["items"].items())
    return Rubric(header["name"], header["version"], sections, items)


def section_maxima(items: Sequence[RubricItem]) -> dict[Section, float]:
    """Each section's maximum: the sum of its items' points (the rubric never states it twice)."""
    return {section: float(sum(i.points for i in items if i.section is section)) for section in Section}
