"""autograder/sandbox/backends.py: which backend runs the cases, and when untrusted code is refused."""
import subprocess
import sys

import pytest

from autograder.sandbox import backends
from helpers import COMPLETE, ROOT


def test_auto_picks_portable_exactly_where_linux_cannot_run(monkeypatch):
    monkeypatch.setattr(backends, "linux_missing", lambda: "this is darwin, not Linux")
    assert backends.resolve("auto") == "portable"
    assert backends.resolve("portable") == "portable"
    with pytest.raises(backends.BackendError, match="cannot run here: this is darwin, not Linux"):
        backends.resolve("linux")
    assert backends.describe_choice() == "auto picks portable here (this is darwin, not Linux)"
    monkeypatch.setattr(backends, "linux_missing", lambda: "")
    assert backends.resolve("auto") == backends.resolve("linux") == "linux"
    with pytest.raises(backends.BackendError, match="unknown sandbox backend"):
        backends.resolve("docker")


def test_untrusted_code_is_refused_only_by_the_portable_backend_without_permission():
    assert backends.untrusted_refusal("linux", False) == ""
    assert backends.untrusted_refusal("portable", True) == ""
    refusal = backends.untrusted_refusal("portable", False)
    assert refusal.startswith("refusing to grade untrusted submissions with the portable sandbox backend")
    assert "--allow-unsandboxed" in refusal and backends.PORTABLE_UNDEFENDED in refusal


def test_a_module_that_cannot_be_imported_is_missing_for_the_linux_backend():
    assert backends.available("os") and not backends.available("no_such_module_here")


def test_forcing_linux_where_it_cannot_run_is_one_line_and_exit_2():
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "no_posix.py"), str(ROOT / "runner.py"),
                           "--submission", str(COMPLETE), "--sandbox", "linux"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: the linux sandbox backend cannot run here: this Python has no fork "
        "(use --sandbox portable or auto)"]
    assert done.stdout == ""
