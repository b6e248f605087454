"""Cold start: from launching the process to the first painted counter screen."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 5

# A fresh interpreter each run; the child paints the counter headless and prints a
# marker from the first refresh after the counter screen is mounted.
CHILD = r"""
import sys
from counter_app.config import load_config
from counter_app.ui.app import CounterApp

class FirstPaint(CounterApp):
    def on_mount(self):
        # Textual calls CounterApp.on_mount itself (handlers run for every class).
        self.call_after_refresh(self._painted)

    def _painted(self):
        print("PAINTED", flush=True)
        self.exit()

FirstPaint(load_config(None)).run(headless=True, size=(80, 24))
"""


def seconds_until(argv: list[str], env: dict[str, str], marker: str = "PAINTED") -> float | None:
    """Seconds from launching ``argv`` until it prints a line with ``marker`` (None if
    it never does)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
    )
    assert proc.stdout is not None
    seconds = None
    for line in proc.stdout:
        if marker in line:
            seconds = time.perf_counter() - start
            break
    proc.wait(timeout=120)
    return seconds


def run() -> list[tuple[str, str]]:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(
            os.environ,
            XDG_DATA_HOME=str(Path(tmp) / "data"),
            XDG_CONFIG_HOME=str(Path(tmp) / "config"),
        )
        env.pop("COUNTER_CONFIG", None)
        for _ in range(RUNS):
            seconds = seconds_until([sys.executable, "-c", CHILD], env)
            if seconds is not None:
                times.append(seconds)
    if not times:
        return [("cold start to first painted counter screen", "FAILED")]
    return [
        (
            f"cold start to first painted counter screen (median of {len(times)})",
            f"{statistics.median(times) * 1000:.0f} ms",
        ),
        ("  min / max", f"{min(times) * 1000:.0f} / {max(times) * 1000:.0f} ms"),
    ]
