"""What likely-cause hints cost, in the grader's process (CPU time, median of several runs).

    python -m tests.bench_hints        # from the repository's root (which puts it on sys.path)

1. Loading the public fixture set, which stores the known mistakes' values, against the same
   set generated ``--no-hints`` (what every grading pays, hints used or not).
2. For every item, every allclose check failing with a value that matches no mistake (so every
   stored variant is compared and every relation of autograder/judge/relations.py tried: the
   worst case), graded with and without hints.
3. The cost of diagnosis as a share of a failing run's CPU (the goal: under 10 %): a mutant of the
   complete solution whose failures carry many relation hints, graded on the whole rubric by
   runner.py (its CPU and its sandboxed children's) with and without hints; and, as the bound,
   the worst case of 2 summed over every check of every item (every quantity of the rubric wrong,
   each explained by no mistake) against the same run's CPU.
"""
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from autograder.judge.checks import run_check
from autograder.judge.compare import Mismatch
from autograder.contract.fixtures import load_fixture_set
from autograder.sandbox.messages import PackedFloats
from reference.generate import without_hints, write_fixture_set

ROOT = Path(__file__).resolve().parent.parent


def timed(fn, repeat):
    """Median CPU seconds of ``repeat`` calls of ``fn``."""
    runs = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        runs.append(time.process_time() - start)
    return statistics.median(runs)


def failing_checks(cases):
    """(case, check, results) with a wrong value of the right shape for every allclose check, packed as the
    sandboxed child sends a list of floats."""
    work = []
    for case in cases:
        for check in case.checks:
            if check["kind"] == "allclose":
                expected = case.array(check["expected"])
                results = [None] * len(case.program["steps"])
                wrong = expected + 1.0 + np.abs(expected)  # as the sandboxed child's results carry it
                results[check["step"]] = PackedFloats(wrong.shape, wrong.tobytes()) if wrong.ndim else float(wrong)
                work.append((case, check, results))
    return work


def grade(work, hints):
    for case, check, results in work:
        try:
            run_check(case, check, results, hints)
        except Mismatch:
            pass


MUTANT = "conv1d_dldw_flipped"  # tests/submissions/mutant_<name>: six items lost, a relation on each failure
RUNS = 3


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cpu(submission, *options):
    """CPU seconds of one ``runner.py`` grading of the whole rubric, its sandboxed children included."""
    before = children_cpu()
    subprocess.run([sys.executable, "runner.py", "--submission", str(submission), *options], cwd=ROOT,
                   capture_output=True, check=False)
    return children_cpu() - before


def mutant_folder(folder):
    """The complete solution with the mutant's module laid over it (what tests/conftest.submission builds)."""
    shutil.copytree(ROOT / "tests" / "submissions" / "complete" / "mytorch", folder / "mytorch")
    for module in (ROOT / "tests" / "submissions" / f"mutant_{MUTANT}" / "mytorch").glob("*.py"):
        shutil.copy(module, folder / "mytorch" / module.name)
    return folder


def diagnosis_share(fixture_set):
    """(CPU of a failing run with hints, without, worst-case diagnosis of every check) in seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        submission = mutant_folder(Path(tmp))
        on = statistics.median(run_cpu(submission) for _ in range(RUNS))
        off = statistics.median(run_cpu(submission, "--no-hints") for _ in range(RUNS))
    work = [entry for cases in fixture_set.items.values() for entry in failing_checks(cases)]
    worst = timed(lambda: grade(work, True), 5) - timed(lambda: grade(work, False), 5)
    return on, off, worst


def main():
    with tempfile.TemporaryDirectory() as plain:
        write_fixture_set(11785, Path(plain), without_hints())
        with_variants = timed(lambda: load_fixture_set(ROOT / "fixtures"), 21)
        without = timed(lambda: load_fixture_set(Path(plain)), 21)
    print(f"loading the fixture set: {with_variants * 1000:.0f} ms with the variants' values, "
          f"{without * 1000:.0f} ms without (+{(with_variants - without) * 1000:.0f} ms)")
    fixture_set = load_fixture_set(ROOT / "fixtures")
    for item, cases in fixture_set.items.items():
        work = failing_checks(cases)
        on, off = timed(lambda: grade(work, True), 7), timed(lambda: grade(work, False), 7)
        print(f"{item:24s} all {len(work):3d} checks wrong: {off * 1000:6.1f} ms without hints, "
              f"{on * 1000:6.1f} ms with (+{(on - off) * 1000:.1f} ms)")
    on, off, worst = diagnosis_share(fixture_set)
    print(f"failing run (mutant_{MUTANT}, whole rubric, median of {RUNS}): {on:.2f} s CPU with hints, "
          f"{off:.2f} s without: diagnosis {100 * (on - off) / on:+.1f} % of the run")
    print(f"worst case, every check of every item wrong and unexplained: {worst * 1000:.0f} ms of diagnosis, "
          f"{100 * worst / on:.1f} % of that run")


if __name__ == "__main__":
    main()
