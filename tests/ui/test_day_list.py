"""After a record, today's list and totals show it at once, from what the service
committed: the record on top, its weight in the totals, the day not loaded again."""

from __future__ import annotations

from pilot_helpers import put_on_scale, ready, wait_for

from counter_app.services.scale import ScaleState
from counter_app.ui.app import CounterApp
from counter_app.ui.widgets import DropOffTable, TotalsStrip


def totals_text(app: CounterApp) -> str:
    return str(app.counter_screen.query_one(TotalsStrip).render())


async def test_a_record_goes_on_top_and_into_the_totals_without_a_reload(make_app) -> None:  # type: ignore[no-untyped-def]
    app: CounterApp = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, app)
        screen = app.counter_screen
        table = screen.query_one(DropOffTable)
        await wait_for(pilot, lambda: app.today is not None)
        loads = app.day_generation

        for number, (key, weight) in enumerate((("3", "12.34"), ("1", "1234.56")), start=1):
            await put_on_scale(pilot, app, weight, state=ScaleState.STABLE)
            await pilot.press(key, "enter", "enter")
            await wait_for(pilot, lambda n=number: table.row_count == n and not screen._recording)
            # The newest on top, the cursor on it (ready for r).
            assert table.get_cell_at((0, 1)).plain == f"MS01-{number:06d}"
            assert table.cursor_row == 0
        assert table.get_cell_at((1, 1)).plain == "MS01-000001"
        totals = totals_text(app)
        assert "Recycling           12,34 kg" in totals
        assert "Hergebruik       1.234,56 kg" in totals
        assert "Totaal           1.246,90 kg" in totals
        # Nothing was loaded again: the list and totals came from the records.
        assert app.day_generation == loads

        # The same record once more (a load of the day that already held it): nothing
        # is listed or counted twice.
        record = screen._counter.today().drop_offs[0]
        screen.add_to_day(record)
        await pilot.pause()
        assert table.row_count == 2
        assert "Totaal           1.246,90 kg" in totals_text(app)


async def test_a_load_of_the_day_read_before_a_record_does_not_hide_it(make_app) -> None:  # type: ignore[no-untyped-def]
    """A reload (after a void, say) reads the day; a record committed after that read
    is listed at once; the reload's older view arrives last. The record stays listed
    and counted: a record is never deleted, so one the view lacks is newer than it."""
    app: CounterApp = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, app)
        screen = app.counter_screen
        table = screen.query_one(DropOffTable)
        await wait_for(pilot, lambda: app.today is not None)
        stale = screen._counter.today()  # read before the record

        await put_on_scale(pilot, app, "7.50", state=ScaleState.STABLE)
        await pilot.press("3", "enter", "enter")
        await wait_for(pilot, lambda: table.row_count == 1 and not screen._recording)

        screen.show_day(stale)
        await pilot.pause()
        assert table.row_count == 1
        assert table.get_cell_at((0, 1)).plain == "MS01-000001"
        assert "Totaal               7,50 kg" in totals_text(app)
