"""What a student sees names their own files (issue #21): a submission graded from a readable copy
(a root grader's case user cannot read a 0700 folder) and sources saved on Windows (CRLF line
endings, a UTF-8 byte-order mark).

The copy is the grader's business: tracebacks, a SyntaxError's file, warnings and error messages
name the submitted files (autograder/case/wire.py ``shown_paths``, from the request's ``original``).
A CRLF + BOM package grades exactly as the same package with LF endings and no mark.
"""
import json
import os
import re
import shutil

import pytest

from helpers import COMPLETE, MAX_POINTS, ROOT, run_runner
from autograder.contract.fixtures import load_fixture_set
from autograder.sandbox import compile_submission, run_in_sandbox

IS_ROOT = os.geteuid() == 0
FLATTEN = load_fixture_set(ROOT / "fixtures", only=["Flatten"]).items["Flatten"][0]
COPY_PREFIX = "mytorch-submission-"  # run_as.readable_submission's temporary folders
BOM = b"\xef\xbb\xbf"


def copy_of_complete(folder):
    shutil.copytree(COMPLETE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def edit(folder, module, old, new):
    """Replace ``old`` (once) in ``mytorch/<module>``; returns the file's path."""
    path = folder / "mytorch" / module
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path, fragment):
    """The 1-based number of the first line of ``path`` holding ``fragment``."""
    return next(number for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if fragment in line)


def windows(folder):
    """Every .py file of ``folder`` with CRLF line endings and a UTF-8 byte-order mark."""
    for path in folder.rglob("*.py"):
        data = path.read_bytes().replace(b"\r\n", b"\n")
        path.write_bytes(BOM + data.replace(b"\n", b"\r\n"))
    return folder


# ----------------------------------------------------------------------------- graded from a copy


@pytest.mark.slow
@pytest.mark.skipif(not IS_ROOT, reason="only a root grader runs cases as another user, so only it "
                                        "grades a submission that user cannot read from a copy")
def test_a_private_submissions_errors_name_its_own_files(tmp_path):
    """A module that warns and raises at import, and one with a syntax error, in 0700 folders:
    the report names the submitted file, its line and the line's text, never the copy."""
    from autograder.sandbox.run_as import all_readable, case_user
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    raising = copy_of_complete(private / "raising")
    raises = edit(raising, "flatten.py", '"""Flatten every axis but the batch axis."""\n',
                  '"""Flatten every axis but the batch axis."""\nWARNED = 1 is 1\n'
                  'raise ValueError("broken at import, in " + __file__)\n')
    broken = copy_of_complete(private / "broken")
    syntax = edit(broken, "flatten.py", "def forward(self, A):", "def forward(self, A)")
    user = case_user()
    assert not all_readable(raising, user["uid"], user["gid"])  # so the grader must grade a copy

    for folder, path, fragment, error in ((raising, raises, "raise ValueError", "ValueError: broken at import, in "),
                                          (broken, syntax, "def forward(self, A)", "SyntaxError: expected ':'")):
        run = run_runner("--submission", folder, "--only", "Flatten,Upsampling1d", json_path=tmp_path / "r.json",
                         cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        text = json.dumps(run.report)
        assert COPY_PREFIX not in text and COPY_PREFIX not in run.stdout, text
        assert run.report["submission"] == str(folder)
        line = line_of(path, fragment)
        flatten = next(item for item in run.report["items"] if item["name"] == "Flatten")
        assert flatten["points"] == 0
        for case in flatten["cases"]:
            assert f'File "{path}", line {line}' in case["message"], case["message"]
            assert fragment in case["message"] and error in case["message"]
        if folder is raising:  # the message names the file as the student knows it too, and so does the warning
            assert f"ValueError: broken at import, in {path}" in flatten["cases"][0]["message"]
            warned = line_of(path, "WARNED")
            assert all(case["output"].startswith(f"{path}:{warned}: SyntaxWarning") and "WARNED = 1 is 1" in case["output"]
                       for case in flatten["cases"]), flatten["cases"][0]["output"]


def test_paths_are_shown_as_the_student_knows_them_through_whole_components():
    from autograder.case.wire import shown_path, shown_paths, shown_text
    shown = shown_paths({"/usr/lib/python3.11": "/proc/self/fd/5", "/tmp/copy/sub": "/proc/self/fd/6"},
                        "/tmp/copy/sub", "/home/ta/sub")
    assert shown == {"/proc/self/fd/5": "/usr/lib/python3.11", "/proc/self/fd/6": "/home/ta/sub",
                     "/tmp/copy/sub": "/home/ta/sub"}
    assert shown_path("/tmp/copy/sub/mytorch/cnn.py", shown) == "/home/ta/sub/mytorch/cnn.py"
    assert shown_path("/tmp/copy/sub2/cnn.py", shown) == "/tmp/copy/sub2/cnn.py"
    assert (shown_text("'/proc/self/fd/50/x' /proc/self/fd/5/os.py (/tmp/copy/sub) /tmp/copy/sub2 /tmp/copy/sub.x",
                       shown)
            == "'/proc/self/fd/50/x' /usr/lib/python3.11/os.py (/home/ta/sub) /tmp/copy/sub2 /tmp/copy/sub.x")
    assert shown_paths({}, "/tmp/sub", None) == {}


def test_the_request_names_the_original_only_when_a_copy_is_graded(tmp_path):
    """As root, tmp_path (below pytest's 0700 folder) is graded from a copy; otherwise in place."""
    from autograder.sandbox.run_as import case_user, readable_submission
    from autograder.sandbox import Limits, prepare_request
    folder = copy_of_complete(tmp_path / "sub")
    request, workdir = prepare_request(folder, None, Limits())
    workdir.remove()
    copied = readable_submission(folder, case_user()) != folder.resolve()
    assert ("original" in request) is copied
    if copied:
        assert request["original"] == str(folder.resolve()) and request["submission"] != request["original"]


# ----------------------------------------------------------------------------- Windows sources


@pytest.mark.slow
def test_a_crlf_package_with_a_byte_order_mark_gets_full_marks(tmp_path):
    folder = windows(copy_of_complete(tmp_path / "windows"))
    assert all(path.read_bytes().startswith(BOM) and b"\r\n" in path.read_bytes() for path in folder.rglob("*.py"))
    compiled = {relative for relative, _, _ in compile_submission(folder)}
    assert compiled == {p.relative_to(folder).as_posix() for p in folder.rglob("*.py")}  # compiled once, all of it
    run = run_runner("--submission", folder, json_path=tmp_path / "report.json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.report["scores"] == MAX_POINTS, [case["message"] for item in run.report["items"]
                                                 for case in item["cases"] if case["status"] != "passed"]


ERRORS = {
    # raised in a method: the traceback's line and text come from the file
    "runtime": ("def forward(self, A):", "def forward(self, A):\n        ratio = 1 / 0", "ratio = 1 / 0"),
    # a syntax error further down: the compiler's line
    "syntax": ("def forward(self, A):", "def forward(self, A)", "def forward(self, A)"),
    # a syntax error on line 1, where the byte-order mark is (CPython shows it, and counts it in the offsets)
    "syntax_first_line": ('"""Flatten every axis but the batch axis."""', "x = (1 +", "x = (1 +"),
}


@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_an_error_in_a_crlf_file_with_a_byte_order_mark_reads_as_in_an_lf_file(tmp_path, kind):
    """The same line number, line text and caret as the LF file without the mark, cached or not."""
    old, new, fragment = ERRORS[kind]
    plain = copy_of_complete(tmp_path / "plain")
    path = edit(plain, "flatten.py", old, new)
    line = line_of(path, fragment)
    crlf = windows(copy_of_complete(tmp_path / "crlf"))
    (crlf / "mytorch" / "flatten.py").write_bytes(BOM + path.read_bytes().replace(b"\n", b"\r\n"))
    errors = {}
    for name, folder in (("plain", plain), ("crlf", crlf)):
        for cached in (True, False):
            outcome = run_in_sandbox(folder, FLATTEN, code=compile_submission(folder) if cached else ())
            assert outcome.status == "error", outcome
            errors[name, cached] = json.loads(json.dumps(outcome.error).replace(str(folder.resolve()), "SUBMISSION"))
    traceback = errors["crlf", True]["traceback"]
    assert f'File "SUBMISSION/mytorch/flatten.py", line {line}' in traceback, traceback
    assert re.search(rf"\n +{re.escape(fragment)}\n", traceback), traceback
    assert "\ufeff" not in traceback and "\\ufeff" not in traceback and "\r" not in traceback
    assert errors["crlf", True] == errors["crlf", False] == errors["plain", True] == errors["plain", False]


def test_the_caret_of_a_syntax_error_on_the_first_line_after_a_byte_order_mark(tmp_path):
    """Under the character the parser names, non-ASCII text before it included (the line of a file
    without the mark is compared in bytes by CPython before 3.13, so this is not compared with one)."""
    folder = windows(copy_of_complete(tmp_path / "crlf"))
    path = folder / "mytorch" / "flatten.py"
    path.write_bytes(BOM + 'x = "éé" + (1 +\r\n'.encode() + path.read_bytes()[len(BOM):])
    outcome = run_in_sandbox(folder, FLATTEN)
    assert outcome.status == "error" and outcome.error["type"] == "SyntaxError", outcome
    lines = outcome.error["traceback"].splitlines()
    text = next(index for index, line in enumerate(lines) if line.strip() == 'x = "éé" + (1 +')
    assert lines[text + 1].index("^") == lines[text].index("("), outcome.error["traceback"]
