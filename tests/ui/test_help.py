"""F1 at the counter: the title and how to close stay in view at every size; on a short
terminal the keys between them scroll with the arrows and PgUp/PgDn."""

from __future__ import annotations

from pilot_helpers import ready, screen_text, wait_for

from counter_app.ui.app import CounterApp
from counter_app.ui.help import HelpScreen


async def test_at_80x24_the_help_scrolls_between_its_title_and_its_close_line(
    make_app,  # type: ignore[no-untyped-def]
) -> None:
    app: CounterApp = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        first = screen_text(app)
        assert "Help — weegbalie" in first and "Esc of F1: sluiten" in first
        assert "Ctrl+Q Afsluiten" not in first  # below the fold at 24 rows
        await pilot.press("pagedown", "pagedown")
        last = screen_text(app)
        assert "Ctrl+Q Afsluiten; niets gaat verloren" in last
        assert "Help — weegbalie" in last and "Esc of F1: sluiten" in last
        await pilot.resize_terminal(120, 50)
        # Room for every key: nothing left to scroll.
        await wait_for(pilot, lambda: "Een afgifte vastleggen" in screen_text(app))
        assert "Ctrl+Q Afsluiten" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.counter_screen)
