"""Recording drop-offs, voiding them, and reading them back by day.

:func:`record_drop_off` is the counter's one write per drop-off: in a single
``BEGIN IMMEDIATE`` transaction it stores the captured reading, the drop-off with the
station's next label number and its chained hash, an audit entry, a queued label print
job and an outbox row. The caller acknowledges the drop-off only after it returned;
if it raises, nothing of it was stored.

Everything returned here is a frozen dataclass detached from any session.
"""

from __future__ import annotations

import heapq
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, exists, func, literal_column, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased
from sqlmodel import col

from db.chain import (
    GENESIS_HASH,
    Anchor,
    audit_hash,
    chain_hash,
    drop_off_content,
    drop_off_hash,
)
from db.domain import (
    PENDING_STATUSES,
    STATION_TZ,
    Classification,
    DocumentKind,
    PrintJobStatus,
    WeightSource,
)
from db.engine import DatabaseError, read_session, write_session
from db.models import (
    AuditEntry,
    CapturedReading,
    DropOff,
    LabelSequence,
    OutboxEntry,
    PrintJob,
)

# Shares (e.g. the reuse share) are given to four decimals: 0.4567 = 45.67 %.
SHARE_QUANTUM = Decimal("0.0001")


class ChainBroken(DatabaseError):
    """The database was changed outside the counter in a way that stops recording."""


class RecordNotFound(LookupError):
    """No record with the given id or label code."""


@dataclass(frozen=True, slots=True)
class NewReading:
    """The indicator reading a weight was taken from, as the scale service had it."""

    weight: Decimal
    unit: str
    grams: int
    stable: bool | None
    net: bool | None
    tare: Decimal | None
    raw_frame: bytes
    received_at: datetime
    protocol: str
    port: str


@dataclass(frozen=True, slots=True)
class NewDropOff:
    """A drop-off as the counter wants it stored.

    ``weight_source`` is ``"scale"`` (then ``reading.grams`` must equal
    ``weight_grams``), ``"difference"`` (weigh-in minus weigh-out; ``reading`` is the
    last weighing) or ``"manual"`` (typed in; ``reason`` is required, ``reading`` may
    be None).
    """

    station_id: str
    classification: Classification
    category_code: str
    category_name: str
    eural_code: str | None
    weight_grams: int
    weight_source: WeightSource
    operator: str
    reading: NewReading | None
    visit_id: str | None = None
    reason: str | None = None


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


@dataclass(frozen=True, slots=True)
class VoidRecord:
    """The row that voids a drop-off."""

    id: str
    voids_id: str
    voided_label_code: str
    recorded_at: datetime
    operator: str
    reason: str


@dataclass(frozen=True, slots=True)
class CategoryTotal:
    classification: Classification
    category_code: str
    category_name: str
    eural_code: str | None
    grams: int
    count: int


@dataclass(frozen=True, slots=True)
class DayTotals:
    """Totals of one local day; voided drop-offs and void rows are left out.

    ``grams_by_classification`` and ``count_by_classification`` have a key for every
    classification, 0 where there was nothing. ``categories`` is ordered reuse,
    repair, recycling, then heaviest first.
    """

    day: date
    grams_by_classification: dict[Classification, int]
    count_by_classification: dict[Classification, int]
    categories: tuple[CategoryTotal, ...]
    voided_count: int = 0

    @property
    def total_grams(self) -> int:
        return sum(self.grams_by_classification.values())

    @property
    def count(self) -> int:
        return sum(self.count_by_classification.values())

    def share(self, classification: Classification) -> Decimal | None:
        """The classification's part of the total weight (0.4567), None when nothing
        was weighed."""
        total = self.total_grams
        if total == 0:
            return None
        grams = Decimal(self.grams_by_classification.get(classification, 0))
        return (grams / Decimal(total)).quantize(SHARE_QUANTUM, rounding=ROUND_HALF_EVEN)

    @property
    def reuse_share(self) -> Decimal | None:
        return self.share(Classification.REUSE)


# What verify_chain can find wrong; ChainProblem.code is one of these.
CHAIN_PROBLEM_CODES: tuple[str, ...] = (
    "position",
    "link",
    "reading_missing",
    "changed",
    "label_gap",
    "head_missing",
    "head_behind",
    "head_ahead",
    "label_head",
    "anchor_station",
    "anchor_beyond",
    "anchor_differs",
)


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """The first thing ``counter verify`` found wrong, as a reason code and its facts.

    ``code`` is one of :data:`CHAIN_PROBLEM_CODES`. ``facts`` holds plain
    values (station, positions, the row's label code or audit action); the application
    puts them into words. :meth:`describe` gives English words for logs and tests.
    """

    code: str
    facts: dict[str, Any]

    def describe(self) -> str:
        f = self.facts
        row = f.get("row", "")
        texts = {
            "position": f"{row} is at position {f.get('found')} of station {f.get('station')}'s "
            f"chain where {f.get('expected')} was expected: a record is missing or was inserted",
            "link": f"{row} does not follow the record before it: "
            "a record was removed, inserted or changed",
            "reading_missing": f"the captured reading of {row} is missing",
            "changed": f"{row} was changed after it was recorded",
            "label_gap": f"{row} has label number {f.get('found')} where {f.get('expected')} "
            "was expected: a label number is missing",
            "head_missing": f"station {f.get('station')} has records but no head row: "
            "the row that numbers its labels was removed",
            "head_behind": f"station {f.get('station')}'s head names position "
            f"{f.get('head')} but its chain goes on to {f.get('tail')}: the head was changed",
            "head_ahead": f"station {f.get('station')}'s head names position {f.get('head')} "
            f"but its chain ends at {f.get('tail')}: records are missing",
            "label_head": f"station {f.get('station')} handed out label number "
            f"{f.get('head')}, but the newest stored label is number {f.get('tail')}: "
            "records are missing or the label numbering was changed",
            "anchor_station": f"the anchor {f.get('anchor')} names station "
            f"{f.get('station')}, which has no records here: they were removed",
            "anchor_beyond": f"the anchor {f.get('anchor')} names position {f.get('seq')}, "
            f"but station {f.get('station')}'s chain ends at {f.get('tail')}: "
            "records were removed",
            "anchor_differs": f"the record at the anchor {f.get('anchor')} is not the one "
            "the anchor was taken from: records up to it were changed and their hashes "
            "computed again",
        }
        return texts.get(self.code, self.code)


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What ``counter verify`` found. ``count`` is the number of links checked; ``heads``
    is each station's newest link as an :class:`Anchor` (to keep outside the database);
    ``anchors`` the anchors that were checked against the chain."""

    ok: bool
    count: int
    first_broken_id: str | None = None
    problem: str | None = None
    issue: ChainProblem | None = None
    heads: tuple[Anchor, ...] = ()
    anchors: tuple[Anchor, ...] = ()


# -- helpers ---------------------------------------------------------------------------


def new_id() -> str:
    return str(uuid.uuid4())


def label_code_for(station_id: str, label_no: int) -> str:
    """``MS01-000123``: the station and its label number, at least six digits."""
    return f"{station_id}-{label_no:06d}"


def utc_now(now: datetime | None = None) -> datetime:
    """``now`` (which must be timezone-aware) or the current time, in UTC."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"time without a timezone: {now!r}")
    return now.astimezone(UTC)


def station_head(session: Session, station_id: str) -> LabelSequence:
    """The station's head row, made (at label 0, before the first link) when it has none.

    Callers hold the write lock (``write_session``), so no other writer can take the
    same label number or chain position in between.
    """
    # Kept for the transaction: a head made here is pending, not yet in the identity
    # map, and asking the database again would flush half a record.
    heads: dict[str, LabelSequence] = session.info.setdefault("station_heads", {})
    if station_id in heads:
        return heads[station_id]
    head = session.get(LabelSequence, station_id)
    if head is None:
        if _station_has_links(session, station_id):
            raise ChainBroken(
                f"Station {station_id} has records but its head row (label_sequence) is "
                "gone: the database was changed outside the counter, so nothing more is "
                "recorded to it. Run 'counter verify' and restore the database from a backup."
            )
        head = LabelSequence(station_id=station_id, last_no=0, chain_seq=0, chain_hash=GENESIS_HASH)
        session.add(head)
    heads[station_id] = head
    return head


def _station_has_links(session: Session, station_id: str) -> bool:
    return any(
        session.execute(
            select(col(table.id)).where(col(table.station_id) == station_id).limit(1)
        ).first()
        is not None
        for table in (DropOff, AuditEntry)
    )


def _link(head: LabelSequence, row: DropOff | AuditEntry, reading: CapturedReading | None) -> None:
    """Make ``row`` the next link of its station's chain and move the head to it."""
    row.chain_seq = head.chain_seq + 1
    row.prev_hash = head.chain_hash
    if isinstance(row, DropOff):
        row.content_hash = chain_hash(drop_off_content(row, reading), row.prev_hash)
    else:
        row.content_hash = audit_hash(row)
    head.chain_seq = row.chain_seq
    head.chain_hash = row.content_hash


def add_audit(
    session: Session,
    *,
    station_id: str,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    **detail: Any,
) -> None:
    """Append an audit entry as the station's next chain link."""
    entry = AuditEntry(
        id=new_id(),
        station_id=station_id,
        chain_seq=0,
        at=at,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        detail=json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str),
        prev_hash="",
        content_hash="",
    )
    _link(station_head(session, station_id), entry, None)
    session.add(entry)


def _require_text(value: str | None, what: str) -> str:
    if value is None or not value.strip():
        raise ValueError(f"{what} must not be empty")
    return value


def _validate_reading(reading: NewReading) -> None:
    if not isinstance(reading.weight, Decimal) or not reading.weight.is_finite():
        raise ValueError(f"reading weight must be a finite Decimal, not {reading.weight!r}")
    if reading.tare is not None and (
        not isinstance(reading.tare, Decimal) or not reading.tare.is_finite()
    ):
        raise ValueError(f"reading tare must be a finite Decimal, not {reading.tare!r}")
    if not isinstance(reading.grams, int) or isinstance(reading.grams, bool):
        raise ValueError(f"reading grams must be an integer, not {reading.grams!r}")
    if not isinstance(reading.raw_frame, bytes):
        raise ValueError("reading raw_frame must be bytes")
    _require_text(reading.unit, "reading unit")
    utc_now(reading.received_at)


def validate_new_drop_off(new: NewDropOff) -> None:
    """Raise ``ValueError`` naming the first thing wrong with ``new``."""
    station = _require_text(new.station_id, "station_id")
    if station != station.strip() or any(ch.isspace() for ch in station):
        raise ValueError(f"station_id must not contain spaces: {station!r}")
    if new.classification not in tuple(Classification):
        raise ValueError(
            f"classification must be one of {', '.join(Classification)}, not {new.classification!r}"
        )
    if new.weight_source not in tuple(WeightSource):
        raise ValueError(
            f"weight_source must be one of {', '.join(WeightSource)}, not {new.weight_source!r}"
        )
    if not isinstance(new.weight_grams, int) or isinstance(new.weight_grams, bool):
        raise ValueError(
            f"weight_grams must be an integer number of grams, not {new.weight_grams!r}"
        )
    if new.weight_grams <= 0:
        raise ValueError(f"weight_grams must be more than 0, not {new.weight_grams}")
    _require_text(new.category_code, "category_code")
    _require_text(new.category_name, "category_name")
    _require_text(new.operator, "operator")
    if new.weight_source == WeightSource.MANUAL:
        _require_text(new.reason, "a reason for a manually entered weight")
    elif new.reading is None:
        raise ValueError(f"a {new.weight_source!r} weight needs the reading it came from")
    if new.reading is not None:
        _validate_reading(new.reading)
        if new.weight_source == WeightSource.SCALE and new.reading.grams != new.weight_grams:
            raise ValueError(
                f"weight_grams {new.weight_grams} differs from the scale reading's "
                f"{new.reading.grams} g"
            )


def cancel_print_job_row(
    session: Session,
    job: PrintJob,
    *,
    station_id: str,
    at: datetime,
    actor: str,
    reason: str | None = None,
) -> None:
    """Mark a waiting print job cancelled, with its audit entry (inside the caller's
    transaction; the caller has checked that the job still waits)."""
    job.status = PrintJobStatus.CANCELLED
    job.updated_at = at
    session.add(job)
    extra = {} if reason is None else {"reason": reason}
    add_audit(
        session,
        station_id=station_id,
        at=at,
        actor=actor,
        action="print_job.cancelled",
        entity="print_job",
        entity_id=job.id,
        **extra,
    )


def standing_drop_off(session: Session, drop_off_id: str, action: str) -> DropOff:
    """The drop-off, if it still stands: not a void row itself, and not voided.

    ``action`` ("voided", "reprinted") completes the refusal. Raises ``RecordNotFound``
    for an unknown id and ``ValueError`` otherwise.
    """
    drop_off = session.get(DropOff, drop_off_id)
    if drop_off is None:
        raise RecordNotFound(f"no drop-off with id {drop_off_id}")
    if drop_off.voids_id is not None:
        raise ValueError(f"{drop_off_id} is a void row and cannot be {action}")
    voided = session.execute(
        select(col(DropOff.id)).where(col(DropOff.voids_id) == drop_off_id)
    ).first()
    if voided is not None:
        raise ValueError(f"drop-off {drop_off.label_code} was voided already; not {action}")
    return drop_off


# -- writing ---------------------------------------------------------------------------


def record_drop_off(
    engine: Engine, new: NewDropOff, *, now: datetime | None = None
) -> RecordedDropOff:
    """Store a drop-off with everything that belongs to it, in one transaction.

    Raises ``ValueError`` for an invalid ``new`` (nothing touched the database) and
    ``db.engine.DatabaseError`` when the database refused it (nothing was stored).
    """
    validate_new_drop_off(new)
    recorded_at = utc_now(now)
    with write_session(engine) as session:
        # The head first: reading it before anything is added keeps the unit of work
        # from flushing part of the record early.
        head = station_head(session, new.station_id)
        reading: CapturedReading | None = None
        if new.reading is not None:
            r = new.reading
            reading = CapturedReading(
                id=new_id(),
                weight=str(r.weight),
                unit=r.unit,
                grams=r.grams,
                stable=r.stable,
                net=r.net,
                tare=None if r.tare is None else str(r.tare),
                raw_frame=r.raw_frame,
                received_at=r.received_at,
                protocol=r.protocol,
                port=r.port,
            )
            session.add(reading)

        head.last_no += 1
        label_no = head.last_no
        drop_off = DropOff(
            id=new_id(),
            station_id=new.station_id,
            chain_seq=0,
            label_no=label_no,
            label_code=label_code_for(new.station_id, label_no),
            recorded_at=recorded_at,
            visit_id=new.visit_id,
            classification=new.classification,
            category_code=new.category_code,
            category_name=new.category_name,
            eural_code=new.eural_code,
            weight_grams=new.weight_grams,
            weight_source=new.weight_source,
            operator=new.operator,
            reading_id=None if reading is None else reading.id,
            voids_id=None,
            reason=new.reason,
            prev_hash="",
            content_hash="",
        )
        _link(head, drop_off, reading)
        session.add(drop_off)

        job = PrintJob(
            id=new_id(),
            station_id=drop_off.station_id,  # printed at the station that recorded it
            drop_off_id=drop_off.id,
            document=DocumentKind.ITEM_LABEL,
            status=PrintJobStatus.QUEUED,
            attempts=0,
            created_at=recorded_at,
            updated_at=recorded_at,
        )
        session.add(job)
        add_audit(
            session,
            station_id=new.station_id,
            at=recorded_at,
            actor=new.operator,
            action="drop_off.recorded",
            entity="drop_off",
            entity_id=drop_off.id,
            label_code=drop_off.label_code,
            classification=new.classification,
            category_code=new.category_code,
            weight_grams=new.weight_grams,
            weight_source=new.weight_source,
            reason=new.reason,
            print_job_id=job.id,
        )
        session.add(OutboxEntry(entity="drop_off", entity_id=drop_off.id, created_at=recorded_at))
        # One flush, at commit: the unit of work inserts the rows in the order their
        # foreign keys need (reading, drop-off, job, audit entry, outbox row).
        return _recorded(
            drop_off, print_job_id=job.id, voided=False, print_status=PrintJobStatus.QUEUED
        )


def void_drop_off(
    engine: Engine,
    drop_off_id: str,
    operator: str,
    reason: str,
    *,
    now: datetime | None = None,
) -> VoidRecord:
    """Append a row that voids ``drop_off_id``; its unprinted label jobs are cancelled.

    Raises ``RecordNotFound`` for an unknown id and ``ValueError`` for an empty
    operator or reason, a row that is itself a void, or one that was voided already.
    """
    _require_text(operator, "operator")
    _require_text(reason, "the reason for a void")
    at = utc_now(now)
    with write_session(engine) as session:
        original = standing_drop_off(session, drop_off_id, "voided")
        head = station_head(session, original.station_id)
        void = DropOff(
            id=new_id(),
            station_id=original.station_id,
            chain_seq=0,
            label_no=None,
            label_code=None,
            recorded_at=at,
            visit_id=original.visit_id,
            classification=original.classification,
            category_code=original.category_code,
            category_name=original.category_name,
            eural_code=original.eural_code,
            weight_grams=original.weight_grams,
            weight_source=original.weight_source,
            operator=operator,
            reading_id=None,
            voids_id=original.id,
            reason=reason,
            prev_hash="",
            content_hash="",
        )
        _link(head, void, None)
        session.add(void)
        session.flush()
        add_audit(
            session,
            station_id=original.station_id,
            at=at,
            actor=operator,
            action="drop_off.voided",
            entity="drop_off",
            entity_id=original.id,
            label_code=original.label_code,
            void_id=void.id,
            reason=reason,
        )
        pending = session.execute(
            select(PrintJob).where(
                col(PrintJob.drop_off_id) == original.id,
                col(PrintJob.status).in_(PENDING_STATUSES),
            )
        ).scalars()
        for job in pending:
            cancel_print_job_row(
                session,
                job,
                station_id=original.station_id,
                at=at,
                actor=operator,
                reason="drop-off voided",
            )
        session.add(OutboxEntry(entity="drop_off", entity_id=void.id, created_at=at))
        session.flush()
        return VoidRecord(
            id=void.id,
            voids_id=original.id,
            voided_label_code=str(original.label_code),
            recorded_at=at,
            operator=operator,
            reason=reason,
        )


# -- reading ---------------------------------------------------------------------------


def _recorded(
    row: DropOff, *, print_job_id: str | None, voided: bool, print_status: str | None
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


def _drop_off_select() -> Select[Any]:
    """Drop-offs (never void rows) with ``voided``, first job id and latest job status."""
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
        DropOff, voided_condition().label("voided"), first_job, latest_status
    ).where(not_a_void())
    return statement


def _rows_to_recorded(rows: Any) -> list[RecordedDropOff]:
    return [
        _recorded(row, print_job_id=job_id, voided=bool(voided), print_status=status)
        for row, voided, job_id, status in rows
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
        statement = statement.where(col(DropOff.station_id) == station_id)
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


def day_bounds(day: date, tz: ZoneInfo = STATION_TZ) -> tuple[datetime, datetime]:
    """The UTC instants where the local ``day`` starts and the next one starts.

    A day is 23 or 25 hours long when the clocks change.
    """
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def totals_for_day(engine: Engine, day: date, tz: ZoneInfo = STATION_TZ) -> DayTotals:
    """Grams and counts per classification and per category/fraction of a local day."""
    start, end = day_bounds(day, tz)
    in_day = (
        col(DropOff.recorded_at) >= start,
        col(DropOff.recorded_at) < end,
        not_a_void(),
    )
    grouped = (
        select(
            col(DropOff.classification),
            col(DropOff.category_code),
            col(DropOff.category_name),
            col(DropOff.eural_code),
            func.sum(col(DropOff.weight_grams)),
            func.count(),
        )
        .where(*in_day, ~voided_condition())
        .group_by(
            col(DropOff.classification),
            col(DropOff.category_code),
            col(DropOff.category_name),
            col(DropOff.eural_code),
        )
    )
    voided_count = select(func.count()).select_from(DropOff).where(*in_day, voided_condition())
    with read_session(engine) as session:
        rows = session.execute(grouped).all()
        voided = int(session.execute(voided_count).scalar_one())
    categories = [
        CategoryTotal(
            classification=Classification(classification),
            category_code=str(code),
            category_name=str(name),
            eural_code=eural,
            grams=int(grams),
            count=int(count),
        )
        for classification, code, name, eural, grams, count in rows
    ]
    order = {name: index for index, name in enumerate(Classification)}
    categories.sort(key=lambda c: (order[c.classification], -c.grams, c.category_code))
    grams_by = dict.fromkeys(Classification, 0)
    count_by = dict.fromkeys(Classification, 0)
    for category in categories:
        grams_by[category.classification] += category.grams
        count_by[category.classification] += category.count
    return DayTotals(
        day=day,
        grams_by_classification=grams_by,
        count_by_classification=count_by,
        categories=tuple(categories),
        voided_count=voided,
    )


def _row_facts(row: DropOff | AuditEntry) -> dict[str, Any]:
    if isinstance(row, AuditEntry):
        return {
            "row": f"the audit entry {row.action!r} of {row.entity} {row.entity_id}",
            "kind": "audit",
            "action": row.action,
            "seq": row.chain_seq,
        }
    if row.label_code is not None:
        return {
            "row": f"drop-off {row.label_code}",
            "kind": "drop_off",
            "label": row.label_code,
            "seq": row.chain_seq,
        }
    return {
        "row": f"the void at position {row.chain_seq} of station {row.station_id}",
        "kind": "void",
        "seq": row.chain_seq,
    }


@dataclass(slots=True)
class _StationWalk:
    """What the walk knows of one station's chain so far."""

    seq: int = 0
    hash: str = GENESIS_HASH
    last_label: int = 0


def _links(session: Session) -> Iterator[tuple[DropOff | AuditEntry, CapturedReading | None]]:
    """Every link of every station, in chain order: drop-off rows and audit entries
    merged by ``(station_id, chain_seq)``."""
    drop_offs = session.execute(
        select(DropOff, CapturedReading)
        .outerjoin(CapturedReading, col(DropOff.reading_id) == col(CapturedReading.id))
        .order_by(col(DropOff.station_id), col(DropOff.chain_seq))
        .execution_options(yield_per=1000)
    )
    audits = (
        (entry, None)
        for entry in session.execute(
            select(AuditEntry)
            .order_by(col(AuditEntry.station_id), col(AuditEntry.chain_seq))
            .execution_options(yield_per=1000)
        ).scalars()
    )
    return heapq.merge(drop_offs, audits, key=lambda pair: (pair[0].station_id, pair[0].chain_seq))


def _check_link(
    row: DropOff | AuditEntry, reading: CapturedReading | None, walk: _StationWalk
) -> ChainProblem | None:
    expected = walk.seq + 1
    if row.chain_seq != expected:
        return ChainProblem(
            "position",
            {
                **_row_facts(row),
                "station": row.station_id,
                "found": row.chain_seq,
                "expected": expected,
            },
        )
    if row.prev_hash != walk.hash:
        return ChainProblem("link", _row_facts(row))
    if isinstance(row, AuditEntry):
        if audit_hash(row) != row.content_hash:
            return ChainProblem("changed", _row_facts(row))
        return None
    if row.reading_id is not None and reading is None:
        return ChainProblem("reading_missing", _row_facts(row))
    if drop_off_hash(row, reading) != row.content_hash:
        return ChainProblem("changed", _row_facts(row))
    if row.label_no is not None and row.label_no != walk.last_label + 1:
        return ChainProblem(
            "label_gap",
            {**_row_facts(row), "found": row.label_no, "expected": walk.last_label + 1},
        )
    return None


def _check_heads(session: Session, walks: dict[str, _StationWalk]) -> ChainProblem | None:
    heads = {head.station_id: head for head in session.execute(select(LabelSequence)).scalars()}
    for station in sorted(set(heads) | set(walks)):
        walk = walks.get(station, _StationWalk())
        head = heads.get(station)
        if head is None:
            return ChainProblem("head_missing", {"station": station})
        if head.chain_seq < walk.seq:
            return ChainProblem(
                "head_behind", {"station": station, "head": head.chain_seq, "tail": walk.seq}
            )
        if head.chain_seq > walk.seq or head.chain_hash != walk.hash:
            return ChainProblem(
                "head_ahead", {"station": station, "head": head.chain_seq, "tail": walk.seq}
            )
        if head.last_no != walk.last_label:
            return ChainProblem(
                "label_head", {"station": station, "head": head.last_no, "tail": walk.last_label}
            )
    return None


def _check_anchor(
    anchor: Anchor, walks: dict[str, _StationWalk], seen: dict[tuple[str, int], str]
) -> ChainProblem | None:
    facts: dict[str, Any] = {
        "anchor": anchor.text(),
        "station": anchor.station_id,
        "seq": anchor.chain_seq,
    }
    walk = walks.get(anchor.station_id)
    if walk is None:
        return ChainProblem("anchor_station", facts)
    found = seen.get((anchor.station_id, anchor.chain_seq))
    if found is None:
        return ChainProblem("anchor_beyond", {**facts, "tail": walk.seq})
    if not anchor.matches(found):
        return ChainProblem("anchor_differs", facts)
    return None


def verify_chain(engine: Engine, anchors: Sequence[Anchor] = ()) -> ChainReport:
    """Check every station's chain: positions, links, hashes, label numbers, the
    station heads, and that the chain still holds each of ``anchors``.

    Reports the first thing wrong; see :class:`ChainProblem` for what can be found.
    A damaged file raises ``db.engine.DatabaseError`` (see ``db.engine.check_file``).
    """
    wanted = {(anchor.station_id, anchor.chain_seq) for anchor in anchors}
    seen: dict[tuple[str, int], str] = {}
    walks: dict[str, _StationWalk] = {}
    count = 0
    first: tuple[str | None, ChainProblem] | None = None
    with read_session(engine) as session:
        for row, reading in _links(session):
            count += 1
            if first is not None:
                continue
            walk = walks.setdefault(row.station_id, _StationWalk())
            problem = _check_link(row, reading, walk)
            if problem is not None:
                first = (row.id, problem)
                continue
            walk.seq, walk.hash = row.chain_seq, row.content_hash
            if isinstance(row, DropOff) and row.label_no is not None:
                walk.last_label = row.label_no
            if (row.station_id, row.chain_seq) in wanted:
                seen[(row.station_id, row.chain_seq)] = row.content_hash
        if first is None:
            problem = _check_heads(session, walks)
            if problem is not None:
                first = (None, problem)
    if first is None:
        for anchor in anchors:
            problem = _check_anchor(anchor, walks, seen)
            if problem is not None:
                first = (None, problem)
                break
    heads = tuple(Anchor(station, walk.seq, walk.hash) for station, walk in sorted(walks.items()))
    if first is None:
        return ChainReport(ok=True, count=count, heads=heads, anchors=tuple(anchors))
    return ChainReport(
        ok=False,
        count=count,
        first_broken_id=first[0],
        problem=first[1].describe(),
        issue=first[1],
        heads=heads,
        anchors=tuple(anchors),
    )


def chain_heads(engine: Engine) -> tuple[Anchor, ...]:
    """Each station's newest link, as its head row names it: the anchors to print on a
    slip or carry in an export (cheap: no walk; ``verify_chain`` checks them)."""
    with read_session(engine) as session:
        rows = session.execute(
            select(LabelSequence).order_by(col(LabelSequence.station_id))
        ).scalars()
        return tuple(
            Anchor(head.station_id, head.chain_seq, head.chain_hash)
            for head in rows
            if head.chain_seq > 0
        )
