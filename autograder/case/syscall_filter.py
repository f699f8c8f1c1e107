"""A seccomp-BPF system-call filter for one grading case (Linux, x86_64 and aarch64): an allow-list.

Threat model.  The student's code runs in a forked case process (as uid 65534 under a root
grader, as the grader's own user otherwise).  Python-level defences (the audit hook, the
import deny list) can be switched off by anything that reaches native code, and the ctypes
types reachable from ``object.__subclasses__()`` reach it in a few lines (issue 22).  So every
promise of the sandbox must hold here, in the kernel, for the case process and all of its
threads, irrevocably (a filter can never be removed, and PR_SET_NO_NEW_PRIVS means no exec
could lift it either).

The filter knows every system call of both architectures (``SYSCALLS``: name -> (x86_64
number, aarch64 number), Linux 6.19; tests/e2e/test_sandbox_native.py checks the numbers
against the kernel headers where they are installed).  Each one is, by name:

- **allowed** (``ALLOWED``), in groups a Python case needs:

  - *memory*: the allocator and the C library map, protect, grow, advise and release
    their own memory (brk, mmap, munmap, mprotect, mremap, madvise, msync, mincore, mseal,
    map_shadow_stack); RLIMIT_AS bounds it;
  - *descriptors*: reading, writing, seeking, syncing, copying between, duplicating and
    closing descriptors the case already holds (read, write, pread64, readv, lseek,
    fsync, ftruncate, fallocate, sendfile (shutil's copy), copy_file_range, splice, dup3,
    pipe2, close_range, fstat, getdents64 (os.scandir), flock...): which files it can
    open is Landlock's business, how large and how many the rlimits';
  - *waiting*: poll, ppoll, select, pselect6, the epoll calls, eventfd (select, selectors);
  - *paths*: opening, looking up, listing, creating, renaming and removing files by path
    (openat, newfstatat, statx, faccessat2, readlinkat, getcwd, chdir, renameat2,
    unlinkat, mkdirat, linkat, symlinkat, statfs, umask...): Landlock decides which paths
    (the standard library and the submission read-only, the working folder writable with
    regular files only); without Landlock the audit hook alone does;
  - *time*: clocks, sleeps, interval timers, POSIX timers and timer descriptors of its own,
    times, getrusage (time.sleep, time.process_time, signal.setitimer, resource);
  - *threads*: futexes (and the futex2 calls), robust lists, rseq, set_tid_address,
    gettid, sched_yield, arch_prctl (x86_64 thread pointers), restart_syscall, exit and
    exit_group (threading, queue, concurrent.futures; clone is checked, below);
  - *own signals*: signal handlers, masks, alternate stacks, waiting for signals,
    signalfd (signal, faulthandler; sending is checked, below);
  - *facts about itself and the machine*: getpid, getppid, the get*id calls, getpgid,
    getsid, uname, sysinfo, getrlimit, getcpu, getrandom (os.urandom, random, secrets,
    hashlib), sched_get_priority_min/max, wait4 and waitid (it has no children);
  - *trampolines the kernel itself installs*: uretprobe and uprobe (x86_64).

- **allowed with argument checks** (``CHECKED``):

  - clone for threads only: CLONE_THREAD set and no namespace flag (clone3 answers ENOSYS,
    so glibc falls back to clone);
  - kill, tkill, rt_sigqueueinfo to the case's own pid; tgkill and rt_tgsigqueueinfo to
    its own thread group (so kill(0, ...) and kill(-pgid, ...) are refused: the case has
    no other process in its group);
  - the scheduling, priority and affinity calls aimed at the case itself only (pid 0 or its
    own pid): sched_setaffinity, sched_getaffinity (os.sched_getaffinity(0),
    os.cpu_count), sched_setscheduler, sched_setparam, sched_setattr, sched_getscheduler,
    sched_getparam, sched_getattr, sched_rr_get_interval; setpriority and getpriority
    with PRIO_PROCESS and who 0 or its own pid (os.nice); ioprio_set and ioprio_get with
    IOPRIO_WHO_PROCESS and who 0 or its own pid;
  - prlimit64 only to read, and only its own limits (pid 0 or its own pid, no new
    limit: resource.getrlimit);
  - ioctl but the terminal requests that inject input (TIOCSTI, TIOCLINUX), those that
    make a descriptor signal another process (FIOSETOWN, SIOCSPGRP) and those that change
    a file's inode flags (FS_IOC_SETFLAGS, FS_IOC_FSSETXATTR, FS_IOC_SETVERSION: chattr);
  - fcntl but F_SETOWN and F_SETOWN_EX (which would send SIGIO, or any signal F_SETSIG
    picks, to another process);
  - prctl but PR_SCHED_CORE (which shares or takes core-scheduling cookies with other
    processes).

- **refused with EPERM** (``REFUSED``; student code gets an ordinary ``PermissionError``):

  - *network*: every socket call, starting with creating a socket;
  - *processes and programs*: fork, vfork, execve, execveat (and clone without
    CLONE_THREAD, above);
  - *other processes*: ptrace, process_vm_readv/writev, kcmp, the pidfd calls,
    process_madvise, process_mrelease, page migration, get_robust_list;
  - *channels that outlive the case*: System V shared memory, semaphores and message
    queues (shmget, shmat, shmctl, shmdt, semget, semop, semtimedop, semctl, msgget,
    msgsnd, msgrcv, msgctl) and POSIX message queues (mq_open and friends): a segment
    or queue stays after the case, outside every rlimit, where a later case (or another
    student's) reads it;
  - *file metadata*, which Landlock does not cover: the chmod, chown and utimes families
    (chmod, fchmod, fchmodat, fchmodat2, chown, fchown, lchown, fchownat, utime, utimes,
    utimensat, futimesat), every extended-attribute call (reading them too: they are not
    Landlock's either), file_getattr/file_setattr (and their ioctls, above), and truncate
    by path (Landlock covers it from ABI 3 only; ftruncate on a descriptor the case
    opened for writing stays allowed).  A mode-600 file of a non-root grader, or a
    classmate's folder, would otherwise be the case's to open up or close;
  - *its identity*: the set*id calls, setgroups, capget, capset, setpgid, setsid,
    personality;
  - *mounts and namespaces*: mount and the new mount API, umount2, pivot_root, chroot,
    statmount, listmount, listns, unshare, setns;
  - *the kernel and the machine*: bpf, perf_event_open, userfaultfd, io_uring, Linux AIO
    (io_setup...: a machine-wide pool), keys, kernel modules, kexec, reboot, swap, clocks,
    host names, quotas, syslog, accounting, sync and syncfs (every file system), fanotify
    and inotify (watching others' files), cachestat, device nodes (mknod), file handles
    (open_by_handle_at walks around path-based checks), port I/O, the LDT, Landlock and
    seccomp calls and the LSM attribute calls (nothing a case needs), and the calls
    64-bit kernels never implemented;
  - *memory outside the limits or other processes' placement*: mlock and friends,
    memfd_create, memfd_secret, the NUMA policy calls, remap_file_pages, protection keys,
    membarrier (its global command stalls every CPU);
  - *its own limits*: setrlimit (and prlimit64 that writes, above): as root,
    CAP_SYS_RESOURCE would otherwise let native code lift every rlimit.

- **refused with ENOSYS**: clone3 (glibc then uses clone), every number in a gap of the
  table and every number above it (system calls of newer kernels: the C library falls
  back as on an older kernel).

A system call made for another architecture (the 32-bit compat entry points, where the
numbers above mean something else) kills the process: a Python program never makes one.
x32 system calls on x86_64 share the architecture tag and are refused (EPERM) as a whole.

The program is a binary search over the system-call number (``build_filter``): a handful
of comparisons per call, and the calls allowed outright never read an argument, so the
kernel's seccomp cache (Linux 5.11+) lets them through without running the filter at all.
The case's pid is written into the filter after the fork (``CaseFilter.install``), so it
is a constant in it.  It does not confine which files are opened (Landlock and the audit
hook do), memory or time (rlimits and the grader's timeout do).

This module is standard library only: ``child.py`` (run as ``python -I -S``,
which cannot import the ``autograder`` package) loads it by path in the fork
server, before any student code exists; tests import it as
``autograder.case.syscall_filter``.
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


def arg_high_word(index: int) -> int:
    """Offset of the high 32 bits of system-call argument ``index`` (half of a pointer)."""
    return arg_low_word(index) + 4


# Classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
BPF_LD_W_ABS: int = 0x00 | 0x00 | 0x20
BPF_JA: int = 0x05 | 0x00
BPF_JEQ_K: int = 0x05 | 0x10 | 0x00
BPF_JGE_K: int = 0x05 | 0x30 | 0x00
BPF_AND_K: int = 0x04 | 0x50 | 0x00
BPF_RET_K: int = 0x06 | 0x00
RET_KILL_PROCESS: int = 0x80000000
RET_ERRNO: int = 0x00050000
RET_ALLOW: int = 0x7FFF0000
MAX_JUMP: int = 255  # jt and jf are 8 bits; farther goes through a BPF_JA (32 bits)

AUDIT_ARCH: dict[str, int] = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}  # EM_* | 64-bit | little-endian
X32_SYSCALL_BIT: int = 0x40000000
CLONE_THREAD: int = 0x00010000
CLONE_NAMESPACES: int = 0x7E020000  # NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
TTY_INJECTING_IOCTLS: tuple[int, ...] = (0x5412, 0x541C)  # TIOCSTI, TIOCLINUX
SIGNAL_OWNER_IOCTLS: tuple[int, ...] = (0x8901, 0x8902)  # FIOSETOWN, SIOCSPGRP
# FS_IOC_SETFLAGS (and its 32-bit twin), FS_IOC_FSSETXATTR, FS_IOC_SETVERSION: file_setattr and chattr by ioctl
INODE_ATTRIBUTE_IOCTLS: tuple[int, ...] = (0x40086602, 0x40046602, 0x401C5820, 0x40087602)
SIGNAL_OWNER_FCNTLS: tuple[int, ...] = (8, 15)  # F_SETOWN, F_SETOWN_EX
PR_SCHED_CORE: int = 62
PRIO_PROCESS, IOPRIO_WHO_PROCESS = 0, 1

# Every system call of x86_64 and aarch64 (Linux 6.19): name -> (x86_64 number, aarch64 number), None
# where the architecture has no such call.  Generated from the kernel's syscall tables
# (arch/x86/entry/syscalls/syscall_64.tbl, scripts/syscall.tbl with arm64's renameat, rlimit and
# memfd_secret) and checked against the installed headers by tests/e2e/test_sandbox_native.py.
SYSCALLS: dict[str, tuple[int | None, int | None]] = {
    "read": (0, 63), "write": (1, 64), "open": (2, None), "close": (3, 57), "stat": (4, None), "fstat": (5, 80),
    "lstat": (6, None), "poll": (7, None), "lseek": (8, 62), "mmap": (9, 222), "mprotect": (10, 226),
    "munmap": (11, 215), "brk": (12, 214), "rt_sigaction": (13, 134), "rt_sigprocmask": (14, 135),
    "rt_sigreturn": (15, 139), "ioctl": (16, 29), "pread64": (17, 67), "pwrite64": (18, 68), "readv": (19, 65),
    "writev": (20, 66), "access": (21, None), "pipe": (22, None), "select": (23, None), "sched_yield": (24, 124),
    "mremap": (25, 216), "msync": (26, 227), "mincore": (27, 232), "madvise": (28, 233), "shmget": (29, 194),
    "shmat": (30, 196), "shmctl": (31, 195), "dup": (32, 23), "dup2": (33, None), "pause": (34, None),
    "nanosleep": (35, 101), "getitimer": (36, 102), "alarm": (37, None), "setitimer": (38, 103), "getpid": (39, 172),
    "sendfile": (40, 71), "socket": (41, 198), "connect": (42, 203), "accept": (43, 202), "sendto": (44, 206),
    "recvfrom": (45, 207), "sendmsg": (46, 211), "recvmsg": (47, 212), "shutdown": (48, 210), "bind": (49, 200),
    "listen": (50, 201), "getsockname": (51, 204), "getpeername": (52, 205), "socketpair": (53, 199),
    "setsockopt": (54, 208), "getsockopt": (55, 209), "clone": (56, 220), "fork": (57, None), "vfork": (58, None),
    "execve": (59, 221), "exit": (60, 93), "wait4": (61, 260), "kill": (62, 129), "uname": (63, 160),
    "semget": (64, 190), "semop": (65, 193), "semctl": (66, 191), "shmdt": (67, 197), "msgget": (68, 186),
    "msgsnd": (69, 189), "msgrcv": (70, 188), "msgctl": (71, 187), "fcntl": (72, 25), "flock": (73, 32),
    "fsync": (74, 82), "fdatasync": (75, 83), "truncate": (76, 45), "ftruncate": (77, 46), "getdents": (78, None),
    "getcwd": (79, 17), "chdir": (80, 49), "fchdir": (81, 50), "rename": (82, None), "mkdir": (83, None),
    "rmdir": (84, None), "creat": (85, None), "link": (86, None), "unlink": (87, None), "symlink": (88, None),
    "readlink": (89, None), "chmod": (90, None), "fchmod": (91, 52), "chown": (92, None), "fchown": (93, 55),
    "lchown": (94, None), "umask": (95, 166), "gettimeofday": (96, 169), "getrlimit": (97, 163),
    "getrusage": (98, 165), "sysinfo": (99, 179), "times": (100, 153), "ptrace": (101, 117), "getuid": (102, 174),
    "syslog": (103, 116), "getgid": (104, 176), "setuid": (105, 146), "setgid": (106, 144), "geteuid": (107, 175),
    "getegid": (108, 177), "setpgid": (109, 154), "getppid": (110, 173), "getpgrp": (111, None),
    "setsid": (112, 157), "setreuid": (113, 145), "setregid": (114, 143), "getgroups": (115, 158),
    "setgroups": (116, 159), "setresuid": (117, 147), "getresuid": (118, 148), "setresgid": (119, 149),
    "getresgid": (120, 150), "getpgid": (121, 155), "setfsuid": (122, 151), "setfsgid": (123, 152),
    "getsid": (124, 156), "capget": (125, 90), "capset": (126, 91), "rt_sigpending": (127, 136),
    "rt_sigtimedwait": (128, 137), "rt_sigqueueinfo": (129, 138), "rt_sigsuspend": (130, 133),
    "sigaltstack": (131, 132), "utime": (132, None), "mknod": (133, None), "uselib": (134, None),
    "personality": (135, 92), "ustat": (136, None), "statfs": (137, 43), "fstatfs": (138, 44), "sysfs": (139, None),
    "getpriority": (140, 141), "setpriority": (141, 140), "sched_setparam": (142, 118), "sched_getparam": (143, 121),
    "sched_setscheduler": (144, 119), "sched_getscheduler": (145, 120), "sched_get_priority_max": (146, 125),
    "sched_get_priority_min": (147, 126), "sched_rr_get_interval": (148, 127), "mlock": (149, 228),
    "munlock": (150, 229), "mlockall": (151, 230), "munlockall": (152, 231), "vhangup": (153, 58),
    "modify_ldt": (154, None), "pivot_root": (155, 41), "_sysctl": (156, None), "prctl": (157, 167),
    "arch_prctl": (158, None), "adjtimex": (159, 171), "setrlimit": (160, 164), "chroot": (161, 51),
    "sync": (162, 81), "acct": (163, 89), "settimeofday": (164, 170), "mount": (165, 40), "umount2": (166, 39),
    "swapon": (167, 224), "swapoff": (168, 225), "reboot": (169, 142), "sethostname": (170, 161),
    "setdomainname": (171, 162), "iopl": (172, None), "ioperm": (173, None), "create_module": (174, None),
    "init_module": (175, 105), "delete_module": (176, 106), "get_kernel_syms": (177, None),
    "query_module": (178, None), "quotactl": (179, 60), "nfsservctl": (180, 42), "getpmsg": (181, None),
    "putpmsg": (182, None), "afs_syscall": (183, None), "tuxcall": (184, None), "security": (185, None),
    "gettid": (186, 178), "readahead": (187, 213), "setxattr": (188, 5), "lsetxattr": (189, 6),
    "fsetxattr": (190, 7), "getxattr": (191, 8), "lgetxattr": (192, 9), "fgetxattr": (193, 10),
    "listxattr": (194, 11), "llistxattr": (195, 12), "flistxattr": (196, 13), "removexattr": (197, 14),
    "lremovexattr": (198, 15), "fremovexattr": (199, 16), "tkill": (200, 130), "time": (201, None),
    "futex": (202, 98), "sched_setaffinity": (203, 122), "sched_getaffinity": (204, 123),
    "set_thread_area": (205, None), "io_setup": (206, 0), "io_destroy": (207, 1), "io_getevents": (208, 4),
    "io_submit": (209, 2), "io_cancel": (210, 3), "get_thread_area": (211, None), "lookup_dcookie": (212, 18),
    "epoll_create": (213, None), "epoll_ctl_old": (214, None), "epoll_wait_old": (215, None),
    "remap_file_pages": (216, 234), "getdents64": (217, 61), "set_tid_address": (218, 96),
    "restart_syscall": (219, 128), "semtimedop": (220, 192), "fadvise64": (221, 223), "timer_create": (222, 107),
    "timer_settime": (223, 110), "timer_gettime": (224, 108), "timer_getoverrun": (225, 109),
    "timer_delete": (226, 111), "clock_settime": (227, 112), "clock_gettime": (228, 113), "clock_getres": (229, 114),
    "clock_nanosleep": (230, 115), "exit_group": (231, 94), "epoll_wait": (232, None), "epoll_ctl": (233, 21),
    "tgkill": (234, 131), "utimes": (235, None), "vserver": (236, None), "mbind": (237, 235),
    "set_mempolicy": (238, 237), "get_mempolicy": (239, 236), "mq_open": (240, 180), "mq_unlink": (241, 181),
    "mq_timedsend": (242, 182), "mq_timedreceive": (243, 183), "mq_notify": (244, 184), "mq_getsetattr": (245, 185),
    "kexec_load": (246, 104), "waitid": (247, 95), "add_key": (248, 217), "request_key": (249, 218),
    "keyctl": (250, 219), "ioprio_set": (251, 30), "ioprio_get": (252, 31), "inotify_init": (253, None),
    "inotify_add_watch": (254, 27), "inotify_rm_watch": (255, 28), "migrate_pages": (256, 238), "openat": (257, 56),
    "mkdirat": (258, 34), "mknodat": (259, 33), "fchownat": (260, 54), "futimesat": (261, None),
    "newfstatat": (262, 79), "unlinkat": (263, 35), "renameat": (264, 38), "linkat": (265, 37),
    "symlinkat": (266, 36), "readlinkat": (267, 78), "fchmodat": (268, 53), "faccessat": (269, 48),
    "pselect6": (270, 72), "ppoll": (271, 73), "unshare": (272, 97), "set_robust_list": (273, 99),
    "get_robust_list": (274, 100), "splice": (275, 76), "tee": (276, 77), "sync_file_range": (277, 84),
    "vmsplice": (278, 75), "move_pages": (279, 239), "utimensat": (280, 88), "epoll_pwait": (281, 22),
    "signalfd": (282, None), "timerfd_create": (283, 85), "eventfd": (284, None), "fallocate": (285, 47),
    "timerfd_settime": (286, 86), "timerfd_gettime": (287, 87), "accept4": (288, 242), "signalfd4": (289, 74),
    "eventfd2": (290, 19), "epoll_create1": (291, 20), "dup3": (292, 24), "pipe2": (293, 59),
    "inotify_init1": (294, 26), "preadv": (295, 69), "pwritev": (296, 70), "rt_tgsigqueueinfo": (297, 240),
    "perf_event_open": (298, 241), "recvmmsg": (299, 243), "fanotify_init": (300, 262), "fanotify_mark": (301, 263),
    "prlimit64": (302, 261), "name_to_handle_at": (303, 264), "open_by_handle_at": (304, 265),
    "clock_adjtime": (305, 266), "syncfs": (306, 267), "sendmmsg": (307, 269), "setns": (308, 268),
    "getcpu": (309, 168), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271), "kcmp": (312, 272),
    "finit_module": (313, 273), "sched_setattr": (314, 274), "sched_getattr": (315, 275), "renameat2": (316, 276),
    "seccomp": (317, 277), "getrandom": (318, 278), "memfd_create": (319, 279), "kexec_file_load": (320, 294),
    "bpf": (321, 280), "execveat": (322, 281), "userfaultfd": (323, 282), "membarrier": (324, 283),
    "mlock2": (325, 284), "copy_file_range": (326, 285), "preadv2": (327, 286), "pwritev2": (328, 287),
    "pkey_mprotect": (329, 288), "pkey_alloc": (330, 289), "pkey_free": (331, 290), "statx": (332, 291),
    "io_pgetevents": (333, 292), "rseq": (334, 293), "uretprobe": (335, None), "uprobe": (336, None),
    "pidfd_send_signal": (424, 424), "io_uring_setup": (425, 425), "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427), "open_tree": (428, 428), "move_mount": (429, 429), "fsopen": (430, 430),
    "fsconfig": (431, 431), "fsmount": (432, 432), "fspick": (433, 433), "pidfd_open": (434, 434),
    "clone3": (435, 435), "close_range": (436, 436), "openat2": (437, 437), "pidfd_getfd": (438, 438),
    "faccessat2": (439, 439), "process_madvise": (440, 440), "epoll_pwait2": (441, 441), "mount_setattr": (442, 442),
    "quotactl_fd": (443, 443), "landlock_create_ruleset": (444, 444), "landlock_add_rule": (445, 445),
    "landlock_restrict_self": (446, 446), "memfd_secret": (447, 447), "process_mrelease": (448, 448),
    "futex_waitv": (449, 449), "set_mempolicy_home_node": (450, 450), "cachestat": (451, 451),
    "fchmodat2": (452, 452), "map_shadow_stack": (453, 453), "futex_wake": (454, 454), "futex_wait": (455, 455),
    "futex_requeue": (456, 456), "statmount": (457, 457), "listmount": (458, 458), "lsm_get_self_attr": (459, 459),
    "lsm_set_self_attr": (460, 460), "lsm_list_modules": (461, 461), "mseal": (462, 462), "setxattrat": (463, 463),
    "getxattrat": (464, 464), "listxattrat": (465, 465), "removexattrat": (466, 466), "open_tree_attr": (467, 467),
    "file_getattr": (468, 468), "file_setattr": (469, 469), "listns": (470, 470),
}

# Allowed outright, by group (the module docstring says why a Python case needs each).
ALLOWED: dict[str, tuple[str, ...]] = {
    "memory": ("brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "msync", "mincore", "mseal",
               "map_shadow_stack"),
    "descriptors": ("read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2",
                    "pwritev2", "lseek", "close", "close_range", "dup", "dup2", "dup3", "pipe", "pipe2", "fsync",
                    "fdatasync", "sync_file_range", "fallocate", "fadvise64", "readahead", "ftruncate", "sendfile",
                    "copy_file_range", "splice", "tee", "vmsplice", "flock", "fstat", "fstatfs", "getdents",
                    "getdents64"),
    "waiting": ("poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
                "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2"),
    "paths": ("open", "openat", "openat2", "creat", "stat", "lstat", "newfstatat", "statx", "statfs", "access",
              "faccessat", "faccessat2", "readlink", "readlinkat", "getcwd", "chdir", "fchdir", "rename", "renameat",
              "renameat2", "mkdir", "mkdirat", "rmdir", "link", "linkat", "symlink", "symlinkat", "unlink",
              "unlinkat", "umask"),
    "time": ("nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time", "times",
             "getrusage", "getitimer", "setitimer", "alarm", "timer_create", "timer_settime", "timer_gettime",
             "timer_getoverrun", "timer_delete", "timerfd_create", "timerfd_settime", "timerfd_gettime"),
    "threads": ("futex", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue", "set_robust_list",
                "set_tid_address", "rseq", "gettid", "sched_yield", "arch_prctl", "restart_syscall", "exit",
                "exit_group"),
    "own signals": ("rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait",
                    "rt_sigsuspend", "sigaltstack", "pause", "signalfd", "signalfd4"),
    "facts": ("getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
              "getpgrp", "getpgid", "getsid", "uname", "sysinfo", "getrlimit", "getcpu", "getrandom",
              "sched_get_priority_max", "sched_get_priority_min", "wait4", "waitid"),
    "kernel trampolines": ("uretprobe", "uprobe"),
}
# Allowed when every requirement holds, else refused (EPERM).  A requirement is (offset into
# struct seccomp_data, how, values): "in" (the 32-bit word is one of values), "not in", or "masked"
# (values = (mask, wanted): word & mask == wanted).  OWN_PID stands for the case's pid.
OWN_PID = "own pid"
ITSELF = (arg_low_word(0), "in", (0, OWN_PID))  # a pid_t argument 0: the case itself
CHECKED: dict[str, tuple[tuple[int, str, tuple], ...]] = {
    "clone": ((arg_low_word(0), "masked", (CLONE_THREAD | CLONE_NAMESPACES, CLONE_THREAD)),),  # threads only
    "kill": ((arg_low_word(0), "in", (OWN_PID,)),),
    "tkill": ((arg_low_word(0), "in", (OWN_PID,)),),
    "rt_sigqueueinfo": ((arg_low_word(0), "in", (OWN_PID,)),),
    "tgkill": ((arg_low_word(0), "in", (OWN_PID,)),),  # the thread group: the case's threads
    "rt_tgsigqueueinfo": ((arg_low_word(0), "in", (OWN_PID,)),),
    **{name: (ITSELF,) for name in ("sched_setaffinity", "sched_getaffinity", "sched_setscheduler", "sched_setparam",
                                    "sched_setattr", "sched_getscheduler", "sched_getparam", "sched_getattr",
                                    "sched_rr_get_interval")},
    "setpriority": ((arg_low_word(0), "in", (PRIO_PROCESS,)), (arg_low_word(1), "in", (0, OWN_PID))),
    "getpriority": ((arg_low_word(0), "in", (PRIO_PROCESS,)), (arg_low_word(1), "in", (0, OWN_PID))),
    "ioprio_set": ((arg_low_word(0), "in", (IOPRIO_WHO_PROCESS,)), (arg_low_word(1), "in", (0, OWN_PID))),
    "ioprio_get": ((arg_low_word(0), "in", (IOPRIO_WHO_PROCESS,)), (arg_low_word(1), "in", (0, OWN_PID))),
    # prlimit64(pid, resource, new_limit, old_limit): its own, and new_limit NULL (both halves)
    "prlimit64": (ITSELF, (arg_low_word(2), "in", (0,)), (arg_high_word(2), "in", (0,))),
    "ioctl": ((arg_low_word(1), "not in", TTY_INJECTING_IOCTLS + SIGNAL_OWNER_IOCTLS + INODE_ATTRIBUTE_IOCTLS),),
    "fcntl": ((arg_low_word(1), "not in", SIGNAL_OWNER_FCNTLS),),
    "prctl": ((arg_low_word(0), "not in", (PR_SCHED_CORE,)),),
}
# Refused (EPERM), by group (the module docstring says why).
REFUSED: dict[str, tuple[str, ...]] = {
    "network": ("socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "sendto", "recvfrom",
                "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown", "getsockname", "getpeername",
                "setsockopt", "getsockopt"),
    "processes and programs": ("fork", "vfork", "execve", "execveat"),
    "other processes": ("ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_open", "pidfd_getfd",
                        "pidfd_send_signal", "process_madvise", "process_mrelease", "migrate_pages", "move_pages",
                        "get_robust_list"),
    "channels that outlive the case": ("shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semtimedop",
                                       "semctl", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink",
                                       "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr"),
    "file metadata": ("chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat", "utime",
                      "utimes", "utimensat", "futimesat", "setxattr", "lsetxattr", "fsetxattr", "getxattr",
                      "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr",
                      "lremovexattr", "fremovexattr", "setxattrat", "getxattrat", "listxattrat", "removexattrat",
                      "file_getattr", "file_setattr", "truncate"),
    "identity": ("setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
                 "setgroups", "capget", "capset", "setpgid", "setsid", "personality"),
    "mounts and namespaces": ("mount", "umount2", "pivot_root", "chroot", "open_tree", "open_tree_attr",
                              "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "statmount",
                              "listmount", "listns", "unshare", "setns"),
    "the kernel and the machine": (
        "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
        "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents", "add_key",
        "request_key", "keyctl", "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
        "reboot", "swapon", "swapoff", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
        "setdomainname", "quotactl", "quotactl_fd", "syslog", "acct", "vhangup", "sync", "syncfs", "fanotify_init",
        "fanotify_mark", "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "cachestat",
        "mknod", "mknodat", "name_to_handle_at", "open_by_handle_at", "iopl", "ioperm", "modify_ldt",
        "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self", "seccomp", "lsm_get_self_attr",
        "lsm_set_self_attr", "lsm_list_modules", "lookup_dcookie", "ustat", "sysfs"),
    "never implemented on 64-bit kernels": ("uselib", "_sysctl", "create_module", "get_kernel_syms", "query_module",
                                            "nfsservctl", "getpmsg", "putpmsg", "afs_syscall", "tuxcall", "security",
                                            "set_thread_area", "get_thread_area", "epoll_ctl_old", "epoll_wait_old",
                                            "vserver"),
    "memory outside the limits": ("mlock", "munlock", "mlockall", "munlockall", "mlock2", "memfd_create",
                                  "memfd_secret", "mbind", "set_mempolicy", "get_mempolicy",
                                  "set_mempolicy_home_node", "remap_file_pages", "pkey_mprotect", "pkey_alloc",
                                  "pkey_free", "membarrier"),
    "its own limits": ("setrlimit",),
}
ENOSYS_CALLS: tuple[str, ...] = ("clone3",)  # refused with ENOSYS: glibc falls back to clone


class FilterUnavailable(Exception):
    """The filter cannot be installed here (architecture, kernel); the message says why."""


def machine_arch() -> str | None:
    """"x86_64" or "aarch64" when this interpreter runs natively on one of them, else None."""
    machine = os.uname().machine.lower()
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(machine)
    if arch is None or sys.maxsize < 2 ** 32 or sys.byteorder != "little":
        return None  # e.g. a 32-bit interpreter on a 64-bit kernel: other numbers, other arch tag
    return arch


def verdicts() -> dict[str, object]:
    """What the filter does with each system call, by name: "allow", "EPERM", "ENOSYS", or the
    requirements (a tuple, see CHECKED) under which it is allowed."""
    answer: dict[str, object] = {}
    for table, verdict in ((ALLOWED, "allow"), (REFUSED, "EPERM")):
        for names in table.values():
            answer.update(dict.fromkeys(names, verdict))
    answer.update(CHECKED)
    answer.update(dict.fromkeys(ENOSYS_CALLS, "ENOSYS"))
    return answer


def checked_block(requirements: tuple[tuple[int, str, tuple], ...], pid: int) -> list[tuple[int, int, int, int]]:
    """The instructions for one system call with argument checks: allowed if every requirement holds."""
    refuse = (BPF_RET_K, 0, 0, RET_ERRNO | EPERM)
    blocks = []  # per requirement: instructions whose jumps say "next" (the next requirement) or "fail"
    for offset, how, values in requirements:
        values = tuple(pid if value == OWN_PID else value for value in values)
        block = [(BPF_LD_W_ABS, 0, 0, offset)]
        if how == "masked":
            block += [(BPF_AND_K, 0, 0, values[0]), (BPF_JEQ_K, 0, "fail", values[1])]
        elif how == "in":
            block += [(BPF_JEQ_K, "next", 0, value) for value in values[:-1]]
            block += [(BPF_JEQ_K, "next", "fail", values[-1])]
        elif how == "not in":
            block += [(BPF_JEQ_K, "fail", 0, value) for value in values]
        else:
            raise ValueError(f"no such requirement: {how}")
        blocks.append(block)
    size = sum(map(len, blocks))
    program, start = [], 0
    for block in blocks:
        end = start + len(block)  # where the next requirement starts; the allow is at size, the refusal after it
        for index, (code, jump_true, jump_false, k) in enumerate(block, start):
            targets = {"next": end, "fail": size + 1}
            program.append((code, *(targets[jump] - index - 1 if isinstance(jump, str) else jump
                                    for jump in (jump_true, jump_false)), k))
        start = end
    return program + [(BPF_RET_K, 0, 0, RET_ALLOW), refuse]


def number_ranges(arch: str) -> list[tuple[int, object]]:
    """[(first number, verdict)] covering every 32-bit system-call number, in order; consecutive
    numbers with one verdict share a range; a checked call has a range of its own."""
    column = 0 if arch == "x86_64" else 1
    by_number = {numbers[column]: name for name, numbers in SYSCALLS.items() if numbers[column] is not None}
    verdict = verdicts()
    ranges: list[tuple[int, object]] = []
    for number in range(max(by_number) + 1):
        name = by_number.get(number)
        action = "ENOSYS" if name is None else verdict[name] if isinstance(verdict[name], str) else name
        if not ranges or ranges[-1][1] != action or action in CHECKED:
            ranges.append((number, action))
    ranges.append((max(by_number) + 1, "ENOSYS"))  # calls of newer kernels
    if arch == "x86_64":
        ranges.append((X32_SYSCALL_BIT, "EPERM"))  # x32 (and anything above it), refused as a whole
    return ranges


def search_tree(ranges: list[tuple[int, object]], pid: int) -> list[tuple[int, int, int, int]]:
    """A binary search over ``ranges`` with the system-call number in the accumulator."""
    if len(ranges) == 1:
        action = ranges[0][1]
        if action in CHECKED:
            return checked_block(CHECKED[action], pid)
        return [(BPF_RET_K, 0, 0, {"allow": RET_ALLOW, "EPERM": RET_ERRNO | EPERM,
                                  "ENOSYS": RET_ERRNO | ENOSYS}[action])]
    middle = len(ranges) // 2
    below, above = search_tree(ranges[:middle], pid), search_tree(ranges[middle:], pid)
    if len(below) <= MAX_JUMP:
        return [(BPF_JGE_K, len(below), 0, ranges[middle][0])] + below + above
    return [(BPF_JGE_K, 0, 1, ranges[middle][0]), (BPF_JA, 0, 0, len(below))] + below + above


def build_filter(arch: str, pid: int) -> list[tuple[int, int, int, int]]:
    """The BPF program (code, jump-if-true, jump-if-false, k) for ``arch`` and the case process ``pid``."""
    if arch not in AUDIT_ARCH:
        raise FilterUnavailable(f"no system-call table for {arch}")
    if not 0 < pid < 2 ** 31:
        raise ValueError(f"not a process id: {pid}")
    return [(BPF_LD_W_ABS, 0, 0, OFFSET_ARCH),
            (BPF_JEQ_K, 1, 0, AUDIT_ARCH[arch]),
            (BPF_RET_K, 0, 0, RET_KILL_PROCESS),
            (BPF_LD_W_ABS, 0, 0, OFFSET_NR)] + search_tree(number_ranges(arch), pid)


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
