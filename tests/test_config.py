"""The one configuration (autograder/config.py), the one CLI's commands and aliases (autograder/cli.py), and the
one errors module (autograder/errors.py): each GraderError ends the command with its own exit code."""
import argparse
import subprocess
import sys
from dataclasses import fields, replace
from pathlib import Path

import pytest

import autograder
from autograder import cli, errors
from autograder.batch import main as batch_main
from autograder.config import OLD_SPELLINGS, Config, ConfigError
from autograder.platforms import autolab, canvas, gradescope, prairielearn

ROOT = Path(__file__).resolve().parents[1]

ODD = Config(fixtures=Path("/tmp/a dir/with=equals/-dash"), only=("Conv1d", "-x", "a,b", "=", "é \t"),
             timeout=1e-3 + 0.1, jobs=7, concurrent=3, hints=False, sandbox="portable", allow_unsandboxed=True,
             hidden_detail="kinds", show_hidden_details=True, submission_timeout=123.456789)


@pytest.mark.parametrize("config", [Config(), Config(jobs=1, timeout=2), ODD, replace(ODD, only=(), concurrent=None)],
                         ids=["defaults", "small", "odd", "odd-without-options"])
def test_to_argv_and_back_gives_an_equal_config(config):
    again = Config.from_argv(config.to_argv())
    assert again == config
    for spec in fields(Config):  # field by field too, so a failure names it
        assert getattr(again, spec.name) == getattr(config, spec.name), spec.name


def test_every_field_travels():
    """A field that to_argv did not write would come back as its default: change each from ODD's value."""
    written = {arg.split("=")[0].removeprefix("--").removeprefix("no-").replace("-", "_") for arg in ODD.to_argv()}
    assert written == {spec.name for spec in fields(Config)}


@pytest.mark.parametrize("change, message", [
    ({"jobs": 0}, "jobs must be at least 1"), ({"timeout": 0}, "timeout must be positive"),
    ({"timeout": float("nan")}, "timeout must be positive"), ({"timeout": float("inf")}, "timeout must be positive"),
    ({"concurrent": 0}, "concurrent must be at least 1"), ({"submission_timeout": -1.0}, "must be positive"),
    ({"sandbox": "docker"}, "sandbox must be one of"), ({"hidden_detail": "all"}, "hidden detail must be one of")])
def test_a_config_out_of_range_is_a_usage_error(change, message):
    with pytest.raises(ConfigError, match=message) as raised:
        Config(**change)
    assert raised.value.exit_code == errors.USAGE


def test_the_views_are_computed_from_the_config():
    config = Config(timeout=3, jobs=4)
    assert config.limits.timeout == 3 and config.limits.contention is not None
    assert Config(timeout=3, jobs=1, concurrent=4).limits == config.limits  # a batch worker among 4


def runner_args(*argv):
    return cli.parse_args(list(argv))


@pytest.mark.parametrize("new, old, value", [("--fixtures", "--fixture-set", "/tmp/f"),
                                             ("--timeout", "--case-timeout", "2.5"),
                                             ("--jobs", "--grading-jobs", "3")])
def test_an_old_spelling_gives_the_same_config_as_the_new(new, old, value):
    assert OLD_SPELLINGS[new[2:]] == old
    assert cli.config_of(runner_args(old, value)) == cli.config_of(runner_args(new, value))
    assert cli.config_of(runner_args(old, value)) != cli.config_of(runner_args())
    batch_new = batch_main.parse_args(["subs", "--out", "o", new, value]).config
    assert batch_main.parse_args(["subs", "--out", "o", old, value]).config == batch_new
    assert batch_new == replace(batch_main.parse_args(["subs", "--out", "o"]).config,
                                **{new[2:]: type(getattr(batch_new, new[2:]))(value)})


def test_the_old_spellings_are_hidden_from_help():
    text = cli.build_parser().format_help()
    assert "--fixtures" in text and "--timeout" in text and "--jobs" in text
    assert not any(old in text for old in OLD_SPELLINGS.values())


@pytest.mark.parametrize("argv, run", [
    ([], cli.grade_command), (["--list"], cli.grade_command), (["--only", "Flatten", "-v"], cli.grade_command),
    (["batch", "subs", "--out", "o"], None), (["batch", "merge", "o"], batch_main.merge_command),
    (["batch", "merge", "--out", "o"], None),  # a folder named merge, graded as always
    (["batch", "export", "o", "--canvas", "r.csv", "--assignment", "A"], canvas.export_command)])
def test_each_command_dispatches_to_its_function(argv, run):
    args = runner_args(*argv)
    if run is None:  # the batch's grading form (its run checks the options with its own parser first)
        assert args.batch_command == batch_main.GRADE and args.submissions == Path(argv[1])
        assert args.run.__qualname__ == "add_commands.<locals>.<lambda>"
    else:
        assert args.run is run


@pytest.mark.parametrize("module, argv, command", [
    (gradescope, ["run"], "run"), (gradescope, ["check"], "check"), (gradescope, ["--out", "z.zip"], None),
    (prairielearn, ["grade", "--root", "/g"], "grade"), (prairielearn, ["--out", "q"], None),
    (autolab, ["grade", "--handin", "h"], "grade"), (autolab, ["--out", "l"], None)])
def test_the_platform_commands_are_subparsers(monkeypatch, module, argv, command):
    seen = []
    monkeypatch.setattr(module, "exit_status", lambda run, args: seen.append(args) or 0)
    assert module.main(argv) == 0
    assert seen[0].command == command


@pytest.mark.parametrize("module", [gradescope, prairielearn, autolab])
def test_a_platform_build_still_requires_out(module, capsys):
    with pytest.raises(SystemExit) as stopped:
        module.main([])
    assert stopped.value.code == 2 and "required: --out" in capsys.readouterr().err


def grader_errors():
    """Every GraderError class of the package (imported by walking autograder/, so a new one is counted)."""
    import importlib
    import pkgutil
    for info in pkgutil.walk_packages(autograder.__path__, "autograder."):
        if not info.name.startswith(("autograder.case", "autograder.conftest", "autograder.__main__",
                                     "autograder.batch.__main__", "autograder.grading.test_graded")):
            importlib.import_module(info.name)
    found, pending = set(), [errors.GraderError]
    while pending:
        for sub in pending.pop().__subclasses__():
            found.add(sub)
            pending.append(sub)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def test_the_harness_errors_derive_from_grader_error():
    names = {cls.__name__ for cls in grader_errors()}
    assert {"UsageError", "StorageError", "ConfigError", "DocumentError", "FixtureError", "ArchiveError",
            "SubmissionError", "BackendError", "PlatformBuildError", "ExportError", "GradescopeBuildError",
            "BundleError"} <= names


@pytest.mark.parametrize("error_class", grader_errors(), ids=lambda cls: cls.__name__)
def test_every_grader_error_ends_the_command_with_its_exit_code(error_class, capsys):
    error = error_class.__new__(error_class)  # some take more arguments: the mapping needs none
    Exception.__init__(error, "broken \x1b[31mthing")

    def command():
        raise error
    assert errors.exit_status(command) == error_class.exit_code
    assert error_class.exit_code in (errors.USAGE, errors.HARNESS_ERROR)
    assert capsys.readouterr().err == "error: broken \\x1b[31mthing\n"  # one line, terminal-safe


def test_the_exit_codes_have_one_home():
    assert not (ROOT / "autograder" / "exit_codes.py").exists()
    source = "\n".join(p.read_text() for p in (ROOT / "autograder").rglob("*.py"))
    assert "return 2\n" not in source and "exit(2)" not in source


def test_runner_py_and_python_m_autograder_are_the_same_command(tmp_path):
    for command in ([sys.executable, str(ROOT / "runner.py")], [sys.executable, "-m", "autograder"]):
        done = subprocess.run([*command, "--jobs", "0", "--list"], capture_output=True, text=True, cwd=ROOT,
                              timeout=120)
        assert done.returncode == errors.USAGE and done.stderr == "error: jobs must be at least 1, not 0\n"
    done = subprocess.run([sys.executable, "-m", "autograder", "batch", "merge", str(tmp_path / "none")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == errors.USAGE and "not a batch output folder" in done.stderr


def test_the_batch_parser_takes_no_positional_beside_its_commands():
    parser = cli.batch_parser()
    positionals = [a for a in parser._actions if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]
    assert positionals == []


def test_the_pytest_view_takes_jobs_and_its_old_spelling():
    """``pytest autograder/ --jobs N`` as runner.py spells it; ``--grading-jobs`` still works (checked by Config)."""
    for option in ("--jobs", "--grading-jobs"):
        done = subprocess.run([sys.executable, "-m", "pytest", "autograder/", "-p", "no:cacheprovider", "--collect-only",
                               "-q", option, "0"], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert "cannot grade: jobs must be at least 1, not 0" in done.stdout + done.stderr, option


def test_python_m_autograder_batch_keeps_its_commands(tmp_path, capsys):
    assert batch_main.main(["merge", str(tmp_path / "none")]) == errors.USAGE
    assert "not a batch output folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # export is runner.py batch's (a platform's), not the batch package's
        batch_main.main(["export", str(tmp_path), "--canvas", "r.csv", "--assignment", "A"])
