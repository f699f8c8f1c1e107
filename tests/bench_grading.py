#!/usr/bin/env python3
"""Benchmark of the grading harness (a script, not a test: ``python tests/bench_grading.py``).

    python tests/bench_grading.py [--repeat 5] [--only Flatten] [--sandbox portable]

For each run below, the median of ``--repeat`` runs of ``python runner.py ...``: CPU seconds
of the whole process tree (the runner, its fork servers and every case, from
``RUSAGE_CHILDREN``: on a loaded machine CPU time is the stable measure), wall seconds, and
the peak resident memory of the largest process:

- ``complete``: the complete pure-Python solution (tests/submissions/complete);
- ``template``: the untouched student_template (every method raises at once);
- ``only``: ``--only ITEM`` on the template (a small item).

Then the breakdown: the runner's import time (and numpy's share), and from one ``--json``
run of the complete solution with ``--jobs 1``, the student's own seconds against each
case's wall seconds (the harness overhead per case), and the harness's cost per case
(CPU of the template run minus CPU of the ``only`` run, over the cases between them).
Everything is printed against GOALS (issue 14); the exit code is 1 if a goal is missed.

Every run uses the grader's bytecode cache as a student's machine does: PYTHONDONTWRITEBYTECODE
is removed from the runs' environment (some CI images set it, and then the grader compiles
its own modules on every run).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPLETE = ROOT / "tests" / "submissions" / "complete"
TEMPLATE = ROOT / "student_template"
GOALS = {"complete_cpu": 1.0, "template_cpu": 0.6, "only_wall": 0.5, "overhead": 0.20, "peak_mb": 60.0}
SANDBOX: list[str] = []  # --sandbox BACKEND, for every run
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def children_usage() -> tuple[float, float]:
    """(CPU seconds of every reaped descendant so far, their largest peak RSS in MB)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


# runner.py run as it runs (as __main__), then the CPU of the grader's own process (after its fork
# servers are shut down and reaped, so the rest of the tree's CPU is theirs and their cases').
USAGE_TAG = "bench-grading-usage:"
RUN_AND_REPORT = f"""
import resource, runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
    code = 0
except SystemExit as exit:
    code = exit.code
from autograder.sandbox import close_servers
close_servers()
own = resource.getrusage(resource.RUSAGE_SELF)
sys.stderr.write("\\n{USAGE_TAG}" + repr(own.ru_utime + own.ru_stime) + "\\n")
sys.exit(code)
"""


def run(*args: object) -> tuple[float, float, float, list[str]]:
    """Run runner.py with ``args``; return (wall seconds, CPU seconds of its process tree, CPU
    seconds of the grader's own process, stdout lines)."""
    cpu_before, _ = children_usage()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUN_AND_REPORT, str(ROOT / "runner.py"), *SANDBOX, *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - started
    cpu_after, _ = children_usage()
    if done.returncode != 0:
        sys.exit(f"runner.py {' '.join(map(str, args))} exited with {done.returncode}:\n{done.stderr[-2000:]}")
    own = float(done.stderr.rpartition(USAGE_TAG)[2])
    return wall, cpu_after - cpu_before, own, done.stdout.rstrip("\n").splitlines()


def peak_mb(*args: object) -> float:
    """Peak RSS (MB) of the largest process of one run, measured in a fresh child (ru_maxrss is a maximum)."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    done = subprocess.run([sys.executable, "-c", code, sys.executable, str(ROOT / "runner.py"), *SANDBOX,
                           *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, check=True, env=ENV)
    return float(done.stdout)


def medians(repeat: int, *args: object) -> dict[str, object]:
    walls, cpus, owns, lines = [], [], [], []
    for _ in range(repeat):
        wall, cpu, own, lines = run(*args)
        walls.append(wall)
        cpus.append(cpu)
        owns.append(own)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "walls": walls, "cpus": cpus,
            "own": statistics.median(owns), "last": json.loads(lines[-1]), "peak": peak_mb(*args)}


def import_seconds(statement: str) -> float:
    """CPU seconds ``statement`` takes in a fresh interpreter (median of 3)."""
    code = f"import time; t = time.process_time(); {statement}; print(time.process_time() - t)"
    times = [float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                  check=True, env=ENV).stdout) for _ in range(3)]
    return statistics.median(times)


def case_report(*args: object) -> tuple[list[dict], float, float]:
    """The cases of one ``--json`` run: (case dicts, wall seconds, CPU seconds)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.json"
        wall, cpu, _, _ = run(*args, "--json", path)
        report = json.loads(path.read_text())
    return [case for item in report["items"] for case in item["cases"]], wall, cpu


def ran(cases: list[dict]) -> int:
    return sum(1 for case in cases if case["status"] != "skipped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per median (default 5)")
    parser.add_argument("--only", default="Flatten", help="the small item of the --only run (default Flatten)")
    parser.add_argument("--sandbox", default="auto", help="the runner's sandbox backend (default auto)")
    args = parser.parse_args(argv)
    SANDBOX[:] = ["--sandbox", args.sandbox]

    complete = medians(args.repeat, "--submission", COMPLETE)
    template = medians(args.repeat, "--submission", TEMPLATE)
    only = medians(args.repeat, "--submission", TEMPLATE, "--only", args.only)
    if complete["last"]["scoreboard"] != [100, 15]:
        print(f"warning: the complete solution scored {complete['last']['scoreboard']}, not [100, 15]")

    cases, _, _ = case_report("--submission", COMPLETE, "--jobs", "1")
    student = sum(case["student_seconds"] for case in cases)
    case_wall = sum(case["wall_seconds"] for case in cases)
    overhead = 1.0 - student / case_wall
    template_cases, _, _ = case_report("--submission", TEMPLATE, "--jobs", "1")
    only_cases, _, _ = case_report("--submission", TEMPLATE, "--only", args.only, "--jobs", "1")
    per_case = (template["cpu"] - only["cpu"]) / max(1, ran(template_cases) - ran(only_cases))
    runner_import = import_seconds("import autograder.cli, autograder.grading.core")
    numpy_import = import_seconds("import numpy")
    peak = max(complete["peak"], template["peak"], only["peak"])

    def times(values: list[float]) -> str:
        return " ".join(f"{v:.2f}" for v in values)

    rows = [
        ("complete CPU (median)", f"{complete['cpu']:.2f} s", f"<= {GOALS['complete_cpu']:g} s",
         complete["cpu"] <= GOALS["complete_cpu"], f"CPU {times(complete['cpus'])}; wall {complete['wall']:.2f} s "
                                                   f"({times(complete['walls'])})"),
        ("template CPU (median)", f"{template['cpu']:.2f} s", f"<= {GOALS['template_cpu']:g} s",
         template["cpu"] <= GOALS["template_cpu"], f"CPU {times(template['cpus'])}; wall {template['wall']:.2f} s "
                                                   f"({times(template['walls'])})"),
        (f"--only {args.only} wall (median)", f"{only['wall']:.2f} s", f"<= {GOALS['only_wall']:g} s",
         only["wall"] <= GOALS["only_wall"], f"wall {times(only['walls'])}; CPU {only['cpu']:.2f} s "
                                             f"({times(only['cpus'])})"),
        ("overhead per case, --jobs 1", f"{100 * overhead:.1f} %", f"<= {100 * GOALS['overhead']:g} %",
         overhead <= GOALS["overhead"], f"student {student:.2f} s / case wall {case_wall:.2f} s over "
                                        f"{len(cases)} cases"),
        ("peak RSS (largest process)", f"{peak:.0f} MB", f"<= {GOALS['peak_mb']:g} MB", peak <= GOALS["peak_mb"],
         f"complete {complete['peak']:.0f}, template {template['peak']:.0f}, only {only['peak']:.0f}"),
    ]
    print(f"sandbox {args.sandbox}, python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"{args.repeat} runs per median\n")
    print(f"{'measure':<32} {'value':>9}  {'goal':<10} {'':<5} details")
    for name, value, goal, ok, details in rows:
        print(f"{name:<32} {value:>9}  {goal:<10} {'ok' if ok else 'MISS':<5} {details}")
    print("\nbreakdown")
    print(f"  import the grader (CPU)       {runner_import:.3f} s, of which numpy {numpy_import:.3f} s")
    for name, run_medians in (("complete", complete), ("template", template)):
        print(f"  CPU split, {name:<9}         grader process {run_medians['own']:.2f} s, fork servers and cases "
              f"{run_medians['cpu'] - run_medians['own']:.2f} s (medians)")
    print(f"  student's own code            {student:.3f} s over {len(cases)} cases "
          f"({1000 * student / max(1, len(cases)):.1f} ms a case, wall, --jobs 1)")
    print(f"  harness per case (wall)       {1000 * (case_wall - student) / max(1, len(cases)):.1f} ms "
          f"(case wall minus the student's seconds, --jobs 1)")
    print(f"  harness per case (CPU)        {1000 * per_case:.1f} ms (template CPU - --only CPU, over "
          f"{ran(template_cases) - ran(only_cases)} cases)")
    print(f"  fixed cost of a run (CPU)     {only['cpu'] - per_case * ran(only_cases):.3f} s "
          f"(--only CPU minus its {ran(only_cases)} cases)")
    return 0 if all(row[3] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
