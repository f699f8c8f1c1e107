"""SIGTERM and SIGHUP handled like Ctrl-C by the runner and the batch.

A grader stopped by a signal (a platform's time limit, ``kill``, a closed terminal) must
stop as it does on Ctrl-C: every fork server and case process killed at once, one line
saying why, and the exit code a shell gives a process that signal ended (128 + its number:
130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).  In the main thread, while :func:`raising` is in
force, each of these signals raises :class:`Stopped`, a KeyboardInterrupt, so every place
that already handles Ctrl-C handles them too.  A grader that cannot handle anything
(``kill -9``) is covered by its fork servers and case processes themselves (README,
security model).
"""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Stopped(KeyboardInterrupt):
    """One of STOP_SIGNALS arrived (``signum``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal that stopped the grader (Ctrl-C: SIGINT)."""
    return 128 + int(getattr(interrupt, "signum", signal.SIGINT))


def describe(interrupt: KeyboardInterrupt) -> str:
    """"interrupted" (Ctrl-C) or "terminated by SIGTERM" (or SIGHUP)."""
    signum = getattr(interrupt, "signum", None)
    return "interrupted" if signum is None else f"terminated by {signal.Signals(signum).name}"


@contextlib.contextmanager
def raising() -> Iterator[None]:
    """While the block runs, each of STOP_SIGNALS raises Stopped in the main thread; only the first
    one does (a second signal while the grader stops is ignored).  Outside the main thread (where
    handlers cannot be set), nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = []

    def stop(signum: int, frame: object) -> None:
        if not stopping:
            stopping.append(signum)
            raise Stopped(signum)

    previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
