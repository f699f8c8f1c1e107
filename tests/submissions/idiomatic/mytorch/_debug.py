"""Debug log of the training loop: records are kept in memory and printed only when asked.

On my machine I call ``show_debug_log()`` after a run (or ``python -m mytorch._debug`` to
check the set-up); otherwise the records stay in a bounded buffer and nothing is printed.
Each run notes who ran it, where, and how many cores it had, to compare timings between the
lab machines and my laptop; ``fetch_reference`` downloads the reference outputs the TAs post.
"""

import asyncio
import getpass
import http.client
import logging
import logging.config
import logging.handlers
import multiprocessing
import os
import socket
import sys
import urllib.request
from collections.abc import Callable
from functools import wraps
from typing import Any, TextIO
from unittest import mock

try:
    import pwd  # POSIX only
except ImportError:
    pwd = None

logging.config.dictConfig({
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"short": {"format": "%(name)s %(levelname)s: %(message)s"}},
    "loggers": {"mytorch": {"level": "DEBUG", "propagate": False}},
})
log = logging.getLogger("mytorch")
# the last records (up to 1000) wait here; a full buffer is dropped until show_debug_log() gives a target
_buffer = logging.handlers.MemoryHandler(capacity=1000, flushLevel=logging.CRITICAL + 1,
                                         target=logging.NullHandler())
log.addHandler(_buffer)

CORES = multiprocessing.cpu_count()
USER = getpass.getuser()
HOME = pwd.getpwuid(os.getuid()).pw_dir if pwd is not None else os.path.expanduser("~")
log.debug("mytorch loaded by %s (home %s) with %d cores", USER, HOME, CORES)


def traced(method: Callable[..., Any]) -> Callable[..., Any]:
    """Log each call of ``method`` (a coroutine function stays one)."""
    if asyncio.iscoroutinefunction(method):
        @wraps(method)
        async def traced_coroutine(*args: Any, **kwargs: Any) -> Any:
            log.debug("await %s", method.__qualname__)
            return await method(*args, **kwargs)
        return traced_coroutine

    @wraps(method)
    def traced_call(*args: Any, **kwargs: Any) -> Any:
        log.debug("call %s", method.__qualname__)
        return method(*args, **kwargs)
    return traced_call


def show_debug_log(stream: TextIO = sys.stderr) -> None:
    """Print the buffered records (and keep printing new ones) on ``stream``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(f"[{socket.gethostname()}] %(name)s: %(message)s"))
    _buffer.setTarget(handler)
    _buffer.flushLevel = logging.DEBUG
    _buffer.flush()


def fetch_reference(url: str, timeout: float = 10.0) -> bytes:
    """The reference outputs posted at ``url`` (a JSON file), to compare with mine locally."""
    response: http.client.HTTPResponse
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def self_check() -> None:
    """The log buffers without printing until show_debug_log() is called."""
    stream = mock.Mock(spec=TextIO)
    log.debug("self check")
    stream.write.assert_not_called()
    show_debug_log(stream)
    assert stream.write.called


if __name__ == "__main__":
    self_check()
