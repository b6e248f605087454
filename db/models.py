"""The tables of the counter database (DESIGN.md section 3, "Data").

Rules the schema keeps:

- Records are append-only. A void is a new ``drop_off`` row whose ``voids_id`` points
  at the voided row; nothing is updated or deleted (migration 0001 adds triggers that
  refuse UPDATE and DELETE on ``drop_off``, ``captured_reading`` and ``audit_entry``).
- Weights are integer grams (``INTEGER``) or the indicator's decimal text (``TEXT``),
  never a float column.
- Times are UTC. On SQLite they are stored as fixed-width ISO 8601 text with an
  explicit ``+00:00`` offset, so they sort correctly as text and come back
  timezone-aware.
- Every constraint and index has a name (see ``NAMING_CONVENTION``), so later
  migrations can alter them in SQLite's batch mode.

The tables live in their own ``MetaData`` (``metadata`` below), not in the global
``SQLModel.metadata``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import CheckConstraint, Dialect, Index, MetaData, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlalchemy.types import DateTime, TypeDecorator, TypeEngine
from sqlmodel import Field, SQLModel

from db.domain import (
    STATION_TZ,
    Classification,
    CopyMarker,
    DocumentKind,
    PrintJobStatus,
    WeightSource,
)
from db.domain import format_utc as format_utc

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
_registry = registry(metadata=metadata)


def parse_stored_utc(value: str) -> datetime:
    """A stored time's text as an aware UTC datetime (text without an offset, written
    by something else than this module, is taken as UTC: the only convention here)."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def stored_utc_text(value: str | datetime) -> str:
    """What ``format_utc`` makes of a stored time, from the stored text itself.

    Text this module wrote is already in that form (32 characters, ``T``, ``+00:00``)
    and is returned as it is, so a reader of many rows converts nothing; other text is
    parsed and formatted, as reading it as a datetime would.
    """
    if isinstance(value, datetime):
        return format_utc(value)
    if len(value) == 32 and value[10] == "T" and value.endswith("+00:00"):
        return value
    return format_utc(parse_stored_utc(value))


def _sql_in(values: Iterable[StrEnum]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored in UTC.

    SQLite has no time type, and SQLAlchemy's ``DateTime`` drops the offset there; this
    type stores ``format_utc`` text on SQLite and ``TIMESTAMP WITH TIME ZONE``
    elsewhere (the central database). A naive datetime is refused, not guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return format_utc(value)
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"a time without a timezone cannot be stored: {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return parse_stored_utc(value)
        if not isinstance(value, datetime):
            raise TypeError(f"not a stored time: {value!r}")
        if value.tzinfo is None:
            # Written by something else than this type; UTC is the only convention here.
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class CounterTable(SQLModel, registry=_registry):
    """Base of every table here: binds them to this package's ``metadata``."""


class LabelSequence(CounterTable, table=True):
    """Each station's head: its last label number (``MS01-000123``) and the newest link
    of its hash chain (``chain_seq`` and ``chain_hash``; 0 and the genesis hash before
    the first). ``counter verify`` checks that the head matches the chain's last row, so
    removing the newest rows, or this row, is found. Migration 0003 lets the database
    refuse deleting it and any update that is not a step forward.
    """

    __tablename__ = "label_sequence"

    station_id: str = Field(primary_key=True)
    last_no: int = Field(ge=0)
    chain_seq: int = Field(default=0, ge=0)
    chain_hash: str = Field(default="0" * 64)


class CapturedReading(CounterTable, table=True):
    """The indicator frame a drop-off's weight came from, exactly as it was received."""

    __tablename__ = "captured_reading"

    id: str = Field(primary_key=True)
    # The Decimal's text as the indicator sent it ("12.340" stays "12.340").
    weight: str = Field(sa_type=Text)
    unit: str
    grams: int
    stable: bool | None = None
    net: bool | None = None
    tare: str | None = Field(default=None, sa_type=Text)
    raw_frame: bytes
    received_at: datetime = Field(sa_type=UtcDateTime)
    protocol: str
    port: str


class DropOff(CounterTable, table=True):
    """One classified, weighed part of a visit; or the void of an earlier one.

    A drop-off row has a label number and no ``voids_id``; a void row has a
    ``voids_id`` and a reason, no label number, and copies the voided row's
    classification and weight so every row satisfies the same constraints. A
    correction is a drop-off row whose ``corrects_id`` names the original it replaces
    (voided by a void row in the same transaction). Each row's
    ``content_hash`` covers its content and the previous row's hash of the same
    station (``chain_seq`` 1, 2, 3 ...); see ``db.chain``.
    """

    __tablename__ = "drop_off"
    __table_args__: ClassVar[tuple[Any, ...]] = (
        CheckConstraint(f"classification IN {_sql_in(Classification)}", name="classification"),
        CheckConstraint(f"weight_source IN {_sql_in(WeightSource)}", name="weight_source"),
        CheckConstraint("weight_grams > 0", name="weight_grams_positive"),
        CheckConstraint(
            "(voids_id IS NULL AND label_no IS NOT NULL AND label_code IS NOT NULL)"
            " OR (voids_id IS NOT NULL AND label_no IS NULL AND label_code IS NULL"
            " AND reason IS NOT NULL)",
            name="label_or_void",
        ),
        CheckConstraint("weight_source <> 'manual' OR reason IS NOT NULL", name="manual_reason"),
        UniqueConstraint("station_id", "label_no"),
        UniqueConstraint("station_id", "chain_seq"),
        # An original is corrected once (migration 0006 adds the column in place, so
        # its uniqueness is an index, not a table constraint).
        Index("uq_drop_off_corrects_id", "corrects_id", unique=True),
    )

    id: str = Field(primary_key=True)
    station_id: str
    chain_seq: int
    label_no: int | None = None
    label_code: str | None = Field(default=None, unique=True)
    recorded_at: datetime = Field(sa_type=UtcDateTime, index=True)
    visit_id: str | None = Field(default=None, index=True)
    classification: str
    category_code: str
    category_name: str
    eural_code: str | None = None
    weight_grams: int
    weight_source: str
    operator: str
    reading_id: str | None = Field(default=None, foreign_key="captured_reading.id")
    voids_id: str | None = Field(default=None, foreign_key="drop_off.id", unique=True)
    reason: str | None = Field(default=None, sa_type=Text)
    prev_hash: str
    content_hash: str = Field(unique=True)
    # A correction: the drop-off it replaces (voided in the same transaction).
    corrects_id: str | None = Field(default=None, foreign_key="drop_off.id")


class PrintJob(CounterTable, table=True):
    """A document waiting for, or sent to, the printer. The only mutable table.

    ``station_id``: the station whose printer the job is for; only that station's
    counter sends it. ``None`` only for jobs from before migration 0002 whose station
    could not be told (see there).
    """

    __tablename__ = "print_job"
    __table_args__: ClassVar[tuple[Any, ...]] = (
        CheckConstraint(f"document IN {_sql_in(DocumentKind)}", name="document"),
        CheckConstraint(f"status IN {_sql_in(PrintJobStatus)}", name="status"),
        CheckConstraint(
            f"copy_marker IS NULL OR copy_marker IN {_sql_in(CopyMarker)}", name="copy_marker"
        ),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index(None, "status", "created_at"),
        Index(None, "station_id", "status", "created_at"),
        # A day's jobs (the print queue screen) by range, with and without a station.
        Index(None, "created_at"),
        Index(None, "station_id", "created_at"),
    )

    id: str = Field(primary_key=True)
    station_id: str | None = None
    drop_off_id: str | None = Field(default=None, foreign_key="drop_off.id", index=True)
    document: str
    status: str
    copy_marker: str | None = None
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    last_fault: str | None = None  # the reason of last_error as a code, for the screen
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reprint_of: str | None = Field(default=None, foreign_key="print_job.id")


class AuditEntry(CounterTable, table=True):
    """Who did what, when: ``drop_off.recorded``, ``print_job.sent``, ...

    Audit entries are links of their station's hash chain, numbered in one sequence
    with the station's ``drop_off`` rows (see ``db.chain``): removing or changing one
    breaks the chain like removing a drop-off does.
    """

    __tablename__ = "audit_entry"
    __table_args__: ClassVar[tuple[Any, ...]] = (
        Index(None, "entity", "entity_id"),
        UniqueConstraint("station_id", "chain_seq"),
    )

    id: str = Field(primary_key=True)
    station_id: str
    chain_seq: int
    at: datetime = Field(sa_type=UtcDateTime, index=True)
    actor: str
    action: str
    entity: str
    entity_id: str
    # A JSON object as text (sorted keys), so it reads the same everywhere.
    detail: str = Field(default="{}", sa_type=Text)
    prev_hash: str
    content_hash: str = Field(unique=True)


class OutboxEntry(CounterTable, table=True):
    """A row the central database does not have yet; ``synced_at`` is set once it has."""

    __tablename__ = "outbox_entry"
    __table_args__: ClassVar[tuple[Any, ...]] = (UniqueConstraint("entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    entity: str
    entity_id: str
    created_at: datetime = Field(sa_type=UtcDateTime)
    synced_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)


__all__ = [
    "NAMING_CONVENTION",
    "STATION_TZ",
    "AuditEntry",
    "CapturedReading",
    "Classification",
    "CopyMarker",
    "CounterTable",
    "DocumentKind",
    "DropOff",
    "LabelSequence",
    "OutboxEntry",
    "PrintJob",
    "PrintJobStatus",
    "UtcDateTime",
    "WeightSource",
    "format_utc",
    "metadata",
]
