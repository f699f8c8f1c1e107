"""Graded tests: 1D convolution, stride 1 and strided with padding (cases from the fixture set; see handout/)."""
import pytest


@pytest.mark.grades("Conv1d_stride1")
def test_conv1d_stride1(case, graded):
    graded(case)


@pytest.mark.grades("Conv1d")
def test_conv1d(case, graded):
    graded(case)
