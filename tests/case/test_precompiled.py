"""The submission compiled once per grading (autograder/case/precompiled.py, issue #14).

A sandboxed step compiles the package; every case imports from that compilation, but only
where it cannot be told apart from compiling the file itself: a file edited since is compiled
again, a file that fails or warns is compiled by the case (same error, same warning, same
traceback), and a hostile package costs only the compiling step, never a point.
"""
import os
import shutil
import stat
import threading

import pytest

from helpers import COMPLETE, ROOT, complete_copy
from autograder.contract.fixtures import load_fixture_set
from autograder.case.precompiled import MAX_SOURCE_BYTES
from autograder.sandbox import Limits, build_request, compile_submission, read_compiled, run_in_sandbox

FLATTEN = load_fixture_set(ROOT / "fixtures", only=["Flatten"]).items["Flatten"][0]
LOADER_PROBE = "print('loaded by', type(__loader__).__name__)\n"


@pytest.fixture
def package():
    """A copy of the complete solution whose files a test may change (helpers.complete_copy)."""
    folder = complete_copy()
    yield folder
    shutil.rmtree(folder)


def prepend(folder, name, text):
    path = folder / "mytorch" / name
    path.write_text(text + path.read_text())


def compiled_names(code):
    return {relative for relative, _, _ in code}


def test_every_case_imports_what_the_compiling_step_compiled(package):
    prepend(package, "flatten.py", LOADER_PROBE)
    code = compile_submission(package)
    assert {"mytorch/__init__.py", "mytorch/flatten.py", "mytorch/conv1d.py"} <= compiled_names(code)
    cached = run_in_sandbox(package, FLATTEN, code=code)
    assert cached.status == "ok", cached.error
    assert "loaded by PrecompiledLoader" in cached.output
    uncached = run_in_sandbox(package, FLATTEN)
    assert uncached.status == "ok" and "loaded by SourceFileLoader" in uncached.output
    assert cached.results == uncached.results


def test_a_file_edited_after_compiling_is_compiled_again(package):
    prepend(package, "flatten.py", "print('first version')\n")
    code = compile_submission(package)
    prepend(package, "flatten.py", "print('second version')\n")
    outcome = run_in_sandbox(package, FLATTEN, code=code)
    assert outcome.status == "ok", outcome.error
    assert "second version" in outcome.output and "loaded by" not in outcome.output


SOURCES = {
    # compiled by nobody but the case: the same SyntaxError, from the case's own compilation
    "syntax_error": ("def forward(self, A)\n    return A\n", False),
    # a compile-time warning goes to the case's output, as without a cache
    "syntax_warning": ("WARNED = 1 is 1\n", False),
    # compiled once; the error raised while the module runs has the same traceback
    "error_at_import": ("import math\n\ndef helper():\n    return undefined_name\n\nhelper()\n", True),
}


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_errors_and_warnings_read_exactly_as_without_the_cache(package, kind):
    text, cacheable = SOURCES[kind]
    prepend(package, "flatten.py", text)
    code = compile_submission(package)
    assert ("mytorch/flatten.py" in compiled_names(code)) is cacheable
    assert "mytorch/conv1d.py" in compiled_names(code)  # the other files are compiled all the same
    cached, uncached = run_in_sandbox(package, FLATTEN, code=code), run_in_sandbox(package, FLATTEN)
    assert cached.status == uncached.status
    assert cached.error == uncached.error and cached.where == uncached.where
    assert cached.output == uncached.output
    if kind == "syntax_warning":
        assert "SyntaxWarning" in cached.output
    else:
        assert cached.status == "error" and cached.error["traceback"]
        assert "precompiled" not in cached.error["traceback"] and "importlib" not in cached.error["traceback"]


def test_an_error_inside_a_compiled_method_keeps_its_lines(package):
    path = package / "mytorch" / "flatten.py"
    path.write_text(path.read_text().replace("def forward(self, A):", "def forward(self, A):\n        1 / 0", 1))
    code = compile_submission(package)
    assert "mytorch/flatten.py" in compiled_names(code)
    cached, uncached = run_in_sandbox(package, FLATTEN, code=code), run_in_sandbox(package, FLATTEN)
    assert cached.status == "error" and "ZeroDivisionError" in cached.error["message"]
    assert cached.error == uncached.error
    assert f'File "{path}", line' in cached.error["traceback"] and "1 / 0" in cached.error["traceback"]


def test_a_hostile_package_costs_only_the_compiling_step(package):
    """A fifo, a folder made to look like a file, an oversized file, a compiler bomb and a link
    out of the submission: none blocks, none is compiled from outside, the item keeps its points."""
    folder = package / "mytorch"
    os.mkfifo(folder / "fifo.py")
    (folder / "folder.py").mkdir()
    (folder / "huge.py").write_text("# " + "x" * MAX_SOURCE_BYTES + "\n")
    (folder / "bomb.py").write_text("x = " + "(" * 180 + "1" + ")" * 180 + "\n" + "y = " + "-" * 100_000 + "1\n")
    outside = package.parent / f"{package.name}-outside.py"
    outside.write_text("SECRET = 1\n")
    (folder / "link.py").symlink_to(outside)
    code = compile_submission(package, Limits(timeout=30))
    names = compiled_names(code)
    assert {"mytorch/flatten.py", "mytorch/__init__.py"} <= names
    assert not names & {"mytorch/fifo.py", "mytorch/folder.py", "mytorch/huge.py", "mytorch/link.py"}
    outcome = run_in_sandbox(package, FLATTEN, code=code)
    assert outcome.status == "ok", outcome.error
    assert stat.S_ISFIFO(os.lstat(folder / "fifo.py").st_mode)  # untouched
    outside.unlink()


def test_nothing_compiles_from_outside_the_package_and_the_submissions_top_folder(package):
    (package / "helper.py").write_text("HELPER = 1\n")
    (package / "tests").mkdir()
    (package / "tests" / "test_it.py").write_text("import mytorch\n")
    (package / "mytorch" / "__pycache__").mkdir(exist_ok=True)
    (package / "mytorch" / "__pycache__" / "stale.py").write_text("X = 1\n")
    (package / "mytorch" / "sub").mkdir()
    (package / "mytorch" / "sub" / "deep.py").write_text("DEEP = 1\n")
    names = compiled_names(compile_submission(package))
    assert {"helper.py", "mytorch/sub/deep.py"} <= names
    assert not {name for name in names if name.startswith(("tests/", "mytorch/__pycache__/"))}


def test_the_compiling_request_holds_no_case_data():
    request = build_request(COMPLETE, None, Limits())
    assert request["compile"] is True
    assert not {"program", "arrays", "code"} & set(request)


@pytest.mark.parametrize("data", [
    b"",
    b'{"final": true, "status": "ok", "modules": []}\n',
    b'{"final": true, "status": "compiled", "modules": {}}\n',
    b'{"final": true, "status": "compiled", "modules": [["../x.py", "", ""]]}\n',
    b'{"final": true, "status": "compiled", "modules": [["/etc/x.py", "", ""]]}\n',
    b'{"final": true, "status": "compiled", "modules": [["mytorch/./x.py", "", ""]]}\n',
    b'{"final": true, "status": "compiled", "modules": [["mytorch/x.txt", "", ""]]}\n',
    b'{"final": true, "status": "compiled", "modules": [["mytorch/x.py", "not base64!", ""]]}\n',
    b'{"final": true, "status": "compiled", "modules": [["mytorch/x.py", "", 3]]}\n',
    b'{"final": true, "status": "compiled", "modules": [["mytorch/x.py", ""]]}\n',
    b'{"final": true, "status": "compiled", "modules": []}\n{"final": true, "status": "compiled", "modules": []}\n',
])
def test_a_malformed_compiling_result_is_dropped_whole(data):
    assert read_compiled(data) == ()


def test_a_wellformed_compiling_result_is_decoded():
    data = b'{"final": true, "status": "compiled", "modules": [["mytorch/x.py", "WCA9IDEK", "AAAA"]]}\n'
    assert read_compiled(data) == (("mytorch/x.py", b"X = 1\n", b"\x00\x00\x00"),)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_grading_starts_one_fork_server_per_job_and_one_compiling_step(jobs, monkeypatch):
    """Only the ``jobs`` threads grade (the calling thread waits: it used to take items too, with
    a server of its own), and the package is compiled once, whatever the number of items."""
    from autograder.config import Config
    from autograder.grading import core
    from autograder import sandbox
    from autograder.grading import scheduler
    compiled = []
    monkeypatch.setattr(scheduler, "compile_submission", lambda *args: compiled.append(args) or compile_submission(*args))
    fixture_set = load_fixture_set(ROOT / "fixtures", only=["Flatten", "Upsampling1d", "Downsampling1d"])
    before, reports = len(sandbox._all_servers), []
    caller = threading.Thread(target=lambda: reports.append(core.grade(COMPLETE, fixture_set, Config(jobs=jobs))))
    caller.start()
    caller.join()
    assert len(sandbox._all_servers) - before == jobs
    assert len(compiled) == 1
    assert all(case.status.value == "passed" for item in reports[0].items for case in item.cases)
