"""Tampering that ``counter verify`` must find: what someone with the file, a SQLite
tool and this project's own hash code could do to it.

Each case was missed before voids, audit entries and the station heads were part of
the chain, and before anchors: an un-voided record, a removed or changed label
sequence, a removed newest record with the sequence set back, a weight changed with
every later hash computed again, removed audit entries, a whole station removed.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from drop_offs import scale_drop_off
from sqlalchemy.engine import Engine

from db.chain import GENESIS_HASH, Anchor, AnchorError, audit_hash, chain_hash, drop_off_content
from db.engine import DatabaseError, open_database
from db.models import AuditEntry, CapturedReading, DropOff
from db.verify import chain_heads, verify_chain
from db.writes import record_drop_off, void_drop_off

NOON = datetime(2024, 5, 14, 10, 0, tzinfo=UTC)


ALL_TRIGGERS = (
    "drop_off_no_update",
    "drop_off_no_delete",
    "captured_reading_no_update",
    "captured_reading_no_delete",
    "audit_entry_no_update",
    "audit_entry_no_delete",
    "label_sequence_no_delete",
    "label_sequence_forward_only",
)


def tamper(db_path: Path, *statements: str) -> None:
    """Drop every protective trigger, then run ``statements``: a SQLite tool can."""
    with sqlite3.connect(db_path) as connection:
        connection.execute("PRAGMA foreign_keys = OFF")
        for name in ALL_TRIGGERS:
            connection.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in statements:
            connection.execute(statement)


def record_some(engine: Engine, station: str = "MS01", count: int = 4) -> list[str]:
    return [
        record_drop_off(
            engine, scale_drop_off(station_id=station), now=NOON + timedelta(seconds=i)
        ).id
        for i in range(count)
    ]


def head(engine: Engine, station: str = "MS01") -> Anchor:
    return next(anchor for anchor in chain_heads(engine) if anchor.station_id == station)


def rehash_from(db_path: Path, station: str, from_seq: int) -> None:
    """Compute every hash of ``station`` from ``from_seq`` on again, with the project's
    own code, and set the head to match: a chain that is consistent in itself."""
    engine = open_database(db_path)
    try:
        with engine.connect() as connection:
            drop_offs = {
                row.chain_seq: row
                for row in connection.exec_driver_sql(
                    "SELECT * FROM drop_off WHERE station_id = ?", (station,)
                )
            }
            readings = {
                row.id: row for row in connection.exec_driver_sql("SELECT * FROM captured_reading")
            }
            audits = {
                row.chain_seq: row
                for row in connection.exec_driver_sql(
                    "SELECT * FROM audit_entry WHERE station_id = ?", (station,)
                )
            }
    finally:
        engine.dispose()
    links = sorted(set(drop_offs) | set(audits))
    prev = GENESIS_HASH
    statements = []
    for seq in links:
        if seq < from_seq:
            prev = (drop_offs.get(seq) or audits[seq]).content_hash
            continue
        if seq in drop_offs:
            row = DropOff.model_validate({**drop_offs[seq]._mapping, "prev_hash": prev})
            raw = readings.get(row.reading_id) if row.reading_id else None
            reading = None if raw is None else CapturedReading.model_validate(dict(raw._mapping))
            digest = chain_hash(drop_off_content(row, reading), prev)
            table = "drop_off"
        else:
            entry = AuditEntry.model_validate({**audits[seq]._mapping, "prev_hash": prev})
            digest = audit_hash(entry)
            table = "audit_entry"
        statements.append(
            f"UPDATE {table} SET prev_hash = '{prev}', content_hash = '{digest}' "
            f"WHERE station_id = '{station}' AND chain_seq = {seq}"
        )
        prev = digest
    last = links[-1] if links else 0
    statements.append(
        f"UPDATE label_sequence SET chain_seq = {last}, chain_hash = '{prev}', "
        f"last_no = (SELECT coalesce(max(label_no), 0) FROM drop_off "
        f"WHERE station_id = '{station}') WHERE station_id = '{station}'"
    )
    tamper(db_path, *statements)


# -- the database itself refuses -------------------------------------------------------


def test_the_station_head_cannot_be_deleted_or_moved_back(engine: Engine, db_path: Path) -> None:
    record_some(engine, count=2)
    with sqlite3.connect(db_path) as connection:
        with pytest.raises(sqlite3.DatabaseError, match="station heads"):
            connection.execute("DELETE FROM label_sequence")
        with pytest.raises(sqlite3.DatabaseError, match="station heads"):
            connection.execute("UPDATE label_sequence SET last_no = last_no - 1")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            connection.execute("DELETE FROM audit_entry")


# -- found without an anchor -----------------------------------------------------------


def test_deleting_a_trailing_void_is_found(engine: Engine, db_path: Path) -> None:
    ids = record_some(engine)
    void_drop_off(engine, ids[-1], "teamleider", "twice weighed", now=NOON + timedelta(hours=1))
    assert verify_chain(engine).ok
    tamper(db_path, "DELETE FROM drop_off WHERE voids_id IS NOT NULL")
    report = verify_chain(engine)
    assert not report.ok
    assert report.problem is not None and "missing" in report.problem


def test_deleting_a_trailing_void_with_everything_after_it_is_found(
    engine: Engine, db_path: Path
) -> None:
    ids = record_some(engine)
    void_drop_off(engine, ids[-1], "teamleider", "twice weighed", now=NOON + timedelta(hours=1))
    tamper(
        db_path,
        "DELETE FROM audit_entry WHERE chain_seq > "
        "(SELECT chain_seq FROM drop_off WHERE voids_id IS NOT NULL)",
        "DELETE FROM drop_off WHERE voids_id IS NOT NULL",
    )
    report = verify_chain(engine)
    assert not report.ok
    assert report.issue is not None and report.issue.code == "head_ahead"


def test_deleting_the_label_sequence_is_found_and_recording_says_why(
    engine: Engine, db_path: Path
) -> None:
    record_some(engine)
    tamper(db_path, "DELETE FROM label_sequence")
    report = verify_chain(engine)
    assert not report.ok
    assert report.issue is not None and report.issue.code == "head_missing"
    # Recording refuses with words, not a UNIQUE error, and stores nothing.
    with pytest.raises(DatabaseError, match="counter verify"):
        record_drop_off(engine, scale_drop_off(), now=NOON + timedelta(hours=1))


def test_changing_the_label_sequence_is_found(engine: Engine, db_path: Path) -> None:
    record_some(engine)
    tamper(db_path, "UPDATE label_sequence SET last_no = 2")
    report = verify_chain(engine)
    assert not report.ok
    assert report.issue is not None and report.issue.code == "label_head"


def test_deleting_the_last_record_and_decrementing_the_sequence_is_found(
    engine: Engine, db_path: Path
) -> None:
    ids = record_some(engine)
    tamper(
        db_path,
        f"DELETE FROM audit_entry WHERE entity_id = '{ids[-1]}'",
        f"DELETE FROM print_job WHERE drop_off_id = '{ids[-1]}'",
        f"DELETE FROM drop_off WHERE id = '{ids[-1]}'",
        "UPDATE label_sequence SET last_no = last_no - 1",
    )
    report = verify_chain(engine)
    assert not report.ok
    assert report.issue is not None and report.issue.code == "head_ahead"


def test_deleting_audit_entries_is_found(engine: Engine, db_path: Path) -> None:
    ids = record_some(engine)
    tamper(db_path, f"DELETE FROM audit_entry WHERE entity_id = '{ids[1]}'")
    report = verify_chain(engine)
    assert not report.ok
    assert report.issue is not None and report.issue.code == "position"


def test_changing_an_audit_entry_is_found(engine: Engine, db_path: Path) -> None:
    ids = record_some(engine)
    tamper(db_path, f"UPDATE audit_entry SET actor = 'someone' WHERE entity_id = '{ids[1]}'")
    report = verify_chain(engine)
    assert not report.ok
    assert report.issue is not None and report.issue.code == "changed"


# -- only an anchor kept outside the database can find these ---------------------------


def test_a_weight_changed_and_the_chain_rehashed_is_found_by_the_anchor(
    engine: Engine, db_path: Path
) -> None:
    ids = record_some(engine)
    anchor = head(engine)
    tamper(db_path, f"UPDATE drop_off SET weight_grams = 99000 WHERE id = '{ids[1]}'")
    rehash_from(db_path, "MS01", 1)
    # The chain is consistent in itself: this is what verify cannot see alone...
    assert verify_chain(engine).ok
    # ...and what the anchor shows.
    report = verify_chain(engine, [anchor])
    assert not report.ok
    assert report.issue is not None and report.issue.code == "anchor_differs"
    assert report.problem is not None and anchor.text() in report.problem


def test_the_last_record_removed_with_the_head_set_back_is_found_by_the_anchor(
    engine: Engine, db_path: Path
) -> None:
    ids = record_some(engine)
    anchor = head(engine)
    tamper(
        db_path,
        f"DELETE FROM audit_entry WHERE entity_id = '{ids[-1]}'",
        f"DELETE FROM print_job WHERE drop_off_id = '{ids[-1]}'",
        f"DELETE FROM drop_off WHERE id = '{ids[-1]}'",
    )
    rehash_from(db_path, "MS01", 10**6)  # nothing to rehash; the head follows the tail
    assert verify_chain(engine).ok
    report = verify_chain(engine, [anchor])
    assert report.issue is not None and report.issue.code == "anchor_beyond"


def test_a_whole_station_removed_is_found_by_its_anchor(engine: Engine, db_path: Path) -> None:
    record_some(engine, "MS01")
    record_some(engine, "MS02")
    anchors = chain_heads(engine)
    assert {anchor.station_id for anchor in anchors} == {"MS01", "MS02"}
    tamper(
        db_path,
        "DELETE FROM print_job WHERE drop_off_id IN "
        "(SELECT id FROM drop_off WHERE station_id = 'MS02')",
        "DELETE FROM captured_reading WHERE id IN "
        "(SELECT reading_id FROM drop_off WHERE station_id = 'MS02')",
        "DELETE FROM drop_off WHERE station_id = 'MS02'",
        "DELETE FROM audit_entry WHERE station_id = 'MS02'",
        "DELETE FROM label_sequence WHERE station_id = 'MS02'",
    )
    assert verify_chain(engine).ok
    report = verify_chain(engine, anchors)
    assert report.issue is not None and report.issue.code == "anchor_station"


def test_an_untouched_database_holds_its_old_anchors(engine: Engine) -> None:
    record_some(engine, count=2)
    early = head(engine)
    ids = record_some(engine, count=3)
    void_drop_off(engine, ids[0], "teamleider", "wrong", now=NOON + timedelta(hours=1))
    report = verify_chain(engine, [early, head(engine)])
    assert report.ok
    assert report.heads == (head(engine),)


# -- the anchor's text ------------------------------------------------------------------


def test_an_anchor_reads_back_from_its_short_and_long_text(engine: Engine) -> None:
    record_some(engine, count=1)
    anchor = head(engine)
    short = anchor.text()
    assert short.startswith("MS01:")
    assert len(short.rsplit(":", 1)[1]) == 16
    assert Anchor.parse(short).matches(anchor.digest)
    assert Anchor.parse(anchor.text(64)) == anchor
    assert Anchor.parse(short.upper().replace("MS01", "MS01")).chain_seq == anchor.chain_seq


@pytest.mark.parametrize(
    "text", ["", "MS01", "MS01:12", "MS01:x:0123456789abcdef", "MS01:12:0123abc", "MS01:12:zz"]
)
def test_text_that_is_not_an_anchor_is_refused(text: str) -> None:
    with pytest.raises(AnchorError, match="STATION:NUMBER:HASH"):
        Anchor.parse(text)


def test_every_problem_code_has_english_words() -> None:
    from db.verify import CHAIN_PROBLEM_CODES, ChainProblem

    for code in CHAIN_PROBLEM_CODES:
        assert ChainProblem(code, {}).describe() != code
