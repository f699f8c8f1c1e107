"""Windows: a job object per spawned case process (the portable backend's kill and limits there).

A job is what a process group is on POSIX, and more: every process the case starts is in
it, ``terminate`` ends them all, and closing the grader's last handle (the grader exiting,
even killed) ends them too (KILL_ON_JOB_CLOSE).  It also bounds the case's memory and
allows it one process, as RLIMIT_AS and RLIMIT_NPROC do on POSIX.

Imported only on Windows (``autograder.sandbox.spawned``), in the grader's process, never
in a case.  Best effort: if the system refuses any step, the case runs without the job and
is killed as a single process, which the report's header already says is not defended
against native code.
"""
from __future__ import annotations

import ctypes
import subprocess
from ctypes import wintypes
from typing import Any

JOB_OBJECT_LIMIT_ACTIVE_PROCESS = 0x0008
JOB_OBJECT_LIMIT_PROCESS_MEMORY = 0x0100
JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION = 0x0400
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS = 9


class IO_COUNTERS(ctypes.Structure):
    _fields_ = [(name, ctypes.c_ulonglong) for name in
                ("ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
                 "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]


class JOBOBJECT_BASIC_LIMIT_INFORMATION(ctypes.Structure):
    _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                ("LimitFlags", wintypes.DWORD), ("MinimumWorkingSetSize", ctypes.c_size_t),
                ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", wintypes.DWORD),
                ("Affinity", ctypes.c_size_t), ("PriorityClass", wintypes.DWORD),
                ("SchedulingClass", wintypes.DWORD)]


class JOBOBJECT_EXTENDED_LIMIT_INFORMATION(ctypes.Structure):
    _fields_ = [("BasicLimitInformation", JOBOBJECT_BASIC_LIMIT_INFORMATION), ("IoInfo", IO_COUNTERS),
                ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]


def kernel32() -> Any:
    library = ctypes.WinDLL("kernel32", use_last_error=True)
    library.CreateJobObjectW.restype = wintypes.HANDLE
    library.CreateJobObjectW.argtypes = (ctypes.c_void_p, wintypes.LPCWSTR)
    library.SetInformationJobObject.restype = wintypes.BOOL
    library.SetInformationJobObject.argtypes = (wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD)
    library.AssignProcessToJobObject.restype = wintypes.BOOL
    library.AssignProcessToJobObject.argtypes = (wintypes.HANDLE, wintypes.HANDLE)
    library.TerminateJobObject.restype = wintypes.BOOL
    library.TerminateJobObject.argtypes = (wintypes.HANDLE, wintypes.UINT)
    library.CloseHandle.restype = wintypes.BOOL
    library.CloseHandle.argtypes = (wintypes.HANDLE,)
    return library


class Job:
    """A job object holding one case process (and anything it starts)."""

    def __init__(self, library: Any, handle: int) -> None:
        self.library, self.handle = library, handle

    def set_limits(self, memory: int = 0) -> bool:
        """Kill on close, one process; ``memory`` bytes per process if not 0.  False if refused."""
        info = JOBOBJECT_EXTENDED_LIMIT_INFORMATION()
        flags = (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_ACTIVE_PROCESS
                 | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION)
        info.BasicLimitInformation.ActiveProcessLimit = 1
        if memory:
            flags |= JOB_OBJECT_LIMIT_PROCESS_MEMORY
            info.ProcessMemoryLimit = memory
        info.BasicLimitInformation.LimitFlags = flags
        return bool(self.library.SetInformationJobObject(self.handle, JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS,
                                                         ctypes.byref(info), ctypes.sizeof(info)))

    def limit(self, limits: dict[str, int]) -> bool:
        """The case's own limits, once its request is known (its memory as RLIMIT_AS would be); False if refused."""
        return self.set_limits(int(limits.get("address_space", 0)))

    def terminate(self) -> None:
        if self.handle:
            self.library.TerminateJobObject(self.handle, 1)

    def close(self) -> None:
        if self.handle:
            self.library.CloseHandle(self.handle)
            self.handle = 0


def contain(process: subprocess.Popen[bytes]) -> Job | None:
    """``process`` (just started, not yet given its request) in a job of its own; None if refused."""
    try:
        library = kernel32()
        handle = library.CreateJobObjectW(None, None)
        if not handle:
            return None
        job = Job(library, handle)
        if not (job.set_limits() and library.AssignProcessToJobObject(handle, int(process._handle))):
            job.close()
            return None
        return job
    except (OSError, AttributeError, ValueError):
        return None
