"""How many worker processes ``make test`` starts: one a usable core, and one more.

A third of the suite's time is waiting (a scale's next frame, a printer's timeout, a
``counter`` subprocess), so a worker more than the cores keeps them busy meanwhile;
more than that only adds the 3 to 4 s of CPU each worker pays for its imports and
collection. Usable cores are those this process may run on (``nproc``), within a
container's CPU quota (cgroup v2 ``cpu.max``), which ``nproc`` does not see: a
container of 2 CPUs on a host of 32 gets 3 workers, not 33.

Run as ``python3 tests/workers.py`` (the Makefile does, with the system Python: no
environment needed).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def quota_cores(cpu_max: str) -> int | None:
    """The cores a cgroup v2 ``cpu.max`` ("200000 100000": quota and period in
    microseconds) allows, rounded up; ``None`` without a quota ("max ...")."""
    fields = cpu_max.split()
    if len(fields) != 2 or fields[0] == "max":
        return None
    try:
        quota, period = int(fields[0]), int(fields[1])
    except ValueError:
        return None
    if quota <= 0 or period <= 0:
        return None
    return max(1, math.ceil(quota / period))


def usable_cores(cpu_max: Path = CPU_MAX) -> int:
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:  # macOS, Windows
        cores = os.cpu_count() or 1
    try:
        quota = quota_cores(cpu_max.read_text())
    except OSError:
        quota = None
    return max(1, min(cores, quota) if quota is not None else cores)


def make_test_workers(cpu_max: Path = CPU_MAX) -> int:
    return usable_cores(cpu_max) + 1


if __name__ == "__main__":
    print(make_test_workers())
