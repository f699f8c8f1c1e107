"""The grading case's audit hook (``install_guard``), its deny tables, and ``forget_ctypes``.

Loaded by path by the fork server (``child.py``), before any restriction, and installed
in each forked case after the kernel-enforced layers and before any student code runs.
Standard library only, and no import of the autograder package: it must load in a
``python -I -S`` process.
"""
from __future__ import annotations

import os
import sys

# Actions: each refused where CPython raises its audit event, whatever module the call came through.
# Importing a module is never an action by itself, except for the few DENIED_IMPORTS below.
DENIED_EVENTS: dict[str, str] = {
    "os.system": "running shell commands", "os.exec": "starting programs",
    "os.posix_spawn": "starting processes", "os.spawn": "starting processes",
    "os.fork": "forking processes", "os.forkpty": "forking processes",
    "subprocess.Popen": "starting processes", "pty.spawn": "starting processes",
    "os.kill": "sending signals", "os.killpg": "sending signals", "signal.pthread_kill": "sending signals",
    "resource.setrlimit": "changing resource limits", "resource.prlimit": "changing resource limits",
    # The hook resolves relative paths against the working folder: it must not move under it.
    "os.chdir": "changing the working folder",
    # Ways to reach (or rewrite while it runs) the guard itself.
    "sys.settrace": "tracing", "sys.setprofile": "profiling",
    "gc.get_objects": "inspecting the grader's objects", "gc.get_referrers": "inspecting the grader's objects",
    "gc.get_referents": "inspecting the grader's objects",
    # A sub-interpreter has none of this interpreter's audit hooks.
    "cpython.PyInterpreterState_New": "creating sub-interpreters",
    # Hand-made bytecode can corrupt the interpreter's memory (and so run native code); but
    # types.coroutine's flag change is allowed (install_guard: coroutine_flag).
    "code.__new__": "building code objects by hand",
    # Its arguments do not say whether the mapping is executable (mmap's prot): memory that native
    # code reached through memory corruption would run from.  No grading case needs one.
    "mmap.__new__": "memory mapping",
    # A shared library of the student's choice (the working folder is writable).
    "sqlite3.enable_load_extension": "loading SQLite extensions (native code)",
    "sqlite3.load_extension": "loading SQLite extensions (native code)",
    # Raised once a browser was found (BROWSER, DISPLAY or TERM: a case has none of them unless it
    # sets them), just before it is started.
    "webbrowser.open": "opening a web browser",
}
DENIED_EVENT_PREFIXES: dict[str, str] = {
    "socket.": "network access", "ctypes.": "ctypes", "winreg.": "registry access",
    "syslog.": "writing to the system log",
    # CreateFile, CreateJunction, CreateNamedPipe, CreatePipe, CreateProcess, OpenProcess and
    # TerminateProcess: what multiprocessing and subprocess call directly on Windows.
    "_winapi.": "Windows processes, pipes and files",
}
# Imports that are refused whatever the case does next: importing them is the action itself, or
# an action that raises no audit event is their only use, and no public standard-library module
# needs them to import (``tests/case/test_guard_imports.py`` imports every other one in a case).
DENIED_IMPORTS: dict[str, str] = {
    # Importing ctypes loads libraries (ctypes.dlopen) and it exists to call native code
    # (multiprocessing.sharedctypes, and so multiprocessing.Value/Array, are built on it).
    "ctypes": "ctypes", "_ctypes": "ctypes",
    # Tcl (tkinter, turtle) opens files, starts processes and loads shared libraries (its
    # ``load``) with no audit event; and there is no display to draw on.
    "_tkinter": "Tcl/Tk, whose interpreter opens files, starts programs and loads native code",
    # 3.10/3.11's _xxsubinterpreters raises an event the hook refuses, but refusing it crashes 3.12;
    # 3.13's _interpreters.create() raises no audit event this interpreter's hook sees.  3.12's
    # channels and 3.13's names for them (nothing to share with, without an interpreter).
    "_xxsubinterpreters": "sub-interpreters", "_xxinterpchannels": "sub-interpreters",
    "_interpreters": "sub-interpreters", "_interpchannels": "sub-interpreters", "_interpqueues": "sub-interpreters",
    # CPython's test-only C modules (raw memory access, crashes on purpose).
    "_testcapi": "CPython test modules", "_testinternalcapi": "CPython test modules",
    "_testbuffer": "CPython test modules", "_testmultiphase": "CPython test modules",
    "_testclinic": "CPython test modules", "_testimportmultiple": "CPython test modules",
    "_xxtestfuzz": "CPython test modules", "_ctypes_test": "CPython test modules",
    "_testsinglephase": "CPython test modules", "_testlimitedcapi": "CPython test modules",  # 3.12, 3.13
    "_testclinic_limited": "CPython test modules", "_testexternalinspection": "CPython test modules",  # 3.13
}
# C modules that open files by path themselves, with no audit event (SQL's ATTACH and VACUUM INTO,
# gdbm/ndbm files, readline's history and init files, POSIX shared memory and named semaphores,
# which outlive the case in /dev/shm): only Landlock confines what they open.  Importable where
# Landlock is in force (``files_confined``), refused where it is not (the portable backend, kernels
# before 5.13), as every import of them was before.  ``dbm`` itself still imports there (dbm.open
# falls back to dbm.dumb, whose files the hook sees), so do ``multiprocessing`` and ``subprocess``.
UNCONFINED_IMPORTS: dict[str, str] = {
    "_sqlite3": "file access from C code", "_gdbm": "file access from C code", "_dbm": "file access from C code",
    "readline": "file access from C code", "_posixshmem": "shared memory", "_multiprocessing": "shared memory",
}
WRITE_EVENTS: tuple[str, ...] = ("os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.chmod", "os.chown",
                                 "os.symlink", "os.link", "os.truncate", "os.utime", "os.setxattr", "os.removexattr",
                                 "shutil.rmtree", "shutil.copyfile", "shutil.copymode", "shutil.copystat",
                                 "shutil.move")
# Refused even inside the working folder (after the check above, whose message names a path
# outside it): a link could make the grader read what it points to (sandbox.py reads .output
# without following links anyway), and files in folders would escape the file budget.
# Landlock refuses them too.
UNCREATABLE: dict[str, str] = {"os.symlink": "creating links", "os.link": "creating links",
                               "os.mkdir": "creating folders"}
# Refused everywhere, the working folder too: the seccomp filter refuses these calls (a case could
# otherwise change the grader's or a classmate's files, which Landlock does not cover); the hook
# gives the clear message first.  Path.touch of an existing file still works (it ignores the error).
METADATA_CHANGES: dict[str, str] = {"os.chmod": "changing file modes", "os.chown": "changing file owners",
                                    "os.utime": "changing file times", "os.setxattr": "changing extended attributes",
                                    "os.removexattr": "changing extended attributes",
                                    "shutil.copymode": "copying file modes", "shutil.copystat": "copying file metadata"}
LIST_EVENTS: tuple[str, ...] = ("os.listdir", "os.scandir", "glob.glob", "os.walk", "os.fwalk")
FUNCTION_INTERNALS: tuple[str, ...] = ("__code__", "__defaults__", "__kwdefaults__")
WRITE_FLAGS: int = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
DEVICES: tuple[str, ...] = ("/dev/null", "/dev/urandom", "/dev/random") if os.name != "nt" else ("\\\\.\\nul",)
PACKAGE_FOLDERS: tuple[str, ...] = ("site-packages", "dist-packages")  # installed third-party packages: never readable
# Public, world-readable identity files, readable in every case (Landlock rules too, child.py), so that
# pwd.getpwuid(os.getuid()), grp.getgrgid(os.getgid()) and getpass.getuser() work: glibc reads
# nsswitch.conf, then passwd or group (its NSS modules were loaded by the fork server, warm.py).
IDENTITY_FILES: tuple[str, ...] = ("/etc/passwd", "/etc/group", "/etc/nsswitch.conf") if os.name != "nt" else ()
IN_MEMORY_DATABASES: tuple[str, ...] = ("", ":memory:")  # sqlite3.connect: no file (or a private temporary one)


def windows_resolver(full_path, final_path):
    """``resolve`` for Windows (portable backend): ``ntpath.realpath``, case-folded (NTFS compares
    names without case), from the system's own functions bound here (``nt._getfullpathname``:
    absolute, ``/`` as ``\\``, ``..`` applied; ``nt._getfinalpathname``: links and junctions
    resolved, for the longest part of the path that exists), so nothing student code rebinds
    later changes it.  Tested on POSIX with ntpath stand-ins (tests/case/test_guard.py)."""
    def resolve(path, _full=full_path, _final=final_path, _sep="\\", _lower=str.lower, _OSError=OSError,
                _ValueError=ValueError, _unc="\\\\?\\UNC\\", _long="\\\\?\\"):
        full, rest = _full(path), ""
        while True:
            try:
                real = _final(full)
                break
            except (_OSError, _ValueError):
                head, sep, name = full.rpartition(_sep)
                if not sep or not head or head.endswith(":") or head.endswith(_sep):
                    return _lower(full + rest)  # nothing of it exists (a drive root, a device)
                full, rest = head, _sep + name + rest
        if real.startswith(_unc):
            real = "\\\\" + real[len(_unc):]
        elif real.startswith(_long):
            real = real[len(_long):]
        return _lower(real + rest)
    return resolve


def forget_ctypes() -> None:
    """Importing ctypes again is an audited (and refused) import: the trusted set-up is done with it."""
    for name in [n for n in sys.modules if n in ("ctypes", "_ctypes") or n.startswith("ctypes.")]:
        del sys.modules[name]


def install_guard(library_roots: list[str], read_roots: list[str], write_root: str,
                  extensions: dict[str, str], extension_entries: dict[str, frozenset[str]],
                  created_files: int = 0, files_confined: bool = False) -> None:
    """An audit hook that refuses processes, sockets, ctypes, native code and file access outside the sandbox.

    Readable: ``library_roots`` (the standard library) except any site-packages or
    dist-packages folder in it, and ``read_roots`` (submission, working folder); writable:
    ``write_root``.  Compiled (extension) modules load only under their own name, from one
    of the exact paths ``extension_entries`` lists for that name, and only if that path
    leads, now, to the file ``extensions`` names (the standard library's lib-dynload): not
    from the submission or the working folder, not under another name (which would slip
    past the import deny list).  Compiled bytecode (``.pyc``) is read only from the
    standard library (hand-made bytecode can corrupt memory).  At most ``created_files``
    files may be created (the case's disk budget, with RLIMIT_FSIZE per file).  The
    identity files (``IDENTITY_FILES``) are readable too.  ``files_confined``: Landlock
    confines this process's files, so the C modules of ``UNCONFINED_IMPORTS`` may be imported.

    Imports are refused only for ``DENIED_IMPORTS`` (and, without Landlock,
    ``UNCONFINED_IMPORTS``); everything else is refused as the action it is, by its audit
    event: a socket, a process, a file outside the sandbox, a memory mapping, an SQLite
    database outside the working folder (``sqlite3.connect``: ":memory:", "" and files in
    the working folder only, counted like created files; by URI or by a path object never).

    Audit hooks cannot be removed once added.  This is defence in depth on top
    of the process boundary, the resource limits and Landlock (where the kernel
    has it), not a complete jail.

    Student code shares this interpreter and can rebind anything global
    (builtins, ``os`` and ``os.path`` functions, this module's tables) and can
    reach the hook's frame through a traceback.  So the hook and its helpers
    look nothing up when they run: every name they use is a positional default
    bound here, before any student code runs (a default tuple cannot be
    changed in place, and rebinding ``__defaults__`` or ``__code__`` is
    refused), tables are immutable, paths are copied to exact ``str`` without
    calling any method of the object passed in, and ``realpath`` is redone on
    ``os.readlink``/``os.getcwd`` (``posixpath.realpath`` looks ``os.lstat``
    and friends up at call time).  Tests: tests/e2e/test_hostile.py.

    Disk: a case may create at most ``created_files`` files in its working folder
    (each at most RLIMIT_FSIZE), and no folder or link.  The count is a variable of
    ``hook``'s closure: its frame (reachable through a traceback) shows the value, but the
    cell is reachable only through the function object, which student code never gets
    (gc is refused).  Only the guard's own functions are protected from code/defaults
    rewrites, by identity: dataclasses, namedtuple and friends set ``__defaults__`` on
    functions of their own.
    """
    from types import MappingProxyType
    sep = os.sep
    fold = str.lower if os.name == "nt" else str  # Windows compares paths without case (see windows_resolver)
    library_roots = tuple(fold(r).rstrip(sep) + sep for r in library_roots)
    read_roots = tuple(fold(r).rstrip(sep) + sep for r in read_roots)
    write_roots = (fold(write_root).rstrip(sep) + sep,)
    package_folders = tuple(sep + name + sep for name in PACKAGE_FOLDERS)
    extensions = MappingProxyType(dict(extensions))
    extension_entries = MappingProxyType({name: frozenset(paths) for name, paths in extension_entries.items()})
    identity = frozenset(fold(os.path.realpath(path)) for path in IDENTITY_FILES if os.path.isfile(path))
    denied_imports = dict(DENIED_IMPORTS)
    if not files_confined:
        denied_imports.update((name, f"{what} that only Landlock confines, and this sandbox has no Landlock")
                              for name, what in UNCONFINED_IMPORTS.items())

    def as_text(path, _type=type, _str=str, _join="".join, _bjoin=b"".join,
                _encoding=sys.getfilesystemencoding(), _Exception=Exception):
        """An exact str for a str or bytes path, "" for None, None for anything else; runs no student code."""
        if _type(path) is _str:
            return path
        if path is None:
            return ""
        try:
            return _join((path,))  # a str subclass is copied, none of its methods is called
        except _Exception:
            pass
        try:
            return _bjoin((path,)).decode(_encoding, "surrogateescape")
        except _Exception:
            return None

    def resolve(path, _getcwd=os.getcwd, _readlink=os.readlink, _OSError=OSError, _sep=sep):
        """posixpath.realpath (non-strict): symbolic links resolved, then '..' applied."""
        if not path.startswith(_sep):
            path = _getcwd() + _sep + path
        pending = path.split(_sep)
        pending.reverse()
        resolved, links = "", 0
        while pending:
            name = pending.pop()
            if name == "" or name == ".":
                continue
            if name == "..":
                resolved = resolved[:resolved.rfind(_sep)] if resolved else ""
                continue
            candidate = resolved + _sep + name
            try:
                target = _readlink(candidate)
            except _OSError:
                resolved = candidate  # not a link (or not there): keep it
                continue
            links += 1
            if links > 64:
                raise _OSError("too many levels of symbolic links")
            if target.startswith(_sep):
                resolved = ""
            parts = target.split(_sep)
            parts.reverse()
            pending += parts
        return resolved or _sep

    if os.name == "nt":
        import nt
        resolve = windows_resolver(nt._getfullpathname, nt._getfinalpathname)  # noqa: F811

    def inside(path, roots, _as_text=as_text, _resolve=resolve, _type=type, _int=int,
               _devices=frozenset(DEVICES), _sep=sep, _Exception=Exception):
        if _type(path) is _int:
            return True  # an already-open descriptor
        text = _as_text(path)
        if text is None:
            return False
        try:
            full = _resolve(text or ".")
        except _Exception:
            return False
        return full in _devices or (full + _sep).startswith(roots)

    def readable(path, _as_text=as_text, _resolve=resolve, _type=type, _int=int, _devices=frozenset(DEVICES),
                 _sep=sep, _own=read_roots, _library=library_roots, _packages=package_folders, _pyc=".pyc" + sep,
                 _identity=identity, _Exception=Exception):
        """None if reading ``path`` is allowed, else why not (a few words for the message)."""
        if _type(path) is _int:
            return None  # an already-open descriptor
        text = _as_text(path)
        if text is None:
            return ""
        try:
            full = _resolve(text or ".") + _sep
        except _Exception:
            return ""
        if full[:-1] in _devices or full[:-1] in _identity:
            return None
        if full.startswith(_own):
            return " (compiled bytecode is read only from the standard library)" if full.endswith(_pyc) else None
        if not full.startswith(_library):
            return ""
        for folder in _packages:
            if folder in full:
                return " (installed packages: mytorch may only use the Python standard library)"
        return None

    def is_dir(path, _as_text=as_text, _stat=os.stat, _item=tuple.__getitem__, _Exception=Exception,
               _PermissionError=PermissionError):
        try:
            return _item(_stat(_as_text(path)), 0) & 0o170000 == 0o040000  # st_mode, read through tuple
        except _PermissionError:
            return True  # cannot even look (a folder above is closed to this user): refuse as a folder
        except _Exception:
            return False

    import types
    coroutine = types.coroutine

    def coroutine_flag(args, _getframe=sys._getframe, _code=coroutine.__code__, _globals=coroutine.__globals__,
                       _CodeType=type(coroutine.__code__), _type=type, _len=len, _flag=0x100, _Exception=Exception):
        """Whether a code.__new__ event is types.coroutine's own ``co.replace(co_flags=co.co_flags | 0x100)``.

        asyncio (so unittest.mock too) decorates a generator function with it at import.  The
        caller must be the real function (its code and globals, by identity) and the new code
        object must be its local ``co`` (an exact code object) with the same bytecode (the
        very bytes object), names and sizes, and only CO_ITERABLE_COROUTINE added to its flags:
        whatever student code passed in, nothing but that flag of a compiled code object changes.
        """
        try:
            frame = _getframe(2)  # 0: here, 1: the hook, 2: the Python frame that called code.replace
            if frame.f_code is not _code or frame.f_globals is not _globals or _len(args) != 9:
                return False
            co = frame.f_locals.get("co")
            return (_type(co) is _CodeType and args[0] is co.co_code and args[1] is co.co_filename
                    and args[2] is co.co_name and args[3:] == (co.co_argcount, co.co_posonlyargcount,
                                                               co.co_kwonlyargcount, co.co_nlocals,
                                                               co.co_stacksize, co.co_flags | _flag))
        except _Exception:
            return False

    created = 0

    def exists(text, _lstat=os.lstat, _Exception=Exception):
        try:
            _lstat(text)
            return True
        except _Exception:
            return False

    def hook(event, args, _type=type, _str=str, _int=int, _len=len, _as_text=as_text, _inside=inside,
             _is_dir=is_dir, _events=MappingProxyType(dict(DENIED_EVENTS)),
             _prefixes=MappingProxyType(dict(DENIED_EVENT_PREFIXES)),
             _imports=MappingProxyType(denied_imports), _list_events=frozenset(LIST_EVENTS),
             _write_events=frozenset(WRITE_EVENTS), _internals=frozenset(FUNCTION_INTERNALS),
             _readable=readable, _write=write_roots, _write_flags=WRITE_FLAGS, _extensions=extensions,
             _extension_entries=extension_entries, _resolve=resolve, _Exception=Exception,
             _PermissionError=PermissionError, _ImportError=ImportError, _exists=exists, _create=os.O_CREAT,
             _tmpfile=getattr(os, "O_TMPFILE", 0) or -1, _budget=created_files,
             _uncreatable=MappingProxyType({**UNCREATABLE, **METADATA_CHANGES}), _memory=frozenset(IN_MEMORY_DATABASES),
             _uri="file:", _coroutine_flag=coroutine_flag, _id=id, _guarded=frozenset()):
        nonlocal created
        if _type(event) is not _str:
            event = _as_text(event) or ""
        if event == "code.__new__" and _coroutine_flag(args):
            return
        what = _events.get(event) or _prefixes.get(event.partition(".")[0] + ".")
        if what is not None:
            raise _PermissionError(f"sandbox: {what} is not allowed while grading")
        if event == "import":
            name = _as_text(args[0]) if _len(args) else None
            if name:
                what = _imports.get(name) or _imports.get(name.partition(".")[0])
                if what is not None:
                    raise _ImportError(f"sandbox: importing '{name}' is not allowed while grading ({what})")
            if _len(args) > 1 and args[1] is not None:  # a compiled module is about to be loaded from args[1]
                path = _as_text(args[1])
                try:
                    standard = (name and path in _extension_entries.get(name, ())
                                and _resolve(path) == _extensions.get(name))
                except _Exception:
                    standard = False
                if not standard:
                    raise _ImportError(f"sandbox: loading the compiled module {name!r} from {path!r} is not allowed "
                                       f"while grading (only the standard library's own compiled modules load, "
                                       f"under their own names)")
            return
        if event == "open":
            path, mode, flags = (args[0], args[1], args[2]) if _len(args) > 2 else (None, None, None)
            text = _as_text(path) if _type(path) is not _int else ""
            if text is None:
                raise _PermissionError("sandbox: opening a file by this kind of path is not allowed while grading")
            if mode is not None and _type(mode) is not _str:
                mode = "w"  # unknown mode: treat as writing
            writing = (_type(flags) is not _int or flags & _write_flags
                       or (mode is not None and ("w" in mode or "a" in mode or "x" in mode or "+" in mode)))
            if writing and not _inside(path, _write):
                raise _PermissionError(f"sandbox: writing {text!r} is not allowed while grading "
                                       f"(only the temporary working folder is writable)")
            why = None if writing else _readable(path)
            if why is not None:
                raise _PermissionError(f"sandbox: reading {text!r} is not allowed while grading{why}")
            if (writing and _type(path) is not _int
                    and (_type(flags) is not _int or flags & _tmpfile == _tmpfile
                         or (flags & _create and not _exists(text)))):
                if created >= _budget:
                    raise _PermissionError(f"sandbox: creating more than {_budget} files is not allowed "
                                           f"while grading")
                created += 1
            if mode is None and _type(path) is not _int and not _inside(path, _write) and _is_dir(path):
                # os.open of a folder gives a dir_fd, and paths relative to a dir_fd are not what
                # this hook checks: only folders inside the working folder may be opened so.
                raise _PermissionError(f"sandbox: opening the folder {text!r} is not allowed while grading")
            return
        if event == "sqlite3.connect":
            database = args[0] if _len(args) else None
            text = _as_text(database) if _type(database) is not _int else None
            if text is None:
                raise _PermissionError("sandbox: opening a database by this kind of path is not allowed while "
                                       "grading (a str path: ':memory:' or a file in the working folder)")
            if text in _memory:
                return
            if text[:5].lower() == _uri:
                raise _PermissionError(f"sandbox: opening the database {text!r} by URI is not allowed while grading")
            if not _inside(text, _write):
                raise _PermissionError(f"sandbox: opening the database {text!r} is not allowed while grading "
                                       f"(only ':memory:' and files in the temporary working folder)")
            if not _exists(text):
                if created >= _budget:
                    raise _PermissionError(f"sandbox: creating more than {_budget} files is not allowed "
                                           f"while grading")
                created += 1
            return
        if event in _list_events:
            target = args[0] if _len(args) else None
            why = _readable(target)
            if why is not None:
                raise _PermissionError(f"sandbox: listing {_as_text(target)!r} is not allowed while grading{why}")
            return
        if event in _write_events:
            for target in args[:2]:
                text = _as_text(target) if _type(target) is not _int else None
                if text is not None and target is not None and not _inside(target, _write):
                    raise _PermissionError(f"sandbox: changing {text!r} is not allowed while grading")
            what = _uncreatable.get(event)
            if what is not None:
                raise _PermissionError(f"sandbox: {what} is not allowed while grading")
            return
        if (event == "object.__setattr__" and _len(args) > 1 and _id(args[0]) in _guarded
                and _as_text(args[1]) in _internals):
            raise _PermissionError("sandbox: changing the sandbox's code or defaults is not allowed while grading")

    # The guard's functions never die, so their ids stay theirs; a frozenset of ints is looked
    # up without running any code of the object whose attribute is being set.
    guarded = frozenset(map(id, (as_text, resolve, inside, readable, is_dir, exists, coroutine_flag, hook)))
    hook.__defaults__ = hook.__defaults__[:-1] + (guarded,)
    sys.addaudithook(hook)
