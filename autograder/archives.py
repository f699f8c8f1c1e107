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
"""
import gzip
import os
import re
import shutil
import stat
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from autograder.safetext import for_terminal

MiB = 1024 * 1024
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")  # longest first: ".tar.gz" before ".tar"
COPY_CHUNK = 1 << 16
MAX_MEMBER_DEPTH = 64  # folders in a member's path (creating and removing them must not recurse deeper)
TAR_BLOCK = tarfile.BLOCKSIZE
TAR_EXTENDED_TYPES = {tarfile.XHDTYPE: "pax extended header", tarfile.XGLTYPE: "pax global header",
                      tarfile.SOLARIS_XHDTYPE: "pax extended header", tarfile.GNUTYPE_LONGNAME: "GNU long name",
                      tarfile.GNUTYPE_LONGLINK: "GNU long link name"}
TAR_PAX_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)
MAX_TAR_HEADER_CHAIN = 8  # extended headers in a row before a member (tarfile follows them recursively)
PAX_RECORD = re.compile(rb"(\d+) ([^=]+)=")  # tarfile's own record pattern: the same records are counted
COMPRESSION_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz"}
ZIP_END_SIGNATURE_64 = zipfile.stringEndArchive64
ZIP_CENTRAL = struct.Struct(zipfile.structCentralDir)
ZIP_CENTRAL_SIGNATURE = zipfile.stringCentralDir
ZIP_LOCAL = struct.Struct(zipfile.structFileHeader)
ZIP_LOCAL_SIGNATURE = zipfile.stringFileHeader


class ArchiveError(Exception):
    """An archive that is unreadable or violates a safety rule; nothing was extracted."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_bytes: int = 50 * MiB
    max_files: int = 2000
    max_archive_bytes: int = 50 * MiB
    max_header_bytes: int = 4 * MiB
    max_extended_header_bytes: int = 64 * 1024
    max_pax_records: int = 100_000


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
    if len(parts) > MAX_MEMBER_DEPTH:
        raise ArchiveError(f"member {shown}: more than {MAX_MEMBER_DEPTH} folders deep")
    return tuple(parts)


def shown_archive(path):
    """An archive's file name as error messages show it (it is the entry's name: anything at all)."""
    return for_terminal(Path(path).name)


def check_sizes(position, header_bytes, limits):
    if header_bytes > limits.max_header_bytes:
        raise ArchiveError(f"the headers alone exceed the limit of {limits.max_header_bytes // MiB} MiB")
    if position > limits.max_bytes:
        raise ArchiveError(f"decompressed size (headers included) would exceed the limit of "
                           f"{limits.max_bytes // MiB} MiB")


def padded(size):
    return -(-size // TAR_BLOCK) * TAR_BLOCK


def pax_records(data):
    """The (keyword, value) records of one pax header, read the way tarfile reads them."""
    records, pos = [], 0
    while True:
        match = PAX_RECORD.match(data, pos)
        if not match:
            return records
        try:
            length = int(match.group(1))
        except ValueError:
            length = 0
        if length <= 0:
            raise ArchiveError("malformed pax header record")
        records.append((match.group(2), data[match.end(2) + 1:match.start(1) + length - 1]))
        pos += length


def pax_size(value):
    """The size a pax ``size`` record gives, as tarfile reads it (an unreadable number counts as 0)."""
    try:
        return int(value.decode("utf-8"))
    except ValueError:
        return 0


def scan_tar(stream, limits):
    """Walk every header of the decompressed tar ``stream`` as tarfile will, holding one header at a time.

    Raises ArchiveError when a limit is broken (an oversized or endless chain of extended headers,
    too many headers, members or pax records, too much data) and tarfile.ReadError when the data
    is not a tar archive.  Nothing is kept but counters and the keywords of global pax records.
    """
    position = header_bytes = members = pax_held = chain = 0
    global_keys, local = set(), {}
    while True:
        block = stream.read(TAR_BLOCK)
        try:
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError as error:
            if position == 0 or chain:
                raise tarfile.ReadError(f"invalid tar header at byte {position} ({error})") from None
            return  # the end marker, the end of the data or an unreadable header: tarfile stops there too
        where = f"at byte {position}"
        position += TAR_BLOCK
        header_bytes += TAR_BLOCK
        if info.size < 0:
            raise ArchiveError(f"member {info.name!r}: negative size")
        if info.type == tarfile.GNUTYPE_SPARSE:
            raise ArchiveError(f"member {info.name!r}: sparse file")
        kind = TAR_EXTENDED_TYPES.get(info.type)
        if kind is not None:
            chain += 1
            if chain > MAX_TAR_HEADER_CHAIN:
                raise ArchiveError(f"more than {MAX_TAR_HEADER_CHAIN} extended headers in a row ({where})")
            if info.size > limits.max_extended_header_bytes:
                raise ArchiveError(f"a {kind} of {info.size} bytes ({where}), more than the limit of "
                                   f"{limits.max_extended_header_bytes} bytes for one header")
            length = padded(info.size)
            position += length
            header_bytes += length
            check_sizes(position, header_bytes, limits)
            data = stream.read(length)
            if len(data) < length:
                raise tarfile.ReadError(f"the archive ends inside a {kind} ({where})")
            if info.type in TAR_PAX_TYPES:
                records = pax_records(data)
                pax_held += len(records)
                keys = {key for key, _ in records}
                if any(key.startswith(b"GNU.sparse.") for key in keys):
                    raise ArchiveError(f"sparse file (GNU sparse records in a {kind}, {where})")
                if info.type == tarfile.XGLTYPE:
                    if b"size" in keys:
                        raise ArchiveError(f"a pax global header sets the size of every member ({where})")
                    global_keys |= keys
                else:
                    local.update(records)
            continue
        chain = 0
        members += 1
        if members > limits.max_files:
            raise ArchiveError(f"more than the limit of {limits.max_files} members")
        size = pax_size(local[b"size"]) if b"size" in local else info.size
        if size < 0:
            raise ArchiveError(f"member {info.name!r}: negative size")
        pax_held += len(global_keys) + len(local)  # tarfile gives every member its own copy of them
        if pax_held > limits.max_pax_records:
            raise ArchiveError(f"more than the limit of {limits.max_pax_records} pax header records")
        local = {}
        check_sizes(position, header_bytes, limits)
        if info.isreg() or info.type not in tarfile.SUPPORTED_TYPES:  # tarfile skips data for these only
            length = padded(size)
            position += length
            check_sizes(position, header_bytes, limits)
            while length:
                chunk = stream.read(min(length, COPY_CHUNK))
                if not chunk:
                    return  # the data ends early: tarfile's listing ends there too
                length -= len(chunk)


def tar_mode(path):
    """tarfile's read mode for ``path``: gzip-compressed or not compressed (other compressors are refused:
    their decoders' memory is chosen by the archive)."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    compression = next((name for magic, name in COMPRESSION_MAGIC.items() if head.startswith(magic)), None)
    if compression == "gzip":
        return "r:gz"
    if compression is not None:
        raise ArchiveError(f"compressed with {compression}: only uncompressed or gzip-compressed tar archives "
                           f"are accepted")
    return "r:"


def tar_members(path, limits):
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


def zip_directory_size(handle, limits):
    """Check the central directory zipfile will read, before it reads it: at most ``max_header_bytes``
    and ``max_files`` entries.  Returns its size in bytes.

    The end record is found by zipfile's own ``_EndRecData`` so that these bounds apply to exactly the
    directory zipfile then parses (a second end record hidden in a comment cannot split the two).
    """
    end = zipfile._EndRecData(handle)
    if not end:
        raise zipfile.BadZipFile("File is not a zip file")
    size = end[zipfile._ECD_SIZE]
    start = end[zipfile._ECD_LOCATION] - size
    if end[zipfile._ECD_SIGNATURE] == ZIP_END_SIGNATURE_64:
        start -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator
    if size > limits.max_header_bytes:
        raise ArchiveError(f"a central directory of {size} bytes, more than the header limit of "
                           f"{limits.max_header_bytes // MiB} MiB")
    if start < 0:
        raise zipfile.BadZipFile("Bad offset for central directory")
    handle.seek(start)
    directory = handle.read(size)
    pos = count = 0
    while pos < size:
        if len(directory) - pos < ZIP_CENTRAL.size:
            raise zipfile.BadZipFile("Truncated central directory")
        fields = ZIP_CENTRAL.unpack_from(directory, pos)
        if fields[0] != ZIP_CENTRAL_SIGNATURE:
            raise zipfile.BadZipFile("Bad magic number for central directory")
        count += 1
        if count > limits.max_files:
            raise ArchiveError(f"more than the limit of {limits.max_files} members")
        pos += ZIP_CENTRAL.size + fields[zipfile._CD_FILENAME_LENGTH] + fields[zipfile._CD_EXTRA_FIELD_LENGTH] \
            + fields[zipfile._CD_COMMENT_LENGTH]
    return size


def zip_local_headers_size(handle, infos):
    """The bytes of every member's local header (name and extra field included), each checked to be a
    local header that names its member as the central directory does (zipfile checks that only later,
    while extracting)."""
    total = 0
    for info in infos:
        handle.seek(info.header_offset)
        header = handle.read(ZIP_LOCAL.size)
        fields = ZIP_LOCAL.unpack(header) if len(header) == ZIP_LOCAL.size else (None,)
        if fields[0] != ZIP_LOCAL_SIGNATURE:
            raise ArchiveError(f"member {info.filename!r}: no local header where the directory points")
        name = handle.read(fields[zipfile._FH_FILENAME_LENGTH])
        encoding = "utf-8" if info.flag_bits & zipfile._MASK_UTF_FILENAME else "cp437"
        if name.decode(encoding, "replace") != info.orig_filename:
            raise ArchiveError(f"member {info.filename!r}: its local header names another file")
        total += ZIP_LOCAL.size + len(name) + fields[zipfile._FH_EXTRA_FIELD_LENGTH]
    return total


def zip_members(archive, limits, header_bytes=0):
    """The checked members of an open ZipFile; ``header_bytes`` (its headers) count toward the size limit."""
    members, total = [], header_bytes
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


def open_zip(path, limits):
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


def list_tar(archive, limits):
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
            raise ArchiveError(f"{shown_archive(path)}: {error}") from None
        except READ_ERRORS as error:
            clear_folder(dest)
            raise ArchiveError(f"{shown_archive(path)}: extraction failed "
                               f"({type(error).__name__}: {for_terminal(str(error))})") from None
    return dest


def clear_folder(folder):
    for entry in Path(folder).iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


__all__ = ["ArchiveError", "ArchiveLimits", "archive_suffix", "strip_archive_suffix", "list_members",
           "extract_archive", "safe_parts"]
