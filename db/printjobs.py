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

Every job belongs to a station (``station_id``, migration 0002): the station whose
printer it is for. A counter lists and sends only its own station's jobs. Claiming a
job (:func:`begin_attempt`) is one write transaction (``BEGIN IMMEDIATE``) that checks
the job still waits, is the station's, and has no attempt open: of two processes that
reach for the same job, the second finds the first one's attempt and sends nothing.
An open attempt names its claimant (process id and host); only an attempt whose
claimant is gone (see :func:`claimant_alive`) is settled as interrupted.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Integer, literal_column, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlmodel import col

from db.domain import PENDING_STATUSES, CopyMarker, DocumentKind, PrintJobStatus, utc_now
from db.engine import read_session, write_session
from db.models import AuditEntry, DropOff, LabelSequence, PrintJob
from db.queries import RecordNotFound
from db.writes import add_audit, cancel_print_job_row, new_id, standing_drop_off

# Who the audit log names for changes the print worker makes on its own.
PRINTER_ACTOR = "printer"

# The chain a job's audit entries join when no station can be told (an empty database).
UNKNOWN_STATION = "-"


class PrintJobStateError(ValueError):
    """The job is not in a state that allows the change (e.g. sending a cancelled job)."""


class PrintJobClaimed(PrintJobStateError):
    """Another process has begun sending the job and may still be sending it."""


@dataclass(frozen=True, slots=True)
class PrintJobInfo:
    id: str
    drop_off_id: str | None
    document: DocumentKind
    status: PrintJobStatus
    copy_marker: CopyMarker | None
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    reprint_of: str | None
    label_code: str | None = None
    station_id: str | None = None
    last_fault: str | None = None


def _info(job: PrintJob, label_code: str | None) -> PrintJobInfo:
    # The columns hold plain text; the job speaks the domain's words.
    return PrintJobInfo(
        id=job.id,
        drop_off_id=job.drop_off_id,
        document=DocumentKind(job.document),
        status=PrintJobStatus(job.status),
        copy_marker=None if job.copy_marker is None else CopyMarker(job.copy_marker),
        attempts=job.attempts,
        last_error=job.last_error,
        created_at=job.created_at,
        updated_at=job.updated_at,
        sent_at=job.sent_at,
        reprint_of=job.reprint_of,
        label_code=label_code,
        station_id=job.station_id,
        last_fault=job.last_fault,
    )


def _label_code(session: Session, drop_off_id: str | None) -> str | None:
    if drop_off_id is None:
        return None
    drop_off = session.get(DropOff, drop_off_id)
    return None if drop_off is None else drop_off.label_code


def job_station(session: Session, job: PrintJob) -> str:
    """The station a job's audit entries chain to: the job's own; for a job from before
    jobs had stations and not yet adopted, its drop-off's, else the database's station."""
    if job.station_id is not None:
        return job.station_id
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


def pending_print_jobs(engine: Engine, station_id: str | None = None) -> list[PrintJobInfo]:
    """Queued and failed jobs, oldest first: the order they must be printed in.

    With ``station_id`` only that station's jobs; without, every station's.
    """
    statement = (
        select(PrintJob, col(DropOff.label_code))
        .outerjoin(DropOff, col(PrintJob.drop_off_id) == col(DropOff.id))
        .where(col(PrintJob.status).in_(PENDING_STATUSES))
        # rowid breaks ties between jobs queued in the same microsecond.
        .order_by(col(PrintJob.created_at), literal_column("print_job.rowid"))
    )
    if station_id is not None:
        statement = statement.where(col(PrintJob.station_id) == station_id)
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

#: ``last_fault`` of an attempt that began and never ended (the reason as a code).
INTERRUPTED_FAULT = "interrupted"

#: ``last_error`` of an attempt that began and never ended.
INTERRUPTED_ERROR = (
    "the previous delivery attempt was interrupted after it began, so the label may "
    "have printed; it is printed again marked as a duplicate"
)


#: A claimant: who began an attempt (``{"pid": 1234, "host": "balie-pc"}``).
Claimant = Mapping[str, object]


def this_claimant() -> dict[str, object]:
    """This process, as an open attempt names it."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


def claimant_alive(claimant: Claimant | None) -> bool:
    """Whether the process that began an attempt may still be sending it.

    Not alive: an attempt without a claimant (written before claimants were recorded),
    one of this very process (its sender gave up on it: it could not be marked sent),
    one of a process on this host that no longer runs, and one of another host (the
    database belongs on a local disk, so that process works on a copy, not on this
    file). A counter that holds its station's lock knows better: no other process of
    its station runs, whatever the process table says (see the print service).
    """
    if not claimant:
        return False
    pid, host = claimant.get("pid"), claimant.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return False
    if pid == os.getpid():
        return False
    return _process_running(pid)


def _process_running(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill would end the process there
        import ctypes

        synchronize, wait_timeout = 0x00100000, 0x00000102
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
        handle = kernel32.OpenProcess(synchronize, False, pid)
        if not handle:
            return False
        try:
            return bool(kernel32.WaitForSingleObject(handle, 0) == wait_timeout)
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # runs, under another user
    return True


def begin_attempt(
    engine: Engine,
    job_id: str,
    *,
    station_id: str | None = None,
    now: datetime | None = None,
) -> PrintJobInfo:
    """Claim the job and write down that a delivery attempt begins; call it just before
    sending.

    One write transaction checks that the job still waits, belongs to ``station_id``
    (when given) and has no attempt open, and writes the ``print_job.sending`` entry
    naming this process. When this returns, the entry is committed: if the counter
    stops before the attempt is marked sent or failed, the next attempt knows the label
    may already have printed (:func:`settle_interrupted_attempt`). Raises
    :class:`PrintJobClaimed` when an attempt is open (another process is sending it,
    or an interrupted one was not settled first) and :class:`PrintJobStateError` when
    the job no longer waits (cancelled meanwhile) or is another station's: then nothing
    must be sent.
    """
    at = utc_now(now)
    with write_session(engine) as session:
        job = _pending_job(session, job_id, "sent")
        if station_id is not None and job.station_id != station_id:
            raise PrintJobStateError(
                f"print job {job_id} is for station {job.station_id}, not {station_id}"
            )
        if _open_attempt(session, job.id) is not None:
            raise PrintJobClaimed(f"print job {job_id} is being sent by another process")
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
            claimant=this_claimant(),
        )
        session.flush()
        return _info(job, _label_code(session, job.drop_off_id))


def _open_attempt(session: Session, job_id: str) -> dict[str, object] | None:
    """The claimant of the job's latest attempt if it began and never ended, else None.

    An open attempt without a recorded claimant gives an empty dict.
    """
    latest = session.execute(
        select(col(AuditEntry.action), col(AuditEntry.detail))
        .where(
            col(AuditEntry.entity) == "print_job",
            col(AuditEntry.entity_id) == job_id,
            col(AuditEntry.action).in_((ATTEMPT_BEGUN, *ATTEMPT_ENDED)),
        )
        # Insertion order: the table is append-only (see the module docstring).
        .order_by(literal_column("audit_entry.rowid").desc())
        .limit(1)
    ).first()
    if latest is None or latest[0] != ATTEMPT_BEGUN:
        return None
    claimant = json.loads(latest[1] or "{}").get("claimant")
    return dict(claimant) if isinstance(claimant, dict) else {}


def _attempt_interrupted(session: Session, job_id: str) -> bool:
    """Whether the job's latest attempt began and never ended."""
    return _open_attempt(session, job_id) is not None


def settle_interrupted_attempt(
    engine: Engine,
    job_id: str,
    *,
    alive: Callable[[Claimant | None], bool] = claimant_alive,
    now: datetime | None = None,
) -> PrintJobInfo:
    """End an attempt that began and never ended as an uncertain failure; the job.

    Call it before rendering a job for a new attempt: the label may have printed
    already, so the job's next print is marked ``"duplicate"`` (a reprint keeps
    ``"reprint"``), exactly as after :func:`mark_failed` with ``uncertain=True``. A job
    whose attempts all ended is returned unchanged, and so is one whose open attempt
    belongs to a process that ``alive`` says may still be sending it (then
    :func:`begin_attempt` refuses the job).
    """
    with write_session(engine) as session:
        job = _pending_job(session, job_id, "retried")
        claimant = _open_attempt(session, job.id)
        if claimant is not None and not alive(claimant):
            _fail(
                session,
                job,
                INTERRUPTED_ERROR,
                uncertain=True,
                at=utc_now(now),
                fault=INTERRUPTED_FAULT,
            )
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
        job.status = PrintJobStatus.SENT
        job.attempts += 1
        job.sent_at = at
        job.updated_at = at
        job.last_error = None
        job.last_fault = None
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
    fault: str | None = None,
    now: datetime | None = None,
) -> PrintJobInfo:
    """A delivery attempt failed; the job stays pending and is retried.

    ``error`` is the reason in plain English, ``fault`` the same as a code the screen
    words (the printer driver's, or None where nobody gave one).

    ``uncertain``: the connection broke while sending, so part of the label may have
    come out; its next print is marked ``"duplicate"`` (unless it is a reprint).
    """
    at = utc_now(now)
    with write_session(engine) as session:
        job = _pending_job(session, job_id, "marked failed")
        _fail(session, job, error, uncertain=uncertain, fault=fault, at=at)
        return _info(job, _label_code(session, job.drop_off_id))


def _fail(
    session: Session,
    job: PrintJob,
    error: str,
    *,
    uncertain: bool,
    at: datetime,
    fault: str | None = None,
) -> None:
    job.status = PrintJobStatus.FAILED
    job.attempts += 1
    job.last_error = error
    job.last_fault = fault
    job.updated_at = at
    if uncertain and job.copy_marker is None:
        job.copy_marker = CopyMarker.DUPLICATE
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
    engine: Engine,
    drop_off_id: str,
    actor: str,
    *,
    station_id: str | None = None,
    now: datetime | None = None,
) -> str:
    """Queue another copy of a drop-off's label, marked ``"reprint"``; its job id.

    It prints at ``station_id``, by default at the drop-off's own station.

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
                col(PrintJob.document) == DocumentKind.ITEM_LABEL,
                col(PrintJob.reprint_of).is_(None),
            )
            .order_by(col(PrintJob.created_at))
            .limit(1)
        ).scalar()
        job = _queue_job(
            session,
            at=at,
            actor=actor,
            document=DocumentKind.ITEM_LABEL,
            drop_off_id=drop_off_id,
            copy_marker=CopyMarker.REPRINT,
            reprint_of=original,
            station_id=station_id or drop_off.station_id,
            detail={"label_code": drop_off.label_code},
        )
        return job.id


def queue_document(
    engine: Engine,
    document: DocumentKind,
    actor: str,
    *,
    station_id: str,
    now: datetime | None = None,
) -> str:
    """Queue a document that belongs to no drop-off (``totals_slip``, ``test_page``) for
    the printer of ``station_id``."""
    return _queue_document(engine, document, actor, station_id=station_id, now=now)


def queue_totals_slip(
    engine: Engine, day: date, actor: str, *, station_id: str, now: datetime | None = None
) -> str:
    """Queue the totals slip of the local ``day``; its job id.

    The job has no column for the day, so the day goes into the job's
    ``print_job.queued`` audit entry, where :func:`totals_slip_day` finds it. The job
    takes its place in the queue by the time it was queued, like every other job.
    """
    return _queue_document(
        engine, DocumentKind.TOTALS_SLIP, actor, station_id=station_id, now=now, day=day.isoformat()
    )


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
    station_id: str | None = None,
) -> list[PrintJobInfo]:
    """Jobs queued in ``[start_utc, end_utc)``, oldest first; with ``include_pending``
    also the jobs queued earlier that still wait (they belong on today's list too).
    With ``station_id`` only that station's jobs."""
    start, end = utc_now(start_utc), utc_now(end_utc)
    mine = [] if station_id is None else [col(PrintJob.station_id) == station_id]
    # Two queries, each one index range (the day; the jobs still waiting from before),
    # merged here: as one query with OR and ORDER BY, SQLite walks the whole date index.
    wanted = [
        (*mine, col(PrintJob.created_at) >= start, col(PrintJob.created_at) < end),
    ]
    if include_pending:
        wanted.append(
            (*mine, col(PrintJob.status).in_(PENDING_STATUSES), col(PrintJob.created_at) < start)
        )
    found: list[tuple[datetime, int, PrintJobInfo]] = []
    with read_session(engine) as session:
        for conditions in wanted:
            rowid = literal_column("print_job.rowid", type_=Integer)
            statement = (
                select(PrintJob, col(DropOff.label_code), rowid)
                .outerjoin(DropOff, col(PrintJob.drop_off_id) == col(DropOff.id))
                .where(*conditions)
            )
            found.extend(
                (job.created_at, int(row_number), _info(job, label_code))
                for job, label_code, row_number in session.execute(statement)
            )
    found.sort(key=lambda item: (item[0], item[1]))
    return [info for _, _, info in found]


def adopt_unassigned_jobs(
    engine: Engine, station_id: str, *, now: datetime | None = None
) -> list[str]:
    """Give the waiting jobs without a station to ``station_id``; their ids.

    Only jobs from before migration 0002 can lack a station (a totals slip or test page
    in a database of several stations). The first counter that starts takes them over,
    in one write transaction, so no job is taken twice; each gets an audit entry.
    """
    at = utc_now(now)
    with write_session(engine) as session:
        jobs = list(
            session.execute(
                select(PrintJob).where(
                    col(PrintJob.station_id).is_(None),
                    col(PrintJob.status).in_(PENDING_STATUSES),
                )
            ).scalars()
        )
        for job in jobs:
            job.station_id = station_id
            job.updated_at = at
            session.add(job)
            add_audit(
                session,
                at=at,
                actor=PRINTER_ACTOR,
                action="print_job.adopted",
                entity="print_job",
                entity_id=job.id,
                station_id=station_id,
            )
        session.flush()
        return [job.id for job in jobs]


def _queue_document(
    engine: Engine,
    document: DocumentKind,
    actor: str,
    *,
    station_id: str,
    now: datetime | None,
    **detail: str,
) -> str:
    if document not in tuple(DocumentKind) or document == DocumentKind.ITEM_LABEL:
        raise ValueError(f"cannot queue a {document!r} without a drop-off")
    at = utc_now(now)
    with write_session(engine) as session:
        return _queue_job(
            session, at=at, actor=actor, document=document, station_id=station_id, detail=detail
        ).id


def _queue_job(
    session: Session,
    *,
    at: datetime,
    actor: str,
    document: DocumentKind,
    station_id: str,
    drop_off_id: str | None = None,
    copy_marker: CopyMarker | None = None,
    reprint_of: str | None = None,
    detail: Mapping[str, str | None] | None = None,
) -> PrintJob:
    """A new queued job and its ``print_job.queued`` audit entry, in one transaction."""
    job = PrintJob(
        id=new_id(),
        station_id=station_id,
        drop_off_id=drop_off_id,
        document=document,
        status=PrintJobStatus.QUEUED,
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
        station_id=station_id,
        at=at,
        actor=actor,
        action="print_job.queued",
        entity="print_job",
        entity_id=job.id,
        **extra,
        **(detail or {}),
    )
    session.flush()
    return job
