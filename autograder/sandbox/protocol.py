"""What both backends share about talking to a case process (``autograder/case/child.py``).

A request is written as a 4-byte big-endian length, an 8-byte result budget, the case's
wall-clock limit in milliseconds (4 bytes: what the case process or its fork server
enforces by itself, a little after the grader would have, in case the grader cannot), its
CPU limit in milliseconds (4 bytes: the fork server ends the case once it has used that much
CPU time, which it reads from outside the case) and the ``marshal`` of the request dict (the grader writes it, so the child trusts it); the case
answers with JSON lines on a pipe of its own (see child.py, wire.py, child_messages.py).
"""
from __future__ import annotations

import marshal
import math
import os
from pathlib import Path
from typing import Any

CHILD_SCRIPT = Path(__file__).resolve().parent.parent / "case" / "child.py"
SERVER_GRACE = 5.0  # seconds a case process may take to answer outside the case's own time
START_SECONDS = 60.0  # how long a case process or a twin server may take to say it is up (a loaded machine)


class ServerBroken(Exception):
    """A case process (or its fork server) stopped answering: the sandbox's failure, not the student's."""


# How talking to a case process can fail (the process is then closed; the case is the sandbox's failure).
SERVER_FAILURES = (OSError, ValueError, KeyError, ServerBroken)


def child_env() -> dict[str, str]:
    """The whole environment of a case process: nothing of the grader's (``-I`` ignores PYTHON* anyway)
    but who the case runs as (``identity_env``).

    Windows cannot start an interpreter without SYSTEMROOT (its random numbers and DLLs).
    """
    env = {"PATH": os.defpath, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", **identity_env()}
    if os.name == "nt" and "SYSTEMROOT" in os.environ:
        env["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
    return env


def identity_env() -> dict[str, str]:
    """USER, LOGNAME and HOME of the user the cases run as (the unprivileged case user of a root
    grader, else the grader's own), from the password database; USERNAME on Windows.

    ``getpass.getuser()`` reads them before it asks the password database, so it answers even
    where the database is out of a case's reach (an LDAP or SSSD user: its cache and socket are
    outside the sandbox); a uid with no entry gets none of them.
    """
    if os.name == "nt":
        return {"USERNAME": os.environ["USERNAME"]} if "USERNAME" in os.environ else {}
    from autograder.sandbox.run_as import SandboxError, case_user
    try:
        import pwd
        user = case_user()
        entry = pwd.getpwuid(user["uid"] if user is not None else os.geteuid())
    except (ImportError, KeyError, SandboxError):
        return {}
    return {"USER": entry.pw_name, "LOGNAME": entry.pw_name, "HOME": entry.pw_dir}


MAX_MILLISECONDS = 2 ** 32 - 1


def milliseconds(seconds: float) -> bytes:
    return min(max(0, math.ceil(seconds * 1000)), MAX_MILLISECONDS).to_bytes(4, "big")


def request_frame(request: dict[str, Any], budget: int, wall_seconds: float, cpu_seconds: float) -> bytes:
    """A request as child.py reads it (read_request): ``wall_seconds``, the case's wall-clock limit
    (its backstop, Limits.wall), and ``cpu_seconds``, its CPU limit (Limits.timeout)."""
    blob = marshal.dumps(request)
    return (len(blob).to_bytes(4, "big") + budget.to_bytes(8, "big") + milliseconds(wall_seconds)
            + milliseconds(cpu_seconds) + blob)
