"""One load, one record across a restart: the attendant is asked before it counts twice."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pilot_helpers import put_on_scale, ready, wait_for
from textual.widgets import Static

from counter_app.config import Config
from counter_app.services.scale import ScaleState
from counter_app.ui.counter_screen import CounterScreen


def count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute("select count(*) from drop_off").fetchone()
    return int(n)


def prompt(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.counter_screen.query_one("#prompt", Static).render())


def question(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#repeat-question", Static).render())


async def test_after_a_restart_the_same_weight_is_recorded_again_only_when_confirmed(
    make_app, counter_config: Config
) -> None:
    db = counter_config.database_path()
    first = make_app()
    async with first.run_test(size=(80, 24)) as pilot:
        await ready(pilot, first)
        await put_on_scale(pilot, first, "12.34", state=ScaleState.STABLE)
        await pilot.press("1", "enter", "enter")
        await wait_for(pilot, lambda: count(db) == 1)
        # The counter goes down before the record is shown on the screen.
    assert count(db) == 1

    app = make_app()  # the restart: the same database, the load still on the scale
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "12.34", state=ScaleState.STABLE)
        await pilot.press("1", "enter", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, CounterScreen))
        text = question(app)
        assert "Dit gewicht (12,34 kg) is om" in text
        assert "al vastgelegd als MS01-000001" in text
        assert "Nogmaals vastleggen? (j/n)" in text
        await pilot.press("n")  # no: nothing is recorded
        await wait_for(pilot, lambda: app.screen is app.counter_screen)
        assert "Niet opnieuw vastgelegd" in prompt(app)
        await pilot.pause(0.3)
        assert count(db) == 1

        await pilot.press("enter")  # asked again, and this time: yes
        await wait_for(pilot, lambda: not isinstance(app.screen, CounterScreen))
        await pilot.press("j")
        await wait_for(pilot, lambda: "MS01-000002" in prompt(app))
        assert count(db) == 2


async def test_after_a_restart_another_weight_is_recorded_without_a_question(
    make_app, counter_config: Config
) -> None:
    db = counter_config.database_path()
    first = make_app()
    async with first.run_test(size=(80, 24)) as pilot:
        await ready(pilot, first)
        await put_on_scale(pilot, first, "12.34", state=ScaleState.STABLE)
        await pilot.press("1", "enter", "enter")
        await wait_for(pilot, lambda: count(db) == 1)

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "7.50", state=ScaleState.STABLE)
        await pilot.press("1", "enter", "enter")
        await wait_for(pilot, lambda: "MS01-000002" in prompt(app))
        assert app.screen is app.counter_screen


async def test_the_question_in_english(make_app, counter_config: Config) -> None:
    english = counter_config.model_copy(update={"language": "en"})
    first = make_app(english)
    db = counter_config.database_path()
    async with first.run_test(size=(80, 24)) as pilot:
        await ready(pilot, first)
        await put_on_scale(pilot, first, "12.34", state=ScaleState.STABLE)
        await pilot.press("1", "enter", "enter")
        await wait_for(pilot, lambda: count(db) == 1)

    app = make_app(english)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "12.34", state=ScaleState.STABLE)
        await pilot.press("1", "enter", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, CounterScreen))
        text = question(app)
        assert "This weight (12.34 kg) was already recorded at" in text
        assert "as MS01-000001. Record it again? (y/n)" in text
        await pilot.press("y")
        await wait_for(pilot, lambda: "MS01-000002" in prompt(app))
