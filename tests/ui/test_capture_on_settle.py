"""Enter while the load moves: the counter waits and records the moment it settles."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pilot_helpers import put_on_scale, ready, wait_for
from textual.widgets import Static

from counter_app.config import Config, CounterConfig
from counter_app.services.scale import ScaleState


def recorded(db: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "select label_code, weight_grams, weight_source from drop_off order by label_no"
        ).fetchall()


def prompt(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.counter_screen.query_one("#prompt", Static).render())


async def test_enter_in_motion_waits_and_records_when_the_load_settles(
    make_app, counter_config: Config
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "5.00", motion=True, state=ScaleState.MOTION)
        await pilot.press("1", "enter", "enter")
        assert "Wacht op stabiel gewicht (15 s), dan vanzelf vastgelegd" in prompt(app)
        assert "Esc: annuleren" in prompt(app)
        # Still swinging: still waiting, nothing recorded.
        for weight in ("5.40", "4.80"):
            await put_on_scale(pilot, app, weight, motion=True, state=ScaleState.MOTION)
            assert "Wacht op stabiel gewicht" in prompt(app)
        assert recorded(counter_config.database_path()) == []
        await put_on_scale(pilot, app, "5.10", state=ScaleState.STABLE)
        await wait_for(pilot, lambda: "Opgeslagen: MS01-000001" in prompt(app))
        assert "5,10 kg" in prompt(app)
        # One load, one record: Enter again on the same load is refused as today.
        await pilot.press("1", "enter", "enter")
        assert "Al vastgelegd" in prompt(app)
        await pilot.pause(0.6)  # a few settle ticks: nothing more is recorded by itself

    assert recorded(counter_config.database_path()) == [("MS01-000001", 5100, "scale")]


async def test_esc_cancels_the_wait_and_keeps_the_choice(make_app, counter_config: Config) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "7.00", motion=True, state=ScaleState.MOTION)
        await pilot.press("2", "enter", "enter")
        assert "Wacht op stabiel gewicht" in prompt(app)
        await pilot.press("escape")
        assert "Wachten geannuleerd; niets vastgelegd" in prompt(app)
        await put_on_scale(pilot, app, "7.00", state=ScaleState.STABLE)
        await pilot.pause(0.6)  # a few settle ticks
        assert recorded(counter_config.database_path()) == []
        # The category is still chosen: Enter weighs the settled load.
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Opgeslagen: MS01-000001" in prompt(app))

    assert recorded(counter_config.database_path()) == [("MS01-000001", 7000, "scale")]


async def test_the_wait_ends_with_a_message_when_the_load_does_not_settle(
    make_app, counter_config: Config
) -> None:
    config = counter_config.model_copy(update={"counter": CounterConfig(settle_seconds=1)})
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "9.00", motion=True, state=ScaleState.MOTION)
        await pilot.press("3", "enter", "enter")
        assert "Wacht op stabiel gewicht (1 s)" in prompt(app)
        await wait_for(pilot, lambda: "Niet vastgelegd" in prompt(app))
        assert "geen stabiel gewicht binnen 1 s" in prompt(app)
        # Settled after the wait was dropped: nothing is recorded by itself.
        await put_on_scale(pilot, app, "9.00", state=ScaleState.STABLE)
        await pilot.pause(0.6)
        assert recorded(config.database_path()) == []
        await pilot.press("enter")  # the attendant weighs again
        await wait_for(pilot, lambda: "MS01-000001" in prompt(app))

    assert recorded(config.database_path()) == [("MS01-000001", 9000, "scale")]


async def test_a_protocol_without_a_motion_flag_settles_by_the_counters_rule(
    make_app, counter_config: Config
) -> None:
    """XK3190 frames cannot say 'in motion': the simulator wobbles the weight and the
    counter's own stability rule decides when it has settled."""
    scale = counter_config.scale.model_copy(update={"protocol": "xk3190"})
    config = counter_config.model_copy(update={"scale": scale})
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        sim = app.scale_service.simulator
        await put_on_scale(pilot, app, "17.50", state=ScaleState.STABLE)
        sim.set_motion(True)
        await wait_for(pilot, lambda: app.counter_screen._snapshot.state is ScaleState.MOTION)
        await pilot.press("3", "enter", "enter")
        assert "Wacht op stabiel gewicht" in prompt(app)
        sim.set_motion(False)
        await wait_for(pilot, lambda: "Opgeslagen: MS01-000001" in prompt(app))

    assert recorded(config.database_path()) == [("MS01-000001", 17500, "scale")]


async def test_the_wait_in_english(make_app, counter_config: Config) -> None:
    app = make_app(counter_config.model_copy(update={"language": "en"}))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "1.00", motion=True, state=ScaleState.MOTION)
        await pilot.press("1", "enter", "enter")
        assert "Waiting for a stable weight (15 s), then recorded by itself" in prompt(app)
        await pilot.press("escape")
        assert "Waiting cancelled; nothing recorded" in prompt(app)


async def test_a_waiting_capture_records_nothing_under_another_screen(
    make_app, counter_config: Config
) -> None:
    """A load that settles while the help (or a void or correction question) is open
    is not recorded under it: a question on one record must not record another."""
    from counter_app.ui.help import HelpScreen

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "3.00", state=ScaleState.STABLE)
        await pilot.press("1", "enter", "enter")
        await wait_for(pilot, lambda: "Opgeslagen: MS01-000001" in prompt(app))
        await wait_for(pilot, lambda: app.counter_screen._day_records != {})

        # Delete asks about the selected record: a waiting capture is dropped first.
        await put_on_scale(pilot, app, "6.00", motion=True, state=ScaleState.MOTION)
        await pilot.press("1", "enter", "enter")
        assert "Wacht op stabiel gewicht" in prompt(app)
        await pilot.press("delete")
        await put_on_scale(pilot, app, "6.00", state=ScaleState.STABLE)
        await pilot.pause(0.6)  # a few settle ticks under the question
        assert recorded(counter_config.database_path()) == [("MS01-000001", 3000, "scale")]
        await pilot.press("escape")

        # Under the help, a waiting capture waits: nothing is recorded behind it.
        await put_on_scale(pilot, app, "8.00", motion=True, state=ScaleState.MOTION)
        await pilot.press("1", "enter", "enter")
        assert "Wacht op stabiel gewicht" in prompt(app)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await put_on_scale(pilot, app, "8.00", state=ScaleState.STABLE)
        await pilot.pause(0.6)
        assert recorded(counter_config.database_path()) == [("MS01-000001", 3000, "scale")]

    assert recorded(counter_config.database_path()) == [("MS01-000001", 3000, "scale")]
