"""What a student sees names their own files (issue #21): a submission graded from a readable copy
(a root grader's case user cannot read a 0700 folder).

The copy is the grader's business: tracebacks, a SyntaxError's file, warnings and error messages
name the submitted files (autograder/wire.py ``shown_paths``, from the request's ``original``).
"""
import json
import os
import shutil

import pytest

from conftest import COMPLETE, run_runner

IS_ROOT = os.geteuid() == 0
COPY_PREFIX = "mytorch-submission-"  # run_as.readable_submission's temporary folders


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


# ----------------------------------------------------------------------------- graded from a copy

@pytest.mark.skipif(not IS_ROOT, reason="only a root grader runs cases as another user, so only it "
                                        "grades a submission that user cannot read from a copy")
def test_a_private_submissions_errors_name_its_own_files(tmp_path):
    """A module that warns and raises at import, and one with a syntax error, in 0700 folders:
    the report names the submitted file, its line and the line's text, never the copy."""
    from autograder.run_as import all_readable, case_user
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
    from autograder.wire import shown_path, shown_paths, shown_text
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
    from autograder.run_as import case_user, readable_submission
    from autograder.sandbox import Limits, prepare_request
    folder = copy_of_complete(tmp_path / "sub")
    request, workdir = prepare_request(folder, None, Limits())
    workdir.remove()
    copied = readable_submission(folder, case_user()) != folder.resolve()
    assert ("original" in request) is copied
    if copied:
        assert request["original"] == str(folder.resolve()) and request["submission"] != request["original"]
