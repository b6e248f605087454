"""The print queue screen, driven with Pilot on the real counter (simulator, SQLite, preview)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pilot_helpers import put_on_scale, ready, wait_for
from textual.widgets import DataTable, Static

from counter_app.config import Config
from counter_app.services.scale import ScaleState
from counter_app.ui.app import CounterApp
from counter_app.ui.print_queue import PrintQueueScreen
from drivers.printer.decode import decode_escpos


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def queue_rows(screen: PrintQueueScreen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def said(screen: PrintQueueScreen) -> str:
    return str(screen.query_one("#print-queue-message", Static).render())


async def record_two(pilot, app: CounterApp) -> None:  # type: ignore[no-untyped-def]
    await ready(pilot, app)
    await put_on_scale(pilot, app, "12.34", state=ScaleState.STABLE)
    await pilot.press("1", "enter", "enter")
    await wait_for(pilot, lambda: app.counter_screen.query_one(DataTable).row_count == 1)
    await put_on_scale(pilot, app, "3.50", state=ScaleState.STABLE)
    await pilot.press("3", "enter", "enter")
    await wait_for(pilot, lambda: app.counter_screen.query_one(DataTable).row_count == 2)


async def test_the_queue_shows_todays_jobs_and_reprints_one(
    make_app, counter_config: Config, tmp_path: Path
) -> None:
    app = make_app()
    labels = tmp_path / "labels"
    async with app.run_test(size=(120, 30)) as pilot:
        await record_two(pilot, app)
        await wait_for(pilot, lambda: len(list(labels.glob("*.escpos"))) == 2)
        assert app.print_service is not None
        screen = PrintQueueScreen(app.messages, app.print_service)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: [r[3] for r in queue_rows(screen)] == ["afgedrukt"] * 2)

        # Newest on top: label code, document, status, attempts, marker, last error.
        assert [r[1:] for r in queue_rows(screen)] == [
            ["MS01-000002", "Etiket", "afgedrukt", "1", "", ""],
            ["MS01-000001", "Etiket", "afgedrukt", "1", "", ""],
        ]
        title = str(screen.query_one("#print-queue-title", Static).render())
        assert title.startswith("Afdrukwachtrij — ")

        await pilot.press("down", "r")  # the first label, again
        await wait_for(pilot, lambda: "Opnieuw in de wachtrij: MS01-000001" in said(screen))
        await wait_for(pilot, lambda: len(list(labels.glob("*.escpos"))) == 3)
        await wait_for(pilot, lambda: len(queue_rows(screen)) == 3)
        await wait_for(pilot, lambda: queue_rows(screen)[0][3] == "afgedrukt")
        assert queue_rows(screen)[0][1:6] == ["MS01-000001", "Etiket", "afgedrukt", "1", "HERDRUK"]

        # A printed job cannot be cancelled; the screen says why instead of failing.
        await pilot.press("x")
        assert said(screen) == (
            "Alleen een wachtende afdruk kan worden geannuleerd; MS01-000001 is afgedrukt"
        )

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.counter_screen)

    newest = sorted(labels.glob("*.escpos"))[-1]
    doc = decode_escpos(newest.read_bytes(), columns=48, profile="TM-T20II")
    assert doc.lines[0].text.strip() == "HERDRUK"
    assert doc.qr_codes == ["MS01-000001"]
    assert rows(
        counter_config.database_path(),
        "select copy_marker, status from print_job order by created_at",
    ) == [(None, "sent"), (None, "sent"), ("reprint", "sent")]


async def test_a_waiting_label_shows_its_error_and_can_be_cancelled(
    make_app, counter_config: Config, tmp_path: Path
) -> None:
    # A file where the label folder should be: every label waits, failed.
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    # A folder below a file: the preview printer cannot create it.
    printer = counter_config.printer.model_copy(update={"path": str(blocked / "labels")})
    config = counter_config.model_copy(update={"printer": printer})
    app = make_app(config)
    async with app.run_test(size=(120, 30)) as pilot:
        await record_two(pilot, app)
        await wait_for(pilot, lambda: "wachtrij: 2" in app.printer_line)
        assert app.print_service is not None
        screen = PrintQueueScreen(app.messages, app.print_service)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: len(queue_rows(screen)) == 2)

        newest = queue_rows(screen)[0]
        assert newest[1:4] == ["MS01-000002", "Etiket", "in wachtrij"]
        oldest = queue_rows(screen)[1]
        assert oldest[1:3] == ["MS01-000001", "Etiket"]
        assert oldest[3] == "mislukt"
        assert oldest[6] == "verkeerd pad"

        await pilot.press("x")  # the newest, still waiting behind the failed one
        assert said(screen).startswith("Nogmaals x om MS01-000002 te annuleren")
        await pilot.press("down", "up")  # another key: the cancel is off again
        await pilot.press("x")
        assert said(screen).startswith("Nogmaals x")
        assert queue_rows(screen)[0][3] == "in wachtrij"
        await pilot.press("x")  # confirmed
        await wait_for(pilot, lambda: said(screen) == "Geannuleerd: MS01-000002")
        await wait_for(pilot, lambda: queue_rows(screen)[0][3] == "geannuleerd")
        # The status line hears at once that one label less is waiting.
        await wait_for(pilot, lambda: "wachtrij: 1" in app.printer_line)
        assert app.printer_line.startswith("Printer: niet bereikbaar · wachtrij: 1 (…")
        assert app.printer_line.endswith("/blocked/labels: verkeerd pad)")

    assert rows(config.database_path(), "select status from print_job order by created_at") == [
        ("failed",),
        ("cancelled",),
    ]
    # Cancelling a label keeps its record: nothing is lost but the print.
    assert rows(config.database_path(), "select count(*) from drop_off") == [(2,)]
