"""Which backend runs the cases: ``linux`` (fork servers and the kernel's layers) or ``portable``.

``auto`` (the default) takes ``linux`` wherever it can run: Linux, with ``fork``, the POSIX
modules it needs and at least one of its kernel layers (the seccomp filter or Landlock);
else ``portable`` (Windows, macOS, WSL1, containers without either layer).  Both give
each case a fresh process, the same child, the same checks and the same report; what the
portable one does not defend is said in every report's header and in the README's
security model.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import sys

from autograder.errors import GraderError

CHOICES = ("auto", "linux", "portable")
LINUX_MODULES = ("fcntl", "resource", "termios", "pwd", "grp")  # what the fork server and its cases import
# One line for the report's header: what the portable backend does not defend (README, Security model).
PORTABLE_UNDEFENDED = ("no kernel layers (Landlock, seccomp): the audit hook alone keeps a case from your files, "
                       "the network and other processes, and native code (ctypes) in a submission gets past it")


class BackendError(GraderError, ValueError):
    """The requested backend cannot run here (exit code 2, one line)."""


@functools.lru_cache(maxsize=None)
def linux_missing() -> str:
    """Why the Linux backend cannot run on this system; "" when it can."""
    if not sys.platform.startswith("linux"):
        return f"this is {sys.platform}, not Linux"
    if not hasattr(os, "fork"):
        return "this Python has no fork"
    missing = [name for name in LINUX_MODULES if not available(name)]
    if missing:
        return f"this Python has no {', '.join(missing)}"
    if not (has_seccomp() or has_landlock()):
        return "this kernel has neither the seccomp filter nor Landlock"
    return ""


def available(module: str) -> bool:
    """Whether ``module`` can be imported here (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a finder that refuses it, or a module set to None in sys.modules
        return False


def has_seccomp() -> bool:
    """Whether the kernel filters system calls (a ``Seccomp:`` line in /proc/self/status)."""
    try:
        with open("/proc/self/status", "rb") as status:
            return any(line.startswith(b"Seccomp:") for line in status)
    except OSError:
        return False


def has_landlock() -> bool:
    """Whether Landlock is among the kernel's security modules (where /sys/kernel/security says)."""
    try:
        with open("/sys/kernel/security/lsm", "rb") as lsm:
            return b"landlock" in lsm.read().split(b",")
    except OSError:
        return False


def resolve(choice: str = "auto") -> str:
    """The backend that ``choice`` (one of CHOICES) names here: "linux" or "portable".

    BackendError when ``linux`` is asked for where it cannot run.
    """
    if choice not in CHOICES:
        raise BackendError(f"unknown sandbox backend {choice!r} (one of: {', '.join(CHOICES)})")
    if choice == "portable":
        return "portable"
    missing = linux_missing()
    if choice == "linux" and missing:
        raise BackendError(f"the linux sandbox backend cannot run here: {missing} (use --sandbox portable or auto)")
    return "portable" if missing else "linux"


def describe_choice() -> str:
    """For --help: what ``auto`` picks on this machine, and why."""
    missing = linux_missing()
    return f"auto picks portable here ({missing})" if missing else "auto picks linux here"


def untrusted_refusal(backend: str, allow_unsandboxed: bool) -> str:
    """Why untrusted submissions (a batch, a platform's run) must not be graded by ``backend``; "" if they may."""
    if backend != "portable" or allow_unsandboxed:
        return ""
    why = linux_missing()
    return (f"refusing to grade untrusted submissions with the portable sandbox backend"
            f"{f' ({why})' if why else ''}: {PORTABLE_UNDEFENDED}; grade on Linux with the kernel layers, "
            f"or pass --allow-unsandboxed to grade anyway")
