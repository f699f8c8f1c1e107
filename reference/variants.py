"""Known bug variants: the reference with one realistic student mistake, for likely-cause hints.

A :class:`Variant` replaces one or more methods of reference classes while it is
applied (``with variant.applied(): ...``).  The generator runs every case of an
item once more under each of the item's variants and stores, per checked step,
the variant's value wherever it differs from the reference's (beyond the item's
tolerance).  The grader (``autograder/judge/hints.py``) then names the mistake when a
failing student quantity equals one of those values as a whole.

The variants themselves are small functions written beside the item declarations
(``reference/items/<family>.py``); each carries one sentence naming the mistake
(never the fix's code).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

MISSING = object()
NAME = re.compile(r"^[a-z0-9_]+$")


@dataclass(frozen=True)
class Variant:
    """One known mistake: ``patches`` are (class or module, attribute, replacement) triples; ``hint`` names it."""
    name: str
    hint: str
    patches: tuple[tuple[Any, str, Callable[..., Any]], ...]

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise ValueError(f"variant name {self.name!r} must match {NAME.pattern}")
        if not self.hint.endswith(".") or "\n" in self.hint:
            raise ValueError(f"variant {self.name}: the hint must be one sentence ending with a period")

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Replace the patched methods for the duration of the ``with`` block (not thread-safe)."""
        saved = [(cls, attr, cls.__dict__.get(attr, MISSING)) for cls, attr, _ in self.patches]
        try:
            for cls, attr, replacement in self.patches:
                setattr(cls, attr, replacement)
            yield
        finally:
            for cls, attr, original in reversed(saved):
                if original is MISSING:
                    delattr(cls, attr)
                else:
                    setattr(cls, attr, original)


def variant(name: str, hint: str, cls: Any, method: str) -> Callable[[Callable[..., Any]], Variant]:
    """Decorator: ``@variant(name, hint, Class, "method")`` over a replacement method makes a one-patch Variant."""
    def make(replacement: Callable[..., Any]) -> Variant:
        return Variant(name, hint, ((cls, method, replacement),))
    return make
