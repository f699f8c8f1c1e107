"""Graded tests: transposed convolution (upsample + stride-1 conv) (cases from the fixture set; see handout/)."""
import pytest


@pytest.mark.grades("ConvTranspose1d")
def test_conv_transpose1d(case, graded):
    graded(case)


@pytest.mark.grades("ConvTranspose2d")
def test_conv_transpose2d(case, graded):
    graded(case)
