"""Shared helpers for the project's tests: running ``runner.py`` in a subprocess."""
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "tests" / "submissions"
COMPLETE = SUBMISSIONS / "complete"
TEMPLATE = ROOT / "student_template"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass
class RunnerRun:
    returncode: int
    stdout: str
    stderr: str
    report: dict | None  # the --json report, when one was requested and written

    @property
    def last_line(self):
        """The last stdout line parsed as JSON (the Autolab line)."""
        return json.loads(self.stdout.rstrip("\n").splitlines()[-1])

    def lost(self):
        """Names of the graded items that scored less than their maximum."""
        return {item["name"] for item in self.report["items"] if item["points"] < item["max_points"]}


def run_runner(*args, json_path=None, timeout=120, cwd=ROOT):
    """``python runner.py ARGS [--json json_path]``; the parsed report is returned if it was written."""
    command = [sys.executable, str(ROOT / "runner.py"), *map(str, args)]
    if json_path is not None:
        command += ["--json", str(json_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    report = None
    if json_path is not None and Path(json_path).exists():
        report = json.loads(Path(json_path).read_text())
    return RunnerRun(done.returncode, done.stdout, done.stderr, report)


@pytest.fixture(scope="session")
def runner_run():
    """The :func:`run_runner` helper, for tests and module-scoped fixtures."""
    return run_runner
