"""Run a script as on a system without fork and the POSIX-only modules (as on Windows), on this one.

    python tests/no_posix.py runner.py --submission DIR ...

In this process and in every case process the portable sandbox backend spawns, importing
``fcntl``, ``resource``, ``termios``, ``pwd`` or ``grp`` fails as a missing module does, and
``os.fork`` is gone, with the other functions and flags of ``os`` that Windows lacks (REMOVED):
no uid (so no switch to another user, as root too), no process groups, no folder descriptors.
The script then runs as ``__main__``.  Used by
tests/e2e/test_sandbox_spawned.py: the grader must choose the portable backend here by itself and
grade exactly as it does with everything present.
"""
import os
import runpy
import sys

BLOCKED = ("fcntl", "resource", "termios", "pwd", "grp")
# What os has on POSIX but not on Windows (fchmod: not before 3.13), as far as the grader could touch it.
# O_NONBLOCK stays: shutil.rmtree uses it on POSIX, where this runs.
REMOVED = ("fork", "forkpty", "geteuid", "getuid", "getgid", "getegid", "fchmod", "fchown", "chown", "killpg",
           "getpgid", "setsid", "pidfd_open", "wait3", "wait4", "O_NOFOLLOW", "O_CLOEXEC", "O_NOCTTY", "O_DIRECTORY",
           "O_PATH")

# Run first in this process and in each case process (prepended to the portable backend's BOOT).
SHIM = f"""
import os as _os, sys as _sys
class _NoPosix:
    BLOCKED = {BLOCKED!r}
    def find_spec(self, name, path=None, target=None):
        if name in self.BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
for _name in _NoPosix.BLOCKED:
    _sys.modules.pop(_name, None)
_sys.meta_path.insert(0, _NoPosix())
for _name in {REMOVED!r}:
    if hasattr(_os, _name):
        delattr(_os, _name)
del _os, _sys, _name, _NoPosix
"""

if __name__ == "__main__":
    exec(SHIM)
    sys.argv = sys.argv[1:]
    sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))  # the script's folder, as python puts it for a script
    from autograder.sandbox import spawned
    spawned.BOOT = SHIM + spawned.BOOT
    runpy.run_path(sys.argv[0], run_name="__main__")
