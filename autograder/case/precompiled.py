"""Compiling a submission once per grading instead of once per case.

A case imports the student's modules from source (the submission's ``__pycache__`` is never
read: hand-made bytecode can corrupt memory), and compiling them was a third of a case's
cost.  So one sandboxed step, run by the fork server like a case and with every layer of
one (``child.py``: ``request["compile"]``), compiles the package once (``compile_tree``);
the grader passes what it returns to every case, which imports through ``install``.

Threat model: no student code runs in the compiling step (``compile`` runs none), but
its input is the student's files, so it runs sandboxed like a case: a source that makes
the compiler crash, hang or eat memory costs that step only, and then every case simply
compiles from source, as before.  What it returns is plain data to the grader (only
validated and passed on, never unmarshalled there); it is unmarshalled only in a case,
behind the same layers as the student's code.  A case uses a compiled module only if
the file it would compile holds exactly the bytes that were compiled (read again, as an
import reads it), so an edit made during grading is compiled afresh.  A file whose
compilation fails or warns is not in the cache at all, so its error or warning comes
from the case's own compilation, exactly as before.

Standard library only, and no import of the autograder package: the fork server loads it
by path in a ``python -I -S`` process.
"""
from __future__ import annotations

import _imp
import marshal
import os
import stat
import sys
import warnings
from binascii import b2a_base64
from importlib._bootstrap_external import _get_supported_file_loaders  # the loaders FileFinder gets by default
from importlib.machinery import FileFinder, SourceFileLoader

PACKAGE = "mytorch"
MAX_FILES: int = 256  # .py files compiled; more are compiled by each case that imports them
MAX_SOURCE_BYTES: int = 1 << 20  # source bytes compiled in all
MAX_DEPTH: int = 8  # folders below the package
# What compile_tree returns at most, as JSON (the grader reads that much more than a result line).
MAX_RESULT_BYTES: int = 16 << 20


def python_files(root: str) -> list[str]:
    """The ``.py`` files (relative paths, ``/``-separated) of the package folder below ``root``
    and directly in ``root``, in a stable order, within MAX_FILES and MAX_DEPTH.

    Folders are walked without following links and without recursion; hidden folders and
    ``__pycache__`` are skipped.  A file is only named here; compile_tree checks what it is.
    """
    found = []
    try:
        top = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError:
        return found
    found += [entry.name for entry in top if entry.name.endswith(".py") and entry.name.isprintable()]
    pending = [(PACKAGE, 0)]
    while pending and len(found) < MAX_FILES:
        folder, depth = pending.pop(0)
        try:
            entries = sorted(os.scandir(os.path.join(root, folder)), key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            relative = folder + "/" + entry.name
            if not entry.name.isprintable():
                continue
            if entry.name.endswith(".py"):
                found.append(relative)
            elif (depth + 1 < MAX_DEPTH and not entry.name.startswith(".") and entry.name != "__pycache__"
                  and entry.is_dir(follow_symlinks=False)):
                pending.append((relative, depth + 1))
    return found[:MAX_FILES]


def read_source(path: str, limit: int) -> bytes | None:
    """The bytes of the regular file at ``path`` if it has at most ``limit``, else None (never blocks)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
                     | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode) or status.st_size > limit:
            return None
        data = os.read(fd, limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) <= limit else None


def compile_tree(root: str) -> list[list[str]]:
    """``[relative path, source, code]`` (both base64) for each file of ``python_files(root)`` that
    compiles without an error or a warning, exactly as the import system would compile it."""
    compiled, left, size = [], MAX_SOURCE_BYTES, 0
    for relative in python_files(root):
        path = root + "/" + relative
        source = read_source(path, left)
        if source is None:
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                code = compile(source, path, "exec", dont_inherit=True, optimize=-1)  # as SourceLoader does
            except BaseException:  # SyntaxError, ValueError (NUL bytes), MemoryError, RecursionError...
                continue
        if caught:
            continue
        entry = [relative, b2a_base64(source, newline=False).decode("ascii"),
                 b2a_base64(marshal.dumps(code), newline=False).decode("ascii")]
        size += sum(len(text) + 8 for text in entry)  # as JSON: quotes, commas, brackets
        if size > MAX_RESULT_BYTES:
            break
        left -= len(source)
        compiled.append(entry)
    return compiled


def install(root: str, modules: list[tuple[str, bytes, bytes]]) -> None:
    """Import the files ``modules`` names (``(relative path, source, marshalled code)``, from
    compile_tree) below ``root`` from their compiled code, while they hold that source.

    Only folders inside ``root`` get a finder whose source loader knows the cache; any other
    file, and every file there that the cache does not hold, gets the standard
    SourceFileLoader itself (so even its tracebacks are unchanged).
    """
    if not modules:
        return
    # the paths the import system builds (os.sep: backslashes on Windows)
    cache = {os.path.join(root, *relative.split("/")): (source, code) for relative, source, code in modules}

    class PrecompiledLoader(SourceFileLoader):
        """A SourceFileLoader whose code is the compiled step's when the file reads as it did then."""

        def get_code(self, fullname):
            path = self.get_filename(fullname)
            source, code = cache[path]
            try:
                current = self.get_data(path)
            except OSError:
                current = None
            if current != source:
                return super().get_code(fullname)  # changed since: compiled here, as without a cache
            code = marshal.loads(code)
            _imp._fix_co_filename(code, path)
            return code

    def source_loader(fullname, path):
        return PrecompiledLoader(fullname, path) if path in cache else SourceFileLoader(fullname, path)

    details = [(source_loader if loader is SourceFileLoader else loader, suffixes)
               for loader, suffixes in _get_supported_file_loaders()]
    inside = root.rstrip(os.sep) + os.sep

    def path_hook(path):
        if type(path) is str and (path == root or path.startswith(inside)) and os.path.isdir(path):
            return FileFinder(path, *details)
        raise ImportError("not inside the submission")

    sys.path_hooks.insert(0, path_hook)
