"""runner.py's printed report and --json for every test submission, in two checkouts: which differ.

    python -m tests.bench_checkouts BEFORE AFTER [--names complete,mutant_...] [--python PY]   # two checkouts

For a change that must not change what the grader says (a refactor): every folder of
tests/submissions/ (mutants and hostile ones built on complete/ by tests/helpers.py, once, in a
scratch folder both checkouts grade) and student_template/ is graded by each checkout's own
``runner.py --jobs 1 --json``, two at a time.  Timings, the checkouts' paths and the grader's
temporary folder names are masked; the differences are written to a folder to read with diff.
Some gradings do not repeat anyway (Dropout2d's random draws, an object's address, a timeout's
wall-clock time): look at what differs before calling it a change.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.helpers import ROOT, SUBMISSIONS, submission

TIMING = re.compile(r"\d+\.\d+ ?s\b|\d+(\.\d+)? ms\b")
TIMING_KEYS = {"wall_seconds", "student_seconds", "execution_time"}
TEMPORARY = re.compile(r"mytorch-[a-z]+-[A-Za-z0-9_]+")


def masked(data: object) -> object:
    if isinstance(data, dict):
        return {key: "*" if key in TIMING_KEYS else masked(value) for key, value in data.items()}
    if isinstance(data, list):
        return [masked(value) for value in data]
    return data


def graded(python: str, checkout: Path, folder: Path, roots: list[Path]) -> str:
    """What ``checkout``'s runner.py prints and writes for ``folder``, masked."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        done = subprocess.run([python, "runner.py", "--submission", str(folder), "--jobs", "1", "--json", str(report)],
                              cwd=checkout, capture_output=True, text=True, timeout=900)
        document = json.dumps(masked(json.loads(report.read_text())), sort_keys=True) if report.exists() else "-"
    text = f"exit {done.returncode}\n{TIMING.sub('T', done.stdout)}\n{document}\n"
    for root in roots:
        text = text.replace(str(root), "ROOT")
    return TEMPORARY.sub("TMP", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench_checkouts", description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bench_checkouts")
    parser.add_argument("--names", help="comma-separated folders of tests/submissions/ (default: all, and the template)")
    args = parser.parse_args(argv)
    names = args.names.split(",") if args.names else \
        sorted(p.name for p in SUBMISSIONS.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [name for name in names if not (SUBMISSIONS / name).is_dir()]
    if unknown:
        parser.error(f"not a folder of tests/submissions/: {', '.join(unknown)}")
    with tempfile.TemporaryDirectory() as scratch:
        folders = {name: Path(shutil.copytree(submission(name), Path(scratch) / name, symlinks=True))
                   for name in names}
        if not args.names:
            folders["student_template"] = ROOT / "student_template"
        roots = [args.before.resolve(), args.after.resolve(), ROOT, Path(scratch)]
        shutil.rmtree(args.out, ignore_errors=True)

        def both(name: str) -> tuple[str, str, str]:
            return (name, graded(args.python, args.before, folders[name], roots),
                    graded(args.python, args.after, folders[name], roots))

        differ = []
        with ThreadPoolExecutor(2) as pool:
            for name, before, after in pool.map(both, folders):
                print(("same    " if before == after else "DIFFERS ") + name, flush=True)
                if before != after:
                    differ.append(name)
                    (args.out / name).mkdir(parents=True)
                    (args.out / name / "before.txt").write_text(before)
                    (args.out / name / "after.txt").write_text(after)
    print(f"{len(folders)} submissions, {len(differ)} differ" + (f" (see {args.out}): {', '.join(differ)}" if differ else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
