"""The database's start-up messages are safe at any moment of the screen's life."""

from __future__ import annotations

from pilot_helpers import ready, wait_for
from textual.widgets import Static

from counter_app.config import Config
from counter_app.ui.app import CounterApp
from counter_app.ui.database_fault import DatabaseFaultScreen
from counter_app.ui.help import HelpScreen
from counter_app.ui.messages import DatabaseFailed, DatabaseOpened


def status(app: CounterApp) -> str:
    return str(app.counter_screen.query_one("#status", Static).render())


class EarlyDatabaseApp(CounterApp):
    """The database answers before the counter screen is composed (a fast disk, a
    slow terminal): its message is handled before the screen has any widgets."""

    def _open_database(self) -> None:  # type: ignore[override]
        pass  # the answer is the one posted below

    def on_mount(self) -> None:
        self.post_message(DatabaseOpened())
        self.post_message(DatabaseFailed("schijf vol"))
        super().on_mount()


async def test_database_news_before_the_screen_is_composed_is_shown_once_it_is(
    counter_config: Config,
) -> None:
    app = EarlyDatabaseApp(counter_config, demo_scenario=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "schijf vol" in status(app))
        # What arrived early is on the status line and said in the fault's modal, not
        # lost and not a crash; the counter goes on (help opens and closes).
        await wait_for(pilot, lambda: isinstance(app.screen, DatabaseFaultScreen))
        await pilot.press("escape")
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert app.screen is app.counter_screen
    assert app.return_code in (None, 0)


async def test_database_news_with_a_modal_on_top_and_after_the_screen_left(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        app.push_screen(HelpScreen(app.messages))
        await pilot.pause()
        app.post_message(DatabaseFailed("schijf vol"))
        await pilot.pause()
        assert "schijf vol" in status(app)
        app.pop_screen()
        await pilot.pause()
        # The counter screen leaves (as on the way out): the news still comes.
        app.pop_screen()
        await pilot.pause()
        app.post_message(DatabaseOpened())
        app.post_message(DatabaseFailed("schijf vol"))
        await pilot.pause()
        assert app.is_running
    assert app.return_code in (None, 0)
