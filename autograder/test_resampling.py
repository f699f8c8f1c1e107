"""Graded tests: up- and downsampling in 1D and 2D (cases from the fixture set; see handout/)."""
import pytest


@pytest.mark.grades("Downsampling1d")
def test_downsampling1d(case, graded):
    graded(case)


@pytest.mark.grades("Upsampling1d")
def test_upsampling1d(case, graded):
    graded(case)


@pytest.mark.grades("Downsampling2d")
def test_downsampling2d(case, graded):
    graded(case)


@pytest.mark.grades("Upsampling2d")
def test_upsampling2d(case, graded):
    graded(case)
