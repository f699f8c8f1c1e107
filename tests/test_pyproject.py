"""pyproject.toml: its dependencies are the requirements files' (which the README and .ci/run install), and
the code passes its ruff configuration."""
import shutil
import subprocess
import sys

import pytest

from helpers import ROOT

try:
    import tomllib
except ImportError:  # Python 3.10: pytest brings tomli
    import tomli as tomllib

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def requirements(name):
    """The requirement lines of ``name`` (comments, blank lines and ``-r`` inclusions left out)."""
    lines = (line.split("#", 1)[0].strip() for line in (ROOT / name).read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-r")]


def test_dependencies_are_requirements_txt():
    assert PROJECT["dependencies"] == requirements("requirements.txt")


def test_the_dask_extra_is_requirements_dask_txt():
    assert "-r requirements.txt" in (ROOT / "requirements-dask.txt").read_text()
    assert PROJECT["optional-dependencies"]["dask"] == requirements("requirements-dask.txt")


def test_the_console_script_is_the_runners_entry_point():
    from autograder import cli
    module, _, function = PROJECT["scripts"]["mytorch-grade"].partition(":")
    assert module == cli.__name__ and callable(getattr(cli, function))


def ruff():
    """The ruff command (requirements-dev.txt), or None."""
    if subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True).returncode == 0:
        return [sys.executable, "-m", "ruff"]
    found = shutil.which("ruff")
    return [found] if found else None


def test_ruff_finds_nothing():
    command = ruff()
    if command is None:
        pytest.skip("ruff is not installed (pip install -r requirements-dev.txt)")
    done = subprocess.run([*command, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
