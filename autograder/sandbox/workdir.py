"""A case's working folder and the one file the grader reads back from it, ``.output``.

Threat model: the case controls its working folder.  So the grader reads back only
``.output``, a file it created itself, never following a link, only if it is still that
same regular file with one link, without blocking and at most OUTPUT_HEAD_BYTES.  Where
the system opens folders (POSIX), every access is relative to a descriptor of the folder
opened before the case ran; elsewhere (Windows) by path, with the same identity checks
before and after opening.

Every case's folder lies in the grader's own run folder (run_folders.grading_folder): removed
with it when the grader ends, and by the next grader's first case if this one was killed.
"""
from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass

from autograder.sandbox.messages import clean_text
from autograder.sandbox.run_folders import grading_folder, remove_tree

OUTPUT_HEAD_BYTES = 4000
OUTPUT_NAME = ".output"
CASE_PREFIX = "mytorch-case-"
DIR_FD = hasattr(os, "O_DIRECTORY") and os.open in os.supports_dir_fd and os.stat in os.supports_dir_fd


def flags(*names: str) -> int:
    """The ``os.O_*`` flags of ``names`` that this system has (O_NOFOLLOW, O_CLOEXEC... are POSIX's;
    O_BINARY is Windows')."""
    value = 0
    for name in names:
        value |= getattr(os, name, 0)
    return value


@dataclass
class Workdir:
    """A case's working folder, held open, and the identity of the output file the grader made in it."""
    path: str
    fd: int | None  # the folder, held open (None where folders cannot be opened: paths are used)
    output: tuple[int, int]  # (st_dev, st_ino) of .output

    @classmethod
    def create(cls, user: dict[str, int] | None) -> Workdir:
        """A fresh folder (owned by ``user`` if any) holding an empty ``.output`` only the grader made."""
        path = tempfile.mkdtemp(prefix=CASE_PREFIX, dir=grading_folder())
        fd = os.open(path, flags("O_RDONLY", "O_DIRECTORY", "O_NOFOLLOW", "O_CLOEXEC")) if DIR_FD else None
        try:
            output = os.open(OUTPUT_NAME if DIR_FD else os.path.join(path, OUTPUT_NAME),
                             flags("O_WRONLY", "O_CREAT", "O_EXCL", "O_NOFOLLOW", "O_CLOEXEC", "O_BINARY"),
                             0o600, **({"dir_fd": fd} if DIR_FD else {}))
            status = os.fstat(output)
            os.close(output)
            if user is not None:
                os.chown(path if fd is None else fd, user["uid"], user["gid"])  # .output stays the grader's
        except BaseException:
            if fd is not None:
                os.close(fd)
            remove_tree(path)
            raise
        return cls(path, fd, (status.st_dev, status.st_ino))

    def read_output_head(self) -> str:
        """The first OUTPUT_HEAD_BYTES of what the case printed, or a note if .output is not ours any more.

        Validate, then read: never through a link (O_NOFOLLOW, relative to the folder opened
        before the case ran), never a fifo or device (checked before opening, O_NONBLOCK in
        case it changes in between), only the very file created above (same device and inode)
        with no second name, and a bounded read.
        """
        where = {"dir_fd": self.fd} if self.fd is not None else {}
        name = OUTPUT_NAME if self.fd is not None else os.path.join(self.path, OUTPUT_NAME)
        try:
            before = os.stat(name, follow_symlinks=False, **where)
        except OSError:
            return "(the case removed its output file)"
        if not self.is_ours(before):
            return "(the case replaced its output file: not shown)"
        try:
            fd = os.open(name, flags("O_RDONLY", "O_NOFOLLOW", "O_NONBLOCK", "O_NOCTTY", "O_CLOEXEC", "O_BINARY"),
                         **where)
        except OSError:
            return "(the case replaced its output file: not shown)"
        try:
            status = os.fstat(fd)
            if not self.is_ours(status):
                return "(the case replaced its output file: not shown)"
            head = os.read(fd, OUTPUT_HEAD_BYTES + 1)
        except OSError:
            return ""
        finally:
            os.close(fd)
        text = clean_text(head[:OUTPUT_HEAD_BYTES].decode("utf-8", "replace"))
        if len(head) <= OUTPUT_HEAD_BYTES:
            return text
        hidden = max(status.st_size - OUTPUT_HEAD_BYTES, 1)
        return f"{text}\n... (output truncated: {hidden:,} more bytes not shown)"

    def is_ours(self, status: os.stat_result) -> bool:
        return (stat.S_ISREG(status.st_mode) and (status.st_dev, status.st_ino) == self.output
                and status.st_nlink == 1)

    def remove(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
        remove_tree(self.path)

