"""autograder/sandbox/run_folders.py: remove_tree removes what a case left, however deep, never through a link."""
import os
import subprocess
import sys

import pytest

from helpers import ROOT

DEPTH = 1100  # deeper than Python's recursion limit and than the usual limit of 1024 open files

REMOVE_UNDER_A_LOW_FILE_LIMIT = """if True:
    import resource, sys
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    from autograder.sandbox.run_folders import remove_tree
    remove_tree(sys.argv[1])
"""


def nest(folder, depth):
    """``depth`` folders one in another below ``folder``, a file at each level (made relative: short paths)."""
    here = os.getcwd()
    os.chdir(folder)
    try:
        for level in range(depth):
            os.mkdir("d")
            os.chdir("d")
            with open("f", "w") as file:
                file.write(str(level))
    finally:
        os.chdir(here)


@pytest.mark.skipif(not hasattr(os, "O_DIRECTORY") or sys.platform == "win32", reason="descriptors: POSIX only")
def test_a_tree_deeper_than_the_open_file_limit_is_removed(tmp_path):
    """1100 levels with 128 files open at most: folders below the first few dozen are moved up, not opened."""
    (tmp_path / "scratch").mkdir()
    nest(tmp_path / "scratch", DEPTH)
    done = subprocess.run([sys.executable, "-c", REMOVE_UNDER_A_LOW_FILE_LIMIT, str(tmp_path / "scratch")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "scratch").exists()


@pytest.mark.skipif(not hasattr(os, "O_DIRECTORY") or sys.platform == "win32", reason="descriptors: POSIX only")
def test_a_link_deep_in_the_tree_is_removed_not_followed(tmp_path):
    """A link to a folder outside, below the depth where folders are moved up: the link goes, the folder stays."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("kept")
    (tmp_path / "scratch").mkdir()
    nest(tmp_path / "scratch", 100)
    deepest = tmp_path / "scratch" / os.path.join(*["d"] * 100)
    (deepest / "link").symlink_to(outside, target_is_directory=True)
    from autograder.sandbox.run_folders import remove_tree
    remove_tree(tmp_path / "scratch")
    assert not (tmp_path / "scratch").exists()
    assert (outside / "keep").read_text() == "kept"
