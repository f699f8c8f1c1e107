"""Fresh IPC and PID namespaces for each grading case (Linux): a second layer behind the seccomp filter.

Threat: cases of the same user (uid 65534 under a root grader, the grader's own uid
otherwise) share the machine's System V IPC objects and POSIX message queues, and see
every process of that user.  A case could leave a shared-memory segment behind for a
later case of another student to read, or renice a classmate's concurrent case.  The
seccomp filter refuses those calls (``syscall_filter.py``); the namespaces make the same
promise a second time, so that one mistake in the filter does not break it:

- IPC: each case calls ``unshare(CLONE_NEWIPC)`` before any student code.  Its System V
  objects and message queues are its own, invisible to every other process, and freed by
  the kernel when it ends (nothing outlives the case, outside every rlimit or not).
- PID (a root grader only): the fork server calls ``unshare(CLONE_NEWPID)`` just before it
  forks a case, so the case is process 1 of a namespace of its own, where no other process
  exists to be signalled, reniced or inspected; then it returns to its own namespace
  (``setns``) for the next case.

Who can: root, always (where the kernel has namespaces).  A non-root grader's fork server
first enters a user namespace of its own (``unshare(CLONE_NEWUSER)``, mapping its uid and
gid to themselves, so files and processes keep their owners), where it may create IPC
namespaces for its cases; each case then drops every capability it holds in that user
namespace before any student code.  Its cases get no PID namespace: a non-root server
cannot return to the machine's PID namespace after making one, and living in one of its
own would change what its process ids mean to ``/proc``.  Where user namespaces are off
(a sysctl, AppArmor's restriction on Ubuntu) or the kernel lacks them, there is no second
layer: the seccomp filter alone holds, and the case's first line says which namespaces it
had.

Standard library only, and no import of the autograder package: ``child.py`` loads this
file by path in the fork server (which has ctypes), before any student code exists.
"""
from __future__ import annotations

import os

CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID = 0x08000000, 0x10000000, 0x20000000
CAPABILITY_VERSION_3 = 0x20080522  # linux/capability.h: two 32-bit words per set


class Namespaces:
    """What the fork server prepared (``prepare``): the C library's calls and which namespaces its cases get."""

    def __init__(self) -> None:
        self.libc = None
        self.ipc = False  # each case unshares its IPC namespace
        self.pid_home = -1  # the server's own PID namespace, held open to return to after each fork; -1: none
        self.user = False  # the server is in a user namespace of its own (non-root)
        self.missing = ""  # why a namespace is missing, for the case's first line

    def call(self, name: str, *args: int) -> int:
        """Call ``name`` in the C library; 0 or the errno."""
        if getattr(self.libc, name)(*args) == 0:
            return 0
        import ctypes
        return ctypes.get_errno() or -1


def prepare() -> Namespaces:
    """In the fork server, single-threaded, before it prepares anything else: decide what cases get."""
    spaces = Namespaces()
    try:
        import ctypes
        spaces.libc = ctypes.CDLL(None, use_errno=True)
    except (ImportError, OSError) as error:
        spaces.missing = f"ctypes or the C library is unavailable ({error})"
        return spaces
    if not os.path.exists("/proc/self/ns/ipc"):
        spaces.missing = "this kernel has no namespaces"
        return spaces
    if os.geteuid() != 0:
        uid, gid = os.getuid(), os.getgid()
        error = spaces.call("unshare", CLONE_NEWUSER)
        if error:
            spaces.missing = f"no user namespace for a non-root grader ({os.strerror(error)})"
            return spaces
        try:
            for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
                with open(f"/proc/self/{name}", "w") as file:
                    file.write(text)
        except OSError as error:
            # The process is in the new user namespace now, unmapped: its files would show as nobody's.
            # A server in that state must not serve (the grader sees it fail and says why).
            raise SystemExit(f"could not map the fork server's user into its user namespace ({error})")
        spaces.user = True
    spaces.ipc = True
    if os.geteuid() == 0 and not spaces.user:
        home = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        # try it once: a kernel or a container (no CAP_SYS_ADMIN, a seccomp profile) may refuse either call
        error = spaces.call("unshare", CLONE_NEWPID) or spaces.call("setns", home, CLONE_NEWPID)
        if error:
            os.close(home)
            spaces.missing = f"no PID namespace for the cases ({os.strerror(error)})"
        else:
            spaces.pid_home = home
    else:
        spaces.missing = "no PID namespace for the cases of a non-root grader"
    return spaces


def before_fork(spaces: Namespaces) -> bool:
    """In the server, just before it forks a case: the next child starts a new PID namespace (True)."""
    return spaces.pid_home >= 0 and spaces.call("unshare", CLONE_NEWPID) == 0


def after_fork(spaces: Namespaces) -> None:
    """In the server, just after the fork: its later children (the next case, a twin) are in its own again."""
    error = spaces.call("setns", spaces.pid_home, CLONE_NEWPID)
    if error:  # never seen; a server that cannot return could fork no further case (its namespace dies with it)
        raise SystemExit(f"the fork server could not return to its PID namespace ({os.strerror(error)})")


def enter_case(spaces: Namespaces) -> list[str]:
    """In the forked case, before any other layer: its own IPC namespace, capabilities dropped in a user
    namespace; the namespaces it has (``["ipc", "pid"]``, as far as it has them)."""
    entered = []
    if spaces.ipc and spaces.call("unshare", CLONE_NEWIPC) == 0:
        entered.append("ipc")
    if spaces.pid_home >= 0:
        os.close(spaces.pid_home)  # the case never returns anywhere
        if os.getpid() == 1:
            entered.append("pid")
    if spaces.user:
        drop_capabilities(spaces)
    return entered


def drop_capabilities(spaces: Namespaces) -> None:
    """Every capability of this process (in the server's user namespace) gone; the case ends if that fails."""
    import ctypes

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    error = spaces.call("capset", ctypes.byref(Header(CAPABILITY_VERSION_3, 0)), ctypes.byref((Data * 2)()))
    if error:
        raise SystemExit(f"could not drop the case's capabilities ({os.strerror(error)})")
