"""Safe extraction of handin archives: every rule, with crafted zip and tar files."""
import io
import os
import stat
import tarfile
import zipfile

import pytest

from autograder.archives.extract import (ArchiveError, ArchiveLimits, archive_suffix, extract_archive, list_members,
                                 strip_archive_suffix)

GOOD = {"handin/mytorch/__init__.py": b"", "handin/mytorch/conv1d.py": b"x = 1\n"}


def make_zip(path, members):
    """members: {name: bytes} or {name: (bytes, unix_mode)}."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, value in members.items():
            data, mode = value if isinstance(value, tuple) else (value, 0o100644)
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def make_tar(path, members, mode="w:gz"):
    """members: list of TarInfo-building tuples (name, type, data_or_linkname)."""
    with tarfile.open(path, mode) as archive:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.REGTYPE:
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
            else:
                if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                    info.linkname = payload
                archive.addfile(info)
    return path


def files_under(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_suffixes_and_student_ids():
    assert [archive_suffix(n) for n in ("a.zip", "a.TAR.GZ", "a.tgz", "a.tar", "a.rar", ".zip", "zip")] == \
        [".zip", ".tar.gz", ".tgz", ".tar", None, None, None]
    assert [strip_archive_suffix(n) for n in ("alice.zip", "bob.tar.gz", "carol.tgz", "dave.tar", "eve.rar")] == \
        ["alice", "bob", "carol", "dave", "eve.rar"]


@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz", "tgz"])
def test_good_archive_extracts_with_safe_permissions(tmp_path, kind):
    path = tmp_path / f"alice.{kind}"
    if kind == "zip":
        make_zip(path, {"handin/": (b"", 0o40755), **{k: (v, 0o104755) for k, v in GOOD.items()}})  # setuid bit
    else:
        make_tar(path, [("handin", tarfile.DIRTYPE, b"")] + [(k, tarfile.REGTYPE, v) for k, v in GOOD.items()],
                 mode="w" if kind == "tar" else "w:gz")
    dest = extract_archive(path, tmp_path / "out")
    assert files_under(dest) == ["handin", "handin/mytorch", "handin/mytorch/__init__.py",
                                 "handin/mytorch/conv1d.py"]
    target = dest / "handin/mytorch/conv1d.py"
    assert target.read_bytes() == b"x = 1\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


UNSAFE_NAMES = {
    "absolute": ("/etc/evil.py", "absolute path"),
    "dotdot": ("handin/../../evil.py", "'..'"),
    "dotdot_backslash": ("handin\\..\\..\\evil.py", "'..'"),
    "drive_letter": ("C:/evil.py", "drive letter"),
}


@pytest.mark.parametrize("case", sorted(UNSAFE_NAMES))
@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_unsafe_names_are_rejected_and_nothing_is_extracted(tmp_path, case, kind):
    name, expected = UNSAFE_NAMES[case]
    path = tmp_path / f"bad.{kind}"
    # the unsafe member comes last: nothing before it may be written either
    if kind == "zip":
        make_zip(path, {**GOOD, name: b"boom"})
    else:
        make_tar(path, [(k, tarfile.REGTYPE, v) for k, v in GOOD.items()] + [(name, tarfile.REGTYPE, b"boom")])
    dest = tmp_path / "out"
    with pytest.raises(ArchiveError, match=expected):
        extract_archive(path, dest)
    assert files_under(dest) == []
    assert not (tmp_path / "evil.py").exists()


@pytest.mark.parametrize("kind, expected", [(tarfile.SYMTYPE, "symbolic link"), (tarfile.LNKTYPE, "hard link"),
                                            (tarfile.CHRTYPE, "device"), (tarfile.BLKTYPE, "device"),
                                            (tarfile.FIFOTYPE, "FIFO")])
def test_tar_links_and_devices_are_rejected(tmp_path, kind, expected):
    path = make_tar(tmp_path / "bad.tar", [(k, tarfile.REGTYPE, v) for k, v in GOOD.items()]
                    + [("handin/mytorch/link.py", kind, "/etc/passwd")], mode="w")
    with pytest.raises(ArchiveError, match=expected):
        extract_archive(path, tmp_path / "out")
    assert files_under(tmp_path / "out") == []


@pytest.mark.parametrize("mode, expected", [(0o120777, "symbolic link"), (0o020644, "device"),
                                            (0o010644, "FIFO")])
def test_zip_links_and_devices_are_rejected(tmp_path, mode, expected):
    path = make_zip(tmp_path / "bad.zip", {**GOOD, "handin/mytorch/link.py": (b"/etc/passwd", mode)})
    with pytest.raises(ArchiveError, match=expected):
        extract_archive(path, tmp_path / "out")
    assert files_under(tmp_path / "out") == []


def test_symlink_then_write_through_it_is_rejected(tmp_path):
    """The classic escape: a link to outside, then a file written 'inside' the link."""
    path = make_tar(tmp_path / "bad.tar.gz", [("handin/escape", tarfile.SYMTYPE, str(tmp_path)),
                                              ("handin/escape/evil.py", tarfile.REGTYPE, b"boom")])
    with pytest.raises(ArchiveError, match="symbolic link"):
        extract_archive(path, tmp_path / "out")
    assert not (tmp_path / "evil.py").exists()


def test_total_size_cap_declared(tmp_path):
    limits = ArchiveLimits(max_bytes=1000, max_files=50)
    path = make_zip(tmp_path / "big.zip", {**GOOD, "handin/mytorch/big.py": b"0" * 2000})  # compresses to ~20 B
    with pytest.raises(ArchiveError, match="exceed the limit"):
        extract_archive(path, tmp_path / "out", limits)
    assert files_under(tmp_path / "out") == []
    tar = make_tar(tmp_path / "big.tgz", [("a.py", tarfile.REGTYPE, b"0" * 600), ("b.py", tarfile.REGTYPE, b"0" * 600)])
    with pytest.raises(ArchiveError, match="exceed the limit"):
        extract_archive(tar, tmp_path / "out2", limits)


def test_zip_member_understating_its_size_is_refused_and_cleaned_up(tmp_path):
    """A zip whose headers declare 10 bytes for a 5000-byte member passes the up-front size check;
    extraction must still fail (zipfile stops at the declared size and the CRC fails; the bytes written
    are counted as well) and remove what it had written."""
    path = make_zip(tmp_path / "liar.zip", {"handin/mytorch/a.py": b"A" * 5000})
    data = bytearray(path.read_bytes())
    # patch the uncompressed size (4 bytes) in the local header (offset 22) and the central directory (offset 24)
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 22:local + 26] = (10).to_bytes(4, "little")
    data[central + 24:central + 28] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert list_members(path)[0].size == 10  # passes the up-front check...
    with pytest.raises(ArchiveError, match="extraction failed|exceeds the limit"):
        extract_archive(path, tmp_path / "out", ArchiveLimits(max_bytes=1000))
    assert files_under(tmp_path / "out") == []


def test_file_count_cap(tmp_path):
    limits = ArchiveLimits(max_files=20)
    members = {f"handin/mytorch/f{i}.py": b"" for i in range(21)}
    with pytest.raises(ArchiveError, match="limit of 20"):
        extract_archive(make_zip(tmp_path / "many.zip", members), tmp_path / "out", limits)
    tar = make_tar(tmp_path / "many.tar", [(k, tarfile.REGTYPE, v) for k, v in members.items()], mode="w")
    with pytest.raises(ArchiveError, match="limit of 20"):
        extract_archive(tar, tmp_path / "out2", limits)
    assert files_under(tmp_path / "out") == files_under(tmp_path / "out2") == []


def test_archive_file_size_cap(tmp_path):
    path = make_zip(tmp_path / "big.zip", {"a.bin": os.urandom(4000)})
    with pytest.raises(ArchiveError, match="the archive is"):
        extract_archive(path, tmp_path / "out", ArchiveLimits(max_archive_bytes=1000))


@pytest.mark.parametrize("name", ["corrupt.zip", "corrupt.tar.gz", "corrupt.tar"])
def test_unreadable_archive_is_an_error_not_a_crash(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"this is not an archive at all" * 40)
    with pytest.raises(ArchiveError, match="not a readable"):
        extract_archive(path, tmp_path / "out")


def test_huge_declared_member_is_refused_from_its_header(tmp_path):
    """A tiny .tar.gz declaring a 1 GiB member is refused from the header, without inflating anything."""
    path = tmp_path / "bomb.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("handin/mytorch/zeros.py")
        info.size = 1 << 30
        header = info.tobuf(archive.format, archive.encoding, archive.errors)
        archive.fileobj.write(header)  # the header only (addfile wants the body from 3.13 on): the checker
        archive.offset += len(header)  # must not need it
    assert path.stat().st_size < 10_000
    with pytest.raises(ArchiveError, match="exceed the limit"):
        extract_archive(path, tmp_path / "out")


def test_written_bytes_are_capped_even_if_the_up_front_check_missed(tmp_path, monkeypatch):
    """Defence in depth: with the declared-size check disabled, the byte counter still stops extraction."""
    import autograder.archives.members as archive_members
    original = archive_members.tar_members
    monkeypatch.setattr(archive_members, "tar_members", lambda archive, limits: original(archive, ArchiveLimits()))
    path = make_tar(tmp_path / "big.tgz", [("a.py", tarfile.REGTYPE, b"0" * 600), ("b.py", tarfile.REGTYPE, b"0" * 600)])
    with pytest.raises(ArchiveError, match="exceeds the limit"):
        extract_archive(path, tmp_path / "out", ArchiveLimits(max_bytes=1000))
    assert files_under(tmp_path / "out") == []
