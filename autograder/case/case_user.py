"""Running a grading case as an unprivileged user, and what that user can reach.

``permits`` and ``reachable`` are also used by the grader (``autograder.sandbox``, which
imports this module normally) to decide whether a submission needs a readable copy; the
fork server (``child.py``) loads this file by path and, as root, opens descriptors to the
standard library before any case (``warm_stdlib_aliases``), then each forked case switches
user (``switch_user``) and imports through those descriptors (``use_aliases``).  Standard
library only, and no import of the autograder package: it must load in a ``python -I -S``
process.
"""
from __future__ import annotations

import os
import sys
TYPE_CHECKING = False  # typing is not imported at run time: a spawned case process would pay ~13 ms for it
if TYPE_CHECKING:
    from collections.abc import Callable


def permits(status: os.stat_result, uid: int, gid: int, wanted: int) -> bool:
    """Whether the owner/group/other bits of ``status`` give ``uid``/``gid`` every bit of ``wanted`` (rwx = 4/2/1)."""
    shift = 6 if status.st_uid == uid else 3 if status.st_gid == gid else 0
    return (status.st_mode >> shift) & wanted == wanted


def reachable(path: str, uid: int, gid: int) -> bool:
    """Whether ``uid``/``gid`` (no supplementary groups) can search every folder above ``path`` and list it."""
    parts = path.rstrip(os.sep).split(os.sep)
    above = [os.sep.join(parts[:end]) or os.sep for end in range(1, len(parts))]
    try:
        return all(permits(os.stat(folder), uid, gid, 1) for folder in above) and permits(os.stat(path), uid, gid, 5)
    except OSError:
        return False


STDLIB_ALIASES: dict[str, str] = {}  # standard-library folder -> /proc/self/fd/N, opened by a root fork server


def warm_stdlib_aliases() -> None:
    """In a root fork server: a descriptor per standard-library folder, with a warm import cache.

    A case running as another user may not be able to search the folders above the standard
    library (root's 0700 home): it imports through /proc/self/fd/N instead (switch_user).
    Opening those here, once, and listing them for the import system's cache now, saves
    every forked case that work.  Only done as root, where the case's user cannot write
    to these folders (a descriptor to a folder is a dir_fd the audit hook does not see).
    """
    from importlib.machinery import PathFinder
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            alias = f"/proc/self/fd/{os.open(entry, os.O_PATH | os.O_DIRECTORY)}"
            STDLIB_ALIASES[os.path.realpath(entry)] = alias
            PathFinder.find_spec("mytorch_warm_up_only", [alias])  # fills sys.path_importer_cache


def switch_user(user: dict[str, int] | None, roots: list[str]) -> dict[str, str]:
    """Run the rest of this case as ``user`` ({"uid", "gid"}; None: stay who we are).

    Threat: as root, RLIMIT_NPROC does not apply and every file is readable and writable.
    As an unprivileged user with no supplementary groups, the process limit and file
    permissions apply, and nothing can give root back (setuid as root sets the real, effective
    and saved ids).  A root of ``roots`` below a folder that user cannot search (the standard
    library in root's 0700 home) stays reachable through a descriptor opened here, before the
    switch: /proc/self/fd/N does not search the folders above it.  Returns {root: that path}.
    """
    if user is None:
        return {}
    uid, gid = user["uid"], user["gid"]
    aliases = {root: STDLIB_ALIASES.get(root) or f"/proc/self/fd/{os.open(root, os.O_PATH | os.O_DIRECTORY)}"
               for root in roots if not reachable(root, uid, gid)}
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
        raise RuntimeError(f"could not switch to uid {uid}")
    return aliases


def aliased_path(path_entries: list[str]) -> list[str]:
    """``path_entries`` (this process's ``sys.path``) as use_aliases rewrites them when every
    standard-library folder is aliased (STDLIB_ALIASES: a root server's case whose user can
    reach none of them)."""
    entries = {p: os.path.realpath(p) for p in path_entries if p and os.path.exists(p)}
    aliased = aliaser(STDLIB_ALIASES, entries)
    return [aliased(p) for p in path_entries]


def aliaser(aliases: dict[str, str], entries: dict[str, str]) -> Callable[[str], str]:
    """The path rewrite of use_aliases: a path below a folder of ``aliases``, or below a path
    entry (of ``entries``, {entry: its real path}) leading to one, through that folder's alias."""
    prefixes = dict(aliases)
    prefixes.update((entry, aliases[real]) for entry, real in entries.items() if real in aliases)

    def aliased(path):
        for prefix, alias in prefixes.items():
            if type(path) is str and (path == prefix or path.startswith(prefix + os.sep)):
                return alias + path[len(prefix):]
        return path
    return aliased


def use_aliases(aliases: dict[str, str], entries: dict[str, str]) -> None:
    """Import through ``aliases`` ({folder: /proc/self/fd/N}) from now on.

    ``sys.path`` (whose ``entries`` map to their real paths) and the search path of every
    package already imported by the server (encodings, importlib, collections...) are pointed
    at the aliases, so their submodules still import once the folders above are closed.
    """
    aliased = aliaser(aliases, entries)
    sys.path[:] = [aliased(p) for p in sys.path]
    for module in list(sys.modules.values()):
        search = getattr(module, "__path__", None)
        if type(search) is list:
            search[:] = [aliased(p) for p in search]
