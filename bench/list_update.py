"""The list and totals after a record, both ways, in the same run: the record added
(``CounterScreen.add_to_day``, what the counter does) and the whole day read again
and drawn (``counter.today()`` and ``show_day``, what it did), on a day of DAY_ROWS
drop-offs.

Interleaved, RUNS of each, in one running counter: the ratio holds on a busy machine
where the absolute figures do not. From the call until the method returned, and until
the screen after it was painted. The database's commit of the record itself (in a
worker, before either) is measured by ``bench.recording``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench.enter_to_list import DAY_ROWS, counter_on_a_full_day

RUNS = int(os.environ.get("BENCH_RUNS", "30"))


async def _measure(folder: Path) -> dict[str, list[float]]:
    from counter_app.ui.widgets import DropOffTable

    app = counter_on_a_full_day(folder)
    times: dict[str, list[float]] = {"add": [], "add_paint": [], "load": [], "load_paint": []}
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.counter_screen
        table = screen.query_one(DropOffTable)
        while table.row_count < DAY_ROWS:
            await pilot.pause(0.05)
        counter = app.counter_service
        newest = counter.today().drop_offs[0]

        async def timed(name: str, call: object) -> None:
            painted: list[float] = []
            start = time.perf_counter()
            call()  # type: ignore[operator]
            times[name].append(time.perf_counter() - start)
            app.call_after_refresh(lambda: painted.append(time.perf_counter()))
            while not painted:
                await pilot.pause(0.001)
            times[f"{name}_paint"].append(painted[0] - start)

        for run in range(RUNS):
            # A record as the service returns it: a new id and label each time.
            record = dataclasses.replace(
                newest, id=str(uuid.uuid4()), label_code=f"MS01-9{run:05d}"
            )
            await timed("add", lambda r=record: screen.add_to_day(r))
            await timed("load", lambda: screen.show_day(counter.today()))
    return times


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bench-list-") as tmp:
        os.environ.setdefault("XDG_DATA_HOME", str(Path(tmp) / "data"))
        times = asyncio.run(_measure(Path(tmp)))

    def median_ms(name: str) -> float:
        return statistics.median(times[name]) * 1000

    return [
        (
            f"list and totals after a record, {DAY_ROWS} rows: record added",
            f"{median_ms('add'):.1f} ms, painted {median_ms('add_paint'):.1f} ms "
            f"(median of {RUNS})",
        ),
        (
            "  the day read again and drawn (baseline)",
            f"{median_ms('load'):.1f} ms, painted {median_ms('load_paint'):.1f} ms "
            f"({median_ms('load_paint') / median_ms('add_paint'):.1f}x the added record)",
        ),
    ]


if __name__ == "__main__":
    for figure, value in run():
        print(f"{figure:<55} {value}")
