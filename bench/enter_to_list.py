"""Enter to list: from the Enter that records a drop-off until the list and the totals
show it, with a day of DAY_ROWS drop-offs already listed.

The real counter runs headless (simulator on a pty, real SQLite file, preview printer)
on a database holding DAY_ROWS drop-offs of today; each of RECORDS new loads is
weighed, 1 and Enter pick its category, and the clock runs from the capturing Enter
until the screen has the record in its list and totals (``add_to_day``, or
``show_day`` where the code reloads the day instead) and until the screen after that
was painted. Median, p90 and max of each.

``python -m bench enter_to_list``; ``BENCH_DAY_ROWS`` and ``BENCH_RECORDS`` change
the sizes.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench.recording import put_next_load

if TYPE_CHECKING:
    from counter_app.ui.app import CounterApp

DAY_ROWS = int(os.environ.get("BENCH_DAY_ROWS", "500"))
RECORDS = int(os.environ.get("BENCH_RECORDS", "40"))


def fill_day(database: Path, rows: int) -> None:
    """``rows`` drop-offs recorded today (the last hours), their labels printed."""
    from db.domain import Classification
    from db.engine import open_database
    from db.writes import NewCategory, record_drop_off
    from tests.drop_offs import scale_drop_off

    bulky_waste = NewCategory(
        Classification.RECYCLING, "grof-rest", "Grof huishoudelijk restafval", "20 03 07"
    )

    engine = open_database(database)
    now = datetime.now(UTC)
    # Today's local day starts at the latest at 00:00 local; a minute apart from a
    # moment a few seconds ago, as many as fit since then, newest last.
    start = now - timedelta(seconds=rows + 5)
    try:
        for i in range(rows):
            at = start + timedelta(seconds=i)
            grams = 1000 + i * 10
            new = scale_drop_off(grams, received_at=at, category=bulky_waste)
            record_drop_off(engine, new, now=at)
    finally:
        engine.dispose()
    # Their labels count as printed: the print queue must not run beside the figure.
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE print_job SET status = 'sent'")


def counter_on_a_full_day(folder: Path) -> CounterApp:
    """The counter, not yet started, on a database in ``folder`` holding DAY_ROWS
    drop-offs of today: the simulator on a pty, labels to a preview folder."""
    from counter_app.config import parse_config
    from counter_app.ui.app import CounterApp

    database = folder / "day.sqlite3"
    fill_day(database, DAY_ROWS)
    config = parse_config(
        f'[scale]\nport = "sim"\n[printer]\npath = "{folder / "labels"}"\n'
        f'[database]\npath = "{database}"\n'
    )
    return CounterApp(config, demo_scenario=False)


def _percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


async def _measure(folder: Path) -> tuple[list[float], list[float], int]:
    from counter_app.ui.widgets import DropOffTable

    app = counter_on_a_full_day(folder)
    listed: list[float] = []
    painted: list[float] = []
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.counter_screen
        table = screen.query_one(DropOffTable)
        while not (
            app.counter_service.is_open
            and app.scale_service.simulator is not None
            and table.row_count >= DAY_ROWS
        ):
            await pilot.pause(0.05)

        def timed(method_name: str) -> None:
            method = getattr(screen, method_name, None)
            if method is None:
                return

            def wrapper(*args: object) -> None:
                method(*args)
                at = time.perf_counter()
                listed.append(at)
                app.call_after_refresh(lambda: painted.append(time.perf_counter()))

            setattr(screen, method_name, wrapper)

        timed("add_to_day")
        timed("show_day")
        enter_to_listed: list[float] = []
        enter_to_painted: list[float] = []
        for i in range(RECORDS):
            await put_next_load(app, pilot, i, pause=0.01)
            # The screen must show that reading, or Enter captures nothing yet.
            while (
                screen._snapshot is None
                or screen._snapshot.reading != app.scale_service.snapshot().reading
            ):
                await pilot.pause(0.01)
            await pilot.press("1", "enter")
            while screen._entry is None or app.screen is not screen:
                await pilot.pause(0.005)
            before, before_paint = len(listed), len(painted)
            start = time.perf_counter()
            app.simulate_key("enter")
            while len(listed) <= before or len(painted) <= before_paint:
                await pilot.pause(0.001)
            enter_to_listed.append(listed[before] - start)
            enter_to_painted.append(painted[before_paint] - start)
            while screen._recording:
                await pilot.pause(0.005)
        rows = table.row_count
    return enter_to_listed, enter_to_painted, rows


def run() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bench-enter-") as tmp:
        os.environ.setdefault("XDG_DATA_HOME", str(Path(tmp) / "data"))
        listed, painted, rows = asyncio.run(_measure(Path(tmp)))

    def figures(values: list[float]) -> str:
        ms = [v * 1000 for v in values]
        return (
            f"median {statistics.median(ms):.1f} / p90 {_percentile(ms, 90):.1f} / "
            f"max {max(ms):.1f} ms"
        )

    verdict = "met" if statistics.median(painted) < 0.05 else "NOT MET"
    return [
        (f"Enter to list and totals, {DAY_ROWS} rows, {len(listed)} records", figures(listed)),
        (f"  to the painted screen (aim < 50 ms: {verdict})", figures(painted)),
        ("  rows listed at the end", str(rows)),
    ]


if __name__ == "__main__":
    for figure, value in run():
        print(f"{figure:<55} {value}")
