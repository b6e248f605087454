"""`m`: a weight typed in by hand when the scale is down, marked manual everywhere."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pilot_helpers import ready, screen_text, wait_for
from textual.widgets import DataTable, Static

from counter_app.config import Config, CounterConfig
from counter_app.services.scale import ScaleState
from counter_app.ui.manual_weight import ManualWeightScreen
from counter_app.ui.widgets import KeyBar
from drivers.printer.decode import decode_escpos


def recorded(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "select label_code, weight_grams, weight_source, reason from drop_off"
        ).fetchall()


def prompt(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.counter_screen.query_one("#prompt", Static).render())


def problem(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#manual-problem", Static).render())


def allowing(config: Config, **changes: object) -> Config:
    return config.model_copy(update={"counter": CounterConfig(manual_weight=True), **changes})


async def type_weight_and_reason(pilot, weight: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    app.screen.query_one("#manual-weight").value = ""
    app.screen.query_one("#manual-reason").value = ""
    app.screen.query_one("#manual-weight").focus()
    await pilot.press(*weight, "enter")
    await pilot.press(*reason, "enter")
    await pilot.pause()


async def test_a_typed_weight_is_recorded_shown_and_labelled_as_manual(
    make_app, counter_config: Config, tmp_path: Path
) -> None:
    config = allowing(counter_config)
    app = make_app(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot, app)
        app.scale_service.simulator.unplug()  # the scale is down
        await wait_for(pilot, lambda: app.scale_service.snapshot().state is ScaleState.OFFLINE)
        await pilot.press("1", "enter")  # reuse: furniture
        await pilot.press("m")
        assert isinstance(app.screen, ManualWeightScreen)
        assert "Gewicht handmatig invoeren · Meubels" in screen_text(app)
        await type_weight_and_reason(pilot, "12,5", "weegschaal defect")
        await wait_for(pilot, lambda: "MS01-000001" in prompt(app))
        assert "Opgeslagen, handmatig gewicht: MS01-000001 — 12,50 kg" in prompt(app)
        table = app.counter_screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        assert "HANDMATIG · Meubels" in str(table.get_row_at(0)[3])
        labels = tmp_path / "labels"
        await wait_for(pilot, lambda: any(labels.glob("*.escpos")))

    assert recorded(config.database_path()) == [
        ("MS01-000001", 12500, "manual", "weegschaal defect")
    ]
    (label_file,) = sorted((tmp_path / "labels").glob("*.escpos"))
    text = decode_escpos(label_file.read_bytes()).text
    assert "12,50 kg" in text and "Handmatig ingevoerd" in text


async def test_bad_input_is_said_in_the_modal_and_nothing_is_recorded(
    make_app, counter_config: Config
) -> None:
    config = allowing(counter_config)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("m")  # nothing chosen yet
        assert "Kies eerst hergebruik (1), reparatie (2) of recycling (3), dan m" in prompt(app)
        await pilot.press("3", "enter", "m")
        for weight, reason, words in (
            ("0", "weegschaal defect", "Een gewicht van nul wordt niet vastgelegd"),
            ("-3", "weegschaal defect", "Een negatief gewicht wordt niet vastgelegd"),
            ("twaalf", "weegschaal defect", "Geen geldig gewicht: typ kilogrammen"),
            ("100001", "weegschaal defect", "Meer dan de weegschaal kan wegen (100.000,00 kg)"),
            ("12,5", "", "Vul een reden in"),
            ("12,5", "   ", "Vul een reden in"),
        ):
            await type_weight_and_reason(pilot, weight, reason)
            assert isinstance(app.screen, ManualWeightScreen), weight
            assert words in problem(app), (weight, problem(app))
            # What was typed stays, to be corrected.
            assert app.screen.query_one("#manual-weight").value == weight
        await pilot.press("escape")
        assert not isinstance(app.screen, ManualWeightScreen)
        await pilot.pause(0.3)

    assert recorded(config.database_path()) == []


async def test_the_configured_capacity_is_the_maximum(make_app, counter_config: Config) -> None:
    scale = counter_config.scale.model_copy(update={"capacity_kg": 60})
    config = allowing(counter_config, scale=scale)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("1", "enter", "m")
        await type_weight_and_reason(pilot, "60,5", "weegschaal defect")
        assert "Meer dan de weegschaal kan wegen (60,00 kg)" in problem(app)
        await type_weight_and_reason(pilot, "60", "weegschaal defect")
        await wait_for(pilot, lambda: "MS01-000001" in prompt(app))

    assert recorded(config.database_path()) == [
        ("MS01-000001", 60000, "manual", "weegschaal defect")
    ]


async def test_manual_weight_in_english(make_app, counter_config: Config) -> None:
    config = allowing(counter_config, language="en")
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("2", "enter", "m")
        assert "Enter weight by hand" in screen_text(app)
        await type_weight_and_reason(pilot, "1,2345", "scale broken")
        assert "At most three decimals" in problem(app)
        await type_weight_and_reason(pilot, "abc", "scale broken")
        assert "Not a valid weight: type kilograms, for example 12.5" in problem(app)
        await type_weight_and_reason(pilot, "12.5", "scale broken")
        await wait_for(pilot, lambda: "Saved, manual weight: MS01-000001 — 12.50 kg" in prompt(app))

    assert recorded(config.database_path()) == [("MS01-000001", 12500, "manual", "scale broken")]


async def test_without_the_setting_m_does_nothing_and_is_not_offered(
    make_app, counter_config: Config
) -> None:
    assert counter_config.counter.manual_weight is False
    app = make_app()
    async with app.run_test(size=(160, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("1", "enter", "m")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ManualWeightScreen)
        key_bar = " ".join(app.counter_screen.query_one(KeyBar).lines)
        assert "Handmatig" not in key_bar and "Wegen" in key_bar

    assert recorded(counter_config.database_path()) == []
