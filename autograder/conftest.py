"""pytest as a view of the grading core: ``python -m pytest autograder/ [--submission DIR] [-k ...] [-x] [--lf]``."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from autograder.contract.fixtures import Case
from autograder.grading.plugin import PLUGIN_NAME, GradingPlugin, add_options


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(GradingPlugin.from_options(config), PLUGIN_NAME)


@pytest.fixture
def graded(request: pytest.FixtureRequest) -> Callable[[Case], None]:
    """``graded(case)``: grade one fixture case of the submission; fails the test with the diagnostics."""
    return request.config.pluginmanager.get_plugin(PLUGIN_NAME).grade
