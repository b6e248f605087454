"""The counter screen as the attendant sees it: idle and a stable weight over a busy
day's list at every size from 80x24 to 200x50; in motion, offline and the picker at 80x24.

The scale is the real simulator on a pty; each state is reached through it before the
screenshot. Update after a deliberate change with ``pytest --snapshot-update`` and look
at the SVGs in ``tests/ui/__snapshots__``.
"""

from __future__ import annotations

import pytest
from busy_day import DROP_OFFS, on_busy_day, record_busy_day
from pilot_helpers import put_on_scale, ready, screen_shows, wait_for

from counter_app.services.scale import ScaleState
from counter_app.ui.widgets import DropOffTable


def picker_filtered(app, text: str) -> bool:  # type: ignore[no-untyped-def]
    """The picker is open, holds ``text`` and lists what matches it."""
    from textual.widgets import Input, OptionList

    from counter_app.ui.picker import CategoryPicker

    screen = app.screen
    if not isinstance(screen, CategoryPicker):
        return False
    return screen.query_one(Input).value == text and screen.query_one(OptionList).option_count > 0


SIZES = [(80, 24), (100, 30), (120, 30), (160, 50), (200, 50)]
size_ids = pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")


@size_ids
def test_idle(snap_compare, make_app, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    app = make_app()

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await ready(pilot, app)
        await put_on_scale(pilot, app, "0.00", state=ScaleState.STABLE)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@size_ids
def test_stable_over_a_busy_day(  # type: ignore[no-untyped-def]
    snap_compare, make_app, counter_config, size: tuple[int, int]
) -> None:
    """A stable 1.234,56 kg over a day of long category names and 1.234,56 kg loads."""
    record_busy_day(counter_config.database_path())
    app = on_busy_day(make_app())

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await ready(pilot, app)
        table = app.counter_screen.query_one(DropOffTable)
        await wait_for(pilot, lambda: table.row_count == len(DROP_OFFS))

        def last_label_printed() -> bool:
            # The day's labels print on start, in order: the preview ends at the last.
            lines = app.counter_screen._preview_lines or ()
            return any(f"MS01-{len(DROP_OFFS):06d}" in line.text for line in lines)

        await wait_for(pilot, last_label_printed)
        await put_on_scale(pilot, app, "1234.56", state=ScaleState.STABLE)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_in_motion(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await ready(pilot, app)
        await put_on_scale(pilot, app, "7.80", motion=True, state=ScaleState.MOTION)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_offline(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await ready(pilot, app)
        app.scale_service.simulator.unplug()
        await screen_shows(pilot, app, ScaleState.OFFLINE)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_picker(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await ready(pilot, app)
        await put_on_scale(pilot, app, "4.10", state=ScaleState.STABLE)
        await pilot.press("3", "h", "o")
        await wait_for(pilot, lambda: picker_filtered(app, "ho"))
        from textual.widgets import Input

        # The cursor blinks every 0.5 s: on a busy machine the screenshot could catch
        # it hidden. Held visible, as the snapshot shows it.
        app.screen.query_one(Input).cursor_blink = False
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
