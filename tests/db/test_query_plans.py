"""Every query on a range of days goes through the date index, never over the whole table.

The real functions run against a real file while their SQL is captured; each captured
statement is then explained (``EXPLAIN QUERY PLAN``) on the same file. With a year of
records, a plan that reads the whole table turns a 5 ms query into seconds, so a later
change that falls back to a scan fails here rather than at a site.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from drop_offs import scale_drop_off
from sqlalchemy import event
from sqlalchemy.engine import Engine

from db.day_totals import read_day_totals
from db.engine import open_database
from db.export import export_rows
from db.printjobs import print_jobs_between
from db.queries import day_bounds, drop_offs_between, totals_for_day
from db.read_only import open_read_only
from db.recent import last_drop_off
from db.writes import record_drop_off, void_drop_off

DAY = date(2024, 5, 14)
AT = datetime(2024, 5, 14, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per worker process: every test here only reads it (read-only engines
    and ``EXPLAIN QUERY PLAN``)."""
    path = tmp_path_factory.mktemp("query_plans") / "counter.sqlite3"
    engine = open_database(path)
    try:
        ids = [
            record_drop_off(engine, scale_drop_off(1000 + i), now=AT + timedelta(hours=i)).id
            for i in range(30)
        ]
        void_drop_off(engine, ids[3], "teamleider", "dubbel", now=AT + timedelta(hours=40))
    finally:
        engine.dispose()
    # A year of a busy site in proportion: 20,000 earlier drop-offs and their label
    # jobs over 200 days, so the planner weighs a day against a table, as it would there.
    with sqlite3.connect(path) as connection:
        connection.executescript(
            """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
            INSERT INTO drop_off (id, station_id, chain_seq, label_no, label_code,
                recorded_at, classification, category_code, category_name, weight_grams,
                weight_source, operator, reason, prev_hash, content_hash)
            SELECT 'old' || i, 'MS09', i, i, 'MS09-' || i,
                strftime('%Y-%m-%dT%H:%M:%f', '2023-10-01', '+' || (i * 864) || ' seconds')
                    || '000+00:00',
                'reuse', 'meubels', 'Meubels', 1000, 'manual', 'balie', 'bulk',
                'p' || i, 'h' || i
            FROM n;
            INSERT INTO print_job (id, station_id, drop_off_id, document, status, attempts,
                created_at, updated_at)
            SELECT 'job' || id, 'MS01', id, 'item_label', 'sent', 1, recorded_at, recorded_at
            FROM drop_off WHERE station_id = 'MS09';
            ANALYZE;
            """
        )
    return path


@pytest.fixture(scope="module")
def db_path_without_statistics(db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same file without ``ANALYZE``'s statistics, as a site's file is: the counter
    never runs ``ANALYZE``, so its queries must find the date index without them."""
    path = tmp_path_factory.mktemp("query_plans") / "without-statistics.sqlite3"
    with sqlite3.connect(db_path) as source, sqlite3.connect(path) as target:
        source.backup(target)
        target.execute("DROP TABLE sqlite_stat1")
    return path


@contextmanager
def captured_selects(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_rest: Any) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            statements.append((sql, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", grab)


def plan(path: Path, sql: str, parameters: Any) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", parameters)]


START, END = day_bounds(DAY)
QUERIES: dict[str, tuple[str, Callable[[Engine], object]]] = {
    "today's list": ("drop_off", lambda e: drop_offs_between(e, START, END)),
    "one station's list": (
        "drop_off",
        lambda e: drop_offs_between(e, START, END, station_id="MS01"),
    ),
    "totals of a day": ("drop_off", lambda e: totals_for_day(e, DAY)),
    "export of a period": ("drop_off", lambda e: export_rows(e, DAY, DAY + timedelta(days=1))),
    "print jobs of a day": ("print_job", lambda e: print_jobs_between(e, START, END)),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_day_range_queries_use_the_date_index(
    db_path: Path, db_path_without_statistics: Path, name: str
) -> None:
    table, run = QUERIES[name]
    engine = open_database(db_path, read_only=True)
    try:
        with captured_selects(engine) as statements:
            run(engine)
    finally:
        engine.dispose()
    ranged = [
        (sql, parameters)
        for sql, parameters in statements
        if f"{table}.recorded_at >=" in sql or f"{table}.created_at >=" in sql
    ]
    assert ranged, f"no query on a range of days was seen for {name}"
    for sql, parameters in ranged:
        if "NOT INDEXED" in sql:
            continue  # the export's deliberate recount of the table itself
        assert_uses_the_date_index(db_path, table, sql, parameters)
        assert_uses_the_date_index(db_path_without_statistics, table, sql, parameters)


def assert_uses_the_date_index(db_path: Path, table: str, sql: str, parameters: Any) -> None:
    steps = plan(db_path, sql, parameters)
    outer = [
        step for step in steps if step.startswith(("SCAN", "SEARCH")) and f" {table} " in f"{step} "
    ]
    assert outer, steps
    assert not any(step.startswith(f"SCAN {table}") for step in steps), (sql, steps)
    column = "recorded_at" if table == "drop_off" else "created_at"
    assert any(column in step for step in outer), (sql, steps)


def test_the_totals_command_reads_the_day_through_the_date_index(
    db_path: Path, tmp_path: Path
) -> None:
    """``counter totals`` runs the SQL of ``totals_for_day`` through ``sqlite3`` alone.

    Its plan is also checked on the file without ``ANALYZE``'s statistics, as a site's
    file is (the counter never runs ``ANALYZE``): there the planner takes the
    ``voids_id`` index unless the SQL keeps it away."""
    statements: list[tuple[str, Any]] = []
    with open_read_only(db_path) as opened, opened.snapshot() as execute:

        def captured(sql: str, parameters: tuple[Any, ...] = ()) -> Any:
            statements.append((sql, parameters))
            return execute(sql, parameters)

        totals = read_day_totals(captured, DAY)
    # Hourly from 12:00 local time to the day's end: twelve records, one of them voided.
    assert (totals.count, totals.voided_count) == (11, 1)
    assert len(statements) == 2  # the categories and the voided ones
    without_statistics = tmp_path / "without-statistics.sqlite3"
    with sqlite3.connect(db_path) as source, sqlite3.connect(without_statistics) as target:
        source.backup(target)
        target.execute("DROP TABLE sqlite_stat1")
    for sql, parameters in statements:
        assert_uses_the_date_index(db_path, "drop_off", sql, parameters)
        assert_uses_the_date_index(without_statistics, "drop_off", sql, parameters)


def test_the_last_record_of_a_station_is_found_without_a_scan(db_path: Path) -> None:
    engine = open_database(db_path, read_only=True)
    try:
        with captured_selects(engine) as statements:
            found = last_drop_off(engine, "MS01")
    finally:
        engine.dispose()
    assert found is not None and found.label_code == "MS01-000030"
    (sql, parameters) = next((s, p) for s, p in statements if "FROM drop_off" in s)
    steps = plan(db_path, sql, parameters)
    assert not any(step.startswith("SCAN drop_off") for step in steps), steps


def test_one_stations_print_jobs_of_a_day_use_the_date_index(
    db_path: Path, db_path_without_statistics: Path
) -> None:
    engine = open_database(db_path, read_only=True)
    try:
        with captured_selects(engine) as statements:
            print_jobs_between(engine, START, END, station_id="MS01")
    finally:
        engine.dispose()
    (sql, parameters) = next((s, p) for s, p in statements if "print_job.created_at >=" in s)
    for path in (db_path, db_path_without_statistics):
        steps = plan(path, sql, parameters)
        assert not any(step.startswith("SCAN print_job") for step in steps), steps
        assert any("created_at>?" in step.replace(" ", "") for step in steps), steps
