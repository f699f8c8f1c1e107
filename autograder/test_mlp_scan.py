"""Graded tests: CNNs acting as scanning MLPs (cases from the fixture set; see handout/)."""
import pytest


@pytest.mark.grades("SimpleScanningMLP")
def test_simple_scanning_mlp(case, graded):
    graded(case)


@pytest.mark.grades("DistributedScanningMLP")
def test_distributed_scanning_mlp(case, graded):
    graded(case)
