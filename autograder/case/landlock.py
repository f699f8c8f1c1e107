"""Linux Landlock (kernel >= 5.13): an unprivileged, irrevocable file-system sandbox.

Used by the fork server (``child.py``, which loads this file by path): once on itself, to
hide installed packages from every case it forks (``hide_from_reading``), and in each
forked case before any student code runs (``restrict_filesystem``).  Standard library
only, and no import of the autograder package: it must load in a ``python -I -S`` process.
"""
from __future__ import annotations

import os

LANDLOCK_CREATE_RULESET, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT_SELF = 444, 445, 446  # same on every arch
LL_EXECUTE, LL_WRITE_FILE, LL_READ_FILE, LL_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
LL_REMOVE_DIR, LL_REMOVE_FILE, LL_MAKE_DIR, LL_MAKE_REG, LL_MAKE_SYM = 1 << 4, 1 << 5, 1 << 7, 1 << 8, 1 << 12
LL_REFER, LL_TRUNCATE = 1 << 13, 1 << 14
LL_FILE_RIGHTS: int = LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | LL_TRUNCATE  # rights a non-directory rule may carry


def everything_but(hidden: list[str]) -> list[str]:
    """Paths whose hierarchies together hold every file but those under ``hidden`` (absolute, resolved).

    Landlock rules allow whole hierarchies, never deny: to hide one folder, allow each
    sibling of it and of every folder above it.  Raises OSError if a folder on the way
    cannot be listed.
    """
    hidden = {os.path.realpath(path) for path in hidden}
    ancestors = {os.path.dirname(path) for path in hidden}
    for path in list(ancestors):
        while path != os.path.dirname(path):
            path = os.path.dirname(path)
            ancestors.add(path)
    allowed, pending = [], [os.sep]
    while pending:
        folder = pending.pop()
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            if path in hidden or os.path.islink(path):
                continue  # a link needs no rule (access is checked on what it resolves to) and must get
                #           none: its target's rule would cover the hidden folder if it lay below (/lib -> usr/lib)
            (pending if path in ancestors else allowed).append(path)
    return allowed


def restrict_filesystem(read_roots: list[str], write_root: str) -> int:
    """Let the kernel confine file access (Linux Landlock); return the ABI version used, 0 if none.

    Read-only: ``read_roots`` (standard library, submission); read-write, but
    no links, folders, device nodes, fifos, sockets or executables:
    ``write_root``; /dev/null
    and /dev/urandom.  Every other open, listing, creation or deletion fails
    with EACCES, for root too and for C code the audit hook never sees
    (os.mknod, os.mkfifo, sqlite3, path races between threads...).  From ABI 4
    TCP bind/connect are refused, from ABI 6 signals to processes outside the
    sandbox.  Files already open (stdout, the result pipe) stay usable.
    Without Landlock (old kernel, seccomp-filtered container) the audit hook
    and the rlimits are the only barriers.
    """
    rules = [(root, LL_READ_FILE | LL_READ_DIR) for root in read_roots]
    rules.append((write_root, LL_READ_FILE | LL_READ_DIR | LL_WRITE_FILE | LL_TRUNCATE
                  | LL_REMOVE_FILE | LL_MAKE_REG))  # no links, no folders: see guard.install_guard
    rules += [("/dev/null", LL_READ_FILE | LL_WRITE_FILE | LL_TRUNCATE), ("/dev/urandom", LL_READ_FILE),
              ("/dev/random", LL_READ_FILE)]
    return landlock(rules)


def hide_from_reading(hidden: list[str]) -> int:
    """A Landlock layer that only makes ``hidden`` unreadable, for this process and all it forks.

    The fork server applies it once to itself (it never needs those folders): every
    case then has it under its own ruleset (a path is allowed only if every layer allows
    it), without paying for the hundreds of rules it takes.  Returns the ABI, 0 if none.
    """
    if not hidden:
        return 0
    try:
        allowed = everything_but(hidden)
    except OSError:
        return 0  # a folder on the way cannot be listed: the audit hook alone hides them
    return landlock([(path, LL_READ_FILE | LL_READ_DIR) for path in allowed], reads_only=True)


def landlock(rules: list[tuple[str, int]], reads_only: bool = False) -> int:
    """Restrict this process (and what it forks) to ``rules`` [(path, rights)]; the ABI, 0 if not applied.

    ``reads_only``: the layer handles reading files and listing folders only (nothing
    else is restricted by it); otherwise every right the kernel knows is handled.
    """
    try:
        import ctypes
    except ImportError:
        return 0
    ruleset = -1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
        syscall.restype = ctypes.c_long
        abi = syscall(LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
        if abi < 1:
            return 0
        handled_fs = (1 << 13) - 1 | (LL_REFER if abi >= 2 else 0) | (LL_TRUNCATE if abi >= 3 else 0) \
            | ((1 << 15) if abi >= 5 else 0)  # 1 << 15: ioctl on devices, never granted
        handled_net = 0b11 if abi >= 4 else 0  # bind and connect TCP, no rule grants them
        scoped = 0b11 if abi >= 6 else 0  # abstract unix sockets and signals outside the sandbox
        if reads_only:
            handled_fs, handled_net, scoped = LL_READ_FILE | LL_READ_DIR, 0, 0

        class RulesetAttr(ctypes.Structure):
            _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

        class PathBeneath(ctypes.Structure):
            _pack_ = 1
            _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]

        attr = RulesetAttr(handled_fs, handled_net, scoped)
        size = 8 if abi < 4 else 16 if abi < 6 else 24  # the struct grew with the ABI
        ruleset = syscall(LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
        if ruleset < 0:
            return 0
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # e.g. no /dev/random: nothing to allow
            try:
                if not os.path.isdir(path):
                    access &= LL_FILE_RIGHTS
                rule = PathBeneath(access & handled_fs, fd)
                if syscall(LANDLOCK_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0) != 0:
                    return 0  # a missing rule could break imports: rather no Landlock at all
            finally:
                os.close(fd)
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS, required without CAP_SYS_ADMIN
            return 0
        if syscall(LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
            return 0
        return abi
    except (OSError, AttributeError, ValueError):
        return 0
    finally:
        if ruleset >= 0:
            os.close(ruleset)
