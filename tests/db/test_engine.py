"""Opening the SQLite database: settings, refusals, locking, and surviving a kill."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from db.engine import (
    DatabaseMissing,
    NotADatabase,
    SchemaTooNew,
    database_health,
    head_revision,
    open_database,
    read_session,
    write_session,
)
from db.queries import drop_off_by_id
from db.verify import verify_chain

#: The newest schema revision this code knows.

ROOT = Path(__file__).resolve().parents[2]


def test_new_database_gets_wal_full_sync_foreign_keys_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "data" / "counter" / "counter.sqlite3"
    engine = open_database(path)
    try:
        health = database_health(engine)
        assert path.is_file()
        assert health.journal_mode == "wal"
        assert health.synchronous == 2  # FULL
        assert health.foreign_keys is True
        assert health.busy_timeout_ms >= 1000
        assert health.schema_revision == head_revision()
        assert health.integrity == "ok"
    finally:
        engine.dispose()


def test_every_pooled_connection_has_the_settings(tmp_path: Path) -> None:
    engine = open_database(tmp_path / "c.sqlite3")
    try:
        connections = [engine.connect() for _ in range(3)]
        for connection in connections:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        for connection in connections:
            connection.close()
    finally:
        engine.dispose()


def test_reopening_keeps_the_schema_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    open_database(path).dispose()
    engine = open_database(path)
    try:
        assert database_health(engine).schema_revision == head_revision()
    finally:
        engine.dispose()


def test_works_from_another_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    engine = open_database("relative.sqlite3")
    try:
        assert database_health(engine).schema_revision == head_revision()
    finally:
        engine.dispose()
    assert (elsewhere / "relative.sqlite3").is_file()


def test_empty_file_is_refused_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    path.touch()
    with pytest.raises(NotADatabase, match="empty"):
        open_database(path)
    assert path.stat().st_size == 0


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_text("language = 'nl'\n", encoding="utf-8")
    with pytest.raises(NotADatabase, match="not an SQLite database"):
        open_database(path)
    assert path.read_text(encoding="utf-8") == "language = 'nl'\n"


def test_another_programs_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE recipes (name TEXT)")
    with pytest.raises(NotADatabase, match="another program"):
        open_database(path)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotADatabase, match="not a file"):
        open_database(tmp_path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    open_database(path).dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_future'")
    with pytest.raises(SchemaTooNew, match=r"newer version of the counter.*9999_future"):
        open_database(path)


@pytest.fixture(scope="module")
def alembic_after_each_opening(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, str]:
    """What of Alembic (and its Mako) one new interpreter has loaded after it opened an
    up-to-date database for writing, and then read-only: one interpreter for both (a
    new one costs a second of CPU); neither may load it, so after each is enough."""
    path = tmp_path_factory.mktemp("up-to-date") / "c.sqlite3"
    open_database(path).dispose()
    code = (
        "import sys\n"
        "from db.engine import open_database\n"
        "for read_only in (False, True):\n"
        "    open_database(sys.argv[1], read_only=read_only).dispose()\n"
        "    print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'mako'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    after_writing, after_reading = result.stdout.splitlines()
    return {False: after_writing, True: after_reading}


@pytest.mark.parametrize("read_only", [False, True])
def test_opening_an_up_to_date_database_loads_no_alembic(
    alembic_after_each_opening: dict[bool, str], read_only: bool
) -> None:
    """The counter's database worker and every supervisor's command open a database at
    the newest schema: one read of its revision, without Alembic's import (a fifth of a
    second). Only a migration loads it."""
    assert alembic_after_each_opening[read_only] == "[]"


def test_missing_file_with_create_false(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "c.sqlite3"
    with pytest.raises(DatabaseMissing, match="no counter database"):
        open_database(path, create=False)
    assert not path.parent.exists()


def _try_begin_immediate(path: Path) -> bool:
    """Can another connection take the write lock right now (without waiting)?"""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


def test_write_session_holds_the_write_lock_read_session_does_not(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    engine = open_database(path)
    try:
        with write_session(engine) as session:
            session.execute(text("SELECT 1"))
            assert _try_begin_immediate(path) is False
        assert _try_begin_immediate(path) is True
        with read_session(engine) as session:
            session.execute(text("SELECT count(*) FROM drop_off"))
            assert _try_begin_immediate(path) is True
    finally:
        engine.dispose()


def test_write_session_rolls_back_on_error(tmp_path: Path) -> None:
    engine = open_database(tmp_path / "c.sqlite3")
    try:
        with pytest.raises(RuntimeError), write_session(engine) as session:
            session.execute(
                text("INSERT INTO label_sequence (station_id, last_no) VALUES ('MS01', 7)")
            )
            raise RuntimeError("stop half-way")
        with read_session(engine) as session:
            assert session.execute(text("SELECT count(*) FROM label_sequence")).scalar() == 0
    finally:
        engine.dispose()


RECORD_THEN_WAIT = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime
    from decimal import Decimal
    from db.engine import open_database
    from db.writes import NewDropOff, NewReading, record_drop_off

    engine = open_database(sys.argv[1])
    reading = NewReading(
        weight=Decimal("7.250"), unit="kg", grams=7250, stable=True, net=False, tare=None,
        raw_frame=b"ST,GS,+0007.250kg\\r\\n", received_at=datetime.now(UTC),
        protocol="comma", port="sim",
    )
    recorded = record_drop_off(engine, NewDropOff(
        station_id="MS01", classification="reuse", category_code="furniture",
        category_name="Furniture", eural_code=None, weight_grams=7250,
        weight_source="scale", operator="anna", reading=reading,
    ))
    print(recorded.id, flush=True)
    time.sleep(60)
    """
)


def test_a_killed_process_leaves_its_committed_record(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", RECORD_THEN_WAIT, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        drop_off_id = process.stdout.readline().strip()
        assert drop_off_id, process.stderr.read() if process.stderr else ""
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    engine = open_database(path)
    try:
        recorded = drop_off_by_id(engine, drop_off_id)
        assert recorded.label_code == "MS01-000001"
        assert Decimal(recorded.weight_grams) / 1000 == Decimal("7.25")
        assert verify_chain(engine).ok
        assert database_health(engine).integrity == "ok"
    finally:
        engine.dispose()


def test_opening_a_current_database_neither_takes_nor_waits_for_the_write_lock(
    tmp_path: Path,
) -> None:
    """A start (or a supervisor's command) while another program writes: before, every
    open ran the migration check inside BEGIN IMMEDIATE and a foreign-key scan of the
    whole database, so it waited for the writer (or failed after the busy timeout)."""
    path = tmp_path / "c.sqlite3"
    open_database(path).dispose()
    writer_connection = sqlite3.connect(path, isolation_level=None, timeout=0)
    writer_connection.execute("BEGIN IMMEDIATE")
    try:
        for read_only in (False, True):
            engine = open_database(path, read_only=read_only)
            try:
                with read_session(engine) as session:
                    assert session.execute(text("SELECT count(*) FROM drop_off")).scalar() == 0
            finally:
                engine.dispose()
        # The other program still holds its lock: nothing here took it over.
        assert _try_begin_immediate(path) is False
    finally:
        writer_connection.execute("ROLLBACK")
        writer_connection.close()
