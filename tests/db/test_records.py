"""Recording drop-offs: one transaction, label numbers, exact weights, days, totals, chain."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from drop_offs import count_rows
from sqlalchemy.engine import Engine
from together import CHILD_PATH

from db.engine import DatabaseError, open_database
from db.queries import (
    RecordNotFound,
    day_bounds,
    drop_off_by_id,
    drop_off_by_label_code,
    drop_offs_between,
    totals_for_day,
)
from db.verify import verify_chain
from db.writes import NewDropOff, NewReading, record_drop_off, void_drop_off

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NOON = datetime(2024, 5, 14, 10, 0, tzinfo=UTC)  # 12:00 in Amsterdam


def reading(weight: str = "12.340", unit: str = "kg", grams: int = 12340) -> NewReading:
    return NewReading(
        weight=Decimal(weight),
        unit=unit,
        grams=grams,
        stable=True,
        net=False,
        tare=None,
        raw_frame=f"ST,GS,+{weight}{unit}\r\n".encode("ascii"),
        received_at=datetime(2024, 5, 14, 9, 59, 59, 500000, tzinfo=UTC),
        protocol="comma",
        port="/dev/ttyUSB0",
    )


def new_drop_off(**changes: Any) -> NewDropOff:
    base = NewDropOff(
        station_id="MS01",
        classification="reuse",
        category_code="furniture",
        category_name="Meubels",
        eural_code=None,
        weight_grams=12340,
        weight_source="scale",
        operator="anna",
        reading=reading(),
    )
    return dataclasses.replace(base, **changes)


def recycling(code: str, grams: int, eural: str = "20 01 40", **changes: Any) -> NewDropOff:
    return new_drop_off(
        classification="recycling",
        category_code=code,
        category_name=code.title(),
        eural_code=eural,
        weight_grams=grams,
        reading=reading(str(Decimal(grams) / 1000), "kg", grams),
        **changes,
    )


# -- one transaction -------------------------------------------------------------------


def test_record_writes_every_row_that_belongs_to_a_drop_off(engine: Engine, db_path: Path) -> None:
    recorded = record_drop_off(engine, new_drop_off(), now=NOON)

    assert recorded.label_code == "MS01-000001"
    assert recorded.recorded_at == NOON
    assert recorded.voided is False
    assert recorded.print_job_id is not None
    assert count_rows(db_path) == {
        "captured_reading": 1,
        "drop_off": 1,
        "audit_entry": 1,
        "print_job": 1,
        "outbox_entry": 1,
        "label_sequence": 1,
    }
    with sqlite3.connect(db_path) as connection:
        job = connection.execute(
            "SELECT id, drop_off_id, document, status, attempts FROM print_job"
        ).fetchone()
        assert job == (recorded.print_job_id, recorded.id, "item_label", "queued", 0)
        audit = connection.execute(
            "SELECT actor, action, entity, entity_id, detail FROM audit_entry"
        ).fetchone()
        assert audit[:4] == ("anna", "drop_off.recorded", "drop_off", recorded.id)
        assert json.loads(audit[4])["label_code"] == "MS01-000001"
        assert connection.execute(
            "SELECT entity, entity_id, synced_at FROM outbox_entry"
        ).fetchone() == ("drop_off", recorded.id, None)


def test_a_failure_half_way_leaves_nothing_behind(engine: Engine, db_path: Path) -> None:
    # The outbox row is written last; a trigger makes the database refuse it.
    with sqlite3.connect(db_path) as connection:
        connection.execute(
            "CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox_entry "
            "BEGIN SELECT RAISE(ABORT, 'outbox refused'); END"
        )
    with pytest.raises(DatabaseError, match="outbox refused"):
        record_drop_off(engine, new_drop_off(), now=NOON)

    assert set(count_rows(db_path).values()) == {0}
    with sqlite3.connect(db_path) as connection:
        connection.execute("DROP TRIGGER refuse_outbox")
    # The label number was not used up either.
    assert record_drop_off(engine, new_drop_off(), now=NOON).label_code == "MS01-000001"


def test_recorded_drop_off_is_detached_from_the_database(db_path: Path) -> None:
    engine = open_database(db_path)
    recorded = record_drop_off(engine, new_drop_off(), now=NOON)
    engine.dispose()
    assert recorded.category_name == "Meubels"
    assert recorded.weight_grams == 12340
    with pytest.raises(dataclasses.FrozenInstanceError):
        recorded.weight_grams = 1  # type: ignore[misc]


# -- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"weight_grams": 0}, "more than 0"),
        ({"weight_grams": -5}, "more than 0"),
        ({"weight_grams": 12.34}, "integer"),
        ({"weight_grams": Decimal("12340")}, "integer"),
        ({"weight_grams": True}, "integer"),
        ({"classification": "trash"}, "classification"),
        ({"weight_source": "guess"}, "weight_source"),
        ({"weight_source": "manual", "reason": None}, "reason"),
        ({"weight_source": "manual", "reason": "  "}, "reason"),
        ({"reading": None}, "needs the reading"),
        ({"weight_grams": 12000}, "differs from the scale reading"),
        ({"station_id": ""}, "station_id"),
        ({"station_id": "MS 01"}, "spaces"),
        ({"operator": ""}, "operator"),
        ({"category_code": ""}, "category_code"),
        ({"reading": dataclasses.replace(reading(), weight=12.34)}, "Decimal"),
        ({"reading": dataclasses.replace(reading(), weight=Decimal("NaN"))}, "finite"),
        (
            {"reading": dataclasses.replace(reading(), received_at=datetime(2024, 5, 14))},
            "timezone",
        ),
    ],
)
def test_invalid_drop_offs_are_refused_before_touching_the_database(
    engine: Engine, db_path: Path, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        record_drop_off(engine, new_drop_off(**changes), now=NOON)
    assert set(count_rows(db_path).values()) == {0}


def test_a_naive_time_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="timezone"):
        record_drop_off(engine, new_drop_off(), now=datetime(2024, 5, 14, 12, 0))


def test_manual_weight_with_reason_and_no_reading(engine: Engine, db_path: Path) -> None:
    recorded = record_drop_off(
        engine,
        new_drop_off(weight_source="manual", reading=None, reason="scale out of order"),
        now=NOON,
    )
    assert recorded.weight_source == "manual"
    assert recorded.reason == "scale out of order"
    assert count_rows(db_path)["captured_reading"] == 0


def test_difference_weight_keeps_its_own_grams(engine: Engine) -> None:
    recorded = record_drop_off(
        engine,
        new_drop_off(weight_source="difference", weight_grams=450_000, reading=reading()),
        now=NOON,
    )
    assert recorded.weight_grams == 450_000


# -- label numbers ---------------------------------------------------------------------


def test_label_numbers_count_up_per_station(engine: Engine) -> None:
    codes = [
        record_drop_off(engine, new_drop_off(station_id=station), now=NOON).label_code
        for station in ("MS01", "MS01", "MS02", "MS01", "MS02")
    ]
    assert codes == ["MS01-000001", "MS01-000002", "MS02-000001", "MS01-000003", "MS02-000002"]
    assert drop_off_by_label_code(engine, "MS02-000002").station_id == "MS02"
    assert drop_off_by_label_code(engine, " MS01-000003\n").label_no == 3
    with pytest.raises(RecordNotFound):
        drop_off_by_label_code(engine, "MS01-000999")


def test_threads_sharing_an_engine_get_distinct_consecutive_numbers(engine: Engine) -> None:
    errors: list[BaseException] = []

    def record_some() -> None:
        try:
            for _ in range(8):
                record_drop_off(engine, new_drop_off(), now=NOON)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=record_some) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    numbers = sorted(d.label_no for d in drop_offs_between(engine, *day_bounds(date(2024, 5, 14))))
    assert numbers == list(range(1, 33))
    assert verify_chain(engine).ok


RECORD_MANY = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from db.engine import open_database
    from db.writes import NewDropOff, record_drop_off
    from together import fork_together

    def prepare(index):
        return open_database(sys.argv[1]), f"p{index}"

    def work(state):
        engine, operator = state
        for _ in range(int(sys.argv[2])):
            record_drop_off(engine, NewDropOff(
                station_id="MS01", classification="recycling", category_code="metaal",
                category_name="Metalen", eural_code="20 01 40", weight_grams=1000,
                weight_source="manual", operator=operator, reading=None, reason="test",
            ), now=datetime(2024, 5, 14, 10, 0, tzinfo=UTC))
        engine.dispose()

    sys.exit(fork_together(int(sys.argv[3]), prepare, work))
    """
)


def test_processes_recording_at_once_get_no_duplicate_or_missing_numbers(db_path: Path) -> None:
    open_database(db_path).dispose()
    # Three recording processes, forked from one interpreter after its imports.
    recorders = subprocess.run(
        [sys.executable, "-c", RECORD_MANY, str(db_path), "10", "3"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": CHILD_PATH},
        timeout=120,
    )
    assert recorders.returncode == 0, recorders.stderr

    with sqlite3.connect(db_path) as connection:
        numbers = [n for (n,) in connection.execute("SELECT label_no FROM drop_off ORDER BY 1")]
        operators = {o for (o,) in connection.execute("SELECT DISTINCT operator FROM drop_off")}
    assert numbers == list(range(1, 31))
    assert operators == {"p0", "p1", "p2"}
    engine = open_database(db_path)
    try:
        assert verify_chain(engine) == verify_chain(engine)
        assert verify_chain(engine).ok
    finally:
        engine.dispose()


# -- exact weights and times ------------------------------------------------------------


@pytest.mark.parametrize(
    ("weight", "unit", "grams"),
    [
        ("12.340", "kg", 12340),
        ("0.005", "kg", 5),
        ("1250", "g", 1250),
        ("3.10", "t", 3_100_000),
        ("-0.00", "kg", 0),
        ("99999.995", "kg", 99_999_995),
    ],
)
def test_the_indicators_decimal_text_round_trips_exactly(
    engine: Engine, db_path: Path, weight: str, unit: str, grams: int
) -> None:
    captured = dataclasses.replace(reading(weight, unit, grams), tare=Decimal("1.250"))
    record_drop_off(
        engine,
        new_drop_off(weight_source="manual", weight_grams=7, reason="test", reading=captured),
        now=NOON,
    )
    with sqlite3.connect(db_path) as connection:
        stored = connection.execute(
            "SELECT weight, typeof(weight), grams, typeof(grams), tare, raw_frame "
            "FROM captured_reading"
        ).fetchone()
    assert stored[0] == weight
    assert Decimal(stored[0]) == Decimal(weight)
    assert Decimal(stored[0]).as_tuple() == Decimal(weight).as_tuple()  # same exponent
    assert stored[1:4] == ("text", grams, "integer")
    assert stored[4] == "1.250"
    assert stored[5] == f"ST,GS,+{weight}{unit}\r\n".encode("ascii")


def test_no_column_or_stored_value_is_a_float(engine: Engine, db_path: Path) -> None:
    record_drop_off(engine, new_drop_off(), now=NOON)
    record_drop_off(engine, recycling("metaal", 1500), now=NOON)
    with sqlite3.connect(db_path) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        for table in tables:
            columns = connection.execute(f"PRAGMA table_info({table})").fetchall()
            for _, name, declared, *_ in columns:
                assert not any(word in declared.upper() for word in ("REAL", "FLOA", "DOUB")), (
                    table,
                    name,
                    declared,
                )
                kinds = {
                    kind
                    for (kind,) in connection.execute(
                        f"SELECT DISTINCT typeof({name}) FROM {table}"
                    )
                }
                assert "real" not in kinds, (table, name)
        declared_types = {
            name: declared
            for _, name, declared, *_ in connection.execute("PRAGMA table_info(drop_off)")
        }
    assert declared_types["weight_grams"] == "INTEGER"
    assert declared_types["recorded_at"] == "TEXT"


def test_times_are_stored_in_utc_and_come_back_timezone_aware(
    engine: Engine, db_path: Path
) -> None:
    local = datetime(2024, 7, 1, 14, 30, 15, 123456, tzinfo=AMSTERDAM)
    recorded = record_drop_off(engine, new_drop_off(), now=local)
    with sqlite3.connect(db_path) as connection:
        (stored,) = connection.execute("SELECT recorded_at FROM drop_off").fetchone()
    assert stored == "2024-07-01T12:30:15.123456+00:00"
    again = drop_off_by_id(engine, recorded.id)
    assert again.recorded_at == local
    assert again.recorded_at.utcoffset() == timedelta(0)


# -- days ------------------------------------------------------------------------------


def test_day_bounds_in_winter_and_summer() -> None:
    assert day_bounds(date(2024, 1, 15)) == (
        datetime(2024, 1, 14, 23, 0, tzinfo=UTC),
        datetime(2024, 1, 15, 23, 0, tzinfo=UTC),
    )
    assert day_bounds(date(2024, 7, 15)) == (
        datetime(2024, 7, 14, 22, 0, tzinfo=UTC),
        datetime(2024, 7, 15, 22, 0, tzinfo=UTC),
    )


def test_day_bounds_when_the_clocks_change() -> None:
    spring_start, spring_end = day_bounds(date(2024, 3, 31), AMSTERDAM)
    assert (spring_start, spring_end) == (
        datetime(2024, 3, 30, 23, 0, tzinfo=UTC),
        datetime(2024, 3, 31, 22, 0, tzinfo=UTC),
    )
    assert spring_end - spring_start == timedelta(hours=23)
    autumn_start, autumn_end = day_bounds(date(2024, 10, 27), AMSTERDAM)
    assert (autumn_start, autumn_end) == (
        datetime(2024, 10, 26, 22, 0, tzinfo=UTC),
        datetime(2024, 10, 27, 23, 0, tzinfo=UTC),
    )
    assert autumn_end - autumn_start == timedelta(hours=25)


def test_drop_offs_of_a_day_with_a_clock_change(engine: Engine) -> None:
    start, end = day_bounds(date(2024, 10, 27))
    times = [
        start - timedelta(microseconds=1),  # 23:59:59.999999 the day before
        start,  # 00:00 local
        datetime(2024, 10, 27, 0, 30, tzinfo=UTC),  # 02:30 CEST, first time round
        datetime(2024, 10, 27, 1, 30, tzinfo=UTC),  # 02:30 CET, second time round
        end - timedelta(microseconds=1),  # 23:59:59.999999 local
        end,  # next day
    ]
    ids = [record_drop_off(engine, new_drop_off(), now=at).id for at in times]
    listed = drop_offs_between(engine, start, end)
    assert [d.id for d in listed] == list(reversed(ids[1:5]))  # newest first
    assert [d.recorded_at for d in listed] == sorted(times[1:5], reverse=True)


def test_drop_offs_between_can_keep_to_one_station(engine: Engine) -> None:
    record_drop_off(engine, new_drop_off(station_id="MS01"), now=NOON)
    record_drop_off(engine, new_drop_off(station_id="MS02"), now=NOON)
    start, end = day_bounds(date(2024, 5, 14))
    assert [d.label_code for d in drop_offs_between(engine, start, end, station_id="MS02")] == [
        "MS02-000001"
    ]


# -- voids -----------------------------------------------------------------------------


def test_void_appends_a_row_and_marks_the_drop_off_voided(engine: Engine, db_path: Path) -> None:
    first = record_drop_off(engine, new_drop_off(), now=NOON)
    void = void_drop_off(engine, first.id, "teamleider", "wrong category", now=NOON)
    second = record_drop_off(engine, new_drop_off(), now=NOON + timedelta(minutes=1))

    assert void.voids_id == first.id
    assert void.voided_label_code == "MS01-000001"
    assert second.label_code == "MS01-000002"  # a void takes no label number
    assert drop_off_by_id(engine, first.id).voided is True
    assert drop_off_by_id(engine, first.id).print_status == "cancelled"
    listed = drop_offs_between(engine, *day_bounds(date(2024, 5, 14)))
    assert [(d.label_code, d.voided) for d in listed] == [
        ("MS01-000002", False),
        ("MS01-000001", True),
    ]
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute(
            "SELECT voids_id, reason, operator, label_code FROM drop_off WHERE voids_id IS NOT NULL"
        ).fetchall()
        actions = [a for (a,) in connection.execute("SELECT action FROM audit_entry ORDER BY at")]
    assert rows == [(first.id, "wrong category", "teamleider", None)]
    assert "drop_off.voided" in actions
    assert "print_job.cancelled" in actions
    with pytest.raises(RecordNotFound):
        drop_off_by_id(engine, void.id)  # a void row is not a drop-off
    assert verify_chain(engine).ok


def test_void_refusals(engine: Engine) -> None:
    recorded = record_drop_off(engine, new_drop_off(), now=NOON)
    with pytest.raises(ValueError, match="reason"):
        void_drop_off(engine, recorded.id, "teamleider", " ")
    void = void_drop_off(engine, recorded.id, "teamleider", "double entry")
    with pytest.raises(ValueError, match="voided already"):
        void_drop_off(engine, recorded.id, "teamleider", "again")
    with pytest.raises(ValueError, match="is a void row"):
        void_drop_off(engine, void.id, "teamleider", "undo")
    with pytest.raises(RecordNotFound):
        void_drop_off(engine, "no-such-id", "teamleider", "why")


def test_records_are_append_only_in_the_database_itself(engine: Engine, db_path: Path) -> None:
    record_drop_off(engine, new_drop_off(), now=NOON)
    with sqlite3.connect(db_path) as connection:
        for statement in (
            "UPDATE drop_off SET weight_grams = 1",
            "DELETE FROM drop_off",
            "UPDATE captured_reading SET weight = '1.000'",
            "DELETE FROM audit_entry",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                connection.execute(statement)


# -- totals ----------------------------------------------------------------------------


def test_totals_per_classification_and_category(engine: Engine) -> None:
    day = date(2024, 5, 14)
    record_drop_off(engine, new_drop_off(), now=NOON)  # reuse furniture 12.340
    record_drop_off(
        engine,
        new_drop_off(weight_grams=660, reading=reading("0.660", "kg", 660)),
        now=NOON,
    )  # reuse furniture 0.660
    record_drop_off(
        engine,
        new_drop_off(
            classification="repair",
            category_code="bicycles",
            category_name="Fietsen",
            weight_grams=15000,
            reading=reading("15.000", "kg", 15000),
        ),
        now=NOON,
    )
    record_drop_off(engine, recycling("metaal", 20000), now=NOON)
    record_drop_off(engine, recycling("hout-ab", 2000, "20 01 38"), now=NOON)
    voided = record_drop_off(engine, recycling("metaal", 99000), now=NOON)
    void_drop_off(engine, voided.id, "teamleider", "weighed twice", now=NOON)
    record_drop_off(engine, recycling("metaal", 5000), now=NOON + timedelta(days=1))

    totals = totals_for_day(engine, day)
    assert totals.grams_by_classification == {"reuse": 13000, "repair": 15000, "recycling": 22000}
    assert totals.count_by_classification == {"reuse": 2, "repair": 1, "recycling": 2}
    assert totals.total_grams == 50000
    assert totals.count == 5
    assert totals.voided_count == 1
    assert totals.reuse_share == Decimal("0.2600")
    assert totals.share("repair") == Decimal("0.3000")
    assert [
        (c.classification, c.category_code, c.eural_code, c.grams, c.count)
        for c in totals.categories
    ] == [
        ("reuse", "furniture", None, 13000, 2),
        ("repair", "bicycles", None, 15000, 1),
        ("recycling", "metaal", "20 01 40", 20000, 1),
        ("recycling", "hout-ab", "20 01 38", 2000, 1),
    ]
    assert all(isinstance(c.grams, int) for c in totals.categories)


def test_totals_of_an_empty_day(engine: Engine) -> None:
    totals = totals_for_day(engine, date(2024, 5, 14))
    assert totals.grams_by_classification == {"reuse": 0, "repair": 0, "recycling": 0}
    assert totals.categories == ()
    assert totals.reuse_share is None


# -- the chain -------------------------------------------------------------------------


def _record_several(engine: Engine) -> list[str]:
    ids = [
        record_drop_off(engine, new_drop_off(station_id=s), now=NOON + timedelta(seconds=i)).id
        for i, s in enumerate(("MS01", "MS02", "MS01", "MS01", "MS02"))
    ]
    void_drop_off(engine, ids[2], "teamleider", "test", now=NOON + timedelta(minutes=1))
    return ids


def _tamper(db_path: Path, *statements: str) -> None:
    """What someone with the file and a SQLite tool could do."""
    with sqlite3.connect(db_path) as connection:
        for name in (
            "drop_off_no_update",
            "drop_off_no_delete",
            "captured_reading_no_update",
        ):
            connection.execute(f"DROP TRIGGER {name}")
        for statement in statements:
            connection.execute(statement)


def test_an_untouched_chain_verifies(engine: Engine) -> None:
    _record_several(engine)
    assert verify_chain(engine) == verify_chain(engine)
    report = verify_chain(engine)
    assert report.ok
    # Every drop-off row and every audit entry is a link: 5 drop-offs, 1 void, their
    # 6 audit entries and the cancelled label job of the voided one.
    assert report.count == 13
    assert report.first_broken_id is None


def test_a_changed_weight_is_found(engine: Engine, db_path: Path) -> None:
    ids = _record_several(engine)
    _tamper(db_path, f"UPDATE drop_off SET weight_grams = 1340 WHERE id = '{ids[3]}'")
    report = verify_chain(engine)
    assert not report.ok
    assert report.first_broken_id == ids[3]
    assert report.problem is not None and "MS01-000003" in report.problem
    assert "changed" in report.problem


def test_a_changed_raw_frame_is_found(engine: Engine, db_path: Path) -> None:
    ids = _record_several(engine)
    _tamper(
        db_path,
        "UPDATE captured_reading SET raw_frame = x'00' WHERE id = "
        f"(SELECT reading_id FROM drop_off WHERE id = '{ids[1]}')",
    )
    report = verify_chain(engine)
    assert not report.ok
    assert report.first_broken_id == ids[1]


def test_a_rehashed_row_still_breaks_the_link_to_the_next(engine: Engine, db_path: Path) -> None:
    ids = _record_several(engine)
    _tamper(db_path, f"UPDATE drop_off SET content_hash = '{'f' * 64}' WHERE id = '{ids[0]}'")
    report = verify_chain(engine)
    assert report.first_broken_id == ids[0]


def test_a_removed_row_is_found(engine: Engine, db_path: Path) -> None:
    ids = _record_several(engine)
    _tamper(
        db_path,
        "PRAGMA foreign_keys = OFF",
        f"DELETE FROM drop_off WHERE id = '{ids[2]}'",
    )
    report = verify_chain(engine)
    assert not report.ok
    # The link after the removed row is its own audit entry: that is where it breaks.
    assert report.issue is not None and report.issue.code == "position"
    assert report.problem is not None and "missing" in report.problem


def test_a_removed_newest_row_is_found(engine: Engine, db_path: Path) -> None:
    ids = [record_drop_off(engine, new_drop_off(), now=NOON).id for _ in range(3)]
    _tamper(db_path, "PRAGMA foreign_keys = OFF", f"DELETE FROM drop_off WHERE id = '{ids[2]}'")
    report = verify_chain(engine)
    assert not report.ok
    assert report.problem is not None and "missing" in report.problem


def test_a_record_is_written_in_one_flush(engine: Engine) -> None:
    """Every flush is a round of statements inside the write lock; a record needs one."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    flushes: list[int] = []

    def count(session: Session, _context: object) -> None:
        flushes.append(1)

    event.listen(Session, "after_flush", count)
    try:
        record_drop_off(engine, new_drop_off(), now=NOON)  # the first makes the head row
        flushes.clear()
        record_drop_off(engine, new_drop_off(), now=NOON + timedelta(seconds=1))
    finally:
        event.remove(Session, "after_flush", count)
    assert len(flushes) == 1
    assert verify_chain(engine).ok
