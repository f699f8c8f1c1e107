#!/usr/bin/env python3
"""The grader output quoted in the handout, regenerated from real runs.

Every ```text block of handout/README.md that quotes the grader is preceded by a
marker naming its recipe::

    <!-- excerpt: conv1d-flip -->
    ```text
    ...
    ```

A recipe (RECIPES below) says which submission the block describes (a mutant of
``tests/submissions/`` laid over the complete solution, or a hand-built
submission in progress), how ``runner.py`` is run on it (``--only``, options) and
how the report is trimmed for the handout: which item rows and which "details"
blocks are shown, how many lines of each, and ``...`` wherever lines are left out.

    python tests/handout_excerpts.py            # check: exit 1 and a diff when a block is stale
    python tests/handout_excerpts.py --write    # rewrite the stale blocks in place

tests/docs/test_handout_excerpts.py runs the same check.  Timings, the machine's
``sandbox:`` header lines and the random dropout percentages are normalised
before comparing (see :func:`normalise`); everything else must be exactly what
the grader prints.
"""
from __future__ import annotations

import argparse
import difflib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cpython_differences import set_aside

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "tests" / "submissions"
COMPLETE = SUBMISSIONS / "complete" / "mytorch"
TEMPLATE = ROOT / "student_template" / "mytorch"
MARKED_FILES = [ROOT / "handout" / "README.md", ROOT / "handout" / "items.md", ROOT / "README.md"]
MARKER = re.compile(r"<!-- excerpt: ([\w-]+) -->\n```text\n(.*?)\n```", re.S)
ROW = re.compile(r"^  (PASS|FAIL|TODO)  (\S+)")
WRITE_HINT = "run python tests/handout_excerpts.py --write (and read the diff before committing)"


@dataclass(frozen=True)
class Block:
    """One "details" block of the report to show: the first block whose first line starts with ``prefix``."""
    prefix: str
    head: int | None = None  # lines kept from the start (None: the whole block)
    tail: int = 0            # lines kept from the end when the block is cut


@dataclass(frozen=True)
class Recipe:
    """How one quoted block is produced."""
    submission: str                      # a tests/submissions/ folder, or "progress" (see build_submission)
    display: str                         # the submission folder as the handout shows it
    only: tuple[str, ...] = ()           # --only items ("" : the whole rubric)
    options: tuple[str, ...] = ()        # more runner options, e.g. ("--timeout", "2")
    rows: tuple[str, ...] | None = None  # item rows shown (None: every row)
    blocks: tuple[Block, ...] = ()       # details blocks shown, each trimmed
    header: bool = False                 # the command line, the report header, the totals and the Autolab line
    details_heading: bool = False        # the "Details of what went wrong:" line

    def arguments(self, folder: str) -> list[str]:
        only = ["--only", ",".join(self.only)] if self.only else []
        return ["--submission", folder, *only, *self.options]


RECIPES: dict[str, Recipe] = {
    "progress": Recipe(
        "progress", "/tmp/hwork/progress", header=True, details_heading=True,
        rows=("Downsampling1d", "Upsampling1d", "Downsampling2d", "Upsampling2d", "Conv1d_stride1", "Conv1d",
              "Conv2d_stride1", "Conv2d", "ResBlock"),
        blocks=(Block('Conv1d_stride1, case "kernel_equals_width"', 7), Block('Conv1d_stride1, case "general"', 2),
                Block('Conv1d, case "stride_remainder"', 2), Block("Conv2d_stride1:"), Block("Conv2d:"))),
    "downsample1d-floor": Recipe(
        "mutant_downsample1d_floor", "/tmp/hmut/floor", only=("Downsampling1d",),
        blocks=(Block('Downsampling1d, case "even_width"'), Block('Downsampling1d, case "odd_width_remainder"'))),
    "conv1d-flip": Recipe(
        "mutant_conv1d_noflip", "/tmp/hmut/flip", only=("Conv1d_stride1",),
        blocks=(Block('Conv1d_stride1, case "kernel_equals_width"'),)),
    "aliasing": Recipe(
        "mutant_downsample2d_backward_aliased_rows", "/tmp/hmut/alias", only=("Downsampling2d",),
        blocks=(Block('Downsampling2d, case "factor_1"'), Block('Downsampling2d, case "even_non_square"'))),
    "maxpool-ties": Recipe(
        "mutant_maxpool_last_tie", "/tmp/hmut/ties", only=("MaxPool2d_stride1",),
        blocks=(Block('MaxPool2d_stride1, case "ties"'),)),
    "not-implemented": Recipe(
        "mutant_pool_not_implemented", "/tmp/hmut/todo", only=("MaxPool2d_stride1", "MaxPool2d"),
        details_heading=True, blocks=(Block("MaxPool2d_stride1:"), Block("MaxPool2d:"))),
    "numpy": Recipe(
        "mutant_flatten_imports_numpy", "/tmp/hmut/numpy", only=("Flatten",),
        blocks=(Block('Flatten, case "one_dimensional"', 7),)),
    "exception": Recipe(
        "mutant_flatten_attribute_typo", "/tmp/hmut/attr", only=("Flatten",),
        blocks=(Block('Flatten, case "one_dimensional"', 5, 1),)),
    "timeout": Recipe(
        "mutant_meanpool_backward_loops", "/tmp/hmut/loop", only=("MeanPool2d_stride1",), options=("--timeout", "2"),
        blocks=(Block('MeanPool2d_stride1, case "ties"'), Block('MeanPool2d_stride1, case "kernel_1_batch1"'))),
    "tuple": Recipe(
        "mutant_flatten_returns_tuples", "/tmp/hmut/tuple", only=("Flatten",),
        blocks=(Block('Flatten, case "one_dimensional"'),)),
    "ragged": Recipe(
        "mutant_upsample2d_row_assigned", "/tmp/hmut/ragged", only=("Upsampling2d",),
        blocks=(Block('Upsampling2d, case "even_non_square"'),)),
    "dropout-keep": Recipe(
        "mutant_dropout_p_keeps", "/tmp/hmut/dropout", only=("Dropout2d",),
        blocks=(Block('Dropout2d, case "low_p_batch1"'), Block('Dropout2d, case "high_p"'))),
}


# ----------------------------------------------------------------------------- submissions and runs

def build_submission(name: str, target: Path) -> Path:
    """Write the submission ``name`` under ``target`` (a folder that will contain mytorch/) and return target.

    ``mutant_*`` / other tests/submissions folders: complete/ with the folder's modules laid over it
    (and its DELETED list removed), as tests/helpers.py builds them.  ``progress``: the student
    template with the resampling module of the complete solution and the Conv1d_stride1 of
    mutant_conv1d_noflip (the kernel flip forgotten in backward).
    """
    package = target / "mytorch"
    if name == "progress":
        shutil.copytree(TEMPLATE, package, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(COMPLETE / "resampling.py", package / "resampling.py")
        shutil.copy(SUBMISSIONS / "mutant_conv1d_noflip" / "mytorch" / "conv1d.py", package / "conv1d.py")
        return target
    shutil.copytree(COMPLETE, package, ignore=shutil.ignore_patterns("__pycache__"))
    overlay = SUBMISSIONS / name / "mytorch"
    if not overlay.is_dir():
        raise SystemExit(f"recipe submission {name!r}: no folder {overlay}")
    deleted = overlay / "DELETED"
    for file_name in (deleted.read_text().split() if deleted.exists() else []):
        (package / file_name).unlink()
    for module in overlay.glob("*.py"):
        shutil.copy(module, package / module.name)
    return target


def run_recipe(name: str, recipe: Recipe, work: Path) -> str:
    """The runner's stdout for the recipe, with the build folder replaced by the displayed one."""
    folder = build_submission(recipe.submission, work / name)
    done = subprocess.run([sys.executable, str(ROOT / "runner.py"), *recipe.arguments(str(folder))],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"runner.py failed on recipe {name!r} (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout.replace(str(folder), recipe.display)


def run_all(names: list[str], workers: int = 2) -> dict[str, str]:
    """name -> the runner's stdout for each recipe, ``workers`` runners at a time."""
    with tempfile.TemporaryDirectory(prefix="excerpts-") as temp:
        # readable by the grader's unprivileged case user, so the runner grades the folder itself
        # (an unreadable one is graded from a copy whose path would show in tracebacks)
        Path(temp).chmod(0o755)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {name: pool.submit(run_recipe, name, RECIPES[name], Path(temp)) for name in names}
            return {name: future.result() for name, future in futures.items()}


# ----------------------------------------------------------------------------- rendering

@dataclass
class ParsedReport:
    header: list[str]
    rows: list[str]
    blocks: list[list[str]] = field(default_factory=list)
    total: str = ""
    autolab: str = ""


def parse_report(stdout: str) -> ParsedReport:
    """Split the runner's text report into its header, item rows, details blocks, total and Autolab line."""
    lines = stdout.rstrip("\n").split("\n")
    first_row = next(i for i, line in enumerate(lines) if ROW.match(line))
    header = lines[:first_row]
    while header and not header[-1]:
        header.pop()
    i = first_row
    rows = []
    while i < len(lines) and ROW.match(lines[i]):
        rows.append(lines[i])
        i += 1
    total_at = next(j for j in range(len(lines) - 1, -1, -1) if lines[j].startswith("Total score:"))
    body = lines[i:total_at]
    if "Details of what went wrong:" in body:
        body = body[body.index("Details of what went wrong:") + 1:]
    else:
        body = []
    blocks, current = [], []
    for line in body + [""]:
        if line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    return ParsedReport(header, rows, blocks, lines[total_at], lines[total_at + 1] if total_at + 1 < len(lines) else "")


def trim(lines: list[str], block: Block) -> list[str]:
    """The block cut to its first ``head`` and last ``tail`` lines, a ``...`` (indented like the
    last line kept before it) standing for the lines left out."""
    if block.head is None or len(lines) <= block.head + block.tail:
        return list(lines)
    kept = lines[block.head - 1]
    gap = " " * (len(kept) - len(kept.lstrip())) + "..."
    return lines[:block.head] + [gap] + (lines[-block.tail:] if block.tail else [])


def shown_with_gaps(chunks: list[list[str] | None]) -> list[list[str]]:
    """Shown chunks in order; each run of left-out ones (None) becomes a ``...`` line after the previous chunk."""
    out: list[list[str]] = []
    for chunk in chunks:
        if chunk is not None:
            out.append(list(chunk))
        elif not out:
            out.append(["..."])
        elif out[-1][-1] != "...":
            out[-1].append("...")
    return out


def trimmed_autolab(line: str, shown: set[str]) -> str:
    """The Autolab line with the scores of the items not shown replaced by ``...``."""
    data = json.loads(line)
    compact = json.dumps(data, separators=(",", ":"))
    if compact != line:
        raise RuntimeError(f"the Autolab line is not compact JSON any more; teach trimmed_autolab: {line!r}")
    entries: list[str] = []
    for item, score in data["scores"].items():
        if item in shown:
            entries.append(json.dumps({item: score}, separators=(",", ":"))[1:-1])
        elif not entries or entries[-1] != "...":
            entries.append("...")
    rest = json.dumps({k: v for k, v in data.items() if k != "scores"}, separators=(",", ":"))[1:-1]
    return '{"scores":{' + ",".join(entries) + "}" + ("," + rest if rest else "") + "}"


def render(name: str, stdout: str) -> str:
    """The handout block of recipe ``name`` from the runner's stdout."""
    recipe = RECIPES[name]
    report = parse_report(set_aside(stdout))  # what CPython writes its own way: quoted as 3.12+ write it
    out: list[str] = []
    if recipe.header:
        out += ["$ python runner.py " + " ".join(recipe.arguments(recipe.display)), *report.header, ""]
    row_names = [ROW.match(row).group(2) for row in report.rows]
    wanted_rows = set(row_names if recipe.rows is None else recipe.rows)
    missing = wanted_rows - set(row_names)
    if missing:
        raise RuntimeError(f"recipe {name!r}: no report row for {sorted(missing)}")
    for chunk in shown_with_gaps([[row] if item in wanted_rows else None for row, item in zip(report.rows, row_names)]):
        out += chunk
    if recipe.blocks:
        out.append("")
        if recipe.details_heading:
            out += ["Details of what went wrong:", ""]
        chosen: list[list[str] | None] = []
        used: set[Block] = set()
        for lines in report.blocks:
            block = next((b for b in recipe.blocks if b not in used and lines[0].startswith(b.prefix)), None)
            if block is None:
                chosen.append(None)
            else:
                used.add(block)
                chosen.append(trim(lines, block))
        if set(recipe.blocks) - used:
            raise RuntimeError(f"recipe {name!r}: the report has no block starting with "
                               f"{sorted(b.prefix for b in set(recipe.blocks) - used)}:\n{stdout}")
        pieces = shown_with_gaps(chosen)
        for k, piece in enumerate(pieces):
            out += piece + ([""] if k < len(pieces) - 1 else [])
    if recipe.header:
        out += ["", report.total, trimmed_autolab(report.autolab, wanted_rows)]
    return "\n".join(out)


TIMING = re.compile(r"\b\d+\.\d\ds\b")
DROPPED = re.compile(r"\d+(?:\.\d+)?% of (\d+) channels were dropped")


def normalise(block: str) -> str:
    """What may differ between two runs of the same grading: timings, the machine's sandbox lines,
    the measured dropout fractions."""
    lines = []
    for line in block.split("\n"):
        if line.startswith("sandbox: "):
            continue
        if ROW.match(line):
            line = TIMING.sub("#.##s", line)
        lines.append(DROPPED.sub(r"#% of \1 channels were dropped", line))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the marked blocks

def marked_blocks(files: list[Path] = MARKED_FILES) -> list[tuple[Path, str, str]]:
    """(file, recipe name, quoted text) for every marked block."""
    return [(path, m.group(1), m.group(2)) for path in files for m in MARKER.finditer(path.read_text())]


def stale(live: dict[str, str]) -> dict[str, tuple[str, str]]:
    """recipe -> (quoted, rendered) for every marked block that no longer matches."""
    found = {}
    for _, name, quoted in marked_blocks():
        if name not in live:
            continue
        rendered = render(name, live[name])
        if normalise(quoted) != normalise(rendered):
            found[name] = (quoted, rendered)
    return found


def write(live: dict[str, str]) -> list[str]:
    """Rewrite every stale marked block in place; returns the recipes rewritten."""
    changed = []
    for path in MARKED_FILES:
        text = path.read_text()

        def replace(match: re.Match) -> str:
            name, quoted = match.group(1), match.group(2)
            if name not in live:
                return match.group(0)
            rendered = render(name, live[name])
            if normalise(quoted) == normalise(rendered):
                return match.group(0)
            changed.append(name)
            return f"<!-- excerpt: {name} -->\n```text\n{rendered}\n```"

        new = MARKER.sub(replace, text)
        if new != text:
            path.write_text(new)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the stale blocks in place")
    parser.add_argument("names", nargs="*", help="only these recipes (default: every marked one)")
    args = parser.parse_args(argv)
    names = args.names or sorted({name for _, name, _ in marked_blocks()})
    unknown = [name for name in names if name not in RECIPES]
    if unknown:
        parser.error(f"unknown recipes {unknown}; known: {', '.join(RECIPES)}")
    live = run_all(names)
    if args.write:
        changed = write(live)
        print(f"rewrote {len(changed)} block(s): {', '.join(changed) or 'none'}")
        return 0
    differences = {name: pair for name, pair in stale(live).items() if name in names}
    for name, (quoted, rendered) in differences.items():
        print(f"stale excerpt {name}:")
        print("\n".join(difflib.unified_diff(quoted.split("\n"), rendered.split("\n"), "handout", "grader",
                                             lineterm="")))
    if differences:
        print(WRITE_HINT)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
