"""Reading drop-offs back: a day's list, one record, a day's totals.

Everything returned here is a frozen dataclass detached from any session. Every query
on a range of days goes through the date index (see :func:`not_a_void`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, exists, literal_column, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import col

from db.day_totals import CategoryTotal as CategoryTotal
from db.day_totals import DayTotals as DayTotals
from db.day_totals import day_bounds as day_bounds
from db.day_totals import read_day_totals
from db.domain import (
    STATION_TZ,
    Classification,
    PrintJobStatus,
    WeightSource,
    utc_now,
)
from db.engine import read_session
from db.models import (
    DropOff,
    PrintJob,
)


class RecordNotFound(LookupError):
    """No record with the given id or label code."""


@dataclass(frozen=True, slots=True)
class RecordedDropOff:
    """A stored drop-off. ``print_job_id`` is its first label job (None if it has none);
    ``print_status`` the status of its most recent print job."""

    id: str
    label_code: str
    recorded_at: datetime
    classification: Classification
    category_code: str
    category_name: str
    eural_code: str | None
    weight_grams: int
    weight_source: WeightSource
    operator: str
    print_job_id: str | None
    voided: bool = False
    station_id: str = ""
    label_no: int = 0
    visit_id: str | None = None
    reason: str | None = None
    print_status: PrintJobStatus | None = None
    #: A correction: the label code of the drop-off it replaces.
    corrects_label_code: str | None = None
    #: A corrected original (voided): the label code of the correction.
    corrected_by_label_code: str | None = None


# What verify_chain can find wrong; ChainProblem.code is one of these.


def as_recorded(
    row: DropOff,
    *,
    print_job_id: str | None,
    voided: bool,
    print_status: str | None,
    corrects_label_code: str | None = None,
    corrected_by_label_code: str | None = None,
) -> RecordedDropOff:
    # The columns hold plain text; the record speaks the domain's words.
    return RecordedDropOff(
        id=row.id,
        label_code=str(row.label_code),
        recorded_at=row.recorded_at,
        classification=Classification(row.classification),
        category_code=row.category_code,
        category_name=row.category_name,
        eural_code=row.eural_code,
        weight_grams=row.weight_grams,
        weight_source=WeightSource(row.weight_source),
        operator=row.operator,
        print_job_id=print_job_id,
        voided=voided,
        station_id=row.station_id,
        label_no=int(row.label_no or 0),
        visit_id=row.visit_id,
        reason=row.reason,
        print_status=None if print_status is None else PrintJobStatus(print_status),
        corrects_label_code=corrects_label_code,
        corrected_by_label_code=corrected_by_label_code,
    )


def not_a_void() -> ColumnElement[bool]:
    """Rows that are drop-offs, not voids (``voids_id IS NULL``), without steering the
    query to the ``voids_id`` index.

    Given ``voids_id IS NULL`` SQLite picks the unique index on ``voids_id``, in which
    nearly every row is NULL, and so reads the whole table instead of the day through
    ``ix_drop_off_recorded_at``. The unary ``+`` is SQLite's documented way to keep a
    term from choosing an index (https://www.sqlite.org/optoverview.html, "Disqualifying
    WHERE clause terms using unary-+").
    """
    return literal_column("+drop_off.voids_id").is_(None)


def voided_condition() -> ColumnElement[bool]:
    void = aliased(DropOff)
    return exists().where(col(void.voids_id) == col(DropOff.id))


def corrects_label() -> Any:
    """The label code of the original a row corrects (a correlated scalar subquery)."""
    original = aliased(DropOff)
    return (
        select(col(original.label_code))
        .where(col(original.id) == col(DropOff.corrects_id))
        .scalar_subquery()
    )


def corrected_by_label() -> Any:
    """The label code of the correction that replaced a row (a correlated scalar
    subquery, through the unique index on ``corrects_id``)."""
    correction = aliased(DropOff)
    return (
        select(col(correction.label_code))
        .where(col(correction.corrects_id) == col(DropOff.id))
        .scalar_subquery()
    )


def _drop_off_select() -> Select[Any]:
    """Drop-offs (never void rows) with ``voided``, first job id, latest job status and
    the label codes of the original a correction replaces and of an original's
    correction."""
    first_job = (
        select(col(PrintJob.id))
        .where(col(PrintJob.drop_off_id) == col(DropOff.id))
        .order_by(col(PrintJob.created_at), col(PrintJob.id))
        .limit(1)
        .scalar_subquery()
    )
    latest_status = (
        select(col(PrintJob.status))
        .where(col(PrintJob.drop_off_id) == col(DropOff.id))
        .order_by(col(PrintJob.updated_at).desc(), col(PrintJob.created_at).desc())
        .limit(1)
        .scalar_subquery()
    )
    statement: Select[Any] = select(
        DropOff,
        voided_condition().label("voided"),
        first_job,
        latest_status,
        corrects_label(),
        corrected_by_label(),
    ).where(not_a_void())
    return statement


def _rows_to_recorded(rows: Any) -> list[RecordedDropOff]:
    return [
        as_recorded(
            row,
            print_job_id=job_id,
            voided=bool(voided),
            print_status=status,
            corrects_label_code=corrects,
            corrected_by_label_code=corrected_by,
        )
        for row, voided, job_id, status, corrects, corrected_by in rows
    ]


def drop_offs_between(
    engine: Engine,
    start_utc: datetime,
    end_utc: datetime,
    *,
    station_id: str | None = None,
) -> list[RecordedDropOff]:
    """Drop-offs recorded in ``[start_utc, end_utc)``, newest first, voided ones
    included with ``voided=True``; void rows themselves are not listed."""
    start, end = utc_now(start_utc), utc_now(end_utc)
    statement = (
        _drop_off_select()
        .where(col(DropOff.recorded_at) >= start, col(DropOff.recorded_at) < end)
        .order_by(col(DropOff.recorded_at).desc(), col(DropOff.label_no).desc())
    )
    if station_id is not None:
        # Unary + (see not_a_void): without ANALYZE's statistics, which the counter
        # never gathers, ``station_id = ?`` steers SQLite to the (station_id, label_no)
        # index, which at a one-station site is the whole table.
        statement = statement.where(literal_column("+drop_off.station_id") == station_id)
    with read_session(engine) as session:
        return _rows_to_recorded(session.execute(statement).all())


def drop_off_by_id(engine: Engine, drop_off_id: str) -> RecordedDropOff:
    """One drop-off; ``RecordNotFound`` if there is none with that id."""
    with read_session(engine) as session:
        found = _rows_to_recorded(
            session.execute(_drop_off_select().where(col(DropOff.id) == drop_off_id)).all()
        )
    if not found:
        raise RecordNotFound(f"no drop-off with id {drop_off_id}")
    return found[0]


def drop_off_by_label_code(engine: Engine, label_code: str) -> RecordedDropOff:
    """The drop-off a label's QR code names; ``RecordNotFound`` if there is none."""
    with read_session(engine) as session:
        found = _rows_to_recorded(
            session.execute(
                _drop_off_select().where(col(DropOff.label_code) == label_code.strip())
            ).all()
        )
    if not found:
        raise RecordNotFound(f"no drop-off with label {label_code}")
    return found[0]


def totals_for_day(engine: Engine, day: date, tz: ZoneInfo = STATION_TZ) -> DayTotals:
    """Grams and counts per classification and per category/fraction of a local day:
    the SQL of :mod:`db.day_totals` (which ``counter totals`` runs through ``sqlite3``),
    run on the engine's connection in one read transaction."""
    with read_session(engine) as session:
        return read_day_totals(session.connection().exec_driver_sql, day, tz)
