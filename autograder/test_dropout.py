"""Graded tests: Dropout2d, graded by properties independent of the random source (cases from the fixture set; see handout/)."""
import pytest


@pytest.mark.grades("Dropout2d")
def test_dropout2d(case, graded):
    graded(case)
