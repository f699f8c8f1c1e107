"""A seccomp-BPF system-call filter for one grading case (Linux, x86_64 and aarch64).

Threat model.  The student's code runs in a forked case process with the
grader's user (root in CI containers).  Python-level defences (the audit hook,
the import deny list) can be bypassed by anything that reaches native code: an
extension module the audit hook failed to refuse, a sub-interpreter without
the hook, a bug in a C module.  This filter is the layer that still holds then:
the kernel itself refuses, for the case process and all of its threads, and
irrevocably (a filter can never be removed, and PR_SET_NO_NEW_PRIVS means no
exec could lift it either):

- network: every socket call, starting with creating a socket;
- starting programs and processes: execve, execveat, fork, vfork, clone
  without CLONE_THREAD (or with a namespace flag); clone3 answers ENOSYS, so
  glibc falls back to clone for threads, which stay allowed;
- reaching other processes: ptrace, process_vm_readv/writev, kcmp, pidfd_*,
  process_madvise, page migration, and signals to anything but the case
  itself (kill, tkill, rt_sigqueueinfo to the case's own pid; tgkill and
  rt_tgsigqueueinfo to its own thread group).  kill(0, ...) and kill(-pgid,
  ...) are refused too: the case has no other process in its group to signal;
- changing the system: mount and the new mount API, umount2, pivot_root,
  chroot, unshare, setns, bpf, io_uring, perf_event_open, userfaultfd, keys,
  kernel modules, kexec, reboot, swap, clocks, host names, quotas, syslog,
  accounting, personality, device nodes (mknod), file handles
  (open_by_handle_at walks around path-based checks), port I/O, and the
  terminal ioctls that inject input (TIOCSTI, TIOCLINUX);
- its own limits: setrlimit, and prlimit64 unless it only reads (as root,
  CAP_SYS_RESOURCE would otherwise let native code lift every rlimit, or set
  another process's).

A refused call fails with EPERM (ENOSYS for clone3), so student code gets an
ordinary ``PermissionError`` that the report can show.  Only a system call
made for another architecture (the 32-bit compat entry points, where the
numbers above mean something else) kills the process: a Python program never
makes one.  x32 system calls on x86_64 share the architecture tag and are
refused as a whole.

The case's pid is written into the filter after the fork (``CaseFilter.install``),
so it is a constant in it.
It does not confine files (Landlock and the audit hook do), memory or time
(rlimits and the grader's timeout do).

This module is standard library only: ``child.py`` (run as ``python -I -S``,
which cannot import the ``autograder`` package) loads it by path in the fork
server, before any student code exists; tests import it as
``autograder.syscall_filter``.
"""
from __future__ import annotations

import os
import sys

EPERM, ENOSYS = 1, 38

# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6] (little-endian words).
OFFSET_NR, OFFSET_ARCH = 0, 4


def arg_low_word(index: int) -> int:
    """Offset of the low 32 bits of system-call argument ``index`` (pid_t, int and clone flags live there)."""
    return 16 + 8 * index


# Classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
BPF_LD_W_ABS: int = 0x00 | 0x00 | 0x20
BPF_JEQ_K: int = 0x05 | 0x10 | 0x00
BPF_JGE_K: int = 0x05 | 0x30 | 0x00
BPF_AND_K: int = 0x04 | 0x50 | 0x00
BPF_RET_K: int = 0x06 | 0x00
RET_KILL_PROCESS: int = 0x80000000
RET_ERRNO: int = 0x00050000
RET_ALLOW: int = 0x7FFF0000

AUDIT_ARCH: dict[str, int] = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}  # EM_* | 64-bit | little-endian
X32_SYSCALL_BIT: int = 0x40000000
CLONE_THREAD: int = 0x00010000
CLONE_NAMESPACES: int = 0x7E020000  # NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
TTY_INJECTING_IOCTLS: tuple[int, ...] = (0x5412, 0x541C)  # TIOCSTI, TIOCLINUX

# name: (x86_64 number, aarch64 number); None where the architecture has no such call.
REFUSED: dict[str, tuple[int | None, int | None]] = {
    # network
    "socket": (41, 198), "socketpair": (53, 199), "connect": (42, 203), "bind": (49, 200),
    "listen": (50, 201), "accept": (43, 202), "accept4": (288, 242), "sendto": (44, 206),
    "recvfrom": (45, 207), "sendmsg": (46, 211), "recvmsg": (47, 212), "sendmmsg": (307, 269),
    "recvmmsg": (299, 243), "shutdown": (48, 210), "getsockname": (51, 204), "getpeername": (52, 205),
    "setsockopt": (54, 208), "getsockopt": (55, 209),
    # programs and processes (clone and clone3 are handled apart)
    "execve": (59, 221), "execveat": (322, 281), "fork": (57, None), "vfork": (58, None),
    # other processes
    "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "kcmp": (312, 272), "pidfd_open": (434, 434), "pidfd_getfd": (438, 438),
    "pidfd_send_signal": (424, 424), "process_madvise": (440, 440), "migrate_pages": (256, 238),
    "move_pages": (279, 239),
    # the system
    "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41), "chroot": (161, 51),
    "open_tree": (428, 428), "move_mount": (429, 429), "fsopen": (430, 430), "fsconfig": (431, 431),
    "fsmount": (432, 432), "fspick": (433, 433), "mount_setattr": (442, 442),
    "unshare": (272, 97), "setns": (308, 268), "bpf": (321, 280), "perf_event_open": (298, 241),
    "userfaultfd": (323, 282), "io_uring_setup": (425, 425), "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427), "add_key": (248, 217), "request_key": (249, 218), "keyctl": (250, 219),
    "init_module": (175, 105), "finit_module": (313, 273), "delete_module": (176, 106),
    "kexec_load": (246, 104), "kexec_file_load": (320, 294), "reboot": (169, 142), "swapon": (167, 224),
    "swapoff": (168, 225), "acct": (163, 89), "settimeofday": (164, 170), "clock_settime": (227, 112),
    "clock_adjtime": (305, 266), "adjtimex": (159, 171), "sethostname": (170, 161),
    "setdomainname": (171, 162), "syslog": (103, 116), "quotactl": (179, 60), "vhangup": (153, 58),
    "personality": (135, 92), "mknod": (133, None), "mknodat": (259, 33),
    "name_to_handle_at": (303, 264), "open_by_handle_at": (304, 265), "lookup_dcookie": (212, 18),
    "uselib": (134, None), "iopl": (172, None), "ioperm": (173, None),
    # limits (prlimit64 is handled apart: glibc's getrlimit uses it to read them)
    "setrlimit": (160, 164),
}
# Calls whose first argument names the target process (kill, tkill, rt_sigqueueinfo) or thread
# group (tgkill, rt_tgsigqueueinfo): allowed only when that is the case itself.
OWN_PROCESS_ONLY: dict[str, tuple[int, int]] = {"kill": (62, 129), "tkill": (200, 130),
                                                 "rt_sigqueueinfo": (129, 138), "tgkill": (234, 131),
                                                 "rt_tgsigqueueinfo": (297, 240)}
CLONE, CLONE3, IOCTL = {"x86_64": 56, "aarch64": 220}, 435, {"x86_64": 16, "aarch64": 29}
PRLIMIT64: dict[str, int] = {"x86_64": 302, "aarch64": 261}


class FilterUnavailable(Exception):
    """The filter cannot be installed here (architecture, kernel); the message says why."""


def machine_arch() -> str | None:
    """"x86_64" or "aarch64" when this interpreter runs natively on one of them, else None."""
    machine = os.uname().machine.lower()
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(machine)
    if arch is None or sys.maxsize < 2 ** 32 or sys.byteorder != "little":
        return None  # e.g. a 32-bit interpreter on a 64-bit kernel: other numbers, other arch tag
    return arch


def build_filter(arch: str, pid: int) -> list[tuple[int, int, int, int]]:
    """The BPF program (code, jump-if-true, jump-if-false, k) for ``arch`` and the case process ``pid``."""
    if arch not in AUDIT_ARCH:
        raise FilterUnavailable(f"no system-call table for {arch}")
    if not 0 < pid < 2 ** 31:
        raise ValueError(f"not a process id: {pid}")
    column = 0 if arch == "x86_64" else 1
    refuse, refuse_enosys = RET_ERRNO | EPERM, RET_ERRNO | ENOSYS

    program = [(BPF_LD_W_ABS, 0, 0, OFFSET_ARCH),
               (BPF_JEQ_K, 1, 0, AUDIT_ARCH[arch]),
               (BPF_RET_K, 0, 0, RET_KILL_PROCESS),
               (BPF_LD_W_ABS, 0, 0, OFFSET_NR)]
    if arch == "x86_64":
        program += [(BPF_JGE_K, 0, 1, X32_SYSCALL_BIT), (BPF_RET_K, 0, 0, refuse)]
    # Each block below starts with the accumulator holding the system-call number, and either
    # returns or, for another number, jumps over itself with the accumulator unchanged.
    for numbers in REFUSED.values():
        if numbers[column] is not None:
            program += [(BPF_JEQ_K, 0, 1, numbers[column]), (BPF_RET_K, 0, 0, refuse)]
    program += [(BPF_JEQ_K, 0, 1, CLONE3), (BPF_RET_K, 0, 0, refuse_enosys)]
    program += [(BPF_JEQ_K, 0, 5, CLONE[arch]),
                (BPF_LD_W_ABS, 0, 0, arg_low_word(0)),  # the kernel reads only the low 32 flag bits
                (BPF_AND_K, 0, 0, CLONE_THREAD | CLONE_NAMESPACES),
                (BPF_JEQ_K, 0, 1, CLONE_THREAD),
                (BPF_RET_K, 0, 0, RET_ALLOW),
                (BPF_RET_K, 0, 0, refuse)]
    for numbers in OWN_PROCESS_ONLY.values():
        program += [(BPF_JEQ_K, 0, 4, numbers[column]),
                    (BPF_LD_W_ABS, 0, 0, arg_low_word(0)),  # pid_t: the low 32 bits
                    (BPF_JEQ_K, 0, 1, pid),
                    (BPF_RET_K, 0, 0, RET_ALLOW),
                    (BPF_RET_K, 0, 0, refuse)]
    program += [(BPF_JEQ_K, 0, 6, PRLIMIT64[arch]),  # prlimit64(pid, resource, new_limit, old_limit)
                (BPF_LD_W_ABS, 0, 0, arg_low_word(2)),
                (BPF_JEQ_K, 0, 3, 0),
                (BPF_LD_W_ABS, 0, 0, arg_low_word(2) + 4),  # a pointer: both halves must be 0
                (BPF_JEQ_K, 0, 1, 0),
                (BPF_RET_K, 0, 0, RET_ALLOW),
                (BPF_RET_K, 0, 0, refuse)]
    program += [(BPF_JEQ_K, 0, 1 + 2 * len(TTY_INJECTING_IOCTLS), IOCTL[arch]),
                (BPF_LD_W_ABS, 0, 0, arg_low_word(1))]
    for request in TTY_INJECTING_IOCTLS:
        program += [(BPF_JEQ_K, 0, 1, request), (BPF_RET_K, 0, 0, refuse)]
    program += [(BPF_RET_K, 0, 0, RET_ALLOW)]
    return program


class CaseFilter:
    """The case filter for this machine, prepared once (in the fork server), installed in each forked case.

    The program and its C array are built once; for each case only the instructions that
    hold the case's pid change before it is installed.  Raises FilterUnavailable when this
    machine cannot have the filter.
    """

    def __init__(self) -> None:
        arch = machine_arch()
        if arch is None:
            raise FilterUnavailable(f"no system-call table for {os.uname().machine} in this grader")
        self.arch = arch
        program = build_filter(arch, 1)
        self.pid_slots = [i for i, (one, two) in enumerate(zip(program, build_filter(arch, 2))) if one != two]
        self.program = Program(program)

    def install(self, pid: int) -> str:
        """Install the filter for ``pid``, the calling process (still single-threaded); its architecture."""
        if not 0 < pid < 2 ** 31:
            raise ValueError(f"not a process id: {pid}")
        for slot in self.pid_slots:
            self.program.instructions[slot].k = pid
        self.program.apply()
        return self.arch


def install(pid: int) -> str:
    """Build and install the case filter for ``pid`` in one go (see CaseFilter)."""
    return CaseFilter().install(pid)


class Program:
    """A BPF program as the kernel takes it (struct sock_fprog), ready to be applied."""

    def __init__(self, program: list[tuple[int, int, int, int]]) -> None:
        try:
            import ctypes
            self.libc = ctypes.CDLL(None, use_errno=True)
            self.libc.prctl.restype = ctypes.c_int
        except (ImportError, OSError, AttributeError) as error:
            raise FilterUnavailable(f"ctypes or the C library is unavailable ({error})") from None

        class SockFilter(ctypes.Structure):
            _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                        ("k", ctypes.c_uint32)]

        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

        self.ctypes = ctypes
        self.instructions = (SockFilter * len(program))(*[SockFilter(*instruction) for instruction in program])
        self.fprog = SockFprog(len(program), self.instructions)

    def apply(self) -> None:
        """Load the program as a seccomp filter on the calling thread, irrevocably.

        Sets PR_SET_NO_NEW_PRIVS first, which installing a filter without CAP_SYS_ADMIN
        requires (and which keeps any later exec from gaining privileges).
        """
        ctypes, prctl, ulong = self.ctypes, self.libc.prctl, self.ctypes.c_ulong
        pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
        if prctl(pr_set_no_new_privs, ulong(1), ulong(0), ulong(0), ulong(0)) != 0:
            raise FilterUnavailable(f"PR_SET_NO_NEW_PRIVS failed ({os.strerror(ctypes.get_errno())})")
        if prctl(pr_set_seccomp, ulong(seccomp_mode_filter), ctypes.byref(self.fprog), ulong(0), ulong(0)) != 0:
            raise FilterUnavailable(f"the kernel refused the seccomp filter ({os.strerror(ctypes.get_errno())})")
