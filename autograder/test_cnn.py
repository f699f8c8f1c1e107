"""Graded tests: the 1D CNN model (forward, backward, step, zero_grads) (cases from the fixture set; see handout/)."""
import pytest


@pytest.mark.grades("CNN")
def test_cnn(case, graded):
    graded(case)
