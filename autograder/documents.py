"""The JSON documents the grader reads and writes, each checked against its schema in ``schemas/``.

Each kind of document has its own error type, a subclass of
:class:`DocumentError`, so a caller can tell an untrustworthy fixture set from
a report it failed to build or a results file it must still write.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


class DocumentError(Exception):
    """A document that does not match its schema (or cannot be trusted for another reason)."""


@functools.lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / name).read_text())


def validate_document(schema_name: str, document: Any, source: str, error_type: type[DocumentError]) -> None:
    """Raise ``error_type`` naming ``source``, the failing field and why, if ``document`` fails its schema."""
    validator = jsonschema.Draft202012Validator(load_schema(schema_name))
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise error_type(f"{source}: does not match {schema_name} at {where}: {error.message}")
