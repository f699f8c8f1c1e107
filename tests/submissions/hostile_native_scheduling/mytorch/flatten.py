# HOSTILE: the scheduling of other processes, after switching the audit hook off with native code
# (mytorch/_hook_off.py, which tests/test_sandbox_native.py copies in from
# tests/submissions/_hook_off.py).  The target is a process the test started as the case's own
# user (under a root grader, uid 65534: a classmate's concurrent case; otherwise the grader's
# user), and the fork server (getppid()) and init too (unless the case is in a PID namespace of its
# own, where they are not what they seem): priorities, of the process group and the
# user too (one_dimensional), CPU affinity and scheduling policy (two_dimensional), I/O priority
# and resource limits (batch1_channel1).  Each case first makes the same kind of calls on
# itself, which must work (os.nice, os.sched_getaffinity(0)... are legitimate), then tries every
# call on the others and reports what the kernel answered.  The right answer follows, so only
# the refused calls cost points.

"""Flatten every axis but the batch axis."""

import os

from . import _hook_off as native
from .tensor import flatten, reshape, shape

PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2
IOPRIO_WHO_PROCESS, IOPRIO_WHO_PGRP, IOPRIO_WHO_USER = 1, 2, 3
IOPRIO_IDLE, IOPRIO_BE_LOWEST = 3 << 13, (2 << 13) | 7
SCHED_IDLE, RLIMIT_NOFILE = 5, 7


def _case(A):
    """Which fixture case of the Flatten item is running (the hostile behaviour differs per case)."""
    if len(shape(A)) == 4:
        return "two_dimensional"
    return "batch1_channel1" if len(A) == 1 and len(A[0]) == 1 else "one_dimensional"


def _buffers():
    ctypes, _ = native.switch_off()
    one_cpu = (ctypes.c_uint64 * 16)(1)  # CPU 0 only
    attributes = (ctypes.c_uint32 * 14)(56, SCHED_IDLE)  # struct sched_attr: size, policy
    return {"cpus": ctypes.byref(one_cpu), "any": ctypes.byref((ctypes.c_uint64 * 16)()),
            "param": ctypes.byref(ctypes.c_int(0)), "attributes": ctypes.byref(attributes),
            "time": ctypes.byref((ctypes.c_long * 2)()), "limit": ctypes.byref((ctypes.c_uint64 * 2)(8, 8)),
            "old": ctypes.byref((ctypes.c_uint64 * 2)())}


def _on_itself(buffers):
    """The calls a case may make on itself (pid 0 or its own pid): every one must work."""
    me = os.getpid()
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    calls = [("os.nice(0)", lambda: os.nice(0)),
             ("setpriority(itself)", lambda: native.raw("setpriority", PRIO_PROCESS, 0, nice)),
             ("setpriority(own pid)", lambda: native.raw("setpriority", PRIO_PROCESS, me, nice)),
             ("getpriority(own pid)", lambda: native.raw("getpriority", PRIO_PROCESS, me)),
             ("os.sched_setaffinity(0)", lambda: os.sched_setaffinity(0, os.sched_getaffinity(0))),
             ("sched_getaffinity(own pid)", lambda: native.raw("sched_getaffinity", me, 128, buffers["any"])),
             ("os.sched_getscheduler(0)", lambda: os.sched_getscheduler(0)),
             ("os.sched_getparam(own pid)", lambda: os.sched_getparam(me)),
             ("os.sched_rr_get_interval(0)", lambda: os.sched_rr_get_interval(0)),
             ("ioprio_set(itself)", lambda: native.raw("ioprio_set", IOPRIO_WHO_PROCESS, 0, IOPRIO_BE_LOWEST)),
             ("ioprio_get(own pid)", lambda: native.raw("ioprio_get", IOPRIO_WHO_PROCESS, me)),
             ("prlimit64(own pid, read)", lambda: native.raw("prlimit64", me, RLIMIT_NOFILE, None, buffers["old"]))]
    for label, call in calls:
        try:
            call()
        except OSError as error:
            raise RuntimeError(f"{native.MARK}, the kernel refused {label} on the case itself: {error}") from None


def _on_others(case, buffers):
    """(label, system call, arguments) this case tries on other processes, in order: the target first,
    then the fork server (getppid()) and init, unless one of them is the case itself (in a PID
    namespace of its own, the case is 1 and its parent 0)."""
    target, me = int(native.noted("target")), os.getpid()
    others = [(name, pid) for name, pid in (("server", os.getppid()), ("init", 1)) if pid not in (0, me)]
    if case == "one_dimensional":
        return [("setpriority(target)", "setpriority", (PRIO_PROCESS, target, 19)),
                ("getpriority(target)", "getpriority", (PRIO_PROCESS, target)),
                ("setpriority(PRIO_PGRP)", "setpriority", (PRIO_PGRP, 0, 19)),
                ("setpriority(PRIO_USER)", "setpriority", (PRIO_USER, 0, 19)),
                ("getpriority(PRIO_USER)", "getpriority", (PRIO_USER, 0))] + [
                (f"setpriority({name})", "setpriority", (PRIO_PROCESS, pid, 19)) for name, pid in others]
    if case == "two_dimensional":
        return [("sched_setaffinity(target)", "sched_setaffinity", (target, 128, buffers["cpus"])),
                ("sched_getaffinity(target)", "sched_getaffinity", (target, 128, buffers["any"])),
                ("sched_setscheduler(target)", "sched_setscheduler", (target, SCHED_IDLE, buffers["param"])),
                ("sched_setparam(target)", "sched_setparam", (target, buffers["param"])),
                ("sched_setattr(target)", "sched_setattr", (target, buffers["attributes"], 0)),
                ("sched_getscheduler(target)", "sched_getscheduler", (target,)),
                ("sched_getparam(target)", "sched_getparam", (target, buffers["param"])),
                ("sched_getattr(target)", "sched_getattr", (target, buffers["attributes"], 56, 0)),
                ("sched_rr_get_interval(target)", "sched_rr_get_interval", (target, buffers["time"]))] + [
                (f"sched_setaffinity({name})", "sched_setaffinity", (pid, 128, buffers["cpus"]))
                for name, pid in others]
    return [("ioprio_set(target)", "ioprio_set", (IOPRIO_WHO_PROCESS, target, IOPRIO_IDLE)),
            ("ioprio_get(target)", "ioprio_get", (IOPRIO_WHO_PROCESS, target)),
            ("ioprio_set(IOPRIO_WHO_PGRP)", "ioprio_set", (IOPRIO_WHO_PGRP, 0, IOPRIO_IDLE)),
            ("ioprio_set(IOPRIO_WHO_USER)", "ioprio_set", (IOPRIO_WHO_USER, os.getuid(), IOPRIO_IDLE)),
            ("prlimit64(target, write)", "prlimit64", (target, RLIMIT_NOFILE, buffers["limit"], None)),
            ("prlimit64(target, read)", "prlimit64", (target, RLIMIT_NOFILE, None, buffers["old"]))] + [
            (f"{call}({name})", call, args) for name, pid in others
            for call, args in (("ioprio_set", (IOPRIO_WHO_PROCESS, pid, IOPRIO_IDLE)),
                               ("prlimit64", (pid, RLIMIT_NOFILE, None, buffers["old"])))]


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        buffers = _buffers()
        _on_itself(buffers)
        native.refusals([(label, lambda name=name, args=args: native.raw(name, *args))
                         for label, name, args in _on_others(_case(A), buffers)])
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
