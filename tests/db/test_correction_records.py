"""Corrections in the database: the original voided and its replacement recorded in
one transaction, the chain intact, and totals, lists and exports counting the
replacement instead of the original."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from drop_offs import count_rows, scale_drop_off, scale_reading
from sqlalchemy.engine import Engine

from db.domain import Classification, WeightSource
from db.export import EXPORT_COLUMNS, export_rows, write_csv
from db.queries import RecordNotFound, day_bounds, drop_offs_between, totals_for_day
from db.verify import verify_chain
from db.writes import (
    DropOffCorrected,
    DropOffVoided,
    NewCategory,
    NewWeight,
    NothingToCorrect,
    correct_drop_off,
    record_drop_off,
    void_drop_off,
)

NOON = datetime(2024, 5, 14, 10, 0, tzinfo=UTC)
DAY = date(2024, 5, 14)
LATER = NOON + timedelta(hours=2)
WOOD = NewCategory(Classification.RECYCLING, "hout_b", "B-hout", "17 02 01")
FURNITURE = NewCategory(Classification.REUSE, "meubels", "Meubels", None)


def test_a_new_category_voids_the_original_and_records_its_replacement(
    engine: Engine, db_path: Path
) -> None:
    original = record_drop_off(engine, scale_drop_off(12340), now=NOON)
    before = count_rows(db_path)

    done = correct_drop_off(
        engine, original.id, "balie", "Verkeerde categorie", category=WOOD, now=LATER
    )

    correction = done.correction
    assert correction.label_code == "MS01-000002"
    assert correction.corrects_label_code == "MS01-000001"
    assert (correction.classification, correction.category_code) == ("recycling", "hout_b")
    assert correction.category_name == "B-hout"
    assert correction.eural_code == "17 02 01"
    # The rest is the original's: its weight, where the weight came from, its time.
    assert correction.weight_grams == 12340
    assert correction.weight_source == WeightSource.SCALE
    assert correction.recorded_at == NOON
    assert done.void.voids_id == original.id
    assert done.void.reason == "Verkeerde categorie"
    # A void row, the replacement, their audit entries (voided, the original's waiting
    # label cancelled, corrected), the replacement's label job, two outbox rows.
    after = count_rows(db_path)
    assert {table: after[table] - before[table] for table in after} == {
        "captured_reading": 0,
        "drop_off": 2,
        "audit_entry": 3,
        "print_job": 1,
        "outbox_entry": 2,
        "label_sequence": 0,
    }
    with sqlite3.connect(db_path) as connection:
        stored = connection.execute(
            "SELECT corrects_id, reading_id, reason FROM drop_off WHERE id = ?", (correction.id,)
        ).fetchone()
        assert stored[0] == original.id
        assert stored[2] == "Verkeerde categorie"
        original_reading = connection.execute(
            "SELECT reading_id FROM drop_off WHERE id = ?", (original.id,)
        ).fetchone()[0]
        assert stored[1] == original_reading  # the same weighing
        jobs = dict(connection.execute("SELECT drop_off_id, status FROM print_job").fetchall())
        assert jobs == {original.id: "cancelled", correction.id: "queued"}
        detail = json.loads(
            connection.execute(
                "SELECT detail FROM audit_entry WHERE action = 'drop_off.corrected'"
            ).fetchone()[0]
        )
    assert detail["corrects_label_code"] == "MS01-000001"
    assert detail["category_code"] == "hout_b"
    assert detail["reason"] == "Verkeerde categorie"
    assert verify_chain(engine).ok


def test_the_day_counts_the_correction_and_lists_both(engine: Engine) -> None:
    original = record_drop_off(engine, scale_drop_off(12340), now=NOON)
    other = record_drop_off(engine, scale_drop_off(1000), now=NOON + timedelta(minutes=1))
    correct_drop_off(engine, original.id, "balie", "Verkeerde categorie", category=FURNITURE)

    listed = {r.label_code: r for r in drop_offs_between(engine, *day_bounds(DAY))}
    assert set(listed) == {"MS01-000001", "MS01-000002", "MS01-000003"}
    assert listed["MS01-000001"].voided
    assert listed["MS01-000001"].corrected_by_label_code == "MS01-000003"
    assert not listed["MS01-000003"].voided
    assert listed["MS01-000003"].corrects_label_code == "MS01-000001"
    assert listed[other.label_code].corrects_label_code is None

    totals = totals_for_day(engine, DAY)
    assert totals.grams_by_classification == {
        Classification.REUSE: 12340,
        Classification.REPAIR: 0,
        Classification.RECYCLING: 1000,
    }
    assert totals.count == 2
    assert totals.voided_count == 1


def test_weighing_again_stores_the_scale_reading(engine: Engine, db_path: Path) -> None:
    original = record_drop_off(engine, scale_drop_off(12340), now=NOON)

    done = correct_drop_off(
        engine,
        original.id,
        "balie",
        "Dubbel gewogen",
        weight=NewWeight(8200, WeightSource.SCALE, scale_reading(8200, received_at=LATER)),
    )

    assert done.correction.weight_grams == 8200
    assert done.correction.category_code == "metaal"
    with sqlite3.connect(db_path) as connection:
        reading = connection.execute(
            "SELECT r.grams, r.raw_frame FROM drop_off d JOIN captured_reading r"
            " ON r.id = d.reading_id WHERE d.id = ?",
            (done.correction.id,),
        ).fetchone()
    assert reading == (8200, b"ST,GS,+8.200kg\r\n")
    assert totals_for_day(engine, DAY).total_grams == 8200
    assert verify_chain(engine).ok


def test_a_typed_weight_is_manual_with_the_reason(engine: Engine, db_path: Path) -> None:
    original = record_drop_off(engine, scale_drop_off(12340), now=NOON)

    done = correct_drop_off(
        engine,
        original.id,
        "supervisor",
        "weegschaal defect",
        weight=NewWeight(12500, WeightSource.MANUAL, None),
    )

    assert done.correction.weight_source == WeightSource.MANUAL
    assert done.correction.reason == "weegschaal defect"
    with sqlite3.connect(db_path) as connection:
        assert connection.execute(
            "SELECT reading_id, operator FROM drop_off WHERE id = ?", (done.correction.id,)
        ).fetchone() == (None, "supervisor")
    assert verify_chain(engine).ok


def test_a_correction_can_itself_be_corrected_and_voided(engine: Engine) -> None:
    original = record_drop_off(engine, scale_drop_off(12340), now=NOON)
    first = correct_drop_off(engine, original.id, "balie", "Anders", category=WOOD)
    second = correct_drop_off(
        engine, first.correction.id, "balie", "Anders", category=FURNITURE
    ).correction
    void_drop_off(engine, second.id, "balie", "Proefweging")

    assert totals_for_day(engine, DAY).count == 0
    report = verify_chain(engine)
    assert report.ok, report.problem


def test_refusals_record_nothing(engine: Engine, db_path: Path) -> None:
    voided = record_drop_off(engine, scale_drop_off(1000), now=NOON)
    void_drop_off(engine, voided.id, "balie", "Proefweging")
    original = record_drop_off(engine, scale_drop_off(2000), now=NOON)
    correction = correct_drop_off(engine, original.id, "balie", "Anders", category=WOOD)
    standing = record_drop_off(engine, scale_drop_off(3000), now=NOON)
    before = count_rows(db_path)

    with pytest.raises(DropOffVoided) as refused:
        correct_drop_off(engine, voided.id, "balie", "Anders", category=WOOD)
    assert not isinstance(refused.value, DropOffCorrected)
    assert refused.value.label_code == voided.label_code
    with pytest.raises(DropOffVoided):
        void_drop_off(engine, voided.id, "balie", "Anders")
    with pytest.raises(DropOffCorrected) as corrected:
        correct_drop_off(engine, original.id, "balie", "Anders", category=FURNITURE)
    assert corrected.value.corrected_by == correction.correction.label_code
    with pytest.raises(DropOffCorrected):
        void_drop_off(engine, original.id, "balie", "Anders")
    with pytest.raises(ValueError, match="reason"):
        correct_drop_off(engine, standing.id, "balie", "  ", category=WOOD)
    with pytest.raises(ValueError, match="reason"):
        void_drop_off(engine, standing.id, "balie", "")
    with pytest.raises(RecordNotFound):
        correct_drop_off(engine, "no-such-id", "balie", "Anders", category=WOOD)
    with pytest.raises(NothingToCorrect):
        correct_drop_off(engine, standing.id, "balie", "Anders")
    with pytest.raises(NothingToCorrect):
        same = NewCategory(Classification.RECYCLING, "metaal", "Metalen", "20 01 40")
        correct_drop_off(engine, standing.id, "balie", "Anders", category=same)
    for grams in (0, -5):
        with pytest.raises(ValueError, match="more than 0"):
            correct_drop_off(
                engine,
                standing.id,
                "balie",
                "Anders",
                weight=NewWeight(grams, WeightSource.MANUAL, None),
            )

    assert count_rows(db_path) == before
    assert verify_chain(engine).ok


def tamper(db_path: Path, statement: str, *params: object) -> None:
    with sqlite3.connect(db_path) as connection:
        connection.execute("DROP TRIGGER IF EXISTS drop_off_no_update")
        connection.execute(statement, params)


def test_verify_finds_a_changed_corrects_id(engine: Engine, db_path: Path) -> None:
    first = record_drop_off(engine, scale_drop_off(1000), now=NOON)
    second = record_drop_off(engine, scale_drop_off(2000), now=NOON)
    done = correct_drop_off(engine, first.id, "balie", "Anders", category=WOOD)
    assert verify_chain(engine).ok

    # The correction made to point at another drop-off.
    tamper(
        db_path, "UPDATE drop_off SET corrects_id = ? WHERE id = ?", second.id, done.correction.id
    )

    report = verify_chain(engine)
    assert not report.ok
    assert report.issue is not None and report.issue.code == "changed"
    assert report.first_broken_id == done.correction.id


@pytest.mark.parametrize("change", ["cleared", "set_on_an_old_row"])
def test_verify_finds_a_corrects_id_cleared_or_added(
    engine: Engine, db_path: Path, change: str
) -> None:
    first = record_drop_off(engine, scale_drop_off(1000), now=NOON)
    second = record_drop_off(engine, scale_drop_off(2000), now=NOON)
    third = record_drop_off(engine, scale_drop_off(3000), now=NOON)
    done = correct_drop_off(engine, first.id, "balie", "Anders", category=WOOD)

    if change == "cleared":
        tamper(db_path, "UPDATE drop_off SET corrects_id = NULL WHERE id = ?", done.correction.id)
        broken = done.correction.id
    else:
        tamper(db_path, "UPDATE drop_off SET corrects_id = ? WHERE id = ?", third.id, second.id)
        broken = second.id

    report = verify_chain(engine)
    assert not report.ok
    assert report.first_broken_id == broken


def test_the_export_shows_both_rows_and_counts_the_correction(engine: Engine) -> None:
    original = record_drop_off(engine, scale_drop_off(12340), now=NOON)
    correct_drop_off(
        engine,
        original.id,
        "balie",
        "Verkeerde categorie",
        weight=NewWeight(9000, WeightSource.MANUAL, None),
        category=FURNITURE,
    )

    rows = export_rows(engine, DAY, DAY)

    assert EXPORT_COLUMNS[:12] == (
        "id",
        "label_code",
        "recorded_at",
        "station_id",
        "visit_id",
        "classification",
        "category",
        "eural_code",
        "weight_kg",
        "weight_source",
        "operator",
        "voided",
    )
    assert EXPORT_COLUMNS[12:] == ("corrects", "corrected_by", "void_reason")
    by_label = {row["label_code"]: row for row in rows}
    assert by_label["MS01-000001"]["voided"] is True
    assert by_label["MS01-000001"]["corrected_by"] == "MS01-000002"
    assert by_label["MS01-000001"]["void_reason"] == "Verkeerde categorie"
    assert by_label["MS01-000002"]["voided"] is False
    assert by_label["MS01-000002"]["corrects"] == "MS01-000001"
    assert by_label["MS01-000002"]["void_reason"] is None
    assert by_label["MS01-000002"]["weight_kg"] == "9.000"
    assert by_label["MS01-000002"]["weight_source"] == "manual"
    stream = io.StringIO()
    write_csv(rows, stream)
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith(",voided,corrects,corrected_by,void_reason")
    assert lines[2].endswith(",false,MS01-000001,,")


def test_the_last_record_of_a_correction_weighed_again_is_dated_by_its_weighing(
    engine: Engine,
) -> None:
    """After a restart the counter asks before recording the last record's weight again
    within minutes of it. A correction keeps its original's time (its kilograms stay on
    that day), but its load lay on the scale when it was weighed again: that is the
    time the question must go by."""
    from db.recent import last_drop_off

    weighed_first = datetime.now(UTC) - timedelta(minutes=30)
    original = record_drop_off(engine, scale_drop_off(10000), now=weighed_first)
    weighed_again = datetime.now(UTC)
    reading = scale_reading(25000, received_at=weighed_again)
    correct_drop_off(
        engine,
        original.id,
        "balie",
        "Verkeerd gewogen",
        weight=NewWeight(25000, WeightSource.SCALE, reading),
        now=weighed_again,
    )

    last = last_drop_off(engine, "MS01")
    assert last is not None
    assert (last.label_code, last.weight_grams) == ("MS01-000002", 25000)
    assert last.recorded_at == weighed_again
