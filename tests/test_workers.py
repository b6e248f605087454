"""``make test`` starts a worker a usable core and one more, within a container's quota."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workers import make_test_workers, quota_cores, usable_cores

WORKERS_SCRIPT = Path(__file__).with_name("workers.py")


@pytest.mark.parametrize(
    ("cpu_max", "cores"),
    [
        ("max 100000\n", None),
        ("200000 100000\n", 2),
        ("150000 100000\n", 2),  # a core and a half: the half still runs a worker
        ("50000 100000\n", 1),
        ("", None),
        ("garbage here\n", None),
        ("0 100000\n", None),
    ],
)
def test_a_quota_in_cores(cpu_max: str, cores: int | None) -> None:
    assert quota_cores(cpu_max) == cores


def test_the_quota_caps_the_cores_the_process_may_use(tmp_path: Path) -> None:
    may_use = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("100000 100000\n")
    assert usable_cores(cpu_max) == 1
    assert make_test_workers(cpu_max) == 2
    cpu_max.write_text(f"{1000 * 100000} 100000\n")  # more than the machine has
    assert usable_cores(cpu_max) == may_use
    assert usable_cores(tmp_path / "no-cgroup") == may_use


def test_the_makefile_gets_a_number_from_the_system_python() -> None:
    printed = subprocess.run(
        [sys.executable, "-I", str(WORKERS_SCRIPT)], capture_output=True, text=True, check=True
    ).stdout
    assert printed.strip().isdigit() and int(printed) >= 2
