"""The print queue: jobs live in the database, so a jammed printer never loses a label.

A job goes ``queued`` -> ``sent``, or ``queued`` -> ``failed`` -> (retried) ``sent``, or
is ``cancelled`` while it waits. ``attempts`` counts every delivery attempt, the
successful one included. A failure after which some bytes may have reached the
printer (``uncertain=True``) marks the job's next print ``"duplicate"``, so a second
copy of a label is recognisable as such; a reprint keeps its ``"reprint"`` marker.
Every change writes an audit entry.

A delivery attempt is written down before the first byte goes out: the
``print_job.sending`` audit entry (:func:`begin_attempt`), committed before the
sender touches the printer. The attempt ends with ``print_job.sent`` or
``print_job.failed``. An attempt that began and never ended (the counter was killed
after sending, or the job could not be marked sent) may have printed the label, so
:func:`settle_interrupted_attempt` turns it into an uncertain failure before the
job is tried again: the label comes out once more, marked as a duplicate. The audit
log is append-only and its rows are never deleted, so the order in which they were
inserted (``rowid``) is the order of the attempts, whatever the clock did meanwhile;
no schema change is needed for this.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import literal_column, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlmodel import col

from db.engine import read_session, write_session
from db.models import DOCUMENTS, AuditEntry, DropOff, LabelSequence, PrintJob
from db.records import (
    RecordNotFound,
    add_audit,
    cancel_print_job_row,
    new_id,
    standing_drop_off,
    utc_now,
)

# Who the audit log names for changes the print worker makes on its own.
PRINTER_ACTOR = "printer"

PENDING_STATUSES: tuple[str, ...] = ("queued", "failed")

# The chain a job's audit entries join when no station can be told (an empty database).
UNKNOWN_STATION = "-"


class PrintJobStateError(ValueError):
    """The job is not in a state that allows the change (e.g. sending a cancelled job)."""


@dataclass(frozen=True, slots=True)
class PrintJobInfo:
    id: str
    drop_off_id: str | None
    document: str
    status: str
    copy_marker: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    reprint_of: str | None
    label_code: str | None = None


def _info(job: PrintJob, label_code: str | None) -> PrintJobInfo:
    return PrintJobInfo(
        id=job.id,
        drop_off_id=job.drop_off_id,
        document=job.document,
        status=job.status,
        copy_marker=job.copy_marker,
        attempts=job.attempts,
        last_error=job.last_error,
        created_at=job.created_at,
        updated_at=job.updated_at,
        sent_at=job.sent_at,
        reprint_of=job.reprint_of,
        label_code=label_code,
    )


def _label_code(session: Session, drop_off_id: str | None) -> str | None:
    if drop_off_id is None:
        return None
    drop_off = session.get(DropOff, drop_off_id)
    return None if drop_off is None else drop_off.label_code


def job_station(session: Session, job: PrintJob) -> str:
    """The station a job's audit entries chain to: its drop-off's, else the station
    whose head is in the database (a counter database holds one station's records)."""
    if job.drop_off_id is not None:
        drop_off = session.get(DropOff, job.drop_off_id)
        if drop_off is not None:
            return drop_off.station_id
    station = session.execute(
        select(col(LabelSequence.station_id)).order_by(col(LabelSequence.station_id)).limit(1)
    ).scalar()
    return str(station) if station is not None else UNKNOWN_STATION


def _pending_job(session: Session, job_id: str, change: str) -> PrintJob:
    job = session.get(PrintJob, job_id)
    if job is None:
        raise RecordNotFound(f"no print job with id {job_id}")
    if job.status not in PENDING_STATUSES:
        raise PrintJobStateError(f"print job {job_id} is {job.status} and cannot be {change}")
    return job


def pending_print_jobs(engine: Engine) -> list[PrintJobInfo]:
    """Queued and failed jobs, oldest first: the order they must be printed in."""
    statement = (
        select(PrintJob, col(DropOff.label_code))
        .outerjoin(DropOff, col(PrintJob.drop_off_id) == col(DropOff.id))
        .where(col(PrintJob.status).in_(PENDING_STATUSES))
        # rowid breaks ties between jobs queued in the same microsecond.
        .order_by(col(PrintJob.created_at), literal_column("print_job.rowid"))
    )
    with read_session(engine) as session:
        return [_info(job, label_code) for job, label_code in session.execute(statement)]


def print_job(engine: Engine, job_id: str) -> PrintJobInfo:
    """One job; ``RecordNotFound`` if there is none with that id."""
    with read_session(engine) as session:
        job = session.get(PrintJob, job_id)
        if job is None:
            raise RecordNotFound(f"no print job with id {job_id}")
        return _info(job, _label_code(session, job.drop_off_id))


#: The audit actions that begin and end a delivery attempt.
ATTEMPT_BEGUN = "print_job.sending"
ATTEMPT_ENDED: tuple[str, ...] = ("print_job.sent", "print_job.failed")

#: ``last_error`` of an attempt that began and never ended.
INTERRUPTED_ERROR = (
    "the previous delivery attempt was interrupted after it began, so the label may "
    "have printed; it is printed again marked as a duplicate"
)


def begin_attempt(engine: Engine, job_id: str, *, now: datetime | None = None) -> PrintJobInfo:
    """Write down that a delivery attempt begins; call it just before sending.

    When this returns, the ``print_job.sending`` entry is committed: if the counter
    stops before the attempt is marked sent or failed, the next attempt knows the label
    may already have printed (:func:`settle_interrupted_attempt`). Raises
    :class:`PrintJobStateError` when the job no longer waits (cancelled meanwhile):
    then nothing must be sent.
    """
    at = utc_now(now)
    with write_session(engine) as session:
        job = _pending_job(session, job_id, "sent")
        add_audit(
            session,
            station_id=job_station(session, job),
            at=at,
            actor=PRINTER_ACTOR,
            action=ATTEMPT_BEGUN,
            entity="print_job",
            entity_id=job.id,
            attempt=job.attempts + 1,
            copy_marker=job.copy_marker,
        )
        session.flush()
        return _info(job, _label_code(session, job.drop_off_id))


def _attempt_interrupted(session: Session, job_id: str) -> bool:
    """Whether the job's latest attempt began and never ended."""
    latest = session.execute(
        select(col(AuditEntry.action))
        .where(
            col(AuditEntry.entity) == "print_job",
            col(AuditEntry.entity_id) == job_id,
            col(AuditEntry.action).in_((ATTEMPT_BEGUN, *ATTEMPT_ENDED)),
        )
        # Insertion order: the table is append-only (see the module docstring).
        .order_by(literal_column("audit_entry.rowid").desc())
        .limit(1)
    ).scalar()
    return latest == ATTEMPT_BEGUN


def settle_interrupted_attempt(
    engine: Engine, job_id: str, *, now: datetime | None = None
) -> PrintJobInfo:
    """End an attempt that began and never ended as an uncertain failure; the job.

    Call it before rendering a job for a new attempt: the label may have printed
    already, so the job's next print is marked ``"duplicate"`` (a reprint keeps
    ``"reprint"``), exactly as after :func:`mark_failed` with ``uncertain=True``. A job
    whose attempts all ended is returned unchanged.
    """
    with write_session(engine) as session:
        job = _pending_job(session, job_id, "retried")
        if _attempt_interrupted(session, job.id):
            _fail(session, job, INTERRUPTED_ERROR, uncertain=True, at=utc_now(now))
        return _info(job, _label_code(session, job.drop_off_id))


def attempt_interrupted(engine: Engine, job_id: str) -> bool:
    """Whether the job's latest delivery attempt began and was never marked sent or failed."""
    with read_session(engine) as session:
        return _attempt_interrupted(session, job_id)


def mark_sent(engine: Engine, job_id: str, *, now: datetime | None = None) -> PrintJobInfo:
    """The printer took every byte of the job."""
    at = utc_now(now)
    with write_session(engine) as session:
        job = _pending_job(session, job_id, "sent")
        job.status = "sent"
        job.attempts += 1
        job.sent_at = at
        job.updated_at = at
        job.last_error = None
        session.add(job)
        add_audit(
            session,
            station_id=job_station(session, job),
            at=at,
            actor=PRINTER_ACTOR,
            action="print_job.sent",
            entity="print_job",
            entity_id=job.id,
            attempts=job.attempts,
            copy_marker=job.copy_marker,
        )
        session.flush()
        return _info(job, _label_code(session, job.drop_off_id))


def mark_failed(
    engine: Engine,
    job_id: str,
    error: str,
    *,
    uncertain: bool,
    now: datetime | None = None,
) -> PrintJobInfo:
    """A delivery attempt failed; the job stays pending and is retried.

    ``uncertain``: the connection broke while sending, so part of the label may have
    come out; its next print is marked ``"duplicate"`` (unless it is a reprint).
    """
    at = utc_now(now)
    with write_session(engine) as session:
        job = _pending_job(session, job_id, "marked failed")
        _fail(session, job, error, uncertain=uncertain, at=at)
        return _info(job, _label_code(session, job.drop_off_id))


def _fail(session: Session, job: PrintJob, error: str, *, uncertain: bool, at: datetime) -> None:
    job.status = "failed"
    job.attempts += 1
    job.last_error = error
    job.updated_at = at
    if uncertain and job.copy_marker is None:
        job.copy_marker = "duplicate"
    session.add(job)
    add_audit(
        session,
        station_id=job_station(session, job),
        at=at,
        actor=PRINTER_ACTOR,
        action="print_job.failed",
        entity="print_job",
        entity_id=job.id,
        attempts=job.attempts,
        error=error,
        uncertain=uncertain,
    )
    session.flush()


def cancel(engine: Engine, job_id: str, actor: str, *, now: datetime | None = None) -> PrintJobInfo:
    """Take a waiting job out of the queue."""
    at = utc_now(now)
    with write_session(engine) as session:
        job = _pending_job(session, job_id, "cancelled")
        cancel_print_job_row(session, job, station_id=job_station(session, job), at=at, actor=actor)
        session.flush()
        return _info(job, _label_code(session, job.drop_off_id))


def queue_reprint(
    engine: Engine, drop_off_id: str, actor: str, *, now: datetime | None = None
) -> str:
    """Queue another copy of a drop-off's label, marked ``"reprint"``; its job id.

    Raises ``RecordNotFound`` for an unknown drop-off and ``ValueError`` for a void row
    or a voided drop-off (its label must not go on an item any more).
    """
    at = utc_now(now)
    with write_session(engine) as session:
        drop_off = standing_drop_off(session, drop_off_id, "reprinted")
        original = session.execute(
            select(col(PrintJob.id))
            .where(
                col(PrintJob.drop_off_id) == drop_off_id,
                col(PrintJob.document) == "item_label",
                col(PrintJob.reprint_of).is_(None),
            )
            .order_by(col(PrintJob.created_at))
            .limit(1)
        ).scalar()
        job = _queue_job(
            session,
            at=at,
            actor=actor,
            document="item_label",
            drop_off_id=drop_off_id,
            copy_marker="reprint",
            reprint_of=original,
            label_code=drop_off.label_code,
        )
        return job.id


def queue_document(
    engine: Engine, document: str, actor: str, *, now: datetime | None = None
) -> str:
    """Queue a document that belongs to no drop-off (``totals_slip``, ``test_page``)."""
    return _queue_document(engine, document, actor, now=now)


def queue_totals_slip(engine: Engine, day: date, actor: str, *, now: datetime | None = None) -> str:
    """Queue the totals slip of the local ``day``; its job id.

    The job has no column for the day, so the day goes into the job's
    ``print_job.queued`` audit entry, where :func:`totals_slip_day` finds it. The job
    takes its place in the queue by the time it was queued, like every other job.
    """
    return _queue_document(engine, "totals_slip", actor, now=now, day=day.isoformat())


def totals_slip_day(engine: Engine, job_id: str) -> date | None:
    """The day a totals slip job was queued for; None when it was queued without one."""
    statement = (
        select(col(AuditEntry.detail))
        .where(
            col(AuditEntry.entity) == "print_job",
            col(AuditEntry.entity_id) == job_id,
            col(AuditEntry.action) == "print_job.queued",
        )
        .order_by(col(AuditEntry.at))
        .limit(1)
    )
    with read_session(engine) as session:
        detail = session.execute(statement).scalar()
    if detail is None:
        return None
    day = json.loads(detail).get("day")
    return date.fromisoformat(day) if isinstance(day, str) else None


def print_jobs_between(
    engine: Engine,
    start_utc: datetime,
    end_utc: datetime,
    *,
    include_pending: bool = True,
) -> list[PrintJobInfo]:
    """Jobs queued in ``[start_utc, end_utc)``, oldest first; with ``include_pending``
    also the jobs queued earlier that still wait (they belong on today's list too)."""
    start, end = utc_now(start_utc), utc_now(end_utc)
    in_period = (col(PrintJob.created_at) >= start) & (col(PrintJob.created_at) < end)
    still_waiting = (col(PrintJob.created_at) < start) & col(PrintJob.status).in_(PENDING_STATUSES)
    statement = (
        select(PrintJob, col(DropOff.label_code))
        .outerjoin(DropOff, col(PrintJob.drop_off_id) == col(DropOff.id))
        .where(in_period | still_waiting if include_pending else in_period)
        .order_by(col(PrintJob.created_at), literal_column("print_job.rowid"))
    )
    with read_session(engine) as session:
        return [_info(job, label_code) for job, label_code in session.execute(statement)]


def _queue_document(
    engine: Engine,
    document: str,
    actor: str,
    *,
    now: datetime | None,
    **detail: str,
) -> str:
    if document not in DOCUMENTS or document == "item_label":
        raise ValueError(f"cannot queue a {document!r} without a drop-off")
    at = utc_now(now)
    with write_session(engine) as session:
        return _queue_job(session, at=at, actor=actor, document=document, **detail).id


def _queue_job(
    session: Session,
    *,
    at: datetime,
    actor: str,
    document: str,
    drop_off_id: str | None = None,
    copy_marker: str | None = None,
    reprint_of: str | None = None,
    **detail: str | None,
) -> PrintJob:
    """A new queued job and its ``print_job.queued`` audit entry, in one transaction."""
    job = PrintJob(
        id=new_id(),
        drop_off_id=drop_off_id,
        document=document,
        status="queued",
        copy_marker=copy_marker,
        attempts=0,
        created_at=at,
        updated_at=at,
        reprint_of=reprint_of,
    )
    session.add(job)
    extra: dict[str, str | None] = (
        {"document": document}
        if drop_off_id is None
        else {
            "drop_off_id": drop_off_id,
            "copy_marker": copy_marker,
            "reprint_of": reprint_of,
        }
    )
    add_audit(
        session,
        station_id=job_station(session, job),
        at=at,
        actor=actor,
        action="print_job.queued",
        entity="print_job",
        entity_id=job.id,
        **extra,
        **detail,
    )
    session.flush()
    return job
