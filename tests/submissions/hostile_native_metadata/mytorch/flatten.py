# HOSTILE: file metadata, which Landlock does not cover, after switching the audit hook off with
# native code (mytorch/_hook_off.py, which tests/test_sandbox_native.py copies in from
# tests/submissions/_hook_off.py): the modes, owners, times and extended attributes of, and
# truncating by path, the case's own file in its working folder (one_dimensional: only the
# kernel's seccomp filter can refuse these, whoever runs the case), a mode-600 file of the
# grader outside the working folder (two_dimensional: under a non-root grader, it became 644)
# and a classmate's submission folder (batch1_channel1: it became 000, so its owner scored 0).
# Each case tries every call and reports what the kernel answered.  The right answer follows,
# so only the refused calls cost points.

"""Flatten every axis but the batch axis."""

import os

from . import _hook_off as native
from .tensor import flatten, reshape, shape

AT_FDCWD = -100
NAME = b"user.mytorch"
FS_IOC_GETFLAGS, FS_IOC_SETFLAGS = 0x80086601, 0x40086602  # chattr


def _case(A):
    """Which fixture case of the Flatten item is running (the hostile behaviour differs per case)."""
    if len(shape(A)) == 4:
        return "two_dimensional"
    return "batch1_channel1" if len(A) == 1 and len(A[0]) == 1 else "one_dimensional"


def _flags(fd):
    """A pointer to ``fd``'s inode flags (chattr's), to set them back as they are (0 where the file system
    has none)."""
    ctypes, _ = native.switch_off()
    flags = ctypes.c_long(0)
    try:
        native.raw("ioctl", fd, FS_IOC_GETFLAGS, ctypes.byref(flags))
    except OSError:
        pass
    return ctypes.byref(flags)


def _calls(case):
    """(label, system call, arguments) this case tries, in order (the label is the call's name but for ioctl)."""
    uid, gid = os.getuid(), os.getgid()
    if case == "one_dimensional":
        own = native.own_file("own.txt").encode()
        fd = os.open(own, os.O_RDWR)
        calls = [("chmod", (own, 0o777)), ("fchmod", (fd, 0o777)), ("fchmodat", (AT_FDCWD, own, 0o777, 0)),
                 ("fchmodat2", (AT_FDCWD, own, 0o777, 0)), ("chown", (own, uid, gid)), ("fchown", (fd, uid, gid)),
                 ("lchown", (own, uid, gid)), ("fchownat", (AT_FDCWD, own, uid, gid, 0)), ("utime", (own, None)),
                 ("utimes", (own, None)), ("utimensat", (AT_FDCWD, own, None, 0)), ("futimesat", (AT_FDCWD, own, None)),
                 ("setxattr", (own, NAME, b"1", 1, 0)), ("lsetxattr", (own, NAME, b"1", 1, 0)),
                 ("fsetxattr", (fd, NAME, b"1", 1, 0)), ("removexattr", (own, NAME)), ("truncate", (own, 0)),
                 ("ioctl(FS_IOC_SETFLAGS)", "ioctl", (fd, FS_IOC_SETFLAGS, _flags(fd)))]
    elif case == "two_dimensional":
        target = native.noted("grader_file").encode()
        calls = [("chmod", (target, 0o644)), ("fchmodat", (AT_FDCWD, target, 0o644, 0)), ("chown", (target, uid, gid)),
                 ("fchownat", (AT_FDCWD, target, uid, gid, 0)), ("utimensat", (AT_FDCWD, target, None, 0)),
                 ("setxattr", (target, NAME, b"1", 1, 0)), ("truncate", (target, 0))]
    else:
        folder = native.noted("classmate").encode()
        calls = [("chmod", (folder, 0)), ("fchmodat", (AT_FDCWD, folder, 0, 0)), ("utimes", (folder, None)),
                 ("utimensat", (AT_FDCWD, folder, None, 0))]
    return [call if len(call) == 3 else (call[0], *call) for call in calls]


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        native.switch_off()
        native.refusals([(label, lambda name=name, args=args: native.raw(name, *args))
                         for label, name, args in _calls(_case(A)) if native.available(name)])
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
