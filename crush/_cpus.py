"""How many CPUs this process may really use: affinity, cgroup CPU quota, CRUSH_THREADS.

``os.cpu_count()`` counts the machine; a container limited to two CPUs by
its cgroup quota, or a process pinned with ``taskset``, may use fewer, and
more threads than that only queue. Inside a Dask worker or another pool
that already runs one task per CPU, set ``CRUSH_THREADS=1`` in the workers'
environment so crush adds no threads of its own.
"""

from __future__ import annotations

import math
import os
from functools import cache
from typing import Final

MAX_DEFAULT_THREADS: Final = 16
"""Cap of the default: past this, blocks wait on memory bandwidth rather than CPUs.

Measured only up to 2 cores on the development machine (2 threads decode
1.6-2x faster than 1); the cap is a conservative bound for large hosts,
where a caller that knows better passes ``threads=`` or sets CRUSH_THREADS.
"""

CGROUP_ROOT = "/sys/fs/cgroup"
"""Where the cgroup files are read (plain strings: pathlib costs milliseconds to import)."""


def env_threads() -> int | None:
    """Return CRUSH_THREADS as an int >= 1, None when unset; raise ConfigError when invalid."""
    raw = os.environ.get("CRUSH_THREADS", "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        from .errors import ConfigError

        raise ConfigError(f"CRUSH_THREADS={raw!r} must be a whole number >= 1, like "
                          "CRUSH_THREADS=1 (one thread per call, for Dask workers)")
    return value


def usable_cpus() -> int:
    """Return the CPUs this process may use: affinity, then the cgroup quota if lower."""
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13+: affinity-aware
    if counter is not None:
        cpus = counter() or 1
    else:
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not on Linux
            cpus = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    return max(1, min(cpus, quota) if quota is not None else cpus)


@cache
def cgroup_cpu_limit() -> int | None:
    """Return this process's cgroup CPU quota rounded up to whole CPUs, None without one.

    Reads cgroup v2's ``cpu.max`` ("quota period" or "max period") of the
    process's own cgroup and of the root, else cgroup v1's
    ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``. Read once per process.
    """
    root = CGROUP_ROOT
    own = _own_cgroup()
    candidates = [os.path.join(root, own.lstrip("/"), "cpu.max")] if own else []
    candidates.append(os.path.join(root, "cpu.max"))
    for path in candidates:
        fields = _read(path).split()
        if len(fields) == 2:
            return _whole_cpus(fields[0], fields[1])
    return _whole_cpus(_read(os.path.join(root, "cpu", "cpu.cfs_quota_us")),
                       _read(os.path.join(root, "cpu", "cpu.cfs_period_us")))


def _own_cgroup() -> str | None:
    for line in _read("/proc/self/cgroup").splitlines():
        if line.startswith("0::"):  # the cgroup v2 unified hierarchy
            return line[3:].strip()
    return None


def _whole_cpus(quota: str, period: str) -> int | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:  # "max": no quota
        return None
    if q <= 0 or p <= 0:  # cgroup v1 writes -1 for no quota
        return None
    return max(1, math.ceil(q / p))


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except (OSError, UnicodeDecodeError):
        return ""
