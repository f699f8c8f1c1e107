"""Graded tests: ConvBlock and ResBlock (cases from the fixture set; see handout/)."""
import pytest


@pytest.mark.grades("ResBlock")
def test_res_block(case, graded):
    graded(case)
