# HOSTILE: leaves a process behind: a child in a new session (setsid) that sleeps for minutes,
# whose parent (the case) then ends, so it is orphaned.  os.fork is refused by the audit hook,
# so it loads the standard library's _posixsubprocess under another name and calls fork_exec
# with a preexec_fn that never returns (no exec needed).  Every case prints "UID <uid>" and
# "SLEEPER <pid>" for each process it started, then raises: the Flatten item is lost either way.

"""Flatten every axis but the batch axis."""

import os
import sys
import time

from .tensor import flatten, reshape, shape

SLEEP_SECONDS = 300


def _fork_exec():
    """_posixsubprocess.fork_exec, loaded from lib-dynload under a name the import guard does not know."""
    import importlib.util
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith("_posixsubprocess") and name.endswith(".so"):
                spec = importlib.util.spec_from_file_location("hostile._posixsubprocess",
                                                              os.path.join(folder, name))
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return module.fork_exec
    raise RuntimeError("hostile: no _posixsubprocess extension found")


def _sleep_forever():
    print(f"SLEEPER {os.getpid()}", flush=True)
    time.sleep(SLEEP_SECONDS)
    os._exit(0)


def _start_sleeper():
    fork_exec = _fork_exec()
    read_fd, write_fd = os.pipe()  # fork_exec's error pipe
    # args, executable_list, close_fds, pass_fds, cwd, env, p2cread, p2cwrite, c2pread, c2pwrite,
    # errread, errwrite, errpipe_read, errpipe_write, restore_signals, call_setsid, pgid_to_set,
    # gid, extra_groups, uid, child_umask, preexec_fn (, allow_vfork on 3.11)
    args = [[b"/nonexistent"], [b"/nonexistent"], False, (), None, None, -1, -1, -1, -1, -1, -1,
            read_fd, write_fd, False, True, -1, None, None, None, -1, _sleep_forever]
    try:
        pid = fork_exec(*args, False)
    except TypeError:
        pid = fork_exec(*args)
    os.close(write_fd)
    return pid


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        print(f"UID {os.getuid()}", flush=True)
        pid = _start_sleeper()
        print(f"SLEEPER {pid}", flush=True)
        time.sleep(0.2)  # let the sleeper print too
        raise RuntimeError(f"hostile: left the sleeper {pid} behind")

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
