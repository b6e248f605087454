"""An export's memory does not grow with its rows: they are read, formatted and written
one at a time, not gathered first.

A real SQLite file holds 2,000 drop-offs on one day and 20,000 on the days after it,
inserted in one transaction; ``counter export`` writes each period to a real file,
and the Python memory it allocates at its peak (tracemalloc) is compared. Gathering
the rows (as a list of dicts or ORM objects, or the whole file text) makes the larger
export's peak several times the smaller one's; streaming keeps them alike.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import tracemalloc
from pathlib import Path

import pytest
from openpyxl import load_workbook

from counter_app.cli import main
from db.engine import open_database
from tests.conftest import ConfigFileFactory

SMALL, LARGE = 2_000, 20_000
# 2 May 2024 (local) holds SMALL drop-offs, 3 to 12 May LARGE, 2,000 a day.
SMALL_DAYS = ("2024-05-02", "2024-05-02")
LARGE_DAYS = ("2024-05-03", "2024-05-12")
# openpyxl is slow under tracemalloc: the workbook compares 2,000 with 6,000 rows.
LARGE_XLSX_DAYS, LARGE_XLSX = ("2024-05-03", "2024-05-05"), 6_000


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("memory") / "counter.sqlite3"
    open_database(path).dispose()
    with sqlite3.connect(path) as connection:  # one transaction
        connection.execute(
            """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
            INSERT INTO drop_off (id, station_id, chain_seq, label_no, label_code,
                recorded_at, classification, category_code, category_name, eural_code,
                weight_grams, weight_source, operator, prev_hash, content_hash)
            SELECT printf('%036d', i), 'MS01', i, i, printf('MS01-%06d', i),
                strftime('%Y-%m-%dT%H:%M:%f', '2024-05-01T22:00:00',
                    '+' || ((i - 1) / 2000) || ' days', '+' || (((i - 1) % 2000) * 20)
                    || ' seconds') || '000+00:00',
                'recycling', 'metaal', 'Metaal', '20 01 40', 1000 + i, 'scale', 'balie',
                printf('%064d', i - 1), printf('%064d', i)
            FROM n
            """,
            (SMALL + LARGE,),
        )
    return path


@pytest.fixture
def config(config_file: ConfigFileFactory, database: Path) -> str:
    return str(config_file(f'[database]\npath = "{database}"\n'))


def export_peak(config: str, fmt: str, days: tuple[str, str], output: Path) -> int:
    """The peak of Python memory allocated while ``counter export`` runs, in bytes."""
    args = ["--config", config, "export", "--from", days[0], "--to", days[1]]
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        code = main([*args, "--format", fmt, "--output", str(output)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 0
    return peak


def rows_in(fmt: str, path: Path) -> int:
    if fmt == "csv":
        with path.open(encoding="utf-8", newline="") as stream:
            return sum(1 for _ in csv.reader(stream)) - 1
    if fmt == "json":
        return len(json.loads(path.read_text(encoding="utf-8"))["drop_offs"])
    return sum(1 for _ in load_workbook(path, read_only=True)["drop-offs"].iter_rows()) - 1


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_export_memory_does_not_grow_with_the_rows(config: str, tmp_path: Path, fmt: str) -> None:
    # Once first (1 May is empty), so imports and statement caches are not counted
    # against the small one.
    export_peak(config, fmt, ("2024-05-01", "2024-05-01"), tmp_path / f"warm.{fmt}")
    small = export_peak(config, fmt, SMALL_DAYS, tmp_path / f"small.{fmt}")
    large_days, large_rows = (LARGE_XLSX_DAYS, LARGE_XLSX) if fmt == "xlsx" else (LARGE_DAYS, LARGE)
    large = export_peak(config, fmt, large_days, tmp_path / f"large.{fmt}")
    assert rows_in(fmt, tmp_path / f"small.{fmt}") == SMALL
    assert rows_in(fmt, tmp_path / f"large.{fmt}") == large_rows
    print(f"{fmt}: peak {small:,} bytes for {SMALL:,} rows, {large:,} for {large_rows:,}")
    # Three to ten times the rows: gathered, the peak would grow as much.
    assert large < small * 1.5, f"{fmt}: {small:,} bytes, {large:,} bytes"
