"""An export's memory does not grow with its rows: they are read, formatted and written
one at a time, not gathered first.

A real SQLite file holds the same number of drop-offs each day from 2 May 2024 on,
inserted in one transaction; ``counter export`` writes a short period (2 May) and a
long one (the days after it) to real files, and the Python memory it allocates at its
peak (tracemalloc) is compared. Gathering the rows (as a list of dicts or ORM objects,
or the whole file text) makes the long export's peak larger by what each extra row
takes: 800 bytes or more kept as the tuple it is written from, about 150 of CSV text.
Streaming keeps the two peaks alike, up to what a writer holds at one moment.

``make test`` compares 100 rows with 500, the workbook with 300 (the cursor fetching 25
rows a step instead of its 2,000, so both periods are well past its buffer); ``make
soak`` (marker ``soak``) compares 2,000 rows with 20,000, the workbook with 6,000
(openpyxl is slow under tracemalloc).
"""

from __future__ import annotations

import csv
import gc
import json
import sqlite3
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from counter_app.cli import main
from db.engine import open_database
from tests.conftest import ConfigFileFactory, python_gc_thresholds

FIRST_DAY = date(2024, 5, 2)  # 1 May is empty
#: What a writer may hold at one moment, and so add to either peak, depending on where
#: the last row fell: the row the cursor holds, the tuples
#: Python keeps for reuse, and the text not written out yet (up to 8 KiB). openpyxl
#: writes the sheet's XML in small strings, and 8 KiB of them take some 50 KiB.
WRITER_SLACK_BYTES = {"csv": 32 * 1024, "json": 32 * 1024, "xlsx": 80 * 1024}
#: What the long export may add for each row more than the short one: a row kept whole
#: takes 800 bytes or more, the CSV text of one about 150.
BYTES_PER_EXTRA_ROW = 16


@dataclass(frozen=True)
class Periods:
    """One version of the test: drop-offs a day, and how many days the long period has
    (it starts the day after the short one, which is ``FIRST_DAY`` alone)."""

    per_day: int
    long_days: int
    long_days_xlsx: int

    def long_days_of(self, fmt: str) -> int:
        return self.long_days_xlsx if fmt == "xlsx" else self.long_days


#: ``make test``: 100 rows with 500 (the workbook 300), in one to two seconds a format.
SHORT = Periods(per_day=100, long_days=5, long_days_xlsx=3)
#: ``make soak``: 2,000 with 20,000 (the workbook 6,000).
FULL = Periods(per_day=2_000, long_days=10, long_days_xlsx=3)

INSERT_DAYS = """
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows)
    INSERT INTO drop_off (id, station_id, chain_seq, label_no, label_code,
        recorded_at, classification, category_code, category_name, eural_code,
        weight_grams, weight_source, operator, prev_hash, content_hash)
    SELECT printf('%036d', i), 'MS01', i, i, printf('MS01-%06d', i),
        strftime('%Y-%m-%dT%H:%M:%f', :midnight_utc,
            '+' || ((i - 1) / :per_day) || ' days', '+' || (((i - 1) % :per_day) * 20)
            || ' seconds') || '000+00:00',
        'recycling', 'metaal', 'Metaal', '20 01 40', 1000 + i, 'scale', 'balie',
        printf('%064d', i - 1), printf('%064d', i)
    FROM n
"""


@pytest.fixture(scope="module")
def database_of(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Periods], Path]:
    """The database of a version, built the first time one of its tests asks for it."""
    built: dict[Periods, Path] = {}

    def database(periods: Periods) -> Path:
        if periods not in built:
            path = tmp_path_factory.mktemp("memory") / "counter.sqlite3"
            open_database(path).dispose()
            days = 1 + max(periods.long_days, periods.long_days_xlsx)
            with sqlite3.connect(path) as connection:  # one transaction
                connection.execute(
                    INSERT_DAYS,
                    {
                        "rows": periods.per_day * days,
                        "per_day": periods.per_day,
                        # Midnight in Amsterdam (summer time) at the start of FIRST_DAY.
                        "midnight_utc": f"{FIRST_DAY - timedelta(days=1)}T22:00:00",
                    },
                )
            built[periods] = path
        return built[periods]

    return database


def export(config: str, fmt: str, days: tuple[date, date], output: Path) -> None:
    args = ["--config", config, "export", "--from", str(days[0]), "--to", str(days[1])]
    assert main([*args, "--format", fmt, "--output", str(output)]) == 0


def export_peak(config: str, fmt: str, days: tuple[date, date], output: Path) -> int:
    """The peak of Python memory allocated while ``counter export`` runs, in bytes."""
    gc.collect()  # the garbage of what ran before is not the export's
    with python_gc_thresholds():
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            export(config, fmt, days, output)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return peak


def rows_in(fmt: str, path: Path) -> int:
    if fmt == "csv":
        with path.open(encoding="utf-8", newline="") as stream:
            return sum(1 for _ in csv.reader(stream)) - 1
    if fmt == "json":
        return len(json.loads(path.read_text(encoding="utf-8"))["drop_offs"])
    return sum(1 for _ in load_workbook(path, read_only=True)["drop-offs"].iter_rows()) - 1


def versions() -> list[object]:
    params = []
    for periods, marks in ((SHORT, ()), (FULL, (pytest.mark.soak,))):
        for fmt in ("csv", "json", "xlsx"):
            rows = periods.per_day * periods.long_days_of(fmt)
            params.append(pytest.param(fmt, periods, id=f"{fmt}-{rows}-rows", marks=marks))
    return params


@pytest.mark.parametrize(("fmt", "periods"), versions())
def test_export_memory_does_not_grow_with_the_rows(
    database_of: Callable[[Periods], Path],
    config_file: ConfigFileFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
    periods: Periods,
) -> None:
    config = str(config_file(f'[database]\npath = "{database_of(periods)}"\n'))
    short_days = (FIRST_DAY, FIRST_DAY)
    long_days = (FIRST_DAY + timedelta(days=1), FIRST_DAY + timedelta(periods.long_days_of(fmt)))
    short_rows, long_rows = periods.per_day, periods.per_day * periods.long_days_of(fmt)
    # Once first, untraced: imports, statement caches and the first filling of bounded
    # caches are not counted against the short export.
    export(config, fmt, long_days, tmp_path / f"warm.{fmt}")
    short = export_peak(config, fmt, short_days, tmp_path / f"short.{fmt}")
    long = export_peak(config, fmt, long_days, tmp_path / f"long.{fmt}")
    assert rows_in(fmt, tmp_path / f"short.{fmt}") == short_rows
    assert rows_in(fmt, tmp_path / f"long.{fmt}") == long_rows
    print(f"{fmt}: peak {short:,} bytes for {short_rows:,} rows, {long:,} for {long_rows:,}")
    allowed = WRITER_SLACK_BYTES[fmt] + BYTES_PER_EXTRA_ROW * (long_rows - short_rows)
    assert long - short <= allowed, (
        f"{fmt}: the peak grew {long - short:,} bytes from {short_rows:,} rows to "
        f"{long_rows:,}: more than the {allowed:,} a streamed export may add"
    )
