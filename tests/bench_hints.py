"""What likely-cause hints cost, in the grader's process (CPU time, median of several runs).

    python -m tests.bench_hints        # from the repository's root (which puts it on sys.path)

1. Loading the public fixture set, which stores the known mistakes' values, against the same
   set generated ``--no-hints`` (what every grading pays, hints used or not).
2. For every item, every allclose check failing with a value that matches no mistake (so every
   stored variant is compared: the worst case), graded with and without hints.
"""
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from autograder.judge.checks import run_check
from autograder.judge.compare import Mismatch
from autograder.contract.fixtures import load_fixture_set
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
    """(case, check, results) with a wrong value of the right shape for every allclose check."""
    work = []
    for case in cases:
        for check in case.checks:
            if check["kind"] == "allclose":
                expected = case.array(check["expected"])
                results = [None] * len(case.program["steps"])
                results[check["step"]] = (expected + 1.0 + np.abs(expected)).tolist()
                work.append((case, check, results))
    return work


def grade(work, hints):
    for case, check, results in work:
        try:
            run_check(case, check, results, hints)
        except Mismatch:
            pass


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


if __name__ == "__main__":
    main()
