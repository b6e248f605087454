"""A database that cannot be opened or written is said once, clearly, in the
attendant's language, with what to do; nothing is acknowledged that was not committed.

Each fault is real SQLite behaviour: a file that is no database, a lock held by another
program (sqlite3 in exclusive locking mode, or holding the write lock), a read-only
file, and a full disk (``PRAGMA max_page_count``: the file may not grow, as on a full
disk; SQLite answers SQLITE_FULL).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pilot_helpers import put_on_scale, ready, screen_text, wait_for
from textual.widgets import DataTable, Static

from counter_app.config import Config
from counter_app.services.scale import ScaleState
from counter_app.ui.app import CounterApp
from counter_app.ui.database_fault import DatabaseFaultScreen
from db.engine import BUSY_TIMEOUT_MS, open_database

# A busy database is said after SQLite's busy timeout: wait longer than it.
AFTER_BUSY_TIMEOUT = BUSY_TIMEOUT_MS / 1000 + 10
# Each record of the long operator below writes many pages: room for a busy machine.
SLOW = 20.0


def prompt(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.counter_screen.query_one("#prompt", Static).render())


def weight_shown(app) -> str:  # type: ignore[no-untyped-def]
    """The weight the weight panel shows now (its digits)."""
    from textual.widgets import Digits

    return str(app.counter_screen.query_one("#weight-digits", Digits).value)


def count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute("select count(*) from drop_off").fetchone()
    return int(n)


@contextmanager
def held_by_another_program(db: Path, *, exclusive: bool) -> Iterator[None]:
    """Another program's connection holding the database: in exclusive locking mode
    (nobody can even read it) or holding its write lock (reads go on, writes wait)."""
    other = sqlite3.connect(db, isolation_level=None)
    try:
        if exclusive:
            other.execute("PRAGMA locking_mode = EXCLUSIVE")
            other.execute("BEGIN EXCLUSIVE")
        else:
            other.execute("BEGIN IMMEDIATE")
        yield
    finally:
        other.close()


async def fault_modal(pilot, app: CounterApp, timeout: float = 8.0) -> str:  # type: ignore[no-untyped-def]
    """Wait for the start's fault modal and the simulator; the modal's text."""
    await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, DatabaseFaultScreen) and app.scale_service.simulator is not None
        ),
        timeout,
    )
    await pilot.pause()
    return screen_text(app)


async def capture_refused_after_the_modal(pilot, app: CounterApp) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("escape")
    assert not isinstance(app.screen, DatabaseFaultScreen)
    await put_on_scale(pilot, app, "4.00", state=ScaleState.STABLE)
    await pilot.press("1", "enter", "enter")


# -- at start -------------------------------------------------------------------------


async def test_a_file_that_is_no_database_is_said_at_start_and_at_every_capture(
    make_app, counter_config: Config
) -> None:
    db = counter_config.database_path()
    db.write_bytes(b"kassa-export 2024\n")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        shown = await fault_modal(pilot, app)
        assert "De database kan niet worden gebruikt" in shown
        assert "dit bestand is geen database van de balie" in shown
        assert "Controleer [database] path in de configuratie" in shown
        assert "Er wordt niets vastgelegd tot dit is opgelost" in shown
        assert "De database is nog niet geopend" not in shown
        await capture_refused_after_the_modal(pilot, app)
        assert "Vastleggen kan niet: dit bestand is geen database van de balie" in prompt(app)
        assert "Controleer [database] path" in prompt(app)
        await wait_for(pilot, lambda: weight_shown(app) == "4,00")  # the weight stays on screen
        await pilot.press("enter")
        assert not isinstance(app.screen, DatabaseFaultScreen)  # said once as a modal
        assert "Vastleggen kan niet" in prompt(app)

    assert db.read_bytes() == b"kassa-export 2024\n"  # the file was left alone


@pytest.mark.usefixtures("brief_busy_timeout")
async def test_a_database_locked_by_another_program_at_start_in_english(
    make_app, counter_config: Config
) -> None:
    db = counter_config.database_path()
    open_database(db).dispose()
    with held_by_another_program(db, exclusive=True):
        app = make_app(counter_config.model_copy(update={"language": "en"}))
        async with app.run_test(size=(80, 24)) as pilot:
            shown = await fault_modal(pilot, app, AFTER_BUSY_TIMEOUT)
            assert "The database cannot be used" in shown
            assert "database busy with another program" in shown
            assert "Close the other program that uses the database; try again" in shown
            await capture_refused_after_the_modal(pilot, app)
            assert "Cannot record: database busy with another program" in prompt(app)
    assert count(db) == 0


async def test_a_read_only_database_is_said_at_start(make_app, counter_config: Config) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes through permissions; the recording-time test covers it")
    db = counter_config.database_path()
    open_database(db).dispose()
    db.chmod(0o444)
    try:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            shown = await fault_modal(pilot, app)
            assert "database is alleen-lezen" in shown
            assert "beschrijfbaar" in shown
    finally:
        db.chmod(0o644)


# -- at the moment of recording -----------------------------------------------------------


def _refuse_writes(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_connection.execute("PRAGMA query_only = ON")


def _may_not_grow(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    (pages,) = dbapi_connection.execute("PRAGMA page_count").fetchone()
    dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")


@pytest.mark.parametrize(
    ("on_connect", "problem", "advice"),
    [
        (_may_not_grow, "schijf vol", "Maak ruimte vrij op de schijf"),
        (_refuse_writes, "database is alleen-lezen", "beschrijfbaar maken"),
    ],
    ids=["disk-full", "read-only"],
)
async def test_a_refused_record_says_why_and_what_to_do_and_keeps_the_weight(
    make_app, counter_config: Config, on_connect, problem: str, advice: str
) -> None:
    from sqlalchemy import event

    # A long operator (a role name, stored with every record) makes each record need
    # new pages of the file, so a file that may not grow refuses every record.
    config = counter_config.model_copy(
        update={"station": counter_config.station.model_copy(update={"operator": "balie " * 800})}
    )
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        engine = app.counter_service.engine
        event.listen(engine, "connect", on_connect)
        engine.dispose()  # new connections, each with the fault
        await put_on_scale(pilot, app, "31.00", state=ScaleState.STABLE)
        await pilot.press("3", "enter", "enter")
        await wait_for(pilot, lambda: "Opslaan mislukt" in prompt(app), SLOW)
        assert problem in prompt(app) and advice in prompt(app)
        assert "MS01-000001" not in prompt(app)
        await wait_for(pilot, lambda: weight_shown(app) == "31,00")
        assert app.counter_screen.query_one(DataTable).row_count == 0

        event.remove(engine, "connect", on_connect)
        engine.dispose()
        await pilot.press("enter")  # the same load, the same choice: it was never recorded
        await wait_for(pilot, lambda: "Opgeslagen: MS01-000001" in prompt(app), SLOW)

    assert count(config.database_path()) == 1


@pytest.mark.usefixtures("brief_busy_timeout")
async def test_a_database_locked_while_recording_is_said_and_the_retry_records(
    make_app, counter_config: Config
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "6.50", state=ScaleState.STABLE)
        with held_by_another_program(counter_config.database_path(), exclusive=False):
            await pilot.press("2", "enter", "enter")
            await wait_for(pilot, lambda: "Opslaan mislukt" in prompt(app), AFTER_BUSY_TIMEOUT)
            assert "database bezet door een ander programma" in prompt(app)
            assert "Sluit het andere programma" in prompt(app)
            await wait_for(pilot, lambda: weight_shown(app) == "6,50")
            assert count(counter_config.database_path()) == 0
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Opgeslagen: MS01-000001" in prompt(app))

    assert count(counter_config.database_path()) == 1
