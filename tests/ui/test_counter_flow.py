"""The attendant's flow, end to end: 1/2/3, pick, Enter; refusals; Esc; printer faults."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

from pilot_helpers import put_on_scale, ready, wait_for
from textual.widgets import DataTable, Static

from counter_app.config import Config
from counter_app.services.scale import ScaleState
from drivers.printer.decode import decode_escpos


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def prompt(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.counter_screen.query_one("#prompt", Static).render())


async def test_three_keys_record_one_drop_off_and_print_its_label(
    make_app, counter_config: Config, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "12.34", state=ScaleState.STABLE)
        await pilot.press("1")
        await pilot.press("enter")  # the first reuse category: furniture
        await pilot.press("enter")  # capture
        labels = tmp_path / "labels"
        await wait_for(pilot, lambda: any(labels.glob("*.escpos")))
        await wait_for(pilot, lambda: "MS01-000001" in prompt(app))
        table = app.counter_screen.query_one(DataTable)
        assert table.row_count == 1

    db = counter_config.database_path()
    assert rows(
        db, "select label_code, classification, weight_grams, weight_source from drop_off"
    ) == [("MS01-000001", "reuse", 12340, "scale")]
    # The raw frame behind the weight is kept with the record.
    (raw,) = rows(db, "select raw_frame from captured_reading")[0]
    assert b"12.34" in raw
    (status,) = rows(db, "select status from print_job")[0]
    assert status == "sent"

    (label_file,) = sorted((tmp_path / "labels").glob("*.escpos"))
    doc = decode_escpos(label_file.read_bytes())
    assert doc.qr_codes == ["MS01-000001"]
    assert ("CODE128", "MS01-000001") in doc.barcodes
    text = doc.text
    assert "MS01-000001" in text
    assert "HERGEBRUIK" in text
    assert "12,34 kg" in text
    assert doc.cuts == 1


async def test_last_category_is_preselected_so_a_run_takes_three_keys(
    make_app, counter_config: Config
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "3.50", state=ScaleState.STABLE)
        await pilot.press("3")
        await pilot.press(*"metaal")
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: "MS01-000001" in prompt(app))
        await put_on_scale(pilot, app, "4.20", state=ScaleState.STABLE)  # the next item
        await pilot.press("3", "enter", "enter")
        await wait_for(pilot, lambda: "MS01-000002" in prompt(app))

    assert rows(
        counter_config.database_path(),
        "select label_code, category_code, eural_code from drop_off order by label_no",
    ) == [("MS01-000001", "metaal", "20 01 40"), ("MS01-000002", "metaal", "20 01 40")]


async def test_escape_at_every_step_records_nothing(make_app, counter_config: Config) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "8.00", state=ScaleState.STABLE)
        await pilot.press("2", "escape")  # in the picker
        await pilot.press("enter")  # nothing chosen: refused
        assert "Kies eerst" in prompt(app)
        await pilot.press("2", "enter", "escape")  # after picking, before weighing
        await pilot.press("enter")
        assert "Kies eerst" in prompt(app)
        await pilot.pause(0.3)

    assert rows(counter_config.database_path(), "select count(*) from drop_off") == [(0,)]


async def test_capture_refused_in_motion_overload_negative_zero_and_offline(
    make_app, counter_config: Config
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        sim = app.scale_service.simulator
        await pilot.press("1", "enter")

        await put_on_scale(pilot, app, "5.00", motion=True, state=ScaleState.MOTION)
        await pilot.press("enter")
        assert "stabiele weging" in prompt(app)

        sim.set_overload(True)
        await wait_for(pilot, lambda: app.scale_service.snapshot().state is ScaleState.OVERLOAD)
        await pilot.press("enter")
        assert "overbelast" in prompt(app)
        sim.set_overload(False)

        await put_on_scale(pilot, app, "-1.20", state=ScaleState.STABLE)
        await pilot.press("enter")
        assert "Negatief" in prompt(app)

        await put_on_scale(pilot, app, "0.00", state=ScaleState.STABLE)
        await pilot.press("enter")
        assert "nul" in prompt(app)

        sim.unplug()
        await wait_for(pilot, lambda: app.scale_service.snapshot().state is ScaleState.OFFLINE)
        await pilot.press("enter")
        assert "offline" in prompt(app)

    assert rows(counter_config.database_path(), "select count(*) from drop_off") == [(0,)]


async def test_unwritable_label_file_keeps_the_record_and_queues_the_label(
    make_app, counter_config: Config, tmp_path: Path
) -> None:
    from textual.geometry import Region

    # A file where a folder of the label path should be: the preview printer cannot write.
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    labels = str(blocked / "labels")
    config = counter_config.model_copy(
        update={"printer": counter_config.printer.model_copy(update={"path": labels})}
    )
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "2.25", state=ScaleState.STABLE)
        await pilot.press("3", "enter", "enter")
        await wait_for(pilot, lambda: "MS01-000001" in prompt(app))
        status = app.counter_screen.query_one("#status", Static)

        def visible() -> str:
            """The status line's first row as the 80-column screen shows it."""
            return status.render_lines(Region(0, 0, status.size.width, 1))[0].text

        # The waiting label is counted within the 80 columns; the detail may be cut.
        await wait_for(pilot, lambda: "wachtrij: 1" in visible())
        assert "niet bereikbaar" in visible()
        assert status.size.width <= 80

    db = config.database_path()
    assert rows(db, "select label_code, weight_grams from drop_off") == [("MS01-000001", 2250)]
    (job_status, error) = rows(db, "select status, last_error from print_job")[0]
    assert job_status in ("queued", "failed")
    assert error


async def test_english_when_configured(make_app, counter_config: Config) -> None:
    app = make_app(counter_config.model_copy(update={"language": "en"}))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "1.00", motion=True, state=ScaleState.MOTION)
        await pilot.press("1", "enter", "enter")
        assert "stable" in prompt(app)
        await pilot.press("f1")
        await pilot.pause(0.1)
        assert "Help" in str(app.screen.query_one("#help-title", Static).render())


async def test_a_refused_reprint_is_said_and_the_counter_goes_on(
    make_app, counter_config: Config
) -> None:
    from db.writes import void_drop_off

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "6.00", state=ScaleState.STABLE)
        await pilot.press("1", "enter", "enter")
        await wait_for(pilot, lambda: "MS01-000001" in prompt(app))
        record_id = app.counter_screen.query_one(DataTable).coordinate_to_cell_key((0, 0))
        void_drop_off(
            app.counter_service.engine, str(record_id.row_key.value), "teamleider", "dubbel"
        )
        await pilot.press("r")
        await wait_for(pilot, lambda: "Niet gelukt" in prompt(app))
        assert "deze registratie is vervallen" in prompt(app)
        # Still counting: the next drop-off records as usual.
        await put_on_scale(pilot, app, "7.00", state=ScaleState.STABLE)
        await pilot.press("1", "enter", "enter")
        await wait_for(pilot, lambda: "MS01-000002" in prompt(app))


async def test_the_list_and_totals_roll_over_at_midnight(make_app, counter_config: Config) -> None:
    from datetime import timedelta

    from counter_app.ui.widgets import TotalsStrip

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "9.00", state=ScaleState.STABLE)
        await pilot.press("3", "enter", "enter")
        await wait_for(pilot, lambda: "MS01-000001" in prompt(app))
        totals = app.counter_screen.query_one(TotalsStrip)
        assert "9,00 kg" in str(totals.render())
        # The clock passes midnight: the counter shows a new, empty day.
        tomorrow = app.local_day() + timedelta(days=1)
        app.local_day = lambda: tomorrow  # type: ignore[method-assign]
        app._check_day()
        await wait_for(pilot, lambda: app.today == tomorrow)
        await wait_for(pilot, lambda: app.counter_screen.query_one(DataTable).row_count == 0)
        assert "9,00 kg" not in str(totals.render())


async def test_the_same_load_is_not_recorded_twice(make_app, counter_config: Config) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "13.30", state=ScaleState.STABLE)
        await pilot.press("2", "enter", "enter")
        await wait_for(pilot, lambda: "MS01-000001" in prompt(app))
        # The bicycle is still on the scale: another classification, same load.
        await pilot.press("3", "enter", "enter")
        assert "Al vastgelegd" in prompt(app)
        await pilot.pause(0.3)
        # Taken off and put back on: that is a new weighing.
        await put_on_scale(pilot, app, "0.00", state=ScaleState.STABLE)
        await put_on_scale(pilot, app, "13.30", state=ScaleState.STABLE)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "MS01-000002" in prompt(app))

    assert rows(counter_config.database_path(), "select count(*) from drop_off") == [(2,)]


async def test_a_refusal_gives_way_to_the_step_when_the_scale_changes(
    make_app, counter_config: Config
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "0.00", state=ScaleState.STABLE)
        await pilot.press("1", "enter", "enter")
        assert "nul" in prompt(app)
        await put_on_scale(pilot, app, "3.70", state=ScaleState.STABLE)
        await wait_for(pilot, lambda: "Enter: wegen" in prompt(app))
        assert "Hergebruik · Meubels" in prompt(app)


async def test_a_motion_refusal_stays_while_the_load_swings(
    make_app, counter_config: Config
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("1", "enter")
        await put_on_scale(pilot, app, "5.00", motion=True, state=ScaleState.MOTION)
        await pilot.press("enter")
        assert "stabiele weging" in prompt(app)
        for weight in ("5.40", "4.80", "5.10"):  # still swinging: still refused
            await put_on_scale(pilot, app, weight, motion=True, state=ScaleState.MOTION)
            assert "stabiele weging" in prompt(app)
        await put_on_scale(pilot, app, "5.10", state=ScaleState.STABLE)
        await wait_for(pilot, lambda: "Enter: wegen" in prompt(app))


async def test_a_refused_database_write_acknowledges_nothing_and_the_retry_works(
    make_app, counter_config: Config
) -> None:
    """SQLite refuses the write (its own error, as on a read-only or failing disk): the
    attendant is told, nothing is shown as saved, and the same load records once the
    database takes writes again."""
    from sqlalchemy import event

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        engine = app.counter_service.engine

        def refuse_writes(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_connection.execute("PRAGMA query_only = ON")

        event.listen(engine, "connect", refuse_writes)
        engine.dispose()  # new connections, each refusing writes
        await put_on_scale(pilot, app, "31.00", state=ScaleState.STABLE)
        await pilot.press("3", "enter", "enter")
        await wait_for(pilot, lambda: "Opslaan mislukt" in prompt(app))
        assert "MS01-000001" not in prompt(app)
        assert app.counter_screen.query_one(DataTable).row_count == 0

        event.remove(engine, "connect", refuse_writes)
        engine.dispose()
        await pilot.press("3", "enter", "enter")  # the same load: it was never recorded
        await wait_for(pilot, lambda: "MS01-000001" in prompt(app))

    assert rows(counter_config.database_path(), "select count(*) from drop_off") == [(1,)]


async def test_zero_and_tare_keys_where_the_site_allows_them(
    make_app, counter_config: Config
) -> None:
    scale = counter_config.scale.model_copy(update={"protocol": "mt-sics", "allow_zero_tare": True})
    app = make_app(counter_config.model_copy(update={"scale": scale}))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        sim = app.scale_service.simulator
        await put_on_scale(pilot, app, "2.40", state=ScaleState.STABLE)
        await pilot.press("t")
        assert "Tarra naar de weegschaal gestuurd" in prompt(app)
        await wait_for(pilot, lambda: sim.snapshot().tare == Decimal("2.40"))
        sim.unplug()
        await wait_for(pilot, lambda: app.scale_service.snapshot().state is ScaleState.OFFLINE)
        await pilot.press("z")
        assert "offline" in prompt(app)  # not sent into a closed port


async def test_zero_key_on_a_protocol_without_zero_says_so(
    make_app, counter_config: Config
) -> None:
    scale = counter_config.scale.model_copy(update={"allow_zero_tare": True})  # comma: no commands
    app = make_app(counter_config.model_copy(update={"scale": scale}))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("z")
        assert "kent geen nul of tarra" in prompt(app)
