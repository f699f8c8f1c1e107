"""pytest wiring for the graded tests: ``pytest autograder/ [--submission DIR] [-k ...] [-x] [--lf]``."""
import pytest

from autograder.plugin import PLUGIN_NAME, GradingPlugin, add_options


def pytest_addoption(parser):
    add_options(parser)


def pytest_configure(config):
    config.addinivalue_line("markers", "grades(item): the rubric item whose fixture cases this test grades")
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(GradingPlugin.from_options(config), PLUGIN_NAME)


@pytest.fixture
def graded(request):
    """``graded(case)``: grade one fixture case of the submission; fails the test with the diagnostics."""
    return request.config.pluginmanager.get_plugin(PLUGIN_NAME).grade
