"""The repository's README.md states the numbers the code uses (limits, tolerances, grace periods, exit codes)."""
import re

from autograder.archives import extract as archives
from autograder.archives.extract import ArchiveLimits
from autograder.batch import fingerprint
from autograder.batch import main as batch
from autograder.batch import outputs as batch_outputs
from autograder.batch import storage as batch_storage
from autograder.case.processes import FINAL_GRACE, WALL_MARGIN
from helpers import ROOT


def test_readme_states_the_reproduction_tolerance_and_the_numpy_range():
    from reference.check import REPRODUCTION_TOLERANCE
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"tolerance `{REPRODUCTION_TOLERANCE.describe()}`" in readme
    requirement = next(line for line in (ROOT / "requirements.txt").read_text().splitlines()
                       if line.startswith("numpy"))
    low, major, minor = re.fullmatch(r"numpy>=(\d+\.\d+),<(\d+)\.(\d+)", requirement).groups()
    assert f"Supported NumPy: {low} to {major}.{int(minor) - 1}" in readme


def test_readme_states_the_limits_the_code_uses():
    text = " ".join((ROOT / "README.md").read_text().split())
    limits = ArchiveLimits()
    for phrase in (f"at most {limits.max_files} files and {limits.max_bytes // archives.MiB} MiB decompressed",
                   f"at most {limits.max_header_bytes // archives.MiB} MiB of headers",
                   f"{limits.max_extended_header_bytes // 1024} KiB for one pax or GNU long-name header",
                   f"{limits.max_pax_records} pax records",
                   f"more than {fingerprint.MAX_FINGERPRINT_ENTRIES} files and folders or "
                   f"{fingerprint.MAX_FINGERPRINT_BYTES // archives.MiB} MiB",
                   f"{batch.SECONDS_PER_CASE:g} s per case plus {batch.SUBMISSION_BUDGET_MARGIN:g} s",
                   f"rate of the last {batch_outputs.Progress.RECENT} submissions",
                   f"`grades/{batch_storage.REMOVED_FOLDER}/`",
                   f"`grades/{batch_storage.REPORTS_FOLDER}/<student>.json`"):
        assert phrase in text, phrase


def test_the_readme_states_the_grace_the_margin_and_the_exit_codes():
    text = " ".join((ROOT / "README.md").read_text().split())
    assert f"killed {FINAL_GRACE:g} s later" in text
    assert f"{WALL_MARGIN:g} s after the grader's own wall-clock backstop" in text
    assert "130 Ctrl-C, 143 SIGTERM, 129 SIGHUP" in text
