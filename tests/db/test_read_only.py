"""Reading the database through ``sqlite3`` alone (``db.read_only``), as ``counter
totals`` does: the same checks as the engine's read-only opening, and the same figures
as the counter's own queries, from the same SQL, on a real file."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from drop_offs import scale_drop_off

from db.anchor import read_chain_heads
from db.day_totals import read_day_totals
from db.domain import Classification
from db.engine import SchemaTooNew, open_database
from db.errors import DatabaseMissing, NotADatabase
from db.queries import totals_for_day
from db.read_only import open_read_only
from db.verify import chain_heads
from db.writes import NewCategory, correct_drop_off, record_drop_off, void_drop_off
from tests.conftest import NewDatabase

DAY = date(2024, 5, 14)
NOON = datetime(2024, 5, 14, 10, 0, tzinfo=UTC)
FURNITURE = NewCategory(Classification.REUSE, "meubels", "Meubels", None)


@pytest.fixture
def database(tmp_path: Path, new_database: NewDatabase) -> Path:
    """Two stations' day: records, a void, a correction, and records of the days
    around it (a minute before the day starts and as the next one starts)."""
    path = new_database(tmp_path / "counter.sqlite3")
    engine = open_database(path)
    try:
        kept = record_drop_off(engine, scale_drop_off(12_340), now=NOON)
        voided = record_drop_off(engine, scale_drop_off(1_000), now=NOON + timedelta(minutes=1))
        record_drop_off(engine, scale_drop_off(2_500, station_id="MS02"), now=NOON)
        void_drop_off(engine, voided.id, "teamleider", "dubbel", now=NOON + timedelta(hours=1))
        correct_drop_off(engine, kept.id, "balie", "Verkeerde categorie", category=FURNITURE)
        # 2024-05-13T23:59 and 2024-05-15T00:00 in Amsterdam: not of the day.
        record_drop_off(
            engine, scale_drop_off(7_000), now=datetime(2024, 5, 13, 21, 59, tzinfo=UTC)
        )
        record_drop_off(engine, scale_drop_off(9_000), now=datetime(2024, 5, 14, 22, 0, tzinfo=UTC))
    finally:
        engine.dispose()
    return path


def test_the_plain_read_gives_the_counters_totals_and_heads(database: Path) -> None:
    engine = open_database(database, read_only=True)
    try:
        expected_totals = totals_for_day(engine, DAY)
        expected_heads = chain_heads(engine)
    finally:
        engine.dispose()
    with open_read_only(database) as opened, opened.snapshot() as execute:
        assert opened.at_head
        totals = read_day_totals(execute, DAY)
        heads = read_chain_heads(execute)
    assert totals == expected_totals
    assert heads == expected_heads
    # What both read: the correction counts in its original's place, the void not at
    # all, MS02's record beside MS01's, and nothing of the days around.
    assert totals.grams_by_classification == {
        Classification.REUSE: 12_340,
        Classification.REPAIR: 0,
        Classification.RECYCLING: 2_500,
    }
    assert (totals.count, totals.voided_count) == (2, 2)
    assert [head.station_id for head in heads] == ["MS01", "MS02"]


def test_a_day_without_records_reads_as_zero(database: Path) -> None:
    with open_read_only(database) as opened, opened.snapshot() as execute:
        totals = read_day_totals(execute, date(2024, 5, 16))
    assert (totals.total_grams, totals.count, totals.voided_count, totals.categories) == (
        0,
        0,
        0,
        (),
    )


def test_reading_takes_no_write_lock(database: Path) -> None:
    """A writer gets its lock while the snapshot is open (the counter keeps recording)."""
    with open_read_only(database) as opened, opened.snapshot() as execute:
        read_day_totals(execute, DAY)
        writer = sqlite3.connect(database, isolation_level=None, timeout=0)
        try:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("ROLLBACK")
        finally:
            writer.close()


def test_a_missing_file_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(DatabaseMissing):
        open_read_only(tmp_path / "none.sqlite3")
    assert not (tmp_path / "none.sqlite3").exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"", "is empty"), (b"name;kg\n", "not an SQLite database")],
    ids=["empty", "text"],
)
def test_a_file_that_is_no_database_is_refused(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(content)
    with pytest.raises(NotADatabase, match=words):
        open_read_only(path)


def test_another_programs_database_and_an_empty_one_are_refused(tmp_path: Path) -> None:
    foreign, empty = tmp_path / "foreign.sqlite3", tmp_path / "empty.sqlite3"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER)")
    with sqlite3.connect(empty) as connection:
        connection.execute("PRAGMA user_version = 1")  # writes the header, no table
    with pytest.raises(NotADatabase, match=r"another program.*customers"):
        open_read_only(foreign)
    with pytest.raises(NotADatabase, match="empty SQLite database"):
        open_read_only(empty)


def test_a_newer_schema_is_not_at_head_and_the_engine_says_why(database: Path) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_future'")
    with open_read_only(database) as opened:
        assert (opened.at_head, opened.revisions) == (False, ("9999_future",))
    with pytest.raises(SchemaTooNew, match="9999_future"):
        open_database(database, read_only=True)
