# HOSTILE: fills the disk a file at a time: RLIMIT_FSIZE limits each file, not how many there
# are.  Every case tries to create 64 files of 1 MiB in its working folder, plus files in new
# folders, files opened with O_TMPFILE (no name) and files unlinked while still open, then
# raises with the count it managed ("created N files"): the Flatten item is lost either way.

"""Flatten every axis but the batch axis."""

import os

from .tensor import flatten, reshape, shape

FILES = 64
MiB = b"x" * (1024 * 1024)


def _try(action):
    try:
        action()
        return 1
    except OSError:
        return 0


def _write_new(path, keep_open=False):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, MiB)
    if keep_open:
        os.unlink(path)  # space stays in use while the descriptor is open
        _kept.append(fd)
    else:
        os.close(fd)


def _tmpfile():
    fd = os.open(".", os.O_WRONLY | getattr(os, "O_TMPFILE", 0), 0o600)
    os.write(fd, MiB)
    _kept.append(fd)


_kept = []


def _in_folder(index):
    os.mkdir(f"folder{index}")
    _write_new(f"folder{index}/file")


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        created = sum(_try(lambda i=i: _write_new(f"fill{i}")) for i in range(FILES))
        created += sum(_try(lambda i=i: _write_new(f"gone{i}", keep_open=True)) for i in range(8))
        created += sum(_try(_tmpfile) for _ in range(8))
        created += sum(_try(lambda i=i: _in_folder(i)) for i in range(8))
        raise RuntimeError(f"hostile disk filler: created {created} files")

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
