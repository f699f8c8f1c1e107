"""What the fork server loads once so that no forked case pays for it again.

The fork server (``child.py``) loads this file by path, before any restriction, and
calls ``preload_extensions`` and ``preload_modules`` once; ``freeze`` before every fork.
Standard library only, and no import of the autograder package: it must load in a
``python -I -S`` process.

Threat model: nothing here runs student code.  What is imported here is what any case could
import itself (the standard library's allowed modules), never a module the import deny
lists refuse (``guard.DENIED_IMPORTS``, and ``guard.UNCONFINED_IMPORTS``, refused in cases
without Landlock): a case finds a preloaded module in ``sys.modules`` without the audited
import, so a candidate that brings a denied module along is not kept.  Compiled modules are
only mapped (``preload_extensions``), never imported: a case still imports them, audited.
"""
from __future__ import annotations

import gc
import os
import sys

TYPE_CHECKING = False  # typing is not imported at run time: a spawned case process would pay ~13 ms for it
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

# Pure-Python and built-in standard modules that mytorch packages commonly import (directly,
# or through ``typing`` and ``dataclasses``).  Each costs a case a few milliseconds to import
# through the audit hook; loaded here once, a forked case finds them in ``sys.modules``.
# ``random`` reseeds itself in every forked child (``os.register_at_fork``), so cases do not
# share a random sequence.
PRELOADED_MODULES: tuple[str, ...] = (
    "math", "operator", "itertools", "functools", "collections", "collections.abc", "copy", "bisect",
    "heapq", "random", "warnings", "numbers", "enum", "typing", "dataclasses",
)


def preload_extensions(extensions: Mapping[str, str], denied: Collection[str]) -> None:
    """Load (without importing) the standard library's allowed compiled modules into the fork server.

    Several need shared libraries from outside the standard library's folder (binascii and
    zlib need libz, _hashlib libcrypto, _lzma liblzma...), which Landlock keeps a case from
    reading.  Loaded here, before any restriction, they are already in every forked case's
    memory, and the case's own import finds them there without opening a file (so ``ssl``,
    ``sqlite3``, ``readline``, ``curses`` and ``dbm.gnu`` import in a case).  Modules the
    import deny list (``denied``) refuses are not loaded (``_tkinter``: tens of libraries).
    """
    try:
        import ctypes
    except ImportError:
        return
    for module, path in sorted(extensions.items()):
        if module in denied:
            continue
        try:
            ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_LOCAL)  # later loads of this file find it by inode
        except OSError:
            pass  # a missing system library: importing this module fails in cases too, as it would here
    if "_hashlib" in extensions and "_hashlib" not in denied:
        try:
            # OpenSSL reads its configuration once, at its first use: here, from this server's
            # environment.  A case that pointed OPENSSL_CONF at a file of its own before importing
            # hashlib or ssl could otherwise have OpenSSL load a shared library of its choice
            # (a provider's ``module``) with no audit event.
            import _hashlib  # noqa: F401
        except ImportError:
            pass


def is_denied(name: str, denied: Collection[str]) -> bool:
    return name in denied or name.partition(".")[0] in denied


def preload_modules(denied: Collection[str], names: tuple[str, ...] = PRELOADED_MODULES) -> list[str]:
    """Import ``names`` into the fork server; return the ones kept.

    A module whose import fails, or brings along any module named in ``denied`` (the
    import deny list; ctypes, loaded earlier by the server's own set-up, is already there
    and forgotten by each case before student code runs), is removed again with
    everything its import added.
    """
    kept = []
    for name in names:
        before = set(sys.modules)
        try:
            __import__(name)
            added = set(sys.modules) - before
            ok = not any(is_denied(module, denied) for module in added)
        except Exception:
            added, ok = set(sys.modules) - before, False
        if ok:
            kept.append(name)
            continue
        for module in added:
            sys.modules.pop(module, None)
    return kept


def preload_identity() -> None:
    """Look this server's own user and group up once, before any restriction.

    glibc reads ``/etc/nsswitch.conf`` and loads the NSS modules it names (libnss_files before
    glibc 2.34) at its first lookup: done here, every forked case has them and reads only the
    identity files (``guard.IDENTITY_FILES``, which Landlock and the audit hook let it read), so
    ``pwd.getpwuid(os.getuid())`` and ``grp.getgrgid(os.getgid())`` work in a case.  Elsewhere
    (Windows) nothing to do.
    """
    try:
        import grp
        import pwd
        pwd.getpwuid(os.getuid())
        grp.getgrgid(os.getgid())
    except (ImportError, AttributeError, KeyError, OSError):
        pass


def freeze(collect: bool = False) -> None:
    """Move every object the server has made so far out of the garbage collector's sight.

    A forked case's collections would otherwise walk (and so copy, page by page) the
    whole of the server's memory: a few milliseconds per case.  Frozen objects are still
    freed when their last reference goes; only cycles among them stay, which the server
    does not make between cases.  ``collect``: collect first (once, after the set-up).
    """
    if collect:
        gc.collect()
    gc.freeze()
