"""Safe extraction of a student's handin archive (.zip, .tar, .tar.gz, .tgz).

An archive is checked *completely* before anything is written; a violation
raises :class:`ArchiveError` naming the member and the rule, and nothing is
extracted.  Rules:

- member names must be relative, without ``..`` components, NUL bytes or a
  drive letter (a backslash counts as a path separator), at most
  ``MAX_MEMBER_DEPTH`` folders deep;
- only regular files and folders: no symlinks, hardlinks, device files, FIFOs
  or sparse tar members;
- at most ``max_files`` members and ``max_bytes`` of decompressed data, every
  header included (declared sizes are checked up front; the bytes actually
  written are counted again during extraction, so a member that lies about its
  size is caught as well);
- the headers alone (tar header blocks, pax and GNU long-name headers; zip
  central-directory and local headers with their names, extra fields and
  comments) at most ``max_header_bytes``; one pax or GNU long-name header at most
  ``max_extended_header_bytes``; the pax records a listing holds in memory (a
  global record is copied into every later member) at most ``max_pax_records``;
- the archive file itself is at most ``max_archive_bytes``; a tar is gzip-
  compressed or not compressed at all.

The limits are checked by a first pass that reads the headers itself, with
bounded memory, *before* :mod:`tarfile` or :mod:`zipfile` parses anything (both
read a whole pax header, GNU long name or central directory into memory, and
build an object per entry), and that pass walks the headers exactly as they
will: for a tar, a streaming walk of the decompressed data that parses each
header with tarfile's own ``TarInfo.frombuf``; for a zip, the end record that
zipfile itself locates, then the central directory entry by entry, then each
member's local header.

Extraction never uses ``extractall``: every member is written by this module,
with fixed permissions (0644 files, 0755 folders), to a path checked to lie
inside the destination folder.

This module is the interface (:func:`list_members`, :func:`extract_archive`
and the names in ``__all__``) and the extraction; the parts live in
:mod:`autograder.archives.rules` (limits, error, suffixes, safe names),
:mod:`autograder.archives.scan` (the header pre-scan) and
:mod:`autograder.archives.members` (listing and checking the members).
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from autograder.archives.members import READ_ERRORS, Member, OpenArchive
from autograder.archives.rules import (COPY_CHUNK, MiB, ArchiveError, ArchiveLimits, StrPath, archive_suffix, safe_parts,
                                      shown_archive, strip_archive_suffix)
from autograder.util.safetext import for_terminal


def list_members(path: StrPath, limits: ArchiveLimits = ArchiveLimits()) -> list[Member]:
    """Check ``path`` completely and return its members; raise ArchiveError on any violation."""
    with OpenArchive(path, limits) as opened:
        return list(opened.members)


def target_path(root: Path, parts: Sequence[str]) -> Path:
    target = root.joinpath(*parts)
    resolved = Path(os.path.realpath(target))
    if resolved != root and root not in resolved.parents:
        raise ArchiveError(f"member {'/'.join(parts)!r}: would be written outside the extraction folder")
    return target


def extract_archive(path: StrPath, dest: StrPath, limits: ArchiveLimits = ArchiveLimits()) -> Path:
    """Extract the archive ``path`` into the (new or empty) folder ``dest`` after checking all of it.

    Raises ArchiveError (and leaves ``dest`` empty) if the archive is unreadable
    or breaks any rule; returns ``dest`` as a Path otherwise.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = Path(os.path.realpath(dest))
    with OpenArchive(path, limits) as opened:  # every member is checked here, before anything is written
        try:
            written = 0
            for member in opened.members:
                target = target_path(root, member.parts)
                if member.is_dir:
                    target.mkdir(mode=0o755, parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                target_path(root, member.parts)  # the parents exist now: check again, resolved
                with opened.open_member(member) as source, \
                        open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644),
                             "wb") as sink:
                    while True:
                        chunk = source.read(COPY_CHUNK)
                        if not chunk:
                            break
                        written += len(chunk)
                        if written > limits.max_bytes:
                            raise ArchiveError(f"member {member.name!r}: extracted data exceeds the limit of "
                                               f"{limits.max_bytes // MiB} MiB (the archive understates sizes)")
                        sink.write(chunk)
        except ArchiveError as error:
            clear_folder(dest)
            raise ArchiveError(f"{shown_archive(path)}: {error}") from None
        except READ_ERRORS as error:
            clear_folder(dest)
            raise ArchiveError(f"{shown_archive(path)}: extraction failed "
                               f"({type(error).__name__}: {for_terminal(str(error))})") from None
    return dest


def clear_folder(folder: StrPath) -> None:
    for entry in Path(folder).iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


__all__ = ["ArchiveError", "ArchiveLimits", "archive_suffix", "strip_archive_suffix", "list_members",
           "extract_archive", "safe_parts"]
