"""The mytorch autograder: grades a student's stdlib-only ``mytorch`` package against the fixtures.

The subpackages are layers; each imports only from the layers below it (tests/test_layers.py):

    util      -> contract -> case -> sandbox -> judge -> report -> grading -> archives, batch, platforms -> cli

``case`` is what runs inside the sandbox: standard library only, loaded by path by the fork server.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository (or the unpacked handout/autograder zip)
DEFAULT_FIXTURES = ROOT / "fixtures"  # the public fixture set
