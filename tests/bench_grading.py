#!/usr/bin/env python3
"""Benchmark of the grading harness (a script, not a test: ``python tests/bench_grading.py``).

Measures
- the wall time of ``python runner.py --submission tests/submissions/complete`` (median of N runs),
- the wall time of ``python runner.py`` on the untouched student_template (median of N runs),
- the harness overhead on the complete solution, from the ``--json`` report:
  ``1 - sum(case student_seconds) / sum(case wall_seconds)``, with ``--jobs 1`` and the default jobs,
and prints them against the goals: complete < 10 s, template < 3 s, overhead < 25 %.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPLETE = ROOT / "tests" / "submissions" / "complete"
TEMPLATE = ROOT / "student_template"
GOALS = {"complete": 10.0, "template": 3.0, "overhead": 0.25}


def run(*args):
    """Run runner.py with ``args``; return (wall seconds, exit code, last stdout line)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "runner.py"), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0,):
        sys.exit(f"runner.py {' '.join(map(str, args))} exited with {done.returncode}:\n{done.stderr[-2000:]}")
    return seconds, done.stdout.rstrip("\n").splitlines()[-1]


def median_wall(repeat, *args):
    times, last = [], None
    for _ in range(repeat):
        seconds, last = run(*args)
        times.append(seconds)
    return statistics.median(times), times, json.loads(last)


def overhead(jobs):
    """Harness overhead from one --json run: (overhead, student s, case wall s, cases, runner wall s)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.json"
        extra = ["--jobs", str(jobs)] if jobs else []
        seconds, _ = run("--submission", COMPLETE, "--json", path, *extra)
        report = json.loads(path.read_text())
    cases = [case for item in report["items"] for case in item["cases"]]
    student = sum(case["student_seconds"] for case in cases)
    wall = sum(case["wall_seconds"] for case in cases)
    return 1.0 - student / wall, student, wall, len(cases), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per wall-time median (default 3)")
    args = parser.parse_args(argv)

    complete, complete_times, complete_line = median_wall(args.repeat, "--submission", COMPLETE)
    template, template_times, _ = median_wall(args.repeat, "--submission", TEMPLATE)
    if complete_line["scoreboard"] != [100, 15]:
        print(f"warning: the complete solution scored {complete_line['scoreboard']}, not [100, 15]")
    rows = [("complete wall (median)", f"{complete:.2f} s", f"< {GOALS['complete']:g} s",
             complete < GOALS["complete"], " ".join(f"{t:.2f}" for t in complete_times)),
            ("template wall (median)", f"{template:.2f} s", f"< {GOALS['template']:g} s",
             template < GOALS["template"], " ".join(f"{t:.2f}" for t in template_times))]
    for jobs in (1, None):
        share, student, wall, cases, seconds = overhead(jobs)
        label = f"overhead, --jobs {jobs}" if jobs else f"overhead, default jobs ({os.cpu_count()})"
        rows.append((label, f"{100 * share:.1f} %", f"< {100 * GOALS['overhead']:g} %", share < GOALS["overhead"],
                     f"student {student:.2f} s / case wall {wall:.2f} s over {cases} cases; run {seconds:.2f} s"))

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.repeat} runs per median\n")
    print(f"{'measure':<30} {'value':>9}  {'goal':<9} {'':<5} details")
    for name, value, goal, ok, details in rows:
        print(f"{name:<30} {value:>9}  {goal:<9} {'ok' if ok else 'MISS':<5} {details}")
    return 0 if all(row[3] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
