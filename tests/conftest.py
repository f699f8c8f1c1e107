"""The tests' shared fixtures (their helpers are in tests/helpers.py, whose asserts pytest rewrites too)."""
import pytest

pytest.register_assert_rewrite("helpers")

from autograder.contract.fixtures import DEFAULT_FIXTURES, load_fixture_set  # noqa: E402 (after the rewrite hook)
from helpers import run_runner  # noqa: E402


@pytest.fixture(scope="session")
def runner_run():
    """The :func:`helpers.run_runner` helper, for tests and module-scoped fixtures."""
    return run_runner


@pytest.fixture(scope="module")
def public_set():
    """The public fixture set, loaded (the platform documents' tests build synthetic reports on it)."""
    return load_fixture_set(DEFAULT_FIXTURES)
