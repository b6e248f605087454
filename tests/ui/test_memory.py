"""A day at the counter leaves nothing behind: drop-offs with flat widgets and memory.

Each record goes the attendant's way through the real counter (simulator on a pty,
real SQLite file, preview printer): a new weight, 1 (the category picker opens),
Enter (it closes), Enter (capture, the list reloads). Opening and closing the picker
is what made the key bar rebuild; with Textual's Footer every rebuild left its key
widgets alive (docs/textual-footer-leak.md), about 22 widgets and 0.5 MiB a record;
and the line caches of the picker's widgets stayed behind, 0.3 MiB a record more.

Widgets and all Python objects are counted once the caches have filled and again
after the last record; the memory the last records add is traced (tracemalloc slows
the counter down four times, so not all of them). ``make test`` runs a short day (28
records, half a minute of CPU); ``make soak`` runs the full day of 200 (marker
``soak``), about two minutes.

The keys go in with ``App.simulate_key`` and each step waits for what the screen
shows, not for the process to look idle as ``Pilot.press`` does: the simulator's
thread keeps the process busy, and ``press`` then waits up to a second a key.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from pilot_helpers import ready
from textual.widget import Widget

from counter_app.services.scale import ScaleState
from counter_app.ui.app import CounterApp
from counter_app.ui.picker import CategoryPicker
from counter_app.ui.widgets import DropOffTable

#: Widgets that may appear after the first count (a toast, a tooltip): none per record.
WIDGET_SLACK = 5
#: Python objects a record may add: its row in the list (about 15 objects) and the
#: bounded caches still filling. Each of the two Textual retentions worked around in
#: counter_app/ui/widgets.py kept over 1,500 objects a record.
OBJECTS_PER_RECORD = 60
#: Memory a traced record may add (its row: a few KiB): 1 MiB over 15 records. The two
#: retentions together kept 0.8 MiB a record.
TRACED_SLACK_BYTES_PER_RECORD = 1024 * 1024 // 15


@dataclass(frozen=True)
class Day:
    """How many drop-offs, and where the counts and the trace start.

    Widgets and objects are counted after ``settled_after`` records (caches and the
    list's first pages are filled) and after the last. Memory is traced from record
    ``trace_from`` on; the first traced records only bring the trace up to date: memory
    that was taken before tracing started is not subtracted when it is freed (the list
    is built anew each record), so growth is counted from ``traced_from`` on.

    ``object_noise``: the count of live objects at one moment swings by up to about
    1,700 from one record to the next (the list and the screen's lines being rebuilt
    as the count is taken). Over 180 records the per-record allowance covers it; over
    a short day it does not, so the short day allows that swing once on top. A leak
    of either retention (1,500 objects a record) still fails it after two records.
    """

    records: int
    settled_after: int
    trace_from: int
    traced_from: int
    object_noise: int = 0


#: ``make test``: the live objects stop climbing after about 16 records (caches full).
SHORT_DAY = Day(records=28, settled_after=18, trace_from=22, traced_from=24, object_noise=2_000)
#: ``make soak``: a busy day at the counter.
FULL_DAY = Day(records=200, settled_after=20, trace_from=180, traced_from=185)


def live_objects() -> tuple[int, int]:
    """Widgets and all objects the garbage collector tracks, after a collection."""
    gc.collect()
    objects = gc.get_objects()
    return sum(isinstance(o, Widget) for o in objects), len(objects)


async def until(pilot, done: Callable[[], bool], timeout: float = 8.0) -> None:  # type: ignore[no-untyped-def]
    """As ``pilot_helpers.wait_for``, looking more often: 800 steps, none waits long."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {done.__doc__ or done}")
        await pilot.pause(0.005)


async def press(pilot, app: CounterApp, key: str, done: Callable[[], bool]) -> None:  # type: ignore[no-untyped-def]
    app.simulate_key(key)
    await until(pilot, done)


async def record_one(pilot, app: CounterApp, number: int) -> None:  # type: ignore[no-untyped-def]
    screen = app.counter_screen
    # A new load each time: the counter refuses the same load twice.
    weight = Decimal("4.25") + Decimal(number % 2) / 10

    def weighed() -> bool:
        snapshot = screen._snapshot
        return (
            snapshot is not None
            and snapshot.state is ScaleState.STABLE
            and snapshot.reading is not None
            and snapshot.reading.weight == weight
            and app.scale_service.snapshot().state is ScaleState.STABLE
        )

    def picker_open() -> bool:
        picker = app.screen
        return isinstance(picker, CategoryPicker) and bool(picker._shown) and picker.is_mounted

    def picked() -> bool:
        return app.screen is screen and screen._entry is not None

    table = screen.query_one(DropOffTable)

    def listed() -> bool:
        return not screen._recording and table.row_count == number

    app.scale_service.simulator.set_weight(weight)
    await until(pilot, weighed)
    await press(pilot, app, "1", picker_open)
    await press(pilot, app, "enter", picked)
    await press(pilot, app, "enter", listed)


@pytest.mark.parametrize(
    "day",
    [
        pytest.param(SHORT_DAY, id="28-records"),
        pytest.param(FULL_DAY, id="200-records", marks=pytest.mark.soak),
    ],
)
async def test_a_day_of_drop_offs_leaves_no_widgets_or_memory_behind(make_app, day: Day) -> None:  # type: ignore[no-untyped-def]
    app: CounterApp = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        try:
            for number in range(1, day.records + 1):
                await record_one(pilot, app, number)
                if number == day.settled_after:
                    widgets_settled, objects_settled = live_objects()
                if number == day.trace_from:
                    tracemalloc.start()
                if number == day.traced_from:
                    gc.collect()
                    memory_before = tracemalloc.get_traced_memory()[0]
            gc.collect()
            memory_grown = tracemalloc.get_traced_memory()[0] - memory_before
        finally:
            tracemalloc.stop()
        widgets_after, objects_after = live_objects()
        records = app.counter_screen.query_one(DropOffTable).row_count

    assert records == day.records
    grown = day.records - day.settled_after
    assert widgets_after - widgets_settled <= WIDGET_SLACK, (
        f"{widgets_after - widgets_settled} more live widgets after {grown} more records "
        f"({widgets_settled} -> {widgets_after})"
    )
    assert objects_after - objects_settled <= OBJECTS_PER_RECORD * grown + day.object_noise, (
        f"{objects_after - objects_settled} more live objects after {grown} more records"
    )
    traced = day.records - day.traced_from
    assert memory_grown <= TRACED_SLACK_BYTES_PER_RECORD * traced, (
        f"traced memory grew {memory_grown / 2**20:.2f} MiB over {traced} records"
    )
