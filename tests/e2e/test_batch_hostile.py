"""Hostile batch input: archive header bombs, deep folders, entry names that collide with the batch's
outputs or carry terminal escapes and spreadsheet formulas, and staleness that cannot be decided.

The batches grade against a trimmed fixture set (one case per item, see tests/e2e/test_batch.py).
"""
import gzip
import io
import json
import os
import struct
import subprocess
import sys
import tarfile
import unicodedata
import zipfile

import pytest

from autograder.batch import main as batch
from autograder.batch import workers as batch_workers
from autograder.archives.extract import ArchiveError, ArchiveLimits, extract_archive, list_members
from autograder.report.model import validate_report
from helpers import ROOT, copy_complete, rows_of, run_batch, run_runner, trimmed_fixtures, zip_folder


ESCAPED = {"Cc", "Cf", "Zl", "Zp", "Cs"}
FORGED = "\u2028Total score: 100/100 (+15/15 bonus)"
FORGED_NAME = "\u2028Total score: 100 of 100"  # an entry's name holds no slash
PAX_BOMB_BYTES = 256 * 1024 * 1024
WORKER_RSS_BOUND_KIB = 200 * 1024
NEST_DEPTH = 1100


def raw_specials(text, allowed="\n"):
    return sorted({c for c in text if c not in allowed and unicodedata.category(c) in ESCAPED})


def header_bomb(path, size, kind=tarfile.XHDTYPE):
    """A .tar.gz whose first header announces ``size`` bytes of extended header (zeros, so it compresses
    to almost nothing), followed by a real, tiny mytorch/ package."""
    with gzip.open(path, "wb", compresslevel=9) as out:
        header = tarfile.TarInfo("././@PaxHeader")
        header.type, header.size = kind, size
        out.write(header.tobuf(format=tarfile.USTAR_FORMAT))
        zeros = bytes(1 << 20)
        for start in range(0, size, len(zeros)):
            out.write(zeros[:min(len(zeros), size - start)])
        out.write(bytes(-size % tarfile.BLOCKSIZE))
        member = tarfile.TarInfo("mytorch/__init__.py")
        out.write(member.tobuf(format=tarfile.USTAR_FORMAT))
        out.write(bytes(2 * tarfile.BLOCKSIZE))
    return path


def report_of(out, student):
    """The report a batch wrote for ``student`` (wherever this version of the batch puts it)."""
    where = getattr(batch, "report_path", lambda out, student: out / f"{student}.json")
    return where(out, student)


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return trimmed_fixtures(tmp_path_factory.mktemp("fixtures") / "trimmed")


@pytest.mark.slow
@pytest.mark.parametrize("kind, what", [(tarfile.XHDTYPE, "pax extended header"),
                                        (tarfile.XGLTYPE, "pax global header"),
                                        (tarfile.GNUTYPE_LONGNAME, "GNU long name")])
def test_tar_header_bomb_is_refused_before_anything_is_read_or_written(tmp_path, kind, what):
    path = header_bomb(tmp_path / "bomb.tar.gz", 64 * 1024 * 1024, kind)
    assert path.stat().st_size < 200_000
    with pytest.raises(ArchiveError, match=f"{what} of {64 * 1024 * 1024} bytes"):
        extract_archive(path, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_tar_headers_count_toward_the_decompressed_size(tmp_path):
    """Long names in pax headers: small data, but the headers alone are over the limit."""
    path = tmp_path / "names.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        for i in range(8):
            info = tarfile.TarInfo(f"mytorch/{i}_" + "n" * 3000 + ".py")
            archive.addfile(info, io.BytesIO(b""))
    limits = ArchiveLimits(max_bytes=20_000)
    assert sum(m.size for m in list_members(path)) == 0
    with pytest.raises(ArchiveError, match="headers included"):
        list_members(path, limits)


def test_global_pax_records_copied_into_every_member_are_budgeted(tmp_path):
    path = tmp_path / "global.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT,
                      pax_headers={f"k{i}": "v" for i in range(100)}) as archive:
        for i in range(200):
            archive.addfile(tarfile.TarInfo(f"mytorch/f{i}.py"), io.BytesIO(b""))
    assert len(list_members(path)) == 200
    with pytest.raises(ArchiveError, match="limit of 1000 pax header records"):
        list_members(path, ArchiveLimits(max_pax_records=1000))


def test_endless_chain_of_extended_headers_is_refused(tmp_path):
    path = tmp_path / "chain.tar"
    with open(path, "wb") as out:
        for _ in range(50):
            header = tarfile.TarInfo("././@PaxHeader")
            header.type, header.size = tarfile.XGLTYPE, 0
            out.write(header.tobuf(format=tarfile.USTAR_FORMAT))
        out.write(bytes(2 * tarfile.BLOCKSIZE))
    with pytest.raises(ArchiveError, match="extended headers in a row"):
        list_members(path)


def test_other_tar_compressions_are_refused(tmp_path):
    path = tmp_path / "alice.tar"
    with tarfile.open(path, "w:xz") as archive:  # an .xz decoder's memory is chosen by the archive
        archive.addfile(tarfile.TarInfo("mytorch/__init__.py"), io.BytesIO(b""))
    with pytest.raises(ArchiveError, match="compressed with xz"):
        list_members(path)


def zip_with_extra_fields(path, count, extra_bytes):
    extra = struct.pack("<HH", 0xCAFE, extra_bytes) + bytes(extra_bytes)
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(count):
            info = zipfile.ZipInfo(f"mytorch/f{i}.py")
            info.extra = extra  # written into the local header and the central directory
            archive.writestr(info, b"x = 1\n")
    return path


def test_zip_extra_fields_count_toward_the_decompressed_size(tmp_path):
    path = zip_with_extra_fields(tmp_path / "extra.zip", 4, 60_000)
    assert sum(m.size for m in list_members(path)) == 24
    with pytest.raises(ArchiveError, match="headers included"):
        extract_archive(path, tmp_path / "out", ArchiveLimits(max_bytes=400_000))
    with pytest.raises(ArchiveError, match="header limit|headers alone"):
        extract_archive(path, tmp_path / "out", ArchiveLimits(max_header_bytes=300_000))
    assert list((tmp_path / "out").iterdir()) == []


def test_zip_with_too_many_entries_is_refused_before_zipfile_parses_its_directory(tmp_path, monkeypatch):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(ArchiveLimits.max_files + 1):
            archive.writestr(f"mytorch/f{i}.py", b"")

    def parse(self):
        raise AssertionError("zipfile parsed the whole central directory before the entries were counted")

    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", parse)
    with pytest.raises(ArchiveError, match=f"limit of {ArchiveLimits.max_files} members"):
        list_members(path)


def test_zip_whose_local_header_names_another_file_is_refused_up_front(tmp_path):
    path = tmp_path / "confused.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mytorch/aaaa.py", b"x = 1\n")
    data = path.read_bytes()
    local = data.find(b"mytorch/aaaa.py")  # the first occurrence is the local header's copy
    path.write_bytes(data[:local] + b"mytorch/bbbb.py" + data[local + 15:])
    with pytest.raises(ArchiveError, match="local header names another file"):
        list_members(path)


@pytest.mark.slow
def test_pax_bomb_in_a_batch_costs_the_workers_little_memory(tmp_path, fixtures):
    """Peak RSS of the batch and its workers (RUSAGE_CHILDREN of a fresh process that runs the batch)."""
    subs = tmp_path / "subs"
    subs.mkdir()
    header_bomb(subs / "bomber.tar.gz", PAX_BOMB_BYTES)
    assert (subs / "bomber.tar.gz").stat().st_size < 2_000_000
    measure = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
               "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    command = [sys.executable, "-c", measure, sys.executable, str(ROOT / "runner.py"), "batch", str(subs),
               "--out", str(tmp_path / "out"), "--fixtures", str(fixtures), "--jobs", "1"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    code, peak_kib = map(int, done.stdout.split()[-2:])
    assert code == batch.EXIT_NOT_GRADED, done.stderr  # the bomb is refused: not graded, listed
    assert peak_kib < WORKER_RSS_BOUND_KIB, f"peak RSS {peak_kib // 1024} MiB"
    report = json.loads(report_of(tmp_path / "out", "bomber").read_text())
    assert report["status"] == "error" and "pax extended header" in report["error"]
    assert (tmp_path / "out" / "summary.json").exists()


def deep_nest(top, depth):
    """``top/n/n/.../n``, ``depth`` folders deep, made and later removed without long paths or recursion."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("n", dir_fd=fd)
        inner = os.open("n", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)


def remove_deep_nest(top, depth):
    """Down to the deepest folder and back up through "..", two descriptors open at most: one per
    level at once would pass the usual limit of 1024 open files (a non-root login's ``ulimit -n``)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth - 1):
        inner = os.open("n", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    for _ in range(depth):
        os.rmdir("n", dir_fd=fd)
        outer = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = outer
    os.close(fd)


@pytest.mark.slow
def test_deeply_nested_submission_does_not_stop_the_batch(tmp_path, fixtures):
    subs = tmp_path / "subs"
    copy_complete(subs / "alice")
    deep = copy_complete(subs / "deep")
    deep_nest(deep, NEST_DEPTH)
    try:
        argv = [subs, "--out", tmp_path / "out", "--fixtures", fixtures, "--jobs", "2"]
        for _ in range(2):  # the second run decides staleness over the same nest
            code, stdout, stderr = run_batch(argv)
            assert code == 0, stderr
            rows = rows_of(tmp_path / "out")
            assert {s: (r["main"], r["status"]) for s, r in rows.items()} == \
                {"alice": ("100", "graded"), "deep": ("100", "graded")}
            assert json.loads((tmp_path / "out" / "summary.json").read_text())["count"] == 2
    finally:
        remove_deep_nest(deep, NEST_DEPTH)


@pytest.mark.slow
def test_deep_trees_are_removed_without_recursion(tmp_path):
    """What a worker leaves in its scratch folder may be nested deeper than the recursion limit."""
    (tmp_path / "scratch" / "tmp").mkdir(parents=True)
    deep_nest(tmp_path / "scratch" / "tmp", NEST_DEPTH)
    batch_workers.remove_tree(tmp_path / "scratch")
    assert not (tmp_path / "scratch").exists()


def test_archive_members_nested_too_deep_are_refused_up_front(tmp_path):
    path = tmp_path / "deep.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mytorch/__init__.py", b"")
        archive.writestr("n/" * NEST_DEPTH + "x.py", b"")
    with pytest.raises(ArchiveError, match="folders deep"):
        extract_archive(path, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.slow
def test_entries_named_like_the_batch_outputs_are_graded_like_anyone(tmp_path, fixtures):
    subs = tmp_path / "subs"
    graded = ["alice", "grades", "grades.csv", "reports", "summary", "summary.json"]
    for name in graded[:-1]:
        copy_complete(subs / name)
    zip_folder(copy_complete(tmp_path / "staging"), subs / "summary.json.zip")
    (subs / "reports.json").write_text("{}")  # not a submission at all: an error row, nothing more
    out = tmp_path / "out"
    code, stdout, stderr = run_batch([subs, "--out", out, "--fixtures", fixtures, "--jobs", "2"])
    assert code == batch.EXIT_NOT_GRADED, stderr  # reports.json is not a submission: listed
    rows = rows_of(out)
    assert list(rows) == sorted(graded + ["reports.json"])
    for student in graded:
        assert (rows[student]["main"], rows[student]["status"]) == ("100", "graded")
        validate_report(json.loads(report_of(out, student).read_text()))
    assert rows["reports.json"]["status"] == "error"
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["count"], summary["graded"], summary["errors"]) == (7, 6, 1)


@pytest.mark.parametrize("subs, out", [("subs", "subs"), ("grades/reports", "grades"),
                                       ("grades/reports/late", "grades")])
def test_outputs_written_where_they_would_be_read_as_submissions_are_refused(tmp_path, capsys, subs, out):
    copy_complete(tmp_path / subs / "alice")
    assert batch.main([str(tmp_path / subs), "--out", str(tmp_path / out)]) == 2
    assert "would be read as submissions" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / subs).iterdir()) == ["alice"]


@pytest.mark.slow
def test_errors_while_deciding_staleness_mean_grade_again(tmp_path, fixtures, monkeypatch):
    subs = tmp_path / "subs"
    for name in ("alice", "bob", "carol"):
        copy_complete(subs / name)
    (subs / "carol" / "dangling").symlink_to(tmp_path / "nowhere")
    out = tmp_path / "out"
    argv = [subs, "--out", out, "--fixtures", fixtures, "--jobs", "2"]
    assert run_batch(argv)[0] == 0

    def stamps():
        return {s: report_of(out, s).read_bytes() for s in ("alice", "bob", "carol")}

    code, _, stderr = run_batch(argv)
    assert code == 0, stderr
    assert json.loads((out / "summary.json").read_text())["reused"] == 3  # the dangling link decides nothing
    before = stamps()
    report_of(out, "alice").write_text("[" * 100_000 + "]" * 100_000)  # valid JSON, too deep to parse
    real_scandir = os.scandir

    def refusing_scandir(path="."):
        if not isinstance(path, int) and os.fspath(path).startswith(os.fspath(subs / "bob")):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refusing_scandir)
    code, _, stderr = run_batch(argv)
    monkeypatch.undo()
    assert code == 0, stderr
    after = stamps()
    assert after["alice"] != before["alice"] and after["bob"] != before["bob"] and after["carol"] == before["carol"]
    assert json.loads((out / "summary.json").read_text())["reused"] == 1
    assert {r["status"] for r in rows_of(out).values()} == {"graded"}


HOSTILE_FLATTEN = f'''

_Flatten = Flatten


class Flatten(_Flatten):
    def forward(self, A):
        raise ValueError("boom{FORGED.encode("unicode_escape").decode()}\\x1b[2J\\x85Total score: 100/100")
'''


def hostile_entries(subs, staging):
    """Entries whose names, archive members and exception messages carry escapes, separators and formulas."""
    forger = copy_complete(subs / f"forger\x1b[2K\x1b[1A{FORGED_NAME}")
    flatten = forger / "mytorch" / "flatten.py"
    flatten.write_text(flatten.read_text() + HOSTILE_FLATTEN)
    copy_complete(subs / '=HYPERLINK("evil.example","grades")')
    for name in ("+1", "-1", "@x", "sep\u2029\x85name"):
        (subs / name).mkdir()
        (subs / name / "notes\x1b]0;pwned\x07\u2028.txt").write_text("no code here")
    with tarfile.open(subs / "tarred\x1b[31m.tar.gz", "w:gz") as archive:
        archive.add(staging / "mytorch", "mytorch", filter=lambda i: None if "__pycache__" in i.name else i)
        archive.addfile(tarfile.TarInfo("mytorch/\x1b[2Jevil\u2028.py"), io.BytesIO(b""))
    with zipfile.ZipFile(subs / "zipped\u202e.zip", "w") as archive:
        archive.writestr("\x1b[2Jnotes\u2029.txt", b"nothing")
    with tarfile.open(subs / "escaper\x1b[5m.tar", "w") as archive:
        archive.addfile(tarfile.TarInfo("../\x1b[2Jescape\u2028.py"), io.BytesIO(b""))
    return forger


@pytest.mark.slow
def test_escapes_separators_and_formulas_are_neutralised_in_every_sink(tmp_path, fixtures):
    subs = tmp_path / "subs"
    subs.mkdir()
    forger = hostile_entries(subs, copy_complete(tmp_path / "staging"))
    out = tmp_path / "out"
    code, stdout, stderr = run_batch([subs, "--out", out, "--fixtures", fixtures, "--jobs", "2"])
    assert code == batch.EXIT_NOT_GRADED, stderr  # the entries without code: listed
    csv_text = (out / "grades.csv").read_text()
    for text in (stdout, stderr, csv_text):
        assert raw_specials(text) == []
    assert "error(s)" in stdout and "\\x1b[2K" in stderr + stdout
    rows = rows_of(out)
    assert len(rows) == 9
    for student in rows:
        assert not student.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")), student
    assert rows["'=HYPERLINK(\"evil.example\",\"grades\")"]["main"] == "100"
    assert {"'+1", "'-1", "'@x"} <= set(rows)
    assert all(row["main"].replace(".", "").isdigit() for row in rows.values())  # numbers stay numbers
    tarred = json.loads(report_of(out, "tarred\x1b[31m").read_text())
    assert tarred["status"] == "graded"
    zipped = json.loads(report_of(out, "zipped\u202e").read_text())
    assert zipped["status"] == "error" and "notes" in zipped["error"]
    escaper = json.loads(report_of(out, "escaper\x1b[5m").read_text())
    assert escaper["status"] == "error" and "escape" in escaper["error"] and "escape" in stdout

    # a trimmed set is not the public one: the student view, then the full report (staff option)
    for details in ([], ["--show-hidden-details"]):
        run = run_runner("--submission", forger, "--fixtures", fixtures, "--only", "Flatten", *details)
        assert run.returncode == 0, run.stderr
        assert raw_specials(run.stdout) == [] and raw_specials(run.stderr) == []
        lines = run.stdout.splitlines()  # str.splitlines breaks at U+2028, U+2029, U+0085 and more
        assert [line for line in lines if line.startswith("Total score")] == [lines[-2]]
    assert "boom\\u2028Total score: 100/100" in run.stdout

