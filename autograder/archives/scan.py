"""The first pass over an archive: every header read with bounded memory, before tarfile or zipfile parse it.

For a tar, a streaming walk of the decompressed data that parses each header
with tarfile's own ``TarInfo.frombuf``; for a zip, the end record that zipfile
itself locates, then the central directory entry by entry, then each member's
local header.  See :mod:`autograder.archives.extract` for the limits it enforces.
"""
from __future__ import annotations

import io
import re
import struct
import tarfile
import zipfile
from collections.abc import Iterable
from typing import BinaryIO, Literal

from autograder.archives.rules import COPY_CHUNK, MiB, ArchiveError, ArchiveLimits, StrPath, check_sizes

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
ZIP_UTF8_NAME = 0x800  # flag bit 11, the name is UTF-8 (zipfile names it _MASK_UTF_FILENAME from 3.11 on only)


def padded(size: int) -> int:
    return -(-size // TAR_BLOCK) * TAR_BLOCK


def pax_records(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (keyword, value) records of one pax header, read the way tarfile reads them."""
    records: list[tuple[bytes, bytes]] = []
    pos = 0
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


def pax_size(value: bytes) -> int:
    """The size a pax ``size`` record gives, as tarfile reads it (an unreadable number counts as 0)."""
    try:
        return int(value.decode("utf-8"))
    except ValueError:
        return 0


def scan_tar(stream: io.BufferedIOBase, limits: ArchiveLimits) -> None:
    """Walk every header of the decompressed tar ``stream`` as tarfile will, holding one header at a time.

    Raises ArchiveError when a limit is broken (an oversized or endless chain of extended headers,
    too many headers, members or pax records, too much data) and tarfile.ReadError when the data
    is not a tar archive.  Nothing is kept but counters and the keywords of global pax records.
    """
    position = header_bytes = members = pax_held = chain = 0
    global_keys: set[bytes] = set()
    local: dict[bytes, bytes] = {}
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


def tar_mode(path: StrPath) -> Literal["r:gz", "r:"]:
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


def zip_directory_size(handle: BinaryIO, limits: ArchiveLimits) -> int:
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


def zip_local_headers_size(handle: BinaryIO, infos: Iterable[zipfile.ZipInfo]) -> int:
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
        encoding = "utf-8" if info.flag_bits & ZIP_UTF8_NAME else "cp437"
        if name.decode(encoding, "replace") != info.orig_filename:
            raise ArchiveError(f"member {info.filename!r}: its local header names another file")
        total += ZIP_LOCAL.size + len(name) + fields[zipfile._FH_EXTRA_FIELD_LENGTH]
    return total
