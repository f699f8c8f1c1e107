"""The members of an archive, listed by tarfile or zipfile after the header pre-scan, each one checked.

Only regular files and folders with safe names pass; the open archive and its
checked members are what :mod:`autograder.archives.extract` lists and extracts.
"""
from __future__ import annotations

import gzip
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from autograder.archives.rules import (MiB, ArchiveError, ArchiveLimits, StrPath, archive_suffix, check_sizes,
                                      safe_parts, shown_archive)
from autograder.archives.scan import scan_tar, tar_mode, zip_directory_size, zip_local_headers_size
from autograder.util.safetext import for_terminal

READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, tarfile.TarError, EOFError, zlib.error, OSError,
               NotImplementedError, RuntimeError, ValueError)


@dataclass(frozen=True)
class Member:
    """One checked member: its safe relative parts, whether it is a folder, its declared size."""
    parts: tuple[str, ...]
    is_dir: bool
    size: int
    source: zipfile.ZipInfo | tarfile.TarInfo

    @property
    def name(self) -> str:
        return "/".join(self.parts)


def zip_members(archive: zipfile.ZipFile, limits: ArchiveLimits, header_bytes: int = 0) -> list[Member]:
    """The checked members of an open ZipFile; ``header_bytes`` (its headers) count toward the size limit."""
    members: list[Member] = []
    total = header_bytes
    infos = archive.infolist()
    if len(infos) > limits.max_files:
        raise ArchiveError(f"{len(infos)} members, more than the limit of {limits.max_files}")
    for info in infos:
        parts = safe_parts(info.filename)
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode)
        if kind == stat.S_IFLNK:
            raise ArchiveError(f"member {info.filename!r}: symbolic link")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise ArchiveError(f"member {info.filename!r}: not a regular file or folder "
                               f"(device file, FIFO or socket)")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"member {info.filename!r}: encrypted")
        is_dir = info.is_dir() or kind == stat.S_IFDIR
        size = 0 if is_dir else info.file_size
        total += size
        check_sizes(total, header_bytes, limits)
        if parts:
            members.append(Member(parts, is_dir, size, info))
    return members


def open_zip(path: StrPath, limits: ArchiveLimits) -> tuple[zipfile.ZipFile, list[Member]]:
    """Check the zip at ``path`` (directory first, then local headers, then members); returns the open
    ZipFile and its checked members."""
    with open(path, "rb") as handle:
        header_bytes = zip_directory_size(handle, limits)
        archive = zipfile.ZipFile(path)
        try:
            header_bytes += zip_local_headers_size(handle, archive.infolist())
            check_sizes(position=header_bytes, header_bytes=header_bytes, limits=limits)
            return archive, zip_members(archive, limits, header_bytes)
        except BaseException:
            archive.close()
            raise


def list_tar(archive: tarfile.TarFile, limits: ArchiveLimits) -> list[Member]:
    """Members read one header at a time, so a huge or endless archive is stopped early."""
    members: list[Member] = []
    total = count = 0
    while True:
        info = archive.next()
        if info is None:
            return members
        count += 1
        if count > limits.max_files:
            raise ArchiveError(f"more than the limit of {limits.max_files} members")
        parts = safe_parts(info.name)
        if info.issym():
            raise ArchiveError(f"member {info.name!r}: symbolic link")
        if info.islnk():
            raise ArchiveError(f"member {info.name!r}: hard link")
        if info.ischr() or info.isblk() or info.isfifo():
            raise ArchiveError(f"member {info.name!r}: device file or FIFO")
        if info.issparse():
            raise ArchiveError(f"member {info.name!r}: sparse file")
        if not (info.isreg() or info.isdir()):
            raise ArchiveError(f"member {info.name!r}: not a regular file or folder")
        size = 0 if info.isdir() else info.size
        total += size
        if total > limits.max_bytes:
            raise ArchiveError(f"extracted size would exceed the limit of {limits.max_bytes // MiB} MiB")
        if parts:
            members.append(Member(parts, info.isdir(), size, info))


def tar_members(path: StrPath, limits: ArchiveLimits) -> tuple[tarfile.TarFile, list[Member]]:
    """Check the tar at ``path`` completely with :func:`scan_tar`, then list it with tarfile one header
    at a time; returns the open TarFile and its checked members."""
    mode = tar_mode(path)
    with (gzip.open(path, "rb") if mode == "r:gz" else open(path, "rb")) as stream:
        scan_tar(stream, limits)
    archive = tarfile.open(path, mode=mode)
    try:
        return archive, list_tar(archive, limits)
    except BaseException:
        archive.close()
        raise


class OpenArchive:
    """Open ``path`` as a zip or tar archive and list its checked members."""

    members: list[Member]  # set on entering

    def __init__(self, path: StrPath, limits: ArchiveLimits) -> None:
        self.path = Path(path)
        self.limits = limits
        self.archive: zipfile.ZipFile | tarfile.TarFile | None = None

    def __enter__(self) -> OpenArchive:
        suffix = archive_suffix(self.path)
        if suffix is None:
            raise ArchiveError(f"{shown_archive(self.path)}: not a .zip, .tar, .tar.gz or .tgz archive")
        try:
            size = self.path.stat().st_size
        except OSError as error:
            raise ArchiveError(f"{shown_archive(self.path)}: cannot read ({error.strerror or error})") from None
        if size > self.limits.max_archive_bytes:
            raise ArchiveError(f"{shown_archive(self.path)}: the archive is {size / MiB:.1f} MiB, more than the limit "
                               f"of {self.limits.max_archive_bytes // MiB} MiB")
        try:
            if suffix == ".zip":
                self.archive, self.members = open_zip(self.path, self.limits)
            else:
                self.archive, self.members = tar_members(self.path, self.limits)
        except ArchiveError as error:
            self.close()
            raise ArchiveError(f"{shown_archive(self.path)}: {error}") from None
        except READ_ERRORS as error:
            self.close()
            raise ArchiveError(f"{shown_archive(self.path)}: not a readable {suffix} archive "
                               f"({for_terminal(str(error))})") from None
        return self

    def open_member(self, member: Member) -> IO[bytes]:
        if isinstance(self.archive, zipfile.ZipFile):
            return self.archive.open(member.source)
        handle = self.archive.extractfile(member.source)
        if handle is None:
            raise ArchiveError(f"member {member.name!r}: has no data")
        return handle

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()
            self.archive = None

    def __exit__(self, *exc: object) -> None:
        self.close()
