"""What a student may see of a grading report: the one decision every student-visible output asks.

Levels, from most to least:

``full``: everything (the public fixture set, which the student has anyway, or the staff's
``--show-hidden-details`` / a stdout only the staff read);
``kinds``: which cases failed and how (a hidden set, when the course staff choose it);
``passed``: whether each case passed, one bit per case (a hidden set, by default).

:func:`student_detail` decides, from the fixture set the report was graded with (its
``manifest_sha256`` and ``seed``) and the staff's configured hidden detail.  Callers: ``runner.py``
(:mod:`autograder.cli`), ``runner.py batch --feedback`` (:mod:`autograder.batch.feedback`),
Gradescope's ``run_autograder`` (:mod:`autograder.platforms.gradescope_run`), the Gradescope
build's note on stdout (:mod:`autograder.platforms.gradescope`) and the platform documents'
default.  What each level shows is :mod:`autograder.report.student_view`'s filter.

The fixture module (NumPy) is imported only when a set is judged, so that option parsers can
import the levels cheaply.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

FULL, KINDS, PASSED = "full", "kinds", "passed"
HIDDEN_DETAILS: tuple[str, ...] = (PASSED, KINDS)  # --hidden-detail's choices; the first is the default


@lru_cache(maxsize=1)
def public_manifest_sha256() -> str | None:
    """sha256 of the public ``fixtures/manifest.json``; None when it cannot be read."""
    from autograder.contract.fixtures import DEFAULT_FIXTURES, MANIFEST_NAME
    try:
        return hashlib.sha256((DEFAULT_FIXTURES / MANIFEST_NAME).read_bytes()).hexdigest()
    except OSError:
        return None


def is_public_set(fixture_set: Mapping[str, Any]) -> bool:
    """Whether a report's ``fixture_set`` (``describe_fixture_set``) is the public set a student has anyway.

    Both must hold: the manifest is byte for byte the one in ``fixtures/`` and its seed is the
    public seed (a hidden set written over ``fixtures/`` with ``--force`` stays hidden).  An empty
    or unknown description counts as hidden.
    """
    from autograder.contract.fixtures import PUBLIC_SEED
    digest = fixture_set.get("manifest_sha256")
    return digest is not None and digest == public_manifest_sha256() and fixture_set.get("seed") == PUBLIC_SEED


def set_identity(manifest_sha256: str | None, seed: Any) -> dict[str, Any]:
    """The part of a fixture set's description :func:`student_detail` reads (an untrusted manifest: None)."""
    return {} if manifest_sha256 is None else {"manifest_sha256": manifest_sha256, "seed": seed}


def student_detail(fixture_set: Mapping[str, Any], hidden_detail: str | None = PASSED,
                   show_hidden_details: bool = False) -> str:
    """How much of a report graded with ``fixture_set`` (``describe_fixture_set``, or at least its
    ``manifest_sha256`` and ``seed``: :func:`set_identity`) its student sees: ``full`` with the public
    set (or when staff asked, ``show_hidden_details``), else ``hidden_detail`` (``passed`` or ``kinds``,
    the course staff's choice; None or empty: the default, ``passed``)."""
    if show_hidden_details or is_public_set(fixture_set):
        return FULL
    hidden_detail = hidden_detail or HIDDEN_DETAILS[0]
    if hidden_detail not in HIDDEN_DETAILS:
        raise ValueError(f"unknown hidden detail {hidden_detail!r} (one of {', '.join(HIDDEN_DETAILS)})")
    return hidden_detail


__all__ = ["FULL", "KINDS", "PASSED", "HIDDEN_DETAILS", "is_public_set", "public_manifest_sha256", "set_identity",
           "student_detail"]
