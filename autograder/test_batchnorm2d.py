"""Graded tests: BatchNorm2d (train, backward, running statistics, eval) (cases from the fixture set; see handout/)."""
import pytest


@pytest.mark.grades("BatchNorm2d")
def test_batch_norm2d(case, graded):
    graded(case)
