"""How to grade: one frozen :class:`Config`, resolved once from the command line and checked once.

``runner.py``, each ``runner.py batch`` worker, a Dask task, the platform drivers and the
pytest view all grade with a Config.  It travels to a batch worker or a Dask task as itself:
:meth:`Config.to_argv` writes every field as ``--name=value`` and :meth:`Config.from_argv`
reads exactly that back into an equal Config.  What the sandbox needs of it (its per-case
:class:`~autograder.sandbox.Limits`) and the backend it asks for are views of it, computed
where the grading runs (the CPUs there set the cases' wall-clock backstop).

What a command does with the grading (where it writes, which submissions) is the command's own
(autograder/cli.py, autograder/batch/main.py); the state of a running batch (its worker
processes, their lock) is :class:`autograder.batch.workers.Workers`, never configuration.
"""
from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from autograder import DEFAULT_FIXTURES
from autograder.errors import UsageError
from autograder.report.visibility import HIDDEN_DETAILS
from autograder.sandbox import Limits
from autograder.sandbox.backends import CHOICES as SANDBOX_CHOICES, resolve
from autograder.sandbox.capacity import available

__all__ = ["Config", "ConfigError", "OLD_SPELLINGS", "add_aliases", "default_jobs"]

# The options' spellings before one per concept (the pytest view's), accepted for one release, hidden from --help.
OLD_SPELLINGS = {"fixtures": "--fixture-set", "timeout": "--case-timeout", "jobs": "--grading-jobs"}


def add_aliases(parser: argparse.ArgumentParser) -> None:
    """The old spellings (OLD_SPELLINGS) of ``parser``'s ``--fixtures``, ``--timeout`` and ``--jobs``, hidden,
    storing into the same place (their default SUPPRESS leaves the new option's default alone)."""
    actions = {action.dest: action for action in parser._actions}  # argparse has no public listing
    for dest, old in OLD_SPELLINGS.items():
        if dest in actions:
            parser.add_argument(old, dest=dest, type=actions[dest].type, metavar=actions[dest].metavar,
                                default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def default_jobs() -> int:
    """Items graded at once by default: what the CPUs and memory really available allow (capacity.py)."""
    return available().jobs


class ConfigError(UsageError):
    """A configuration that cannot grade (a value out of range): exit 2, one line."""


@dataclass(frozen=True)
class Config:
    """How to grade.  ``jobs``: items graded at once by this grading; ``concurrent``: how many jobs run
    at once on this machine while it runs (a batch's workers each grade with one job while the batch
    runs ``--jobs`` of them; None: ``jobs``): with the CPUs really available it sets the cases' contention,
    and so their wall-clock backstop.  ``submission_timeout``: a batch's wall-clock budget for a whole
    submission; None: the default, which grows with the case count and the contention."""
    fixtures: Path = DEFAULT_FIXTURES
    only: tuple[str, ...] = ()  # the rubric items to grade (empty: all)
    timeout: float = Limits.timeout  # CPU seconds one case may use
    jobs: int = field(default_factory=default_jobs)
    concurrent: int | None = None
    hints: bool = True  # likely-cause hints: name a known mistake when a wrong quantity equals its value
    sandbox: str = "auto"  # the backend asked for: auto, linux or portable (autograder/sandbox/backends.py)
    allow_unsandboxed: bool = False  # untrusted code may be graded by the portable backend (batch, platforms)
    hidden_detail: str = HIDDEN_DETAILS[0]  # what a student sees of a hidden set's cases
    show_hidden_details: bool = False  # staff: the full report even with a hidden set
    submission_timeout: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "fixtures", Path(self.fixtures))
        object.__setattr__(self, "only", tuple(self.only))
        if not (isinstance(self.jobs, int) and self.jobs >= 1):
            raise ConfigError(f"jobs must be at least 1, not {self.jobs}")
        if self.concurrent is not None and not (isinstance(self.concurrent, int) and self.concurrent >= 1):
            raise ConfigError(f"concurrent must be at least 1, not {self.concurrent}")
        if not (self.timeout > 0 and math.isfinite(self.timeout)):
            raise ConfigError(f"the case timeout must be positive, not {self.timeout}")
        if self.submission_timeout is not None and not (self.submission_timeout > 0
                                                        and math.isfinite(self.submission_timeout)):
            raise ConfigError(f"the submission timeout must be positive, not {self.submission_timeout}")
        if self.sandbox not in SANDBOX_CHOICES:
            raise ConfigError(f"sandbox must be one of {', '.join(SANDBOX_CHOICES)}, not {self.sandbox!r}")
        if self.hidden_detail not in HIDDEN_DETAILS:
            raise ConfigError(f"hidden detail must be one of {', '.join(HIDDEN_DETAILS)}, not {self.hidden_detail!r}")

    @cached_property
    def backend(self) -> str:
        """The backend ``sandbox`` resolves to on this machine: linux or portable (BackendError if it cannot run)."""
        return resolve(self.sandbox)

    @property
    def limits(self) -> Limits:
        """The sandbox's per-case limits on this machine: the timeout, and the contention of ``concurrent``
        (or ``jobs``) gradings over the CPUs really available here."""
        return Limits(timeout=self.timeout, contention=available().contention(self.concurrent or self.jobs))

    def described_limits(self) -> dict[str, Any]:
        """The jobs and the case time limits, for the report (its header and ``limits``)."""
        import os
        capacity = available()
        cpu_measured = self.backend == "linux" or hasattr(os, "wait4")  # Windows: a case's wall-clock time only
        return {"jobs": self.concurrent or self.jobs, "cpus": capacity.cpus, "capacity": capacity.why,
                "cpu_seconds": self.timeout if cpu_measured else None,
                "wall_seconds": round(self.limits.wall, 3)}

    def to_argv(self) -> list[str]:
        """Every field as ``--name=value`` (``only``: one ``--only=NAME`` per item; ``--no-name`` for a false
        flag; a None field left out): what :meth:`from_argv` reads back into an equal Config."""
        argv = []
        for spec in fields(self):
            value, option = getattr(self, spec.name), "--" + spec.name.replace("_", "-")
            if isinstance(value, bool):
                argv.append(option if value else f"--no-{option[2:]}")
            elif isinstance(value, tuple):
                argv += [f"{option}={item}" for item in value]
            elif value is not None:
                argv.append(f"{option}={value!r}" if isinstance(value, float) else f"{option}={value}")
        return argv

    @classmethod
    def from_argv(cls, argv: Sequence[str]) -> Config:
        """The Config :meth:`to_argv` wrote (ConfigError for a value out of range; argparse exits 2 on a
        malformed one)."""
        return cls(**vars(wire_parser().parse_args(list(argv))))


def wire_parser() -> argparse.ArgumentParser:
    """The parser of :meth:`Config.to_argv`'s command line, one option per field (derived from the fields)."""
    parser = argparse.ArgumentParser(prog="autograder.config", allow_abbrev=False)
    kinds = {"Path": Path, "float": float, "int": int, "str": str, "float | None": float, "int | None": int}
    for spec in fields(Config):
        option, default = "--" + spec.name.replace("_", "-"), spec.default
        if default is MISSING:  # a default_factory: to_argv always writes the field
            default = spec.default_factory()  # type: ignore[misc]
        if spec.type == "bool":
            parser.add_argument(option, dest=spec.name, action=argparse.BooleanOptionalAction, default=default)
        elif spec.type == "tuple[str, ...]":
            parser.add_argument(option, dest=spec.name, action="append", default=[])
        else:
            parser.add_argument(option, dest=spec.name, type=kinds[str(spec.type)], default=default)
    return parser
