"""A day at the counter leaves nothing behind: 200 drop-offs, flat widgets and memory.

Each record goes the attendant's way through the real counter (simulator on a pty,
real SQLite file, preview printer): a new weight, 1 (the category picker opens),
Enter (it closes), Enter (capture, the list reloads). Opening and closing the picker
is what made the key bar rebuild; with Textual's Footer every rebuild left its key
widgets alive (docs/textual-footer-leak.md), about 22 widgets and 0.5 MiB a record;
and the line caches of the picker's widgets stayed behind, 0.3 MiB a record more.

Widgets and all Python objects are counted after 20 records and after 200; the
memory the last 15 records add is traced (tracemalloc slows the counter down four
times, so not all 200).

The keys go in with ``App.simulate_key`` and each step waits for what the screen
shows, not for the process to look idle as ``Pilot.press`` does: the simulator's
thread keeps the process busy, and ``press`` then waits up to a second a key.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from decimal import Decimal

from pilot_helpers import ready
from textual.widget import Widget

from counter_app.services.scale import ScaleState
from counter_app.ui.app import CounterApp
from counter_app.ui.picker import CategoryPicker
from counter_app.ui.widgets import DropOffTable

RECORDS = 200
#: Records before the first count: caches and the list's first pages are filled.
SETTLED_AFTER = 20
#: Widgets that may appear after the first count (a toast, a tooltip): none per record.
WIDGET_SLACK = 5
#: Python objects a record may add: its row in the list (about 15 objects) and the
#: bounded caches still filling. Each of the two Textual retentions worked around in
#: counter_app/ui/widgets.py kept over 1,500 objects a record.
OBJECTS_PER_RECORD = 60
#: Memory is traced over the last records only: tracemalloc makes the counter four
#: times slower. The first traced records only bring the trace up to date: memory that
#: was taken before tracing started is not subtracted when it is freed (the list is
#: built anew each record), so growth is counted from the second mark on.
TRACE_FROM, TRACED_FROM = RECORDS - 20, RECORDS - 15
#: Memory the traced records may add (their rows: a few KiB). The two retentions
#: together kept 0.8 MiB a record.
TRACED_SLACK_BYTES = 1024 * 1024


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


async def test_two_hundred_drop_offs_leave_no_widgets_or_memory_behind(make_app) -> None:  # type: ignore[no-untyped-def]
    app: CounterApp = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        try:
            for number in range(1, RECORDS + 1):
                await record_one(pilot, app, number)
                if number == SETTLED_AFTER:
                    widgets_settled, objects_settled = live_objects()
                if number == TRACE_FROM:
                    tracemalloc.start()
                if number == TRACED_FROM:
                    gc.collect()
                    memory_before = tracemalloc.get_traced_memory()[0]
            gc.collect()
            memory_grown = tracemalloc.get_traced_memory()[0] - memory_before
        finally:
            tracemalloc.stop()
        widgets_after, objects_after = live_objects()
        records = app.counter_screen.query_one(DropOffTable).row_count

    assert records == RECORDS
    grown = RECORDS - SETTLED_AFTER
    assert widgets_after - widgets_settled <= WIDGET_SLACK, (
        f"{widgets_after - widgets_settled} more live widgets after {grown} more records "
        f"({widgets_settled} -> {widgets_after})"
    )
    assert objects_after - objects_settled <= OBJECTS_PER_RECORD * grown, (
        f"{objects_after - objects_settled} more live objects after {grown} more records"
    )
    assert memory_grown <= TRACED_SLACK_BYTES, (
        f"traced memory grew {memory_grown / 2**20:.2f} MiB over {RECORDS - TRACED_FROM} records"
    )
