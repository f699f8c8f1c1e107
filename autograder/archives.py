"""Safe extraction of a student's handin archive (.zip, .tar, .tar.gz, .tgz).

An archive is checked *completely* before anything is written; a violation
raises :class:`ArchiveError` naming the member and the rule, and nothing is
extracted.  Rules:

- member names must be relative, without ``..`` components, NUL bytes or a
  drive letter (a backslash counts as a path separator);
- only regular files and folders: no symlinks, hardlinks, device files, FIFOs
  or sparse tar members;
- at most ``max_files`` members and ``max_bytes`` of extracted data (declared
  sizes are checked up front; the bytes actually written are counted again
  during extraction, so a member that lies about its size is caught as well);
- the archive file itself is at most ``max_archive_bytes``.

Extraction never uses ``extractall``: every member is written by this module,
with fixed permissions (0644 files, 0755 folders), to a path checked to lie
inside the destination folder.
"""
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MiB = 1024 * 1024
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")  # longest first: ".tar.gz" before ".tar"
COPY_CHUNK = 1 << 16


class ArchiveError(Exception):
    """An archive that is unreadable or violates a safety rule; nothing was extracted."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_bytes: int = 50 * MiB
    max_files: int = 2000
    max_archive_bytes: int = 50 * MiB


@dataclass(frozen=True)
class Member:
    """One checked member: its safe relative parts, whether it is a folder, its declared size."""
    parts: tuple
    is_dir: bool
    size: int
    source: object  # ZipInfo or TarInfo

    @property
    def name(self):
        return "/".join(self.parts)


def archive_suffix(path):
    """The archive suffix of ``path`` (".zip", ".tar", ".tar.gz", ".tgz") or None."""
    name = Path(path).name.lower()
    return next((suffix for suffix in ARCHIVE_SUFFIXES if name.endswith(suffix) and len(name) > len(suffix)),
                None)


def strip_archive_suffix(name):
    suffix = archive_suffix(name)
    return name[:-len(suffix)] if suffix else name


def safe_parts(name):
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
    return tuple(parts)


# ----------------------------------------------------------------------------- member listing

def zip_members(archive, limits):
    members, total = [], 0
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
        if total > limits.max_bytes:
            raise ArchiveError(f"extracted size would exceed the limit of {limits.max_bytes // MiB} MiB")
        if parts:
            members.append(Member(parts, is_dir, size, info))
    return members


def tar_members(archive, limits):
    """Members read one header at a time, so a huge or endless archive is stopped early."""
    members, total, count = [], 0, 0
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


READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, tarfile.TarError, EOFError, zlib.error, OSError,
               NotImplementedError, RuntimeError, ValueError)


class _Open:
    """Open ``path`` as a zip or tar archive and list its checked members."""

    def __init__(self, path, limits):
        self.path = Path(path)
        self.limits = limits
        self.archive = None

    def __enter__(self):
        suffix = archive_suffix(self.path)
        if suffix is None:
            raise ArchiveError(f"{self.path.name}: not a .zip, .tar, .tar.gz or .tgz archive")
        try:
            size = self.path.stat().st_size
        except OSError as error:
            raise ArchiveError(f"{self.path.name}: cannot read ({error.strerror or error})") from None
        if size > self.limits.max_archive_bytes:
            raise ArchiveError(f"{self.path.name}: the archive is {size / MiB:.1f} MiB, more than the limit "
                               f"of {self.limits.max_archive_bytes // MiB} MiB")
        try:
            if suffix == ".zip":
                self.archive = zipfile.ZipFile(self.path)
                self.members = zip_members(self.archive, self.limits)
            else:
                self.archive = tarfile.open(self.path, mode="r:*")
                self.members = tar_members(self.archive, self.limits)
        except ArchiveError as error:
            self.close()
            raise ArchiveError(f"{self.path.name}: {error}") from None
        except READ_ERRORS as error:
            self.close()
            raise ArchiveError(f"{self.path.name}: not a readable {suffix} archive ({error})") from None
        return self

    def open_member(self, member):
        if isinstance(self.archive, zipfile.ZipFile):
            return self.archive.open(member.source)
        handle = self.archive.extractfile(member.source)
        if handle is None:
            raise ArchiveError(f"member {member.name!r}: has no data")
        return handle

    def close(self):
        if self.archive is not None:
            self.archive.close()
            self.archive = None

    def __exit__(self, *exc):
        self.close()


def list_members(path, limits=ArchiveLimits()):
    """Check ``path`` completely and return its members; raise ArchiveError on any violation."""
    with _Open(path, limits) as opened:
        return list(opened.members)


# ----------------------------------------------------------------------------- extraction

def target_path(root, parts):
    target = root.joinpath(*parts)
    resolved = Path(os.path.realpath(target))
    if resolved != root and root not in resolved.parents:
        raise ArchiveError(f"member {'/'.join(parts)!r}: would be written outside the extraction folder")
    return target


def extract_archive(path, dest, limits=ArchiveLimits()):
    """Extract the archive ``path`` into the (new or empty) folder ``dest`` after checking all of it.

    Raises ArchiveError (and leaves ``dest`` empty) if the archive is unreadable
    or breaks any rule; returns ``dest`` as a Path otherwise.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = Path(os.path.realpath(dest))
    with _Open(path, limits) as opened:  # every member is checked here, before anything is written
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
            raise ArchiveError(f"{Path(path).name}: {error}") from None
        except READ_ERRORS as error:
            clear_folder(dest)
            raise ArchiveError(f"{Path(path).name}: extraction failed ({type(error).__name__}: {error})") from None
    return dest


def clear_folder(folder):
    for entry in Path(folder).iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


__all__ = ["ArchiveError", "ArchiveLimits", "archive_suffix", "strip_archive_suffix", "list_members",
           "extract_archive", "safe_parts"]
