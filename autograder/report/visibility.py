"""How much of a report a student sees: the levels :func:`autograder.report.student_view.student_detail`
chooses from (in a module of its own, so that option parsers need not import NumPy).

``full``: everything (the public fixture set, or staff's ``--show-hidden-details``);
``kinds``: which cases failed and how (a hidden set, when the course staff choose it);
``passed``: whether each case passed, one bit per case (a hidden set, by default).
"""
from __future__ import annotations

FULL, KINDS, PASSED = "full", "kinds", "passed"
HIDDEN_DETAILS: tuple[str, ...] = (PASSED, KINDS)  # --hidden-detail's choices; the first is the default

__all__ = ["FULL", "KINDS", "PASSED", "HIDDEN_DETAILS"]
