"""Every graded rubric item, each declared once (``ITEMS`` of a family module, beside its builder).

A family module here holds the case builders of some items and declares them
(``reference.casebuilder.Item``) in ``ITEMS``; ``POSITION`` orders the families
in the rubric.  Modules are discovered, so a new family needs no registration.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence

from autograder.contract.rubric import Rubric, Section, SectionInfo, section_maxima
from reference.casebuilder import Item

RUBRIC_NAME = "HW2P1 mytorch"
RUBRIC_VERSION = "1.0.0"
SECTION_TITLES = {Section.MAIN: "Main", Section.BONUS: "Bonus"}


def declared_items() -> list[Item]:
    """Every item of every family module, families by POSITION, items in their declared order."""
    families = [importlib.import_module(f"{__name__}.{module.name}")
                for module in pkgutil.iter_modules(__path__) if not module.name.startswith("_")]
    positions = [family.POSITION for family in families]
    if len(set(positions)) != len(positions):
        raise ValueError(f"two item families share a POSITION: {sorted(positions)}")
    items = [item for family in sorted(families, key=lambda f: f.POSITION) for item in family.ITEMS]
    names = [item.name for item in items]
    if len(set(names)) != len(names):
        raise ValueError(f"an item is declared twice: {sorted(n for n in names if names.count(n) > 1)}")
    return items


ITEMS: list[Item] = declared_items()


def rubric(items: Sequence[Item] = ITEMS) -> Rubric:
    """The rubric of ``items``: name, version, sections (with their maximum points) and items."""
    rubric_items = tuple(item.rubric_item() for item in items)
    maxima = section_maxima(rubric_items)
    sections = {section: SectionInfo(title, maxima[section]) for section, title in SECTION_TITLES.items()}
    return Rubric(RUBRIC_NAME, RUBRIC_VERSION, sections, rubric_items)
