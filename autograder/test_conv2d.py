"""Graded tests: 2D convolution, stride 1 and strided with padding (cases from the fixture set; see handout/)."""
import pytest


@pytest.mark.grades("Conv2d_stride1")
def test_conv2d_stride1(case, graded):
    graded(case)


@pytest.mark.grades("Conv2d")
def test_conv2d(case, graded):
    graded(case)
