"""Hostile and broken submissions, graded end to end by ``runner.py`` (untrusted code).

Every ``tests/submissions/hostile_<name>/`` holds ONE hostile ``mytorch/flatten.py`` (or, for
``missing_module``, a ``DELETED`` list naming it); ``helpers.submission`` lays it over
``tests/submissions/complete/`` to build the graded package.  Its header comment says
what it does, often one misbehaviour per fixture case of the Flatten item.  flatten.py is
used by the Flatten item (and, through imports, by CNN and the scanning MLPs), so grading
``--only Flatten,Upsampling1d`` shows both the damage (Flatten) and its containment
(Upsampling1d, from resampling.py, must keep full points).

Each submission is graded by the real runner in a subprocess with a small ``--timeout``.
The runs are started together in the background (a few at a time) by a module fixture, so
the module takes about as long as its slowest runs, not their sum.  Every run must: end
within (the wall-clock backstop x graded cases + a constant), exit 0, end stdout with the JSON score line,
write a --json report that validates against its schema, give 0 points with the expected
reason to each affected item, full points to every other graded item, never more than the
maximum, and print nothing that could drive a terminal.  Nothing may be written where the
hostile code aims (files named HOSTILE_PWNED*).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from helpers import COMPLETE, MAX_POINTS, ROOT, RUBRIC, SUBMISSIONS, landlock_abi, submission, variant_files

from autograder.sandbox import WALL_FACTOR  # a case that sleeps ends at timeout x WALL_FACTOR here (one job per CPU)

pytestmark = pytest.mark.slow  # every hostile submission

MANIFEST = json.loads((ROOT / "fixtures" / "manifest.json").read_text())
SECTION = {item.name: item.section for item in RUBRIC.items}
REPORT_SCHEMA = json.loads((ROOT / "autograder" / "contract" / "schemas" / "report.schema.json").read_text())
SLACK_SECONDS = 60.0  # runner start-up, fixture loading, report: generous, for a 2-core machine running two suites
PARALLEL_RUNS = 4  # runners are mostly waiting (timeouts, sleeps) or in short bursts of CPU
RUNNER_ENV = {**os.environ, "PYTEST_ADDOPTS": (os.environ.get("PYTEST_ADDOPTS", "")
                                               + " -p no:hypothesispytest").strip()}  # 1.6 s of imports
FLATTEN_USERS = ("Flatten", "CNN", "Upsampling1d")  # Upsampling1d: a bystander that never imports flatten
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # what could drive a terminal (\t and \n are fine)
PWNED = "HOSTILE_PWNED"
NUMPY_REPR = re.compile(r"\bnp\.\w+\(|array\(\[")  # np.float64(nan), array([...]): never in a student message


@dataclass(frozen=True)
class Hostile:
    """One hostile submission, what to grade and what must come out.

    ``lost`` maps each item that must score 0 to the reason expected in its case messages:
    one regex for every case, a list (one per case in fixture order) or a dict by case name.
    ``resource``: the submission exhausts a resource (memory, stack, output, time), and how a
    case is stopped then depends on the machine and its load: its own exception, a limit of
    the kernel, or the timeout are all legitimate containment (``STOPPED``).
    """
    name: str
    lost: dict = field(default_factory=dict)
    only: tuple = ("Flatten", "Upsampling1d")
    timeout: float = 2.0
    needs_landlock: bool = False
    resource: bool = False
    module: str = "flatten.py"  # the one file of complete/ it changes (the attacked items' module)

    def expected(self, item, index, case):
        reasons = self.lost[item]
        if isinstance(reasons, str):
            return reasons
        return reasons[index] if isinstance(reasons, list) else reasons[case]


def by_case(one_dimensional, two_dimensional, batch1_channel1):
    return {"one_dimensional": one_dimensional, "two_dimensional": two_dimensional,
            "batch1_channel1": batch1_channel1}


def first_then_skipped(item, first):
    return [first] + [rf"not run: an earlier case of {item} timed out"] * (len(MANIFEST["items"][item]["cases"]) - 1)


NOT_ALLOWED = "is not allowed while grading"
CPU_OUT = r"timed out while calling forward \(step 1\): used 2 s of CPU \(infinite loop, or far too slow\)"
WALL_OUT = (r"timed out while calling forward \(step 1\): took more than [\d.]+ s of wall-clock time while using "
            r"only [\d.e-]+ s of CPU \(it sleeps or waits")
STOPPED = (r"timed out while|not run: an earlier case of \w+ timed out"
           r"|ended without reporting a result \([^)]*\) while|MemoryError raised while")
HOSTILES = [
    # ------------------------------------------------------------------ time
    Hostile("loop_forward", {"Flatten": first_then_skipped("Flatten", CPU_OUT)}),
    Hostile("loop_import", {
        "Flatten": first_then_skipped("Flatten", r"timed out while importing mytorch\.flatten: used 2 s of CPU"),
        "CNN": first_then_skipped("CNN", r"timed out while importing mytorch\.cnn: used 2 s of CPU")},
        only=FLATTEN_USERS),
    Hostile("sleep_under", timeout=8.0),  # 1.2 s per forward, far under the 8 s limit even when loaded: full points
    # 600 s of sleep: no CPU, so the wall-clock backstop ends it (2 s x the contention x 2)
    Hostile("sleep_over", {"Flatten": first_then_skipped("Flatten", WALL_OUT)}),
    # ------------------------------------------------------------------ resources and processes
    Hostile("recursion", {"Flatten": by_case(
        r"RecursionError raised while calling forward",
        # from 3.12 on, recursion through C has a limit of its own, which setrecursionlimit does not raise
        r"ended without reporting a result \(SIGSEGV\) while calling forward" if sys.version_info < (3, 12)
        else r"RecursionError raised while calling forward",
        r"RecursionError raised while calling forward")}, resource=True),
    Hostile("memory_bomb", {"Flatten": r"MemoryError raised while calling forward"}, timeout=6.0, resource=True),
    Hostile("processes", {"Flatten": by_case(
        rf"sandbox: forking processes {NOT_ALLOWED}",
        rf"sandbox: starting processes {NOT_ALLOWED}",  # subprocess imports: its Popen is refused
        rf"sandbox: running shell commands {NOT_ALLOWED}")}),
    Hostile("exits", {"Flatten": by_case(
        r"SystemExit raised while calling forward",
        r"ended without reporting a result \(exit code 0\) while calling forward \(step 1\): os\._exit",
        r"SystemExit raised while calling forward")}),
    Hostile("interrupts", {"Flatten": by_case(
        r"KeyboardInterrupt raised while calling forward",
        r"BaseException raised while calling forward[\s\S]*BaseException: hostile",
        r"GeneratorExit raised while calling forward")}),
    # ------------------------------------------------------------------ output
    Hostile("fake_summary", {"Flatten": r"ended without reporting a result \(exit code 0\) while calling forward"}),
    Hostile("print_megabytes", timeout=8.0),  # 3 MB of prints per case, under the 16 MiB file limit: full points
    Hostile("print_flood", {"Flatten": r"OSError raised while calling forward[\s\S]*File too large"}, resource=True),
    # ------------------------------------------------------------------ broken packages
    Hostile("import_numpy", {item: r"while importing mytorch\.(flatten|cnn): your code imports 'numpy'"
                             for item in ("Flatten", "CNN")}, only=FLATTEN_USERS),
    Hostile("syntax_error", {item: r"SyntaxError raised while importing mytorch\.(flatten|cnn)[\s\S]*expected ':'"
                             for item in ("Flatten", "CNN")}, only=FLATTEN_USERS + ("Conv1d",)),
    Hostile("missing_class", {"Flatten": r"AttributeError raised while constructing Flatten"
                                         r"[\s\S]*has no attribute 'Flatten'",
                              "CNN": r"ImportError raised while importing mytorch\.cnn"
                                     r"[\s\S]*cannot import name 'Flatten'"}, only=FLATTEN_USERS),
    Hostile("missing_module", {item: r"No module named 'mytorch\.flatten'" for item in ("Flatten", "CNN")},
            only=FLATTEN_USERS),
    # ------------------------------------------------------------------ what forward returns
    Hostile("return_containers", {"Flatten": by_case(
        r"forward output Z: got a tuple", r"forward output Z: got a generator",
        r"forward output Z: ragged nested list")}),
    Hostile("return_scalars", {"Flatten": by_case(
        r"forward output Z: got a string", r"forward output Z: got None",
        r"forward output Z: got a NumPy-like object \(ndarray\)")}),
    Hostile("return_numbers", {"Flatten": by_case(
        r"forward output Z: 1 non-finite value\(s\) \(NaN or inf\), first at \[0, 1\]: .*nan",
        r"forward output Z: 1 non-finite value\(s\) \(NaN or inf\), first at \[1, 2\]: .*inf",
        r"forward output Z: element \[0, 0\] is an instance of Number, a float subclass")}),
    Hostile("return_always_equal", {"Flatten": by_case(
        r"forward output Z: got a AlwaysEqual object", r"forward output Z: element \[0, 0\] is a AlwaysEqual object",
        r"forward output Z: got an instance of EqualList, a list subclass")}),
    # the loss a ragged list, an empty one, a row of 16 raw doubles: a wrong loss, never a grader failure
    Hostile("odd_loss", {"CNN": r"loss \(set by backward\): got a list; expected a single float"},
            only=("CNN", "Upsampling1d"), timeout=10.0, module="cnn.py"),
    Hostile("mutates_input"),  # right values, inputs scribbled over afterwards: full points
    # ------------------------------------------------------------------ reading, writing, escaping
    Hostile("read_fixtures", {"Flatten": by_case(
        rf"sandbox: reading '\.\./fixtures/Flatten\.npz' {NOT_ALLOWED}",
        rf"sandbox: reading '/\S*/fixtures/Flatten\.npz' {NOT_ALLOWED}",
        rf"sandbox: changing '/\S*/fixtures' {NOT_ALLOWED}")}),
    Hostile("snoop", {"Flatten": by_case(
        rf"sandbox: listing '/' {NOT_ALLOWED}",
        rf"sandbox: reading '/proc/\d+/mem' {NOT_ALLOWED}",
        rf"sandbox: reading '/proc/\d+/environ' {NOT_ALLOWED}")}),
    Hostile("write", {"Flatten": by_case(
        rf"sandbox: writing '/\S*/fixtures/{PWNED}\.txt' {NOT_ALLOWED}",
        rf"sandbox: writing '/proc/\d+/cwd/{PWNED}\.json' {NOT_ALLOWED}",
        rf"sandbox: writing '/\S*/hostile_write/mytorch/{PWNED}\.py' {NOT_ALLOWED}")}),
    Hostile("patch_builtins", {"Flatten": by_case(
        rf"sandbox: reading '/\S*/fixtures/Flatten\.npz' {NOT_ALLOWED}",
        rf"sandbox: writing '/\S*/fixtures/{PWNED}\.txt' {NOT_ALLOWED}",
        rf"sandbox: starting processes {NOT_ALLOWED}")}),
    Hostile("patch_guard", {"Flatten": by_case(
        rf"sandbox: running shell commands {NOT_ALLOWED}",
        rf"sandbox: reading '/\S*/fixtures/Flatten\.npz' {NOT_ALLOWED}",
        rf"sandbox: writing '/\S*/fixtures/{PWNED}\.txt' {NOT_ALLOWED}")}),
    Hostile("hook_tamper", {"Flatten": by_case(
        rf"sandbox: reading '/\S*/fixtures/Flatten\.npz' {NOT_ALLOWED}",
        rf"sandbox: running shell commands {NOT_ALLOWED}",
        rf"sandbox: importing 'ctypes' {NOT_ALLOWED}")}),
    Hostile("dirfd", {"Flatten": by_case(
        rf"sandbox: opening the folder '/\S*/hostile_dirfd' {NOT_ALLOWED}",
        rf"sandbox: opening the folder '/\S+' {NOT_ALLOWED}",
        rf"sandbox: opening the folder '/\S*/hostile_dirfd/mytorch' {NOT_ALLOWED}")}),
    Hostile("unaudited", {"Flatten": r"PermissionError raised while calling forward"
                                     r"[\s\S]*(Permission denied|Operation not permitted)"},  # Landlock or seccomp
            needs_landlock=True),
    # ------------------------------------------------------------------ the result channel
    Hostile("fake_final", {"Flatten": by_case(
        r"forward output Z: shape \(1, 1\) but the reference has shape \(2, 12\)",
        r"the grading child sent a malformed result while calling forward",
        r"the grading child sent a malformed result while calling forward")}),
    Hostile("result_fd_junk"),  # junk and a bad progress line on the pipe, right values: full points
    Hostile("weird_text", {"Flatten": by_case(
        r"ValueError raised while calling forward[\s\S]*ValueError: \?\\x1b\[2J\\x0dTotal score",
        r"forward output Z: got a Weird\?\\x1b\[2J object",
        r"RuntimeError raised while calling forward")}),
]
HOSTILE_NAMES = [h.name for h in HOSTILES]
LANDLOCK = landlock_abi()


# ----------------------------------------------------------------------------- running

@dataclass
class Run:
    args: list
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    report: dict | None
    cwd: Path

    @property
    def last_line(self):
        return json.loads(self.stdout.rstrip("\n").splitlines()[-1])


def run_runner(cwd, *args, limit):
    """``python runner.py ARGS --json cwd/report.json`` from ``cwd``, timed."""
    cwd.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(ROOT / "runner.py"), *map(str, args), "--json", str(cwd / "report.json")]
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, errors="replace",
                              env=RUNNER_ENV, timeout=limit + 60)
        returncode, stdout, stderr = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as expired:
        returncode, stdout, stderr = None, str(expired.stdout or ""), "runner.py did not finish"
    seconds = time.monotonic() - started
    path = cwd / "report.json"
    report = json.loads(path.read_text()) if path.exists() else None
    return Run(command, returncode, stdout, stderr, seconds, report, cwd)


def graded_cases(items):
    return sum(len(MANIFEST["items"][item]["cases"]) for item in items)


def tampered_fixtures(target):
    """A copy of fixtures/ whose Flatten.npz has one byte changed (its sha256 no longer matches)."""
    shutil.copytree(ROOT / "fixtures", target)
    path = target / "Flatten.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return target


def schema_failing_fixtures(target):
    """A copy of fixtures/ whose manifest gives Flatten a tolerance that is not a number."""
    shutil.copytree(ROOT / "fixtures", target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["items"]["Flatten"]["tolerance"]["rtol"] = "loose"
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return target


FIXTURE_RUNS = {"tampered_fixture": tampered_fixtures, "manifest_schema": schema_failing_fixtures}


def start_run(name, base):
    """Grade one hostile submission (or the complete one with broken fixtures); returns a Run."""
    if name in FIXTURE_RUNS:
        fixtures = FIXTURE_RUNS[name](base / "fixtures")
        return run_runner(base / "cwd", "--submission", COMPLETE, "--fixtures", fixtures, "--only", "Flatten",
                          "--timeout", 2, limit=2 * graded_cases(["Flatten"]) + SLACK_SECONDS)
    hostile = next(h for h in HOSTILES if h.name == name)
    limit = WALL_FACTOR * hostile.timeout * graded_cases(hostile.only) + SLACK_SECONDS
    return run_runner(base / "cwd", "--submission", submission(f"hostile_{name}"), "--only", ",".join(hostile.only),
                      "--timeout", hostile.timeout, limit=limit)


class Runs:
    """Runs in the background, a few at a time; ``runs[name]`` waits for one (starting it if needed)."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.executor = ThreadPoolExecutor(max_workers=PARALLEL_RUNS, thread_name_prefix="hostile")
        self.futures = {}

    def start(self, name):
        if name not in self.futures:
            self.futures[name] = self.executor.submit(start_run, name, self.tmp_path_factory.mktemp(name))

    def __getitem__(self, name):
        self.start(name)
        return self.futures[name].result()


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory):
    """Starts, at once, every run that this session's selected tests of this module will ask for."""
    background = Runs(tmp_path_factory)
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if getattr(item, "module", None) is request.module and callspec and "name" in callspec.params:
            name = callspec.params["name"]
            if name != "unaudited" or LANDLOCK:
                background.start(name)
    yield background
    background.executor.shutdown(wait=True, cancel_futures=True)


# ----------------------------------------------------------------------------- checks


def planted_files(run, name):
    """Files the hostile code tried to create outside its working folder and that exist."""
    places = [ROOT / "fixtures", submission(f"hostile_{name}"), submission(f"hostile_{name}") / "mytorch",
              SUBMISSIONS / f"hostile_{name}", SUBMISSIONS / f"hostile_{name}" / "mytorch",
              run.cwd, Path(os.__file__).parent, Path("/tmp")]
    found = [path for place in places if place.is_dir() for path in place.glob(f"{PWNED}*")]
    report = run.cwd / "report.json"
    if report.exists() and '"Flatten": 1000' in report.read_text():
        found.append(report)
    return found


def check_common(run, only):
    """What holds for every run, whatever the submission did."""
    assert run.returncode == 0, f"exit code {run.returncode}\n{run.stderr[-3000:]}"
    assert not CONTROL.search(run.stdout), "the runner printed terminal control characters"
    assert not NUMPY_REPR.search(run.stdout), "a student message shows a NumPy repr"
    line = run.last_line
    assert set(line) == {"scores", "scoreboard"}
    assert set(line["scores"]) == set(only)
    report = run.report
    assert report is not None, "no --json report written"
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(report)
    json.dumps(report, ensure_ascii=False).encode("utf-8")  # no lone surrogates anywhere
    assert report["status"] == "graded", report["error"]
    assert line["scores"] == report["scores"]
    totals = report["totals"]
    assert line["scoreboard"] == [totals["main"], totals["bonus"]]
    for section in ("main", "bonus"):
        expected = sum(report["scores"][i] for i in only if SECTION[i] == section)
        assert totals[section] == pytest.approx(expected)
        assert totals[section] <= totals[f"{section}_max"]
    for item in only:
        assert 0 <= report["scores"][item] <= MAX_POINTS[item]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_submission(runs, name):
    hostile = next(h for h in HOSTILES if h.name == name)
    if hostile.needs_landlock and not LANDLOCK:
        pytest.skip("no Landlock in this kernel: only the audit hook confines file access")
    run = runs[name]
    planted = planted_files(run, name)
    for path in planted:
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    assert not planted, f"a hostile submission (this one, or one graded alongside) wrote outside its folder: {planted}"
    limit = WALL_FACTOR * hostile.timeout * graded_cases(hostile.only) + SLACK_SECONDS
    assert run.seconds <= limit, f"runner took {run.seconds:.1f} s, more than {limit:.1f} s"
    check_common(run, hostile.only)
    items = {item["name"]: item for item in run.report["items"]}
    assert set(items) == set(hostile.only)
    assert set(hostile.lost) <= set(hostile.only)
    for name_, item in items.items():
        if name_ not in hostile.lost:
            assert item["points"] == item["max_points"] == MAX_POINTS[name_], \
                f"{name_} should be unaffected:\n" + "\n".join(c["message"] for c in item["cases"])
            continue
        assert item["points"] == 0, f"{name_} should score 0"
        assert len(item["cases"]) == len(MANIFEST["items"][name_]["cases"])
        for index, case in enumerate(item["cases"]):
            assert case["status"] != "passed"
            reason = hostile.expected(name_, index, case["case"])
            if hostile.resource:
                reason = f"{reason}|{STOPPED}"
            assert re.search(reason, case["message"]), \
                f"{name_} case {case['case']}: expected /{reason}/ in:\n{case['message']}"


def test_fake_summary_lines_stay_inside_the_report(runs):
    """What student code prints is shown indented under 'your code printed:', never as a line of its own."""
    run = runs["fake_summary"]
    assert "Conv1d" not in run.last_line["scores"]
    lines = run.stdout.splitlines()
    fakes = [line for line in lines if '"Conv1d": 1000' in line or "Total score: 100/100" in line]
    assert fakes and all(line.startswith("    | ") for line in fakes), fakes
    assert [line for line in lines if line.startswith("Total score:")] == ["Total score: 2.5/100 (+0/15 bonus)"]


def test_large_output_is_kept_short_in_the_report(runs):
    run = runs["print_megabytes"]
    for case in run.report["items"][0]["cases"] + run.report["items"][1]["cases"]:
        assert len(case["output"]) < 4100
    flatten = next(item for item in run.report["items"] if item["name"] == "Flatten")
    printed = 3000 * len("debug " + "x" * 994 + "\n")  # what each forward prints (hostile_print_megabytes)
    assert all(case["output"].startswith("debug xxx")
               and case["output"].endswith(f"(output truncated: {printed - 4000:,} more bytes not shown)")
               for case in flatten["cases"])


@pytest.mark.parametrize("name", ["tampered_fixture", "manifest_schema"])
def test_untrustworthy_fixtures_stop_grading(runs, name):
    """A fixture file whose sha256 does not match, or a manifest that fails its schema: exit 2, the file named."""
    run = runs[name]
    assert run.seconds <= 2 * graded_cases(["Flatten"]) + SLACK_SECONDS
    assert run.returncode == 2, run.stderr
    culprit = {"tampered_fixture": r"Flatten\.npz: sha256 .* does not match the manifest",
               "manifest_schema": r"manifest\.json: does not match manifest\.schema\.json .*rtol"}[name]
    assert re.search(culprit, run.stderr), run.stderr
    line = run.last_line  # no score computed from such fixtures: every item 0
    assert "Flatten" in line["scores"] and set(line["scores"].values()) == {0.0} and line["scoreboard"] == [0, 0]
    assert run.report["status"] == "error" and re.search(culprit, run.report["error"])
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(run.report)


def test_every_hostile_folder_is_complete_plus_one_changed_module():
    """Only one module differs from complete/ (flatten.py, unless the hostile names another), so
    only items that use it can be affected."""
    folders = sorted(p.name.removeprefix("hostile_") for p in SUBMISSIONS.glob("hostile_*")
                     if not p.name.startswith(("hostile_native_", "hostile_proc_")))  # tests/test_sandbox_*.py
    assert folders == sorted(HOSTILE_NAMES)
    reference = {p.name: p.read_bytes() for p in (COMPLETE / "mytorch").glob("*.py")}
    for hostile in HOSTILES:
        name, module = hostile.name, hostile.module
        package = submission(f"hostile_{name}") / "mytorch"
        files = {p.name: p.read_bytes() for p in package.glob("*.py")}
        changed = {f for f in reference.keys() | files.keys() if reference.get(f) != files.get(f)}
        assert changed == {module}, (name, changed)
        overlay, deleted = variant_files(f"hostile_{name}")
        assert set(overlay) | deleted == {module}, (name, set(overlay), deleted)
        if module in files:
            assert files[module].startswith(b"# HOSTILE"), name


def test_inputs_mutated_by_the_child_never_reach_the_expected_values():
    """The expected arrays stay in the grader: the same Flatten case passes twice in a row."""
    from autograder.contract.fixtures import load_fixture_set
    from autograder.judge.outcome import grade_outcome
    from autograder.sandbox import Limits, run_in_sandbox
    case = load_fixture_set(ROOT / "fixtures", only={"Flatten"}).items["Flatten"][0]
    before = {key: value.copy() for key, value in case.arrays.items()}
    for _ in range(2):
        outcome = run_in_sandbox(submission("hostile_mutates_input"), case, Limits(timeout=5))
        assert grade_outcome(case, outcome, Limits(timeout=5)).passed
    assert all(np.array_equal(before[key], case.arrays[key]) for key in before)


def test_an_import_error_is_shown_once_per_item_without_harness_frames(runs):
    """One missing colon: its traceback once for each item whose module import failed, not once per case."""
    run = runs["syntax_error"]
    assert run.stdout.count("SyntaxError: expected ':'") == 2  # mytorch.flatten (Flatten), mytorch.cnn (CNN)
    for item in ("Flatten", "CNN"):
        others = len(MANIFEST["items"][item]["cases"]) - 1
        assert re.search(rf"^{item}, cases( \"\w+\",?){{{others}}}: the same error as case \"\w+\" above$",
                         run.stdout, re.M), run.stdout
    assert "/autograder/" not in run.stdout  # the harness's own frames are not the student's traceback
