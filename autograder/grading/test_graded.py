"""The graded cases as pytest tests: one test per fixture case of the fixture set, generated from its manifest.

    python -m pytest autograder/ [--submission DIR] [--fixture-set DIR] [-k conv1d] [-x] [--lf]

The plugin that ``autograder/conftest.py`` registers parametrises ``case`` over every case and runs
them in the sandbox (the same core as ``runner.py``); a failing test shows the
student message the runner prints.
"""


def test_case(case, graded):
    graded(case)
