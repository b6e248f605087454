"""Keypress to committed record: Enter on a stable weight until the transaction is in.

Drives the real counter headless (Pilot), with the real simulator on a pty and a real
SQLite file (WAL, synchronous=FULL), so the figure includes the fsyncs a real record
costs.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from counter_app.ui.app import CounterApp

RUNS = 50


async def put_next_load(app: CounterApp, pilot: Pilot[None], number: int, pause: float) -> Decimal:
    """Put load ``number`` on the simulator and wait until the scale reads it stable;
    returns its weight. 4.25 and 4.35 kg in turn: a new item each time, as the counter
    refuses the same load twice."""
    from counter_app.services.scale import ScaleState

    weight = Decimal("4.25") + Decimal(number % 2) / 10
    assert app.scale_service.simulator is not None
    app.scale_service.simulator.set_weight(weight)
    while not (
        (snap := app.scale_service.snapshot()).state is ScaleState.STABLE
        and snap.reading is not None
        and snap.reading.weight == weight
    ):
        await pilot.pause(pause)
    return weight


async def _measure(tmp: Path) -> list[float]:
    from counter_app.config import parse_config
    from counter_app.services.scale import ScaleState
    from counter_app.ui.app import CounterApp

    config = parse_config(
        f'[printer]\npath = "{tmp / "labels"}"\n[database]\npath = "{tmp / "bench.sqlite3"}"\n'
    )
    app = CounterApp(config, demo_scenario=False)
    committed: list[float] = []
    async with app.run_test(size=(100, 30)) as pilot:
        while not app.counter_service.is_open or app.scale_service.simulator is None:
            await pilot.pause(0.05)
        service = app.counter_service
        record = service.record

        def timed_record(*args, **kwargs):  # type: ignore[no-untyped-def]
            result = record(*args, **kwargs)
            committed.append(time.perf_counter())
            return result

        service.record = timed_record  # type: ignore[method-assign]
        simulator = app.scale_service.simulator
        simulator.set_weight(Decimal("4.25"))
        while app.scale_service.snapshot().state is not ScaleState.STABLE:
            await pilot.pause(0.05)
        times = []
        for i in range(RUNS):
            await put_next_load(app, pilot, i, pause=0.02)
            await pilot.press("1", "enter")
            start = time.perf_counter()
            await pilot.press("enter")
            while len(committed) <= i:
                await asyncio.sleep(0.0005)
            times.append(committed[i] - start)
            while app.counter_screen._recording:  # the screen is ready for the next one
                await pilot.pause(0.01)
    return times


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("XDG_DATA_HOME", str(Path(tmp) / "data"))
        times = asyncio.run(_measure(Path(tmp)))
    ms = sorted(t * 1000 for t in times)
    return [
        (f"keypress to committed record (median of {len(ms)})", f"{statistics.median(ms):.1f} ms"),
        ("  p90 / max", f"{ms[int(len(ms) * 0.9) - 1]:.1f} / {ms[-1]:.1f} ms"),
    ]
