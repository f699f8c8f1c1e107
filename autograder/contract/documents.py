"""The JSON documents the grader reads and writes, each checked against its schema in ``schemas/``.

Each kind of document has its own error type, a subclass of
:class:`DocumentError`, so a caller can tell an untrustworthy fixture set from
a report it failed to build or a results file it must still write.  jsonschema is
imported only when a document is actually checked (a manifest that already passed is
recorded by :mod:`autograder.contract.verified`).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from autograder.contract import verified
from autograder.errors import GraderError

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


class DocumentError(GraderError):
    """A document that does not match its schema (or cannot be trusted for another reason)."""


@functools.lru_cache(maxsize=None)
def schema_bytes(name: str) -> bytes:
    return (SCHEMA_DIR / name).read_bytes()


def load_schema(name: str) -> dict[str, Any]:
    return json.loads(schema_bytes(name))


def validate_document(schema_name: str, document: Any, source: str, error_type: type[DocumentError]) -> None:
    """Raise ``error_type`` naming ``source``, the failing field and why, if ``document`` fails its schema."""
    import jsonschema  # here: a run that checks no document never pays for the import
    validator = jsonschema.Draft202012Validator(load_schema(schema_name))
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise error_type(f"{source}: does not match {schema_name} at {where}: {error.message}")


def validate_document_bytes(schema_name: str, raw: bytes, document: Any, source: str,
                            error_type: type[DocumentError]) -> None:
    """``validate_document`` for ``document`` parsed from ``raw``, skipped if these exact bytes passed before.

    A pass is recorded (see :mod:`autograder.contract.verified`); a failure never is.
    """
    schema = schema_bytes(schema_name)
    if verified.is_verified(schema, raw):
        return
    validate_document(schema_name, document, source, error_type)
    verified.remember(schema, raw)
