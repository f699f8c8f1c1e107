#!/usr/bin/env python3
"""Grade a mytorch submission against the fixtures and print a scored summary.

    python runner.py                              # grade student_template/
    python runner.py --submission DIR             # DIR holds mytorch/
    python runner.py --list                       # the rubric
    python runner.py batch SUBMISSIONS --out DIR  # staff: grade a folder of submissions

The grader itself is autograder/cli.py.  This file only checks, in syntax any Python parses,
that the interpreter and the grader's dependencies are there, and says in one line what is
missing (exit code 2) instead of a traceback.
"""
import os
import sys

from autograder.errors import HARNESS_ERROR as EXIT_HARNESS_ERROR  # plain syntax (this folder is on sys.path)

MINIMUM = (3, 10)
REQUIRED = (("numpy", "NumPy"), ("jsonschema", "jsonschema"))  # what grading imports (requirements.txt)


def missing_requirement():
    """One line naming what is missing and the command that installs it, or None."""
    if sys.version_info[:2] < MINIMUM:
        return "error: the grader needs Python %d.%d or newer; this is %s" % (
            MINIMUM + (sys.version.split()[0],))
    import importlib.util
    missing = [label for module, label in REQUIRED if importlib.util.find_spec(module) is None]
    if not missing:
        return None
    requirements = os.path.join(os.path.dirname(os.path.abspath(__file__)), "requirements.txt")
    return "error: %s not installed for %s; install the grader's dependencies with: %s -m pip install -r %s" % (
        " and ".join(missing) + (" is" if len(missing) == 1 else " are"), sys.executable, sys.executable,
        requirements)


if __name__ == "__main__":
    problem = missing_requirement()
    if problem:
        sys.stderr.write(problem + "\n")
        sys.exit(EXIT_HARNESS_ERROR)
    from autograder.cli import main
    sys.exit(main())
