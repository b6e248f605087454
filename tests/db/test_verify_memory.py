"""``verify`` walks the chain in constant memory: one link at a time, never a list.

Two real SQLite files hold one station's chain of a short and a long run of drop-offs,
with valid hashes (the project's own ``db.chain`` functions), inserted in one
transaction each; the Python memory ``verify_chain`` allocates at its peak
(tracemalloc) is compared. An ORM walk, or one that keeps what it read, grows with the
chain: a link kept takes over 1 KiB, where the whole walk needs about 20 KiB.

``make test`` compares 100 links with 500; ``make soak`` (marker ``soak``) 2,000 with
20,000.
"""

from __future__ import annotations

import sqlite3
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from db.chain import DROP_OFF_CONTENT_COLUMNS, GENESIS_HASH, chain_hash, drop_off_values_content
from db.engine import open_database
from db.models import format_utc
from db.verify import verify_chain
from tests.conftest import python_gc_thresholds

START = datetime(2024, 5, 2, 8, tzinfo=UTC)


def chain_of(path: Path, count: int) -> Path:
    open_database(path).dispose()
    rows, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        values = (
            f"d{seq:08d}",
            "MS01",
            seq,
            seq,
            f"MS01-{seq:06d}",
            format_utc(START + timedelta(seconds=20 * seq)),
            None,
            "recycling",
            "metaal",
            "Metaal",
            "20 01 40",
            1000 + seq,
            "manual",
            "balie",
            None,
            None,
            "no scale",
            None,
        )
        digest = chain_hash(drop_off_values_content(values, None), prev)
        rows.append((*values, prev, digest))
        prev = digest
    columns = ", ".join((*DROP_OFF_CONTENT_COLUMNS, "prev_hash", "content_hash"))
    marks = ", ".join("?" * (len(DROP_OFF_CONTENT_COLUMNS) + 2))
    with sqlite3.connect(path) as connection:  # one transaction
        connection.executemany(f"INSERT INTO drop_off ({columns}) VALUES ({marks})", rows)
        connection.execute(
            "INSERT INTO label_sequence (station_id, last_no, chain_seq, chain_hash) "
            "VALUES ('MS01', ?, ?, ?)",
            (count, count, prev),
        )
    return path


def verify_peak(path: Path) -> tuple[int, int]:
    """(links checked, peak Python memory in bytes) of one ``verify_chain``."""
    engine = open_database(path, read_only=True)
    try:
        verify_chain(engine)  # once first: imports and caches are not the walk's
        with python_gc_thresholds():
            tracemalloc.start()
            try:
                report = verify_chain(engine)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    finally:
        engine.dispose()
    assert report.ok, report.problem
    return report.count, peak


@pytest.mark.parametrize(
    ("short", "long"),
    [
        pytest.param(100, 500, id="500-links"),
        pytest.param(2_000, 20_000, id="20000-links", marks=pytest.mark.soak),
    ],
)
def test_verify_memory_does_not_grow_with_the_chain(tmp_path: Path, short: int, long: int) -> None:
    short_count, short_peak = verify_peak(chain_of(tmp_path / "short.sqlite3", short))
    long_count, long_peak = verify_peak(chain_of(tmp_path / "long.sqlite3", long))
    assert (short_count, long_count) == (short, long)
    print(f"verify peak: {short_peak:,} bytes for {short:,} links, {long_peak:,} for {long:,}")
    # Five to ten times the links: a walk that kept them would need several times the
    # memory (with 100 links kept, already five times what the walk itself needs).
    assert long_peak < short_peak * 1.5, (
        f"{short_peak:,} bytes for {short:,} links, {long_peak:,} for {long:,}"
    )
