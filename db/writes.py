"""Recording drop-offs, voiding and correcting them: the counter's writes.

:func:`record_drop_off` is the counter's one write per drop-off: in a single
``BEGIN IMMEDIATE`` transaction it stores the captured reading, the drop-off with the
station's next label number and its chained hash, an audit entry, a queued label print
job and an outbox row. The caller acknowledges the drop-off only after it returned;
if it raises, nothing of it was stored. :func:`void_drop_off` and
:func:`correct_drop_off` are as whole: a correction voids the original and records
the new drop-off that points at it in one transaction, never one without the other.
Every row a station appends is the next link of its hash chain (:func:`add_audit`,
:func:`station_head`; see ``db.chain``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlmodel import col

from db.chain import (
    GENESIS_HASH,
    audit_hash,
    chain_hash,
    drop_off_content,
)
from db.domain import (
    PENDING_STATUSES,
    Classification,
    DocumentKind,
    PrintJobStatus,
    WeightSource,
    utc_now,
)
from db.engine import DatabaseError, DatabaseProblem, write_session
from db.models import (
    AuditEntry,
    CapturedReading,
    DropOff,
    LabelSequence,
    OutboxEntry,
    PrintJob,
)
from db.queries import RecordedDropOff, RecordNotFound, as_recorded


class ChainBroken(DatabaseError):
    """The database was changed outside the counter in a way that stops recording."""

    problem = DatabaseProblem.CHAIN_BROKEN


class DropOffVoided(ValueError):
    """The drop-off was voided (or is itself a void row): it cannot be voided,
    corrected or reprinted. ``label_code`` is the drop-off's (None for a void row)."""

    def __init__(self, message: str, label_code: str | None = None) -> None:
        super().__init__(message)
        self.label_code = label_code


class DropOffCorrected(DropOffVoided):
    """The drop-off was voided by a correction: the correction ``corrected_by`` (its
    label code) stands in its place, and is the one to void or correct."""

    def __init__(self, message: str, label_code: str | None, corrected_by: str) -> None:
        super().__init__(message, label_code)
        self.corrected_by = corrected_by


class NothingToCorrect(ValueError):
    """A correction that changes neither the category nor the weight."""


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
class NewCategory:
    """The classification and category (or fraction) a correction gives a drop-off."""

    classification: Classification
    code: str
    name: str
    eural_code: str | None


@dataclass(frozen=True, slots=True)
class NewWeight:
    """The weight a correction gives a drop-off: weighed again (``scale``, with its
    ``reading``) or typed in (``manual``; the correction's reason says why)."""

    grams: int
    source: WeightSource
    reading: NewReading | None


@dataclass(frozen=True, slots=True)
class VoidRecord:
    """The row that voids a drop-off."""

    id: str
    voids_id: str
    voided_label_code: str
    recorded_at: datetime
    operator: str
    reason: str


def new_id() -> str:
    return str(uuid.uuid4())


def label_code_for(station_id: str, label_no: int) -> str:
    """``MS01-000123``: the station and its label number, at least six digits."""
    return f"{station_id}-{label_no:06d}"


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

    ``action`` ("voided", "corrected", "reprinted") completes the refusal. Raises
    ``RecordNotFound`` for an unknown id, :class:`DropOffCorrected` for an original
    that a correction replaced and :class:`DropOffVoided` (both ``ValueError``) for
    any other void.
    """
    drop_off = session.get(DropOff, drop_off_id)
    if drop_off is None:
        raise RecordNotFound(f"no drop-off with id {drop_off_id}")
    if drop_off.voids_id is not None:
        raise DropOffVoided(f"{drop_off_id} is a void row and cannot be {action}")
    voided = session.execute(
        select(col(DropOff.id)).where(col(DropOff.voids_id) == drop_off_id)
    ).first()
    if voided is not None:
        correction = session.execute(
            select(col(DropOff.label_code)).where(col(DropOff.corrects_id) == drop_off_id)
        ).scalar()
        if correction is not None:
            raise DropOffCorrected(
                f"drop-off {drop_off.label_code} was corrected by {correction}; not {action}",
                drop_off.label_code,
                correction,
            )
        raise DropOffVoided(
            f"drop-off {drop_off.label_code} was voided already; not {action}",
            drop_off.label_code,
        )
    return drop_off


def _captured_reading(r: NewReading) -> CapturedReading:
    return CapturedReading(
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


def _queue_label(session: Session, drop_off: DropOff, at: datetime) -> PrintJob:
    """The label job of a newly numbered ``drop_off``, queued at ``at``, added to the
    caller's write transaction."""
    job = PrintJob(
        id=new_id(),
        station_id=drop_off.station_id,  # printed at the station that recorded it
        drop_off_id=drop_off.id,
        document=DocumentKind.ITEM_LABEL,
        status=PrintJobStatus.QUEUED,
        attempts=0,
        created_at=at,
        updated_at=at,
    )
    session.add(job)
    return job


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
            reading = _captured_reading(new.reading)
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

        job = _queue_label(session, drop_off, recorded_at)
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
        return as_recorded(
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
    operator or reason, a row that is itself a void, or one that was voided already
    (:class:`DropOffVoided`, :class:`DropOffCorrected`).
    """
    _require_text(operator, "operator")
    _require_text(reason, "the reason for a void")
    at = utc_now(now)
    with write_session(engine) as session:
        original = standing_drop_off(session, drop_off_id, "voided")
        return _void_in_session(session, original, operator, reason, at)


def _void_in_session(
    session: Session,
    original: DropOff,
    operator: str,
    reason: str,
    at: datetime,
    **audit_detail: Any,
) -> VoidRecord:
    """The void row of ``original``, its audit entry and its cancelled label jobs,
    inside the caller's write transaction."""
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
        **audit_detail,
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


@dataclass(frozen=True, slots=True)
class CorrectionRecord:
    """A committed correction: the void of the original and the drop-off that
    replaces it (its label job queued)."""

    void: VoidRecord
    correction: RecordedDropOff


def correct_drop_off(
    engine: Engine,
    drop_off_id: str,
    operator: str,
    reason: str,
    *,
    category: NewCategory | None = None,
    weight: NewWeight | None = None,
    now: datetime | None = None,
) -> CorrectionRecord:
    """Void ``drop_off_id`` and record the drop-off that replaces it, in one transaction.

    The correction gets the station's next label number, ``category`` and ``weight``
    where given and the original's other facts (its time, visit and, for an unchanged
    weight, the reading it came from), ``corrects_id`` naming the original and
    ``reason`` (why it was corrected; it also stands for a typed-in weight). Then its
    audit entry, a queued label job (the label says it is a correction) and an outbox
    row, exactly as :func:`record_drop_off`.

    Raises ``RecordNotFound`` for an unknown id; ``ValueError`` for an empty operator
    or reason, a void row or a voided or corrected original (:class:`DropOffVoided`,
    :class:`DropOffCorrected`), a weight that is not a positive number of grams, and
    :class:`NothingToCorrect` when nothing would change. Nothing is stored then.
    """
    _require_text(operator, "operator")
    _require_text(reason, "the reason for a correction")
    if category is None and weight is None:
        raise NothingToCorrect("a correction changes the category, the weight or both")
    if category is not None:
        if category.classification not in tuple(Classification):
            raise ValueError(f"classification {category.classification!r} is not known")
        _require_text(category.code, "category code")
        _require_text(category.name, "category name")
    if weight is not None:
        if not isinstance(weight.grams, int) or isinstance(weight.grams, bool):
            raise ValueError(f"weight must be an integer number of grams, not {weight.grams!r}")
        if weight.grams <= 0:
            raise ValueError(f"weight must be more than 0 g, not {weight.grams}")
        if weight.source not in tuple(WeightSource):
            raise ValueError(f"weight source {weight.source!r} is not known")
        if weight.reading is not None:
            _validate_reading(weight.reading)
        elif weight.source != WeightSource.MANUAL:
            raise ValueError(f"a {weight.source!r} weight needs the reading it came from")
    at = utc_now(now)
    with write_session(engine) as session:
        original = standing_drop_off(session, drop_off_id, "corrected")
        changed: dict[str, Any] = {}
        if category is not None and (
            category.classification != original.classification
            or category.code != original.category_code
        ):
            changed["classification"] = category.classification
            changed["category_code"] = category.code
        if weight is not None and (
            weight.grams != original.weight_grams or weight.source != original.weight_source
        ):
            changed["weight_grams"] = weight.grams
            changed["weight_source"] = weight.source
        if not changed:
            raise NothingToCorrect(
                f"drop-off {original.label_code} already has this category and weight"
            )
        void = _void_in_session(session, original, operator, reason, at)
        head = station_head(session, original.station_id)
        reading_id = original.reading_id
        reading: CapturedReading | None = None
        if weight is not None and "weight_grams" in changed:
            reading_id = None
            if weight.reading is not None:
                reading = _captured_reading(weight.reading)
                session.add(reading)
                reading_id = reading.id
        elif reading_id is not None:
            # The same weighing: its reading is part of the new row's hash. Read before
            # the head moves, so no flush writes half a step of the head.
            reading = session.get(CapturedReading, reading_id)
        head.last_no += 1
        label_no = head.last_no
        new_category = category if "category_code" in changed else None
        correction = DropOff(
            id=new_id(),
            station_id=original.station_id,
            chain_seq=0,
            label_no=label_no,
            label_code=label_code_for(original.station_id, label_no),
            # The drop-off happened then: its kilograms stay on its day. When it was
            # corrected is the audit entry's time.
            recorded_at=original.recorded_at,
            visit_id=original.visit_id,
            classification=(
                original.classification if new_category is None else new_category.classification
            ),
            category_code=original.category_code if new_category is None else new_category.code,
            category_name=original.category_name if new_category is None else new_category.name,
            eural_code=original.eural_code if new_category is None else new_category.eural_code,
            weight_grams=changed.get("weight_grams", original.weight_grams),
            weight_source=changed.get("weight_source", original.weight_source),
            operator=operator,
            reading_id=reading_id,
            voids_id=None,
            reason=reason,
            prev_hash="",
            content_hash="",
            corrects_id=original.id,
        )
        _link(head, correction, reading)
        session.add(correction)
        job = _queue_label(session, correction, at)
        add_audit(
            session,
            station_id=original.station_id,
            at=at,
            actor=operator,
            action="drop_off.corrected",
            entity="drop_off",
            entity_id=correction.id,
            label_code=correction.label_code,
            corrects_id=original.id,
            corrects_label_code=original.label_code,
            void_id=void.id,
            reason=reason,
            print_job_id=job.id,
            **changed,
        )
        session.add(OutboxEntry(entity="drop_off", entity_id=correction.id, created_at=at))
        session.flush()
        recorded = as_recorded(
            correction, print_job_id=job.id, voided=False, print_status=PrintJobStatus.QUEUED
        )
        return CorrectionRecord(
            void=void,
            correction=replace(recorded, corrects_label_code=original.label_code),
        )
