"""The key bar along the bottom: the screen's keys in the attendant's language, drawn
again (not rebuilt) when they change; a click on a key presses it."""

from __future__ import annotations

from pilot_helpers import ready, wait_for

from counter_app.ui.app import CounterApp
from counter_app.ui.help import HelpScreen
from counter_app.ui.picker import CategoryPicker
from counter_app.ui.widgets import KeyBar, KeyLine


async def test_shows_the_keys_and_a_click_on_one_presses_it(make_app) -> None:  # type: ignore[no-untyped-def]
    app: CounterApp = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        line = app.counter_screen.query_one(KeyLine)
        shown = str(line.render())
        # The keys Textual's Footer showed, in its order; the terminal shows the first 80
        # columns, the wheel scrolls to the rest.
        assert shown == (
            "1 Hergebruik 2 Reparatie 3 Recycling Enter Wegen Esc Annuleren F1 Help "
            "F9 Diagnose r Herdruk w Wachtrij s Dagtotalen v Etiket Del Vervallen c Corrigeren "
        )
        assert app.counter_screen.query_one(KeyBar).allow_horizontal_scroll

        await pilot.press("1")
        await wait_for(pilot, lambda: isinstance(app.screen, CategoryPicker))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.counter_screen)
        # The same widget, drawn again: nothing was mounted.
        assert app.counter_screen.query_one(KeyLine) is line
        assert str(line.render()) == shown

        await pilot.click(KeyLine, offset=(shown.index("F1"), 0))
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
