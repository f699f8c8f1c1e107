"""How many jobs this machine can really run: the CPUs and the memory this process may use.

``os.cpu_count()`` is the host's core count, also in a container limited to half a CPU.
What a grading may really use is the smallest of:

- the CPU affinity (``os.sched_getaffinity``, where the system has it: taskset, cpusets);
- the cgroup CPU quota of this process's own cgroup and of every cgroup above it (the
  smallest wins): cgroup v2 ``cpu.max`` (``"50000 100000"``: 0.5 CPU; ``"max ..."``: none),
  cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (-1: none).  The cgroups are found
  through ``/proc/self/cgroup`` and the mounts in ``/proc/self/mountinfo``;
- memory: ``jobs`` jobs of ``job_memory`` each, beside ``base_memory`` for the grading
  process itself, must fit within the cgroup's memory limit (v2 ``memory.max``, v1
  ``memory.limit_in_bytes``, the smallest on the way up) or, without one, the machine's
  memory (``MemTotal``).

Jobs = max(1, min(floor(CPUs), memory's share)).  :class:`Capacity` says what was found and
why (``"2 CPUs (cgroup quota 0.5 CPU → 1 job)"``), for ``--help`` and the report header.
Every file is read at most once per process (``available`` is cached); anything missing or
unreadable counts as no limit (a system without /proc or cgroups: the affinity or
``os.cpu_count()``).

The memory figures (README, Performance) were measured with the runner and the batch in a
cgroup v1 memory controller (``memory.max_usage_in_bytes``, complete solution, 2-core machine):
``runner.py --jobs 1/2/4/8`` peaks at 43/50/71/109 MB, about 33 MB for the grader and 10 MB
per job (a fork server and its case); ``runner.py batch --jobs 1/2/4`` at 74/115/204 MB, about
31 MB for the batch and 43 MB per worker (a grader, its fork server and its case).  The
figures below keep room for solutions less frugal than the complete one.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

MiB = 1024 * 1024
JOB_MEMORY = 64 * MiB  # one job of a grading: a fork server and its case (measured: 10 MiB)
GRADER_MEMORY = 64 * MiB  # the grading process itself: interpreter, NumPy, fixtures (measured: 33 MiB)
WORKER_MEMORY = GRADER_MEMORY + JOB_MEMORY  # one job of a batch: a worker grading one submission (measured: 43 MiB)
BATCH_MEMORY = 64 * MiB  # the batch process itself (measured: 31 MiB)
UNLIMITED = 1 << 62  # a cgroup v1 memory limit at least this large means none (v1 writes 2**63 - 4096)


@dataclass(frozen=True)
class Capacity:
    """What this process may really use, and the default number of jobs that follows."""
    cpus: float  # CPUs really available: the smallest of the online CPUs, the affinity and the quota
    jobs: int  # the default number of jobs
    why: str  # e.g. "2 CPUs (cgroup quota 0.5 CPU → 1 job)"
    online: int  # os.cpu_count()
    affinity: int | None = None  # CPUs this process may run on, where the system says
    quota: float | None = None  # the smallest cgroup CPU quota on the way up, in CPUs; None: none
    memory: int | None = None  # bytes: the smallest cgroup memory limit, else the machine's memory; None: unknown
    memory_limited: bool = False  # ``memory`` is a cgroup's limit (not the machine's memory)
    memory_jobs: int | None = None  # jobs whose memory fits within ``memory``

    def contention(self, jobs: int) -> float:
        """How many cases share each CPU when ``jobs`` run at once here (at least 1)."""
        return max(1.0, jobs / self.cpus)


def plural(count: float, word: str) -> str:
    return f"{count:g} {word}{'' if count <= 1 else 's'}"


def detect(job_memory: int = JOB_MEMORY, base_memory: int = GRADER_MEMORY, root: Path = Path("/"),
           online: int | None = None, affinity: int | None | bool = True) -> Capacity:
    """The capacity of this process, from the files below ``root`` (``/``; a test's fake tree).

    ``online``: the online CPUs (default ``os.cpu_count()``); ``affinity``: the CPUs this
    process may run on (default: ``os.sched_getaffinity(0)`` where it exists; None: unknown).
    """
    online = max(1, online if online is not None else (os.cpu_count() or 1))
    if affinity is True:
        affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    folders = cgroup_folders(root)
    quota = smallest(cpu_quota(folder, version) for folder, version in folders)
    limit = smallest(memory_limit(folder, version) for folder, version in folders)
    memory, memory_limited = (limit, True) if limit is not None else (machine_memory(root), False)
    cpus = float(min(online, affinity or online, quota if quota is not None else online))
    cpu_jobs = max(1, int(cpus + 1e-9))
    memory_jobs = max(1, (memory - base_memory) // job_memory) if memory is not None else None
    jobs = min(cpu_jobs, memory_jobs or cpu_jobs)
    limits = []
    if affinity is not None and affinity < online:
        limits.append(f"affinity {plural(affinity, 'CPU')}")
    if quota is not None:
        limits.append(f"cgroup quota {plural(round(quota, 2), 'CPU')}")
    if memory_limited or (memory_jobs is not None and memory_jobs < cpu_jobs):
        limits.append(f"{'cgroup memory limit' if memory_limited else 'memory'} {memory // MiB} MiB "
                      f"fits {plural(memory_jobs, 'job')}")
    outcome = f"{plural(jobs, 'job')}"
    why = f"{plural(online, 'CPU')} ({', '.join(limits)} → {outcome})" if limits else f"{plural(online, 'CPU')} → {outcome}"
    return Capacity(cpus=cpus, jobs=jobs, why=why, online=online, affinity=affinity, quota=quota, memory=memory,
                    memory_limited=memory_limited, memory_jobs=memory_jobs)


@functools.lru_cache(maxsize=None)
def available(job_memory: int = JOB_MEMORY, base_memory: int = GRADER_MEMORY) -> Capacity:
    """This process's capacity (read once): for a grading by default, ``available(WORKER_MEMORY,
    BATCH_MEMORY)`` for a batch (a job is then a worker grading one submission)."""
    return detect(job_memory, base_memory)


def smallest(values: object) -> float | None:
    found = [value for value in values if value is not None]  # type: ignore[attr-defined]
    return min(found) if found else None


def read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def unescape(field: str) -> str:
    """A path of /proc/self/mountinfo as it is (space, tab, newline and backslash are octal escapes)."""
    for escaped, plain in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(escaped, plain)
    return field


def mounts(root: Path) -> list[tuple[str, str, str, set[str]]]:
    """The cgroup mounts: (root of the hierarchy mounted, mount point, "cgroup" or "cgroup2", super options)."""
    found = []
    for line in (read_text(root / "proc/self/mountinfo") or "").splitlines():
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) >= 5 and len(tail) >= 1 and tail[0] in ("cgroup", "cgroup2"):
            options = set(tail[2].split(",")) if len(tail) >= 3 else set()
            found.append((unescape(fields[3]), unescape(fields[4]), tail[0], options))
    return found


def cgroup_folders(root: Path) -> list[tuple[Path, int]]:
    """Every cgroup folder whose CPU or memory limits bind this process: its own cgroup and all
    above it, in each hierarchy that has the cpu or memory controller (v1) and in the v2 one;
    each with its cgroup version."""
    membership = read_text(root / "proc/self/cgroup")
    if membership is None:
        return []
    hierarchies = []  # (version, controllers, the process's cgroup path)
    for line in membership.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        number, controllers, path = parts
        if number == "0" and controllers == "":
            hierarchies.append((2, set(), path))
        else:
            hierarchies.append((1, set(controllers.split(",")), path))
    folders = []
    for hierarchy_root, mount_point, kind, options in mounts(root):
        for version, controllers, path in hierarchies:
            if (version == 2) != (kind == "cgroup2"):
                continue
            if version == 1 and not (controllers & options & {"cpu", "memory"}):
                continue
            relative = within(path, hierarchy_root)
            if relative is None:
                continue
            top = root / mount_point.lstrip("/")
            folder = top / relative
            while True:
                folders.append((folder, version))
                if folder == top:
                    break
                folder = folder.parent
    return folders


def within(path: str, hierarchy_root: str) -> str | None:
    """``path`` (a cgroup, from /proc/self/cgroup) relative to the mounted ``hierarchy_root``, or None
    if that mount does not show it (a path outside the container's cgroup namespace, "/../..")."""
    path, hierarchy_root = path.rstrip("/") or "/", hierarchy_root.rstrip("/") or "/"
    if ".." in path.split("/"):
        return None
    if hierarchy_root == "/":
        return path.lstrip("/")
    if path == hierarchy_root:
        return ""
    if path.startswith(hierarchy_root + "/"):
        return path[len(hierarchy_root) + 1:]
    return None


def cpu_quota(folder: Path, version: int) -> float | None:
    """The CPU quota of one cgroup, in CPUs; None: none (or unreadable)."""
    try:
        if version == 2:
            text = read_text(folder / "cpu.max")
            if text is None:
                return None
            fields = text.split()
            if len(fields) != 2 or fields[0] == "max":
                return None
            return int(fields[0]) / int(fields[1])
        quota_text, period_text = read_text(folder / "cpu.cfs_quota_us"), read_text(folder / "cpu.cfs_period_us")
        if quota_text is None or period_text is None:
            return None
        quota = int(quota_text)
        return quota / int(period_text) if quota > 0 else None
    except (ValueError, ZeroDivisionError):
        return None


def memory_limit(folder: Path, version: int) -> int | None:
    """The memory limit of one cgroup, in bytes; None: none (or unreadable)."""
    text = read_text(folder / ("memory.max" if version == 2 else "memory.limit_in_bytes"))
    if text is None or text.strip() == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 < value < UNLIMITED else None


def machine_memory(root: Path) -> int | None:
    """The machine's memory (MemTotal in /proc/meminfo), in bytes; None where there is none."""
    for line in (read_text(root / "proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            try:
                return int(line.split()[1]) * 1024
            except (IndexError, ValueError):
                return None
    return None


__all__ = ["BATCH_MEMORY", "Capacity", "GRADER_MEMORY", "JOB_MEMORY", "WORKER_MEMORY", "available", "detect"]
