"""Graded tests: max and mean pooling, stride 1 and strided (cases from the fixture set; see handout/)."""
import pytest


@pytest.mark.grades("MaxPool2d_stride1")
def test_max_pool2d_stride1(case, graded):
    graded(case)


@pytest.mark.grades("MaxPool2d")
def test_max_pool2d(case, graded):
    graded(case)


@pytest.mark.grades("MeanPool2d_stride1")
def test_mean_pool2d_stride1(case, graded):
    graded(case)


@pytest.mark.grades("MeanPool2d")
def test_mean_pool2d(case, graded):
    graded(case)
