"""Where a submission's ``mytorch/`` package is: one rule for the runner and the batch."""
from __future__ import annotations

from pathlib import Path

PACKAGE = "mytorch"
IGNORED_NAMES = ("__MACOSX",)  # what archivers add beside the real content


class SubmissionError(Exception):
    """A submission that cannot be graded at all: no (or no single) mytorch/ package, an unusable entry."""


def locate_package(root: Path) -> Path:
    """The folder holding ``mytorch/``: ``root`` itself or its only subfolder that does.

    Raises SubmissionError saying what was found instead, and what to pass when
    ``root`` is the ``mytorch/`` package itself.
    """
    root = Path(root)
    if (root / PACKAGE).is_dir():
        return root
    if not root.is_dir():
        what = "not a folder" if root.exists() else "no such folder"
        raise SubmissionError(f"{root}: {what}, so no {PACKAGE}/ package to grade "
                              f"(pass the folder that CONTAINS {PACKAGE}/)")
    if root.name == PACKAGE:
        raise SubmissionError(f"{root} is the {PACKAGE}/ package itself: pass the folder that contains it "
                              f"({root.parent})")
    candidates = sorted(child for child in root.iterdir()
                        if child.is_dir() and not child.name.startswith(".") and child.name not in IGNORED_NAMES
                        and (child / PACKAGE).is_dir())
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise SubmissionError(f"{root}: several folders hold a {PACKAGE}/ package "
                              f"({', '.join(c.name for c in candidates)}): cannot tell which to grade")
    found = sorted(child.name + ("/" if child.is_dir() else "") for child in root.iterdir())
    shown = ", ".join(found[:10]) + (", ..." if len(found) > 10 else "") if found else "nothing"
    raise SubmissionError(f"{root}: no {PACKAGE}/ package folder in it or one level down (found: {shown}); "
                          f"pass the folder that CONTAINS {PACKAGE}/")
