"""Grading a batch on a Dask distributed cluster: ``--executor dask --scheduler ADDRESS`` (README, course staff).

Optional: ``distributed`` is imported only for ``--executor dask``.  Only the
grading moves: the driver (the batch) decides staleness, validates every report
that comes back and writes it with its provenance
(:func:`autograder.batch.workers.finish_report`), exactly as a local run.  A
task carries the submission as bytes (an archive's, or a folder packed by the
driver into a bounded tar, links never followed); on the worker,
:func:`grade_remotely` unpacks it into a scratch folder and runs the SAME worker
process as a local batch, returning its report document.  The repository and
the fixture set must be at the same paths on every worker (checked: code digest,
manifest sha256; a mismatch stops the batch, exit 2, never a student's error).
A dead worker's task is rescheduled by Dask; one that keeps killing workers
(``KilledWorker``) or raises after ``TASK_RETRIES`` retries becomes that
submission's error report without a fixture set (graded again next run).
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import stat
import tarfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from autograder.archives.rules import MiB, ArchiveError, ArchiveLimits, shown_archive
from autograder.archives.extract import extract_archive
from autograder.batch.entries import Batch, Entry, Outcome
from autograder.batch.storage import ScratchArea
from autograder.errors import StorageError, UsageError
from autograder.batch.workers import ROOT, Workers, finish_report, run_worker_process, worker_config
from autograder.config import Config
from autograder.report.model import Report, ReportError, validate_report
from autograder.util.safetext import for_terminal

TASK_RETRIES = 2  # a task that raises is run again this often; a dead worker is Dask's allowed-failures
MAX_PACKED_ENTRIES = 10_000  # files and folders of a folder submission sent to a worker
MAX_PACKED_BYTES = 64 * MiB  # their content
MAX_PACKED_DEPTH = 48  # folders below the submission (the extractor allows 64 in a member's path)
PACKED_LIMITS = ArchiveLimits(max_files=MAX_PACKED_ENTRIES + 1, max_bytes=MAX_PACKED_BYTES + 48 * MiB,
                              max_archive_bytes=MAX_PACKED_BYTES + 48 * MiB, max_header_bytes=48 * MiB)
SKIPPED = ("__pycache__",)
CONNECT_TIMEOUT = "30s"


class PackError(Exception):
    """The submission cannot be sent to a worker (too large, unreadable): it is not graded this run."""


def load_distributed() -> ModuleType:
    """The ``distributed`` package, or UsageError (exit 2) saying how to install it."""
    try:
        import distributed
    except ImportError as error:
        raise UsageError(f"--executor dask needs the optional packages dask and distributed ({error}): "
                         f"pip install -r requirements-dask.txt") from None
    return distributed


@lru_cache(maxsize=1)
def code_digest() -> str:
    """The sha256 of the harness's code (autograder/**/*.py): driver and workers must run the same."""
    digest = hashlib.sha256()
    code = ROOT / "autograder"
    for path in sorted(code.rglob("*.py")):
        digest.update(path.relative_to(code).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def pack_folder(root: Path) -> bytes:
    """A tar (in memory) of the regular files and folders below ``root``; links and special files are
    left out, never followed (as the sandbox's readable copy does); PackError past the limits."""
    buffer = io.BytesIO()
    entries, total = 0, 0
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        pending = [("", 0)]
        while pending:
            relative, depth = pending.pop()
            with os.scandir(root / relative if relative else root) as listing:
                items = sorted(listing, key=lambda item: item.name)
            for item in items:
                if item.name in SKIPPED:
                    continue
                entries += 1
                if entries > MAX_PACKED_ENTRIES:
                    raise PackError(f"more than {MAX_PACKED_ENTRIES} files and folders to send to a Dask worker")
                name = f"{relative}/{item.name}" if relative else item.name
                info = item.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    if depth >= MAX_PACKED_DEPTH:
                        raise PackError(f"folders more than {MAX_PACKED_DEPTH} deep")
                    member = tarfile.TarInfo(name)
                    member.type, member.mode = tarfile.DIRTYPE, 0o755
                    archive.addfile(member)
                    pending.append((name, depth + 1))
                elif stat.S_ISREG(info.st_mode):
                    fd = os.open(item.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                    with os.fdopen(fd, "rb") as handle:
                        data = handle.read(MAX_PACKED_BYTES - total + 1)
                    total += len(data)
                    if total > MAX_PACKED_BYTES:
                        raise PackError(f"more than {MAX_PACKED_BYTES // MiB} MiB to send to a Dask worker")
                    member = tarfile.TarInfo(name)
                    member.size, member.mode = len(data), 0o644
                    archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def payload(entry: Entry, batch: Batch, concurrent: int = 1) -> dict[str, Any]:
    """What a task needs: the submission's bytes and how to grade it.  PackError: it cannot be sent;
    ArchiveError: an archive over the size limit (a submission's error, as in a local run)."""
    data = b""
    try:
        if entry.kind == "folder":
            data = pack_folder(entry.path)
        elif entry.kind == "archive":
            limit = ArchiveLimits().max_archive_bytes
            with os.fdopen(os.open(entry.path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                    raise PackError(f"{shown_archive(entry.path)}: not a regular file")
                data = handle.read(limit + 1)
            if len(data) > limit:
                size = os.stat(entry.path).st_size
                raise ArchiveError(f"{shown_archive(entry.path)}: the archive is {size / MiB:.1f} MiB, more than "
                                   f"the limit of {limit // MiB} MiB")
    except OSError as error:
        raise PackError(f"cannot read the submission to send it to a Dask worker: "
                        f"{for_terminal(str(error))}") from None
    config = worker_config(batch, concurrent)  # concurrent: gradings at once on the worker's host
    return {"name": entry.path.name, "kind": entry.kind, "data": data, "path": str(entry.path.resolve()),
            "config": config.to_argv(), "cases": batch.cases, "manifest_sha256": batch.fixture_set.manifest_sha256,
            "code": code_digest()}


def grade_remotely(task: dict[str, Any]) -> dict[str, Any]:
    """Runs on a Dask worker: unpack the submission, grade it in the worker process, return
    ``{"document": report or None, "reason": why not}`` or ``{"setup_error": ...}``."""
    import socket
    where = f"Dask worker on {socket.gethostname()} (pid {os.getpid()})"
    if task["code"] != code_digest():
        return {"setup_error": f"{where} runs other autograder code than the batch ({ROOT}): "
                               f"every worker needs the same repository at the same path"}
    config = Config.from_argv(task["config"])
    try:
        manifest = hashlib.sha256((config.fixtures / "manifest.json").read_bytes()).hexdigest()
    except OSError as error:
        manifest = f"unreadable ({error})"
    if manifest != task["manifest_sha256"]:
        return {"setup_error": f"{where}: the fixture set at {config.fixtures} is not the batch's "
                               f"(manifest sha256 {manifest[:16]}): every worker needs it at the same path"}
    name = task["name"]
    if "/" in name or name in ("", ".", ".."):
        return {"document": None, "reason": f"unusable entry name {name!r}"}
    try:
        area = ScratchArea()
        try:
            return grade_unpacked(task, config, area)
        finally:
            area.close()
    except StorageError as error:
        return {"setup_error": f"{where}: {error}"}


def grade_unpacked(task: dict[str, Any], config: Config, area: ScratchArea) -> dict[str, Any]:
    entry = area.new_folder() / task["name"]
    kind = task["kind"]
    try:
        if kind == "folder":
            packed = entry.with_name(".packed.tar")
            packed.write_bytes(task["data"])
            extract_archive(packed, entry, PACKED_LIMITS)
        else:
            entry.write_bytes(task["data"])
    except ArchiveError as error:
        return {"document": None, "reason": f"the submission could not be unpacked on the Dask worker: {error}"}
    except OSError as error:
        raise StorageError(f"cannot write in the temporary directory: {error}") from None
    document, reason = run_worker_process(task["name"], entry, kind, config, int(task["cases"]), Workers(),
                                          area.new_folder())
    if document is not None and isinstance(document.get("error"), str):
        document["error"] = document["error"].replace(str(entry), task["path"])  # as a local run names it
    return {"document": document, "reason": reason}


def task_function() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The function a task runs: a local function, so cloudpickle sends it by value and the scheduler
    (which unpickles the task graph) needs only the standard library; the worker imports this module."""
    def grade_on_worker(task: dict[str, Any]) -> dict[str, Any]:
        import importlib
        return importlib.import_module("autograder.batch.dask_executor").grade_remotely(task)  # type: ignore[no-any-return]
    return grade_on_worker


class DaskExecutor(ThreadPoolExecutor):
    """The batch's executor on a Dask cluster: each thread submits one submission's task and waits for it,
    so at most ``max_workers`` submissions' bytes are in flight at once."""

    def __init__(self, batch: Batch) -> None:
        distributed = load_distributed()
        self.killed_worker = distributed.KilledWorker
        self.cluster: Any = None
        scheduler, jobs = batch.scheduler or "local", batch.config.jobs
        try:
            if scheduler == "local":
                self.cluster = distributed.LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                                        host="127.0.0.1", dashboard_address=None,
                                                        silence_logs=logging.ERROR)
                self.client = distributed.Client(self.cluster)
            else:
                self.client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as error:
            if self.cluster is not None:
                self.cluster.close()
            raise UsageError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({error})") from None
        threads = sum(self.client.nthreads().values())
        self.host_threads = busiest_host(self.client)
        self.in_flight: set[Any] = set()
        self.task_function = task_function()
        self.lock = threading.Lock()
        self.closed = False
        super().__init__(max_workers=max(2 * threads, jobs, 1), thread_name_prefix="dask")

    def grade(self, entry: Entry, batch: Batch, workers: Workers) -> Outcome | None:
        """Grade ``entry`` on the cluster; write and return its report (None once the batch is stopping)."""
        started = time.monotonic()
        if workers.stopping:
            return None
        try:
            task = payload(entry, batch, self.host_threads)
        except PackError as error:
            return finish_report(entry, batch, None, str(error), started)
        except ArchiveError as error:
            failed = Report.failed(entry.path.resolve(), batch.rubric, str(error), batch.fixture_set)
            return finish_report(entry, batch, failed.to_dict(), None, started)
        future = self.client.submit(self.task_function, task, key=f"grade-{uuid.uuid4().hex}", pure=False,
                                    retries=TASK_RETRIES)
        del task
        with self.lock:
            self.in_flight.add(future)
        try:
            result = future.result()
        except self.killed_worker as error:
            result = {"document": None, "reason": f"every Dask worker that graded it died ({error})"}
        except Exception as error:
            if workers.stopping:
                return None
            if isinstance(error, ImportError) or "deserializ" in str(error):
                raise UsageError(f"a Dask worker cannot load the grading task ({type(error).__name__}): start "
                                 f"every worker with PYTHONPATH={ROOT} (the repository, at the same path on "
                                 f"every host)") from None
            result = {"document": None, "reason": f"the Dask task failed {TASK_RETRIES + 1} times "
                                                  f"({type(error).__name__}: {error})"}
        finally:
            with self.lock:
                self.in_flight.discard(future)
            future.release()  # the driver has it: a worker dying later must not recompute it
        if workers.stopping:
            return None
        if "setup_error" in result:
            raise UsageError(f"the Dask cluster cannot grade: {result['setup_error']}")
        return finish_report(entry, batch, *checked(result, batch), started)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if cancel_futures:
            with self.lock:
                running = list(self.in_flight)
            try:
                self.client.cancel(running)
            except Exception:  # the cluster may be gone already: the batch is stopping anyway
                pass
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        if wait and not self.closed:
            self.closed = True
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()


def busiest_host(client: Any) -> int:
    """The most worker threads of the cluster on one host (each runs a grading at once): how many
    gradings share a host's CPUs, which a worker needs for its cases' wall-clock backstop.  Read once,
    when the batch starts; at least 1."""
    per_host: dict[str, int] = {}
    try:
        workers = client.scheduler_info().get("workers", {})
        for address, worker in workers.items():
            host = str(worker.get("host") or address)
            per_host[host] = per_host.get(host, 0) + int(worker.get("nthreads") or 1)
    except Exception:  # an older scheduler's answer: the threads of the whole cluster bound it
        return max(1, sum(client.nthreads().values()))
    return max(per_host.values(), default=1)


def checked(result: dict[str, Any], batch: Batch) -> tuple[dict[str, Any] | None, str | None]:
    """The report a worker sent, validated again here (and graded against this fixture set), or why not."""
    document, reason = result.get("document"), result.get("reason")
    if document is None:
        return None, str(reason or "the Dask worker returned no report")
    try:
        validate_report(document)
    except ReportError as error:
        return None, f"the Dask worker returned an invalid report ({error})"
    graded_with = document["fixture_set"].get("id")
    if graded_with not in (None, batch.fixture_set.id):
        raise UsageError(f"the Dask cluster cannot grade: a worker graded with fixture set {graded_with}, "
                         f"not {batch.fixture_set.id}")
    return document, None
