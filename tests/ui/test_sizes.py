"""Every size works: at 80x24 up to 200x50 today's list shows each drop-off's time,
label code, classification, category (whole, or cut with "…") and whole weight,
right-aligned; the key bar shows every key; v shows or hides the label preview.

The list is a real day in a real SQLite file (tests/ui/busy_day.py), read by the real
counter; the assertions read the characters on screen, so a failure names the row and
the cell that is missing.
"""

from __future__ import annotations

import pytest
from busy_day import DROP_OFFS, on_busy_day, record_busy_day
from pilot_helpers import ready, screen_text, wait_for

from counter_app.config import Config
from counter_app.i18n import STATION_TZ, format_kg
from counter_app.ui.app import CounterApp
from counter_app.ui.widgets import DropOffTable, KeyBar

SIZES = [(80, 24), (100, 30), (120, 30), (160, 50), (200, 50), (250, 60)]

#: Every key the attendant needs, as the key bar names them.
KEYS = ("1", "2", "3", "Enter", "Esc", "F1", "F9", "r", "w", "s", "v", "^q")


def category_shown(name: str, cells: str) -> str | None:
    """How ``name`` appears in ``cells``: "whole", "cut" (a prefix and "…"), or None."""
    if name in cells:
        return "whole"
    for end in range(len(name) - 1, 0, -1):
        if name[:end].rstrip() + "…" in cells:
            return "cut"
    return None


def list_rows(app: CounterApp, recorded: list) -> dict[str, str]:  # type: ignore[type-arg]
    """Each drop-off's row of the list as the screen shows it, by label code."""
    table = app.counter_screen.query_one(DropOffTable)
    left, right = table.region.x, table.region.right
    lines = screen_text(app).splitlines()
    rows = {}
    for number in range(1, len(recorded) + 1):
        code = f"MS01-{number:06d}"
        found = [line[left:right] for line in lines if code in line[left:right]]
        assert found, f"row {code} not on screen at {app.size}"
        rows[code] = found[0]
    return rows


def check_every_cell(app: CounterApp, recorded: list) -> list[str]:  # type: ignore[type-arg]
    """Assert the visible cells of each row; how each category was shown."""
    shown = []
    rows = list_rows(app, recorded)
    for number, ((at, _, _, grams), new) in enumerate(zip(DROP_OFFS, recorded, strict=True), 1):
        code = f"MS01-{number:06d}"
        row = rows[code]
        where = f"{code} at {app.size[0]}x{app.size[1]}: {row.rstrip()!r}"
        assert at.astimezone(STATION_TZ).strftime("%H:%M") in row, f"time missing in {where}"
        kind = app.messages.t(f"classification.{new.classification}")
        assert kind in row, f"classification missing in {where}"
        how = category_shown(new.category_name, row)
        assert how is not None, f"category missing or cut without '…' in {where}"
        shown.append(how)
        weight = format_kg(grams, "nl")
        assert row.rstrip().endswith(weight), f"weight not whole and right-aligned in {where}"
    return shown


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_column_whole_and_every_key_shown(
    make_app, counter_config: Config, size: tuple[int, int]
) -> None:  # type: ignore[no-untyped-def]
    recorded = record_busy_day(counter_config.database_path())
    app = on_busy_day(make_app())
    async with app.run_test(size=size) as pilot:
        await ready(pilot, app)
        screen = app.counter_screen
        table = screen.query_one(DropOffTable)
        await wait_for(pilot, lambda: table.row_count == len(DROP_OFFS))
        await pilot.pause()

        shown = check_every_cell(app, recorded)
        # The longest name is cut with "…" at every size but the widest.
        assert shown[-1] == ("whole" if size[0] >= 200 else "cut")
        columns = table.columns_shown
        assert columns is not None
        if size[0] >= 100:
            assert columns.eural, f"no room for the EURAL code at {size}"
            assert "20 03 07" in list_rows(app, recorded)["MS01-000003"]

        bar = screen.query_one(KeyBar)
        text = " ".join(bar.lines)
        missing = [k for k in KEYS if f"{k} " not in f"{text} "]
        assert not missing, f"keys not on the key bar at {size}: {missing} in {bar.lines}"
        assert bar.region.bottom == size[1] and bar.region.height == len(bar.lines) <= 2

        # v shows the label preview where it is hidden and hides it where it is shown.
        beside = screen.has_class("-show-preview")
        app.simulate_key("v")  # pilot.press waits for an idle process: up to 1 s
        await wait_for(pilot, lambda: screen.has_class("-show-preview") != beside)
        await pilot.pause()
        if beside:
            # The room is given back to the list.
            assert table.region.right == size[0]
            check_every_cell(app, recorded)
        else:
            assert screen.has_class("-preview-only")
            assert not table.display
        app.simulate_key("v")  # pilot.press waits for an idle process: up to 1 s
        await wait_for(pilot, lambda: screen.has_class("-show-preview") == beside)
        await pilot.pause()
        check_every_cell(app, recorded)
