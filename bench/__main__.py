"""Run every benchmark and print its figures.

Each benchmark module has ``run() -> list[tuple[str, str]]`` (figure name, value).
"""

from __future__ import annotations

import importlib
import platform
import sys
import time

MODULES = (
    "bench.startup",
    "bench.recording",
    "bench.parsers",
    "bench.latency",
    "bench.labels",
    "bench.enter_to_list",
    "bench.list_update",
    # Last: it builds the million-drop-off database once (minutes) and runs longest.
    "bench.volume",
)


def machine() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def load() -> str:
    """The 1, 5 and 15 minute load averages: how busy the machine was at the start."""
    import os

    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:  # not on every system
        return "unknown"


def main(argv: list[str]) -> int:
    wanted = [m for m in MODULES if not argv or any(a in m for a in argv)]
    print(f"machine: {machine()}")
    print(f"date: {time.strftime('%Y-%m-%d')}")
    print(f"load average: {load()}")
    for name in wanted:
        module = importlib.import_module(name)
        print(f"\n## {name.split('.')[-1]}")
        for figure, value in module.run():
            print(f"{figure:<55} {value}")
        print(f"{'(load average at its end)':<55} {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
