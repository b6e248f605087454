"""Pty to screen: how long a new weight takes from the indicator's line to the display.

A simulated indicator on a real pseudo-terminal sends 20 frames a second (the
fastest common continuous output), every frame with a new weight, and notes the
moment each frame is written (monotonic clock). The real counter runs headless on
that port: transport thread, protocol, scale service, the replaceable
``WeightChanged`` message, the counter screen. The bench wraps the counter screen's
``show_snapshot`` to note when each weight reached the ``WeightDisplay``, and when the
screen had been painted after it.

Figures: p50 and p99 of both, over 200+ frames, and how many messages the UI
coalesced (a newer ``WeightChanged`` replaced one not handled yet, so its weight
was never drawn). The target is a p99 within one frame period (50 ms). A real line
adds the bytes' transfer time on top (an 18-byte frame takes 19 ms at 9600 baud).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from drivers.scale.comma import CommaEmulator
from drivers.scale.reading import IndicatorState

RATE_HZ = 20.0
SAMPLES = 240
WARM_UP_SECONDS = 1.5


class StampingEmulator(CommaEmulator):
    """A comma indicator that puts a new weight in every frame and notes its time."""

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        self.written: dict[Decimal, float] = {}
        self._hundredths = 100_000  # 1000.00 kg, then 1000.01, ...

    def frame(self, state: IndicatorState) -> bytes:
        self._hundredths += 1
        state.weight = Decimal(self._hundredths).scaleb(-2)
        state.motion = False
        data = super().frame(state)
        # The simulator writes the frame right after this returns.
        self.written[state.weight] = time.monotonic()
        return data


def _percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


async def _measure(tmp: Path) -> dict[str, Any]:
    from counter_app.config import parse_config
    from counter_app.services.scale import ScaleSnapshot
    from counter_app.ui.app import CounterApp
    from drivers.scale.simulator import ScaleSimulator

    emulator = StampingEmulator()
    simulator = ScaleSimulator(emulator, rate_hz=RATE_HZ)
    simulator.start()
    config = parse_config(
        f'[scale]\nport = "{simulator.port}"\nprotocol = "comma"\n'
        f'[printer]\npath = "{tmp / "labels"}"\n[database]\npath = "{tmp / "bench.sqlite3"}"\n'
    )

    shown: dict[Decimal, float] = {}
    painted: dict[Decimal, float] = {}
    counts = {"posted": 0, "handled": 0}

    class LatencyApp(CounterApp):
        def _scale_changed(self, snapshot: ScaleSnapshot) -> None:
            counts["posted"] += 1
            super()._scale_changed(snapshot)

    app = LatencyApp(config, demo_scenario=False)
    show_snapshot = app.counter_screen.show_snapshot

    def timed_show(snapshot: ScaleSnapshot) -> None:
        show_snapshot(snapshot)
        counts["handled"] += 1
        reading = snapshot.reading
        if reading is None or reading.weight is None or reading.weight in shown:
            return
        weight = reading.weight
        shown[weight] = time.monotonic()
        app.call_after_refresh(lambda: painted.setdefault(weight, time.monotonic()))

    app.counter_screen.show_snapshot = timed_show  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            while not shown:
                await pilot.pause(0.05)
            # The frames written before the port was opened waited in the pty: skip them.
            await pilot.pause(WARM_UP_SECONDS)
            start = time.monotonic()
            posted, handled = counts["posted"], counts["handled"]
            await pilot.pause(SAMPLES / RATE_HZ + 0.2)
            end = time.monotonic()
            posted, handled = counts["posted"] - posted, counts["handled"] - handled
            await pilot.pause(0.2)  # let the last frames arrive
    finally:
        simulator.stop()

    written = {w: at for w, at in list(emulator.written.items()) if start <= at < end}
    to_widget = [(shown[w] - at) * 1000 for w, at in written.items() if w in shown]
    to_paint = [(painted[w] - at) * 1000 for w, at in written.items() if w in painted]
    return {
        "frames": len(written),
        "to_widget": to_widget,
        "to_paint": to_paint,
        "never_shown": sum(1 for w in written if w not in shown),
        "posted": posted,
        "handled": handled,
    }


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(_measure(Path(tmp)))
    to_widget, to_paint = result["to_widget"], result["to_paint"]
    if len(to_widget) < 2 or len(to_paint) < 2:
        return [("pty to screen latency", f"FAILED: {len(to_widget)} weights shown")]
    period_ms = 1000 / RATE_HZ
    p99 = _percentile(to_paint, 99)
    verdict = "within" if p99 <= period_ms else "OVER"
    return [
        (
            f"pty to WeightDisplay at {RATE_HZ:g} Hz ({len(to_widget)} frames) p50 / p99",
            f"{_percentile(to_widget, 50):.1f} / {_percentile(to_widget, 99):.1f} ms",
        ),
        (
            "pty to painted screen p50 / p99 / max",
            f"{_percentile(to_paint, 50):.1f} / {p99:.1f} / {max(to_paint):.1f} ms "
            f"({verdict} one frame period, {period_ms:g} ms)",
        ),
        (
            "WeightChanged messages posted / handled (coalesced)",
            f"{result['posted']} / {result['handled']} ({result['posted'] - result['handled']})",
        ),
        (
            "weights never drawn (replaced by a newer frame)",
            f"{result['never_shown']} of {result['frames']}",
        ),
    ]


if __name__ == "__main__":
    for figure, value in run():
        print(f"{figure:<55} {value}")
