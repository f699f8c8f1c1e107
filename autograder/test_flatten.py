"""Graded tests: Flatten (cases from the fixture set; see handout/)."""
import pytest


@pytest.mark.grades("Flatten")
def test_flatten(case, graded):
    graded(case)
