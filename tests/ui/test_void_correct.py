"""Void (Delete) and correct (c) on a row of today's list, in Dutch and in English: the
real simulator, a real SQLite file and the preview printer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from pilot_helpers import put_on_scale, ready, wait_for
from test_database_faults import AFTER_BUSY_TIMEOUT, held_by_another_program
from textual.widgets import DataTable, Static

from counter_app.config import Config, CounterConfig
from counter_app.services.scale import ScaleState
from counter_app.ui.correct import CorrectScreen
from counter_app.ui.help import HelpScreen
from counter_app.ui.void import VoidScreen
from db.engine import open_database
from db.verify import verify_chain
from drivers.printer.decode import decode_escpos


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def prompt(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.counter_screen.query_one("#prompt", Static).render())


def modal_text(app, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one(selector, Static).render())


def chain_ok(db: Path) -> bool:
    engine = open_database(db)
    try:
        return verify_chain(engine).ok
    finally:
        engine.dispose()


def labels_printed(folder: Path) -> list[str]:
    return [decode_escpos(path.read_bytes()).text for path in sorted(folder.glob("*.escpos"))]


async def record_reuse(pilot, app, kg: str, label: str) -> None:  # type: ignore[no-untyped-def]
    """Record ``kg`` as reuse and wait until today's list holds it (Delete and c act on
    the listed rows)."""
    await put_on_scale(pilot, app, kg, state=ScaleState.STABLE)
    await pilot.press("1", "enter", "enter")  # reuse, its first category, capture
    await wait_for(pilot, lambda: label in prompt(app))
    await wait_for(pilot, lambda: app.counter_screen._day_records != {})


async def ask_to_void(pilot, app) -> None:  # type: ignore[no-untyped-def]
    """Delete on the selected row, until its question is open."""
    await pilot.press("delete")
    await wait_for(pilot, lambda: isinstance(app.screen, VoidScreen))


async def test_delete_voids_the_selected_row_for_a_reason_from_the_list(
    make_app, counter_config: Config, tmp_path: Path
) -> None:
    app = make_app()
    db = counter_config.database_path()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await record_reuse(pilot, app, "12.34", "MS01-000001")

        await ask_to_void(pilot, app)
        assert modal_text(app, "#void-title") == ("MS01-000001 laten vervallen — 12,34 kg, Meubels")
        await pilot.press("enter")  # the first reason: Dubbel gewogen
        await wait_for(pilot, lambda: "Vervallen: MS01-000001" in prompt(app))

        screen = app.counter_screen
        await wait_for(pilot, lambda: screen._grams_by_class.get("reuse") == 0)
        table = screen.query_one(DataTable)
        assert table.row_count == 1  # still listed ...
        code_cell = table.get_row_at(0)[1]
        assert "strike" in str(code_cell.style)  # ... struck through

        # Once voided, neither Delete nor c opens a question; the prompt says why.
        await pilot.press("delete")
        await pilot.pause()
        assert not isinstance(app.screen, VoidScreen)
        assert prompt(app) == "MS01-000001 is al vervallen; er is niets vastgelegd"
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, CorrectScreen)

    assert rows(db, "select reason, operator from drop_off where voids_id is not null") == [
        ("Dubbel gewogen", "balie")
    ]
    assert chain_ok(db)


async def test_another_reason_must_be_typed_and_esc_records_nothing(
    make_app, counter_config: Config
) -> None:
    app = make_app()
    db = counter_config.database_path()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await record_reuse(pilot, app, "3.00", "MS01-000001")

        await ask_to_void(pilot, app)
        await pilot.press("escape")
        await pilot.pause()
        assert rows(db, "select count(*) from drop_off where voids_id is not null") == [(0,)]

        await ask_to_void(pilot, app)
        await pilot.press("down", "down", "down", "down", "enter")  # Anders: type it
        await pilot.press("enter")  # nothing typed: refused, the question stays
        assert isinstance(app.screen, VoidScreen)
        assert modal_text(app, "#void-hint") == "Geef een reden op; er is niets vastgelegd"
        assert rows(db, "select count(*) from drop_off where voids_id is not null") == [(0,)]
        await pilot.press(*"klant nam het mee", "enter")
        await wait_for(pilot, lambda: "Vervallen: MS01-000001" in prompt(app))

    assert rows(db, "select reason from drop_off where voids_id is not null") == [
        ("klant nam het mee",)
    ]


@pytest.mark.usefixtures("brief_busy_timeout")
async def test_a_void_the_database_refuses_is_said_and_voids_nothing(
    make_app, counter_config: Config
) -> None:
    app = make_app()
    db = counter_config.database_path()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await record_reuse(pilot, app, "4.00", "MS01-000001")

        with held_by_another_program(db, exclusive=False):
            await ask_to_void(pilot, app)
            await pilot.press("enter")  # the first reason: Dubbel gewogen
            await wait_for(pilot, lambda: "Niet gelukt" in prompt(app), AFTER_BUSY_TIMEOUT)
            assert "database bezet door een ander programma" in prompt(app)
            assert rows(db, "select count(*) from drop_off where voids_id is not null") == [(0,)]

        await ask_to_void(pilot, app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Vervallen: MS01-000001" in prompt(app))

    assert rows(db, "select count(*) from drop_off where voids_id is not null") == [(1,)]
    assert chain_ok(db)


async def test_c_corrects_the_category_and_the_new_label_says_corrected_in_english(
    make_app, counter_config: Config, tmp_path: Path
) -> None:
    app = make_app(counter_config.model_copy(update={"language": "en"}))
    db = counter_config.database_path()
    labels = tmp_path / "labels"
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot, app)
        await record_reuse(pilot, app, "12.34", "MS01-000001")
        await wait_for(pilot, lambda: len(labels_printed(labels)) == 1)

        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CorrectScreen))
        assert modal_text(app, "#correct-title") == "Correct MS01-000001 — 12.34 kg, Furniture"
        await pilot.press("enter")  # nothing chosen yet: refused, the question stays
        assert isinstance(app.screen, CorrectScreen)
        assert "Choose what changes" in modal_text(app, "#correct-hint")
        await pilot.press("3", *"metaal", "enter")  # the category picker
        await wait_for(pilot, lambda: isinstance(app.screen, CorrectScreen))
        assert modal_text(app, "#correct-change") == "New category: Recycling — Metals"
        await pilot.press("enter")  # the reason offered first: Wrong category
        await wait_for(pilot, lambda: "Corrected: MS01-000002 replaces MS01-000001" in prompt(app))
        await wait_for(pilot, lambda: len(labels_printed(labels)) == 2)

        screen = app.counter_screen
        await wait_for(pilot, lambda: len(screen._day_records) == 2)
        assert screen._grams_by_class["recycling"] == 12340
        assert screen._grams_by_class["reuse"] == 0
        table = screen.query_one(DataTable)
        newest, original = table.get_row_at(0), table.get_row_at(1)
        assert str(newest[1]) == "MS01-000002" and "italic" in str(newest[1].style)
        assert str(original[1]) == "MS01-000001" and "strike" in str(original[1].style)

        # r on the correction reprints its label: REPRINT, and still CORRECTED.
        await pilot.press("r")
        await wait_for(pilot, lambda: len(labels_printed(labels)) == 3)

    first_label, correction_label, reprint = labels_printed(labels)
    assert "CORRECTED" not in first_label
    assert "CORRECTED" in correction_label and "Replaces MS01-000001" in correction_label
    assert "MS01-000002" in correction_label and "RECYCLING" in correction_label
    assert "REPRINT" in reprint and "CORRECTED" in reprint
    assert rows(
        db,
        "select label_code, classification, category_code, weight_grams, reason from drop_off"
        " where corrects_id is not null",
    ) == [("MS01-000002", "recycling", "metaal", 12340, "Wrong category")]
    assert chain_ok(db)


async def test_c_then_g_weighs_again_in_dutch(make_app, counter_config: Config) -> None:
    app = make_app()
    db = counter_config.database_path()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await record_reuse(pilot, app, "20.00", "MS01-000001")

        await put_on_scale(pilot, app, "18.50", motion=True, state=ScaleState.MOTION)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CorrectScreen))
        await pilot.press("g")  # moving: not taken
        assert modal_text(app, "#correct-change") == "Wacht op een stabiele weging"
        await put_on_scale(pilot, app, "18.50", state=ScaleState.STABLE)
        await pilot.press("g")
        assert modal_text(app, "#correct-change") == "Nieuw gewicht: 18,50 kg (weegschaal)"
        await pilot.press("up", "enter")  # Dubbel gewogen
        await wait_for(
            pilot, lambda: "Gecorrigeerd: MS01-000002 vervangt MS01-000001" in prompt(app)
        )
        await wait_for(pilot, lambda: app.counter_screen._grams_by_class.get("reuse") == 18500)

    assert rows(
        db, "select weight_grams, weight_source, reason from drop_off where corrects_id is not null"
    ) == [(18500, "scale", "Dubbel gewogen")]
    assert chain_ok(db)


async def test_the_site_can_keep_the_counter_from_voiding_and_correcting(
    make_app, counter_config: Config
) -> None:
    closed = counter_config.model_copy(update={"counter": CounterConfig(allow_corrections=False)})
    app = make_app(closed)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await record_reuse(pilot, app, "4.00", "MS01-000001")
        await pilot.press("delete")
        await pilot.press("c")
        await pilot.pause()
        assert app.screen is app.counter_screen
        bound = app.counter_screen._bindings.key_to_bindings
        assert "delete" not in bound and "c" not in bound
        # Nor does F1's help offer them (the reprint line is still there).
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_text = str(app.screen.query_one("#help-body", Static).render())
        assert "Herdruk:" in help_text
        assert "Vervallen:" not in help_text and "Corrigeren:" not in help_text

    assert rows(
        counter_config.database_path(), "select count(*) from drop_off where voids_id is not null"
    ) == [(0,)]


async def test_the_questions_speak_dutch(make_app, counter_config: Config) -> None:
    from pilot_helpers import screen_text

    from tests.english_words import english_in

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await record_reuse(pilot, app, "6.00", "MS01-000001")
        seen: dict[str, str] = {}

        await ask_to_void(pilot, app)
        seen["void"] = screen_text(app)
        await pilot.press("escape")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CorrectScreen))
        seen["correct"] = screen_text(app)
        await pilot.press("g")  # the load just recorded, weighed again
        await pilot.pause()
        seen["correct, weighed again"] = screen_text(app)

    assert {moment: english_in(text) for moment, text in seen.items()} == {key: [] for key in seen}
    assert "Dubbel gewogen" in seen["void"]
    assert "Nieuw gewicht: 6,00 kg (weegschaal)" in seen["correct, weighed again"]
