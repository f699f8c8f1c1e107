"""What the PrairieLearn question and the Autolab lab share.

- :func:`graded_modules`: the ``mytorch`` files a student writes, from the fixture set itself: the
  module of every case's program (``case.program["module"]``, e.g. ``mytorch.conv1d`` ->
  ``conv1d.py``).  The other modules of ``student_template/mytorch/`` (``tensor.py``,
  ``activation.py``, ...) are given complete by the handout and come from there.
- :class:`TimeBudget`: how long one grading may take, so that a platform's own time limit never
  kills it before its document is written::

      budget = ceil(MARGIN * (STARTUP_SECONDS + cases * case_limit / jobs))

  (every case using its whole limit, ``jobs`` items at a time, plus the start-up: Python, NumPy,
  the fork servers and compiling the submission).  The grading driver stops the grader
  ``STOP_BEFORE`` seconds before the budget and writes a document saying that grading did not
  finish, so even a grading slower than the formula expects ends with a document.
- :func:`harness_files`: the files a platform needs to grade (``runner.py``, ``autograder/``,
  ``requirements.txt``, the public ``fixtures/``, ``student_template/mytorch/`` and, with a
  hidden set, ``grading_fixtures/``), checked like the student handout (never ``reference/``,
  ``tests/`` or a solution).
- :func:`assemble`: an upload (a ``mytorch/`` folder at its top or one folder down, or the module
  files themselves) as a folder that contains ``mytorch/``.
- :func:`run_with_deadline`: ``runner.py`` in a process group of its own, stopped at a deadline.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from autograder import ROOT
from autograder.errors import GraderError

PACKAGE = "mytorch"
TEMPLATE = "student_template"
GRADING_FIXTURES = "grading_fixtures"
STARTUP_SECONDS = 20.0
MARGIN = 1.25
DEFAULT_JOBS = 2
STOP_BEFORE = 15.0  # the driver stops the grader this long before the platform's own limit
STOP_GRACE = 5.0  # after SIGTERM, how long the grader has to stop its case processes before SIGKILL


class PlatformBuildError(GraderError):
    """A platform folder cannot be built (bad option, unverifiable fixture set, a file that must not ship)."""


def graded_modules(manifest: Mapping[str, Any]) -> list[str]:
    """The file names of the ``mytorch`` modules the cases' programs grade (``conv1d.py``, ...), sorted."""
    names = set()
    for entry in manifest["items"].values():
        for case in entry["cases"]:
            module = str(case["program"]["module"])
            package, _, name = module.partition(".")
            if package == PACKAGE and name and "." not in name:
                names.add(f"{name}.py")
    return sorted(names)


@dataclass(frozen=True)
class TimeBudget:
    """The longest one grading may take (see the module's docstring for the formula)."""
    cases: int
    case_limit: float
    jobs: int

    @property
    def seconds(self) -> int:
        return math.ceil(MARGIN * (STARTUP_SECONDS + self.cases * self.case_limit / self.jobs))

    def formula(self) -> str:
        return (f"ceil({MARGIN:g} * ({STARTUP_SECONDS:g} s + {self.cases} cases * {self.case_limit:g} s "
                f"/ {self.jobs} jobs)) = {self.seconds} s")


def case_count(manifest: Mapping[str, Any]) -> int:
    return sum(len(entry["cases"]) for entry in manifest["items"].values())


def read_fixture_manifest(fixtures: Path) -> dict[str, Any]:
    """A fixture set's manifest after verifying the whole set (every file's sha256)."""
    from autograder.contract.fixtures import FixtureError, load_fixture_set
    try:
        load_fixture_set(fixtures)
    except FixtureError as error:
        raise PlatformBuildError(f"the fixture set {fixtures} does not verify: {error}") from None
    return json.loads((fixtures / "manifest.json").read_text())


def fixture_files(source: Path, target: str) -> dict[str, bytes]:
    """A verified fixture set's manifest and the files it lists, under ``target/``."""
    manifest = read_fixture_manifest(source)
    files = {f"{target}/manifest.json": (source / "manifest.json").read_bytes()}
    for entry in manifest["items"].values():
        files[f"{target}/{entry['file']}"] = (source / entry["file"]).read_bytes()
    return files


def harness_files(grading_fixtures: Path | None = None, root: Path = ROOT) -> dict[str, bytes]:
    """{relative path: bytes} of what grading needs, checked like the student handout."""
    from autograder.platforms.bundle import BundleError, check_contents, public_fixture_files, tree_files
    try:
        files = tree_files(root, "autograder")
        for name in ("runner.py", "requirements.txt"):
            files[name] = (root / name).read_bytes()
        files.update(public_fixture_files(root))
        files.update({name: data for name, data in tree_files(root, TEMPLATE).items()
                      if name.startswith(f"{TEMPLATE}/{PACKAGE}/") and name.endswith(".py")})
        check_contents(files, root)
    except (BundleError, OSError) as error:
        raise PlatformBuildError(str(error)) from None
    if grading_fixtures is not None:
        files.update(fixture_files(Path(grading_fixtures), GRADING_FIXTURES))
    return files


def write_tree(out: Path, files: Mapping[str, bytes], executables: Sequence[str] = ()) -> None:
    """Write ``files`` under ``out``, which must be a new or empty folder; ``executables`` get mode 0755."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PlatformBuildError(f"{out}: exists and is not an empty folder (choose a new --out)")
    for name in sorted(files):
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
        path.chmod(0o755 if name in executables else 0o644)


def loose_modules(upload: Path) -> list[Path]:
    """The ``.py`` files uploaded directly: at the top, or in the only folder there."""
    from autograder.platforms.gradescope_run import loose_modules as found
    return found(upload)


def assemble(upload: Path, scratch: Path, template: Path, graded: Sequence[str]) -> Path:
    """The folder that contains the ``mytorch/`` package to grade.

    A ``mytorch/`` folder at the upload's top or one folder down is graded as it is (the rule of
    ``runner.py``).  Otherwise the module files uploaded directly go into a ``mytorch/`` package in
    ``scratch``, over a copy of the template's (``template``: ``student_template/mytorch``), so that
    the handout's own modules are there and a graded module not uploaded is graded as the
    template's (TODO).  Raises SubmissionError when the upload has neither a ``mytorch/`` folder
    nor any of the ``graded`` files.
    """
    from autograder.grading.submission import SubmissionError, locate_package
    try:
        return locate_package(upload)
    except SubmissionError:
        pass
    modules = loose_modules(upload)
    if not any(module.name in graded for module in modules):
        found = sorted(p.name + ("/" if p.is_dir() else "") for p in upload.iterdir()) if upload.is_dir() else []
        shown = ", ".join(found[:10]) + (", ..." if len(found) > 10 else "") if found else "nothing"
        raise SubmissionError(f"your upload has no {PACKAGE}/ folder and none of the graded files "
                              f"({', '.join(graded)}); it holds: {shown}")
    package = Path(scratch) / PACKAGE
    package.mkdir(parents=True)
    for source in sorted(Path(template).glob("*.py")):
        shutil.copyfile(source, package / source.name)
    for module in modules:
        shutil.copyfile(module, package / module.name)
    return Path(scratch)


def run_with_deadline(command: Sequence[str], deadline: float, cwd: Path,
                      stdout: int | IO[Any] | None = None,
                      on_line: Callable[[str], None] | None = None) -> int | None:
    """Run ``command`` in a session of its own; return its exit status, or None if it was still
    running at ``deadline`` (``time.monotonic()`` seconds), when it is stopped: SIGTERM (the grader
    then kills its case processes), and SIGKILL to its process group ``STOP_GRACE`` seconds later.

    With ``on_line``, the command's stdout and stderr are read line by line and passed to it.
    """
    env = {"OPENBLAS_NUM_THREADS": "1", **os.environ}
    if on_line is None:
        process = subprocess.Popen(list(command), cwd=cwd, stdout=stdout, start_new_session=True, env=env)
        try:
            return process.wait(timeout=max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            stop(process)
            return None
    import threading
    process = subprocess.Popen(list(command), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True, env=env, text=True, errors="replace", bufsize=1)

    def relay() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            on_line(line)

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    try:
        code: int | None = process.wait(timeout=max(deadline - time.monotonic(), 0.0))
    except subprocess.TimeoutExpired:
        stop(process)
        code = None
    reader.join(timeout=STOP_GRACE)
    return code


def stop(process: subprocess.Popen[Any]) -> None:
    """SIGTERM ``process`` (the grader stops its case processes), then SIGKILL its group."""
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        pass
    except OSError:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        pass


def grading_config(manifest: Mapping[str, Any], timeout: float, jobs: int, hidden: bool, hidden_detail: str,
                   allow_unsandboxed: bool) -> dict[str, Any]:
    """What a platform's config shares with every other (what :func:`grading_command` reads, and the
    graded files): each platform adds its own keys and its time limit from :class:`TimeBudget`."""
    return {"fixtures": GRADING_FIXTURES if hidden else "fixtures", "timeout": timeout, "jobs": jobs,
            "hidden_detail": hidden_detail, "allow_unsandboxed": allow_unsandboxed,
            "graded_files": graded_modules(manifest)}


def add_grading_arguments(parser: Any, container: str, detail_shown_in: str, out_required: bool = True) -> None:
    """The builder options every platform shares (``--out``, ``--fixtures`` and those of :func:`grading_config`),
    their help naming the platform's ``container`` and where it shows a case (``detail_shown_in``).
    ``out_required`` False: the caller requires ``--out`` itself (when no command is named)."""
    from autograder.report.visibility import HIDDEN_DETAILS
    from autograder.sandbox import Limits
    parser.add_argument("--out", type=Path, required=out_required,
                        help="a new or empty folder to write into" + ("" if out_required else " (required)"))
    parser.add_argument("--fixtures", type=Path, help="grade with this fixture set (a hidden one); default: public")
    parser.add_argument("--timeout", type=float, default=Limits.timeout,
                        help="CPU seconds one case may use (default %(default)s; see runner.py --help)")
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS,
                        help=f"items graded at once in the {container} (default %(default)s)")
    parser.add_argument("--hidden-detail", choices=HIDDEN_DETAILS, default=HIDDEN_DETAILS[0],
                        help=f"with a hidden --fixtures set, what {detail_shown_in} shows of each case (see runner.py)")
    parser.add_argument("--allow-unsandboxed", action="store_true",
                        help="grade even where the image has no kernel layers (the portable sandbox backend)")


def grading_command(python: str, harness: Path, submission: Path, config: Mapping[str, Any],
                    extra: Sequence[str] = ()) -> list[str]:
    """``runner.py`` grading ``submission`` as a platform ``config`` says (fixtures, case limit, jobs,
    hidden detail, --allow-unsandboxed)."""
    command = [python, str(harness / "runner.py"), "--submission", str(submission),
               "--fixtures", str(harness / config["fixtures"]), "--timeout", f"{float(config['timeout']):g}",
               "--jobs", str(int(config["jobs"])), "--hidden-detail", str(config["hidden_detail"])]
    if config.get("allow_unsandboxed"):
        command.append("--allow-unsandboxed")
    return command + list(extra)


__all__ = ["PlatformBuildError", "TimeBudget", "graded_modules", "case_count", "harness_files", "write_tree",
           "assemble", "run_with_deadline", "grading_command", "STARTUP_SECONDS", "MARGIN", "DEFAULT_JOBS",
           "STOP_BEFORE", "GRADING_FIXTURES"]
