"""What every archive check shares: which files are archives, the limits, the error, safe member names.

See :mod:`autograder.archives.extract` for the rules themselves and the public interface.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from autograder.errors import GraderError
from autograder.util.safetext import for_terminal

MiB = 1024 * 1024
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")  # longest first: ".tar.gz" before ".tar"
COPY_CHUNK = 1 << 16
MAX_MEMBER_DEPTH = 64  # folders in a member's path (creating and removing them must not recurse deeper)

StrPath = str | os.PathLike[str]


class ArchiveError(GraderError):
    """An archive that is unreadable or violates a safety rule; nothing was extracted."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_bytes: int = 50 * MiB
    max_files: int = 2000
    max_archive_bytes: int = 50 * MiB
    max_header_bytes: int = 4 * MiB
    max_extended_header_bytes: int = 64 * 1024
    max_pax_records: int = 100_000


def archive_suffix(path: StrPath) -> str | None:
    """The archive suffix of ``path`` (".zip", ".tar", ".tar.gz", ".tgz") or None."""
    name = Path(path).name.lower()
    return next((suffix for suffix in ARCHIVE_SUFFIXES if name.endswith(suffix) and len(name) > len(suffix)),
                None)


def strip_archive_suffix(name: str) -> str:
    suffix = archive_suffix(name)
    return name[:-len(suffix)] if suffix else name


def safe_parts(name: str) -> tuple[str, ...]:
    """The relative path parts of a member name, or raise ArchiveError if the name is unsafe."""
    if not isinstance(name, str) or not name:
        raise ArchiveError("a member has an empty name")
    shown = repr(name)
    if "\x00" in name:
        raise ArchiveError(f"member {shown}: the name contains a NUL byte")
    normalized = name.replace("\\", "/")
    if normalized.startswith("/"):
        raise ArchiveError(f"member {shown}: absolute path")
    if len(normalized) >= 2 and normalized[1] == ":" and normalized[0].isalpha():
        raise ArchiveError(f"member {shown}: absolute path (drive letter)")
    parts = [p for p in PurePosixPath(normalized).parts if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"member {shown}: '..' path component (would escape the extraction folder)")
    if len(parts) > MAX_MEMBER_DEPTH:
        raise ArchiveError(f"member {shown}: more than {MAX_MEMBER_DEPTH} folders deep")
    return tuple(parts)


def shown_archive(path: StrPath) -> str:
    """An archive's file name as error messages show it (it is the entry's name: anything at all)."""
    return for_terminal(Path(path).name)


def check_sizes(position: int, header_bytes: int, limits: ArchiveLimits) -> None:
    if header_bytes > limits.max_header_bytes:
        raise ArchiveError(f"the headers alone exceed the limit of {limits.max_header_bytes // MiB} MiB")
    if position > limits.max_bytes:
        raise ArchiveError(f"decompressed size (headers included) would exceed the limit of "
                           f"{limits.max_bytes // MiB} MiB")
