"""``verify`` walks the chain in constant memory: one link at a time, never a list.

Two real SQLite files hold one station's chain of 2,000 and of 20,000 drop-offs, with
valid hashes (the project's own ``db.chain`` functions), inserted in one transaction
each; the Python memory ``verify_chain`` allocates at its peak (tracemalloc) is
compared. An ORM walk, or one that keeps what it read, grows with the chain.
"""

from __future__ import annotations

import sqlite3
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from db.chain import DROP_OFF_CONTENT_COLUMNS, GENESIS_HASH, chain_hash, drop_off_values_content
from db.engine import open_database
from db.models import format_utc
from db.verify import verify_chain

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


def test_verify_memory_does_not_grow_with_the_chain(tmp_path: Path) -> None:
    small_count, small = verify_peak(chain_of(tmp_path / "small.sqlite3", 2_000))
    large_count, large = verify_peak(chain_of(tmp_path / "large.sqlite3", 20_000))
    assert (small_count, large_count) == (2_000, 20_000)
    print(f"verify peak: {small:,} bytes for 2,000 links, {large:,} for 20,000")
    # Ten times the links: a walk that kept them would need several times the memory.
    assert large < small * 1.5, f"{small:,} bytes for 2,000 links, {large:,} for 20,000"
