"""The ``gradescope_config.json`` document of an autograder zip: what the builder
(:mod:`autograder.platforms.gradescope`) writes and the run inside Gradescope
(:mod:`autograder.platforms.gradescope_run`) reads."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from autograder.errors import GraderError
from autograder.platforms.gradescope_setup import DEFAULT_TARGET, TARGETS
from autograder.report.visibility import HIDDEN_DETAILS

CONFIG_NAME = "gradescope_config.json"
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
STAFF_ONLY = "hidden"  # the one stdout visibility under which stdout may carry the staff's full report


class GradescopeBuildError(GraderError):
    """The autograder zip cannot be built (bad option, unverifiable fixture set, a file that must not ship)."""


def make_config(visibility: str = "visible", test_visibility: Mapping[str, str] | None = None,
                stdout_visibility: str = STAFF_ONLY, only: Sequence[str] = (), timeout: float | None = None,
                fixtures: str = "fixtures", allow_unsandboxed: bool = False,
                hidden_detail: str = HIDDEN_DETAILS[0], target: str = DEFAULT_TARGET) -> dict[str, Any]:
    """The ``gradescope_config.json`` document; raises GradescopeBuildError on an unknown visibility,
    hidden detail or target."""
    test_visibility = dict(test_visibility or {})
    for value in (visibility, stdout_visibility, *test_visibility.values()):
        if value not in VISIBILITIES:
            raise GradescopeBuildError(f"unknown visibility {value!r} (one of {', '.join(VISIBILITIES)})")
    if hidden_detail not in HIDDEN_DETAILS:
        raise GradescopeBuildError(f"unknown hidden detail {hidden_detail!r} (one of {', '.join(HIDDEN_DETAILS)})")
    if target not in TARGETS:
        raise GradescopeBuildError(f"unknown target {target!r} (one of {', '.join(TARGETS)})")
    return {"visibility": visibility, "test_visibility": test_visibility, "stdout_visibility": stdout_visibility,
            "only": list(only), "timeout": timeout, "fixtures": fixtures, "allow_unsandboxed": allow_unsandboxed,
            "hidden_detail": hidden_detail, "target": target, "python": TARGETS[target].python}
