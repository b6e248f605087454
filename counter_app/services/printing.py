"""The print service: sends queued print jobs, in order, and says how the printer is.

Print jobs are rows in the database (``db.printjobs``). This worker takes the oldest
pending job, renders its document (``drivers.printer.documents``), asks the printer
how it is where the connection can answer, and sends the bytes over a connection
made for this job alone. A job is marked sent only after ``send`` returned: on a
connection that can answer (network, serial, USB) that is when the printer answered
the status request sent after the job (``GS r 1``); on one that cannot (file, CUPS,
preview) when it took every byte. A printer that took the bytes and did not answer
makes the delivery uncertain (``PrinterUnconfirmed``). A failure keeps the job and every job after
it waiting; the worker retries with backoff. A job whose delivery is uncertain is
reprinted with a duplicate marker, never silently twice.

Just before the bytes go out, the attempt is written down in the database
(``db.printjobs.begin_attempt``). If the job cannot be marked sent afterwards (the
database stays busy; ``mark_sent`` is retried a few times first, without sending
again) or the counter is killed in between, the attempt stays open; the next attempt
finds it (``settle_interrupted_attempt``) and prints the label once more, marked
DUPLICAAT.

A printer that answers ``DLE EOT`` and says it cannot print (paper out, cover open,
offline) gets no byte of the job. A printer that does not answer gets the job: its
state is unknown, not "not ready". A printer that cannot be reached at all (the
status question itself fails) fails the job with that reason and the queue waits.

The functions for the print queue screen (:meth:`PrintService.jobs_of_day`,
:meth:`PrintService.reprint`, :meth:`PrintService.cancel`) and queueing the day's
totals slip (:meth:`PrintService.queue_totals_slip`) live here too, so no screen
touches the database itself. What a document says is decided in
``counter_app.services.labels``.
"""

from __future__ import annotations

import contextlib
import enum
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from counter_app.i18n import Messages
from db.domain import PENDING_STATUSES as PENDING_STATUSES
from db.domain import STATION_TZ, DocumentKind
from db.domain import PrintJobStatus as PrintJobStatus
from drivers.printer.connection import (
    PaperState,
    PrinterConnection,
    PrinterError,
    PrinterFault,
    PrinterNotReady,
    PrinterStatus,
    PrinterUnconfirmed,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from counter_app.config import Config
    from db.printjobs import PrintJobInfo as PrintJobInfo
    from db.printjobs import PrintJobStateError as PrintJobStateError
    from drivers.printer.preview import PreviewLine

#: The print queue screen takes PENDING_STATUSES and PrintJobStatus from here, and these
#: names too, rather than from db/ (screens talk to services only).
#: Loaded on first use: SQLAlchemy and python-escpos cost a third of a second at start.
_FROM_DB = frozenset({"PrintJobInfo", "PrintJobStateError"})


def __getattr__(name: str) -> Any:
    if name in _FROM_DB:
        from db import printjobs

        return getattr(printjobs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Seconds between retries after a failure: quick at first (a printer being switched
# on), then at most every 30 s so a dead printer does not busy the counter.
BACKOFF_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)

# Seconds to wait before each new try to mark a printed job sent when the database
# refused it (each try itself already waits out the database's busy timeout).
MARK_SENT_RETRY_DELAYS = (0.1, 0.5, 1.0)


class PrinterHealth(enum.Enum):
    READY = "ready"
    UNKNOWN = "unknown"
    PAPER_OUT = "paper_out"
    PAPER_LOW = "paper_low"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    UNREACHABLE = "unreachable"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class PrintEvent:
    """What happened to the printer, as facts; the UI puts them into words
    (``counter_app.ui.status_words``) on the status line.

    ``pending`` is the number of jobs still waiting after this event. ``message`` is
    the driver's reason in plain English when a job failed (stored as the job's
    ``last_error`` too, for the log), empty after a job was sent. ``fault`` and
    ``where`` are the driver's reason as a code and the place it names (an address, a
    device), which the UI words; ``fault`` is None where no driver gave a reason.
    """

    health: PrinterHealth
    pending: int
    message: str = ""
    job_id: str | None = None
    label_code: str | None = None
    document: bytes | None = None  # the bytes of the job
    preview: tuple[PreviewLine, ...] = ()  # the same bytes decoded, as they will print
    fault: PrinterFault | None = None
    where: str = ""


def health_from_status(status: PrinterStatus) -> PrinterHealth:
    if not status.answered:
        return PrinterHealth.UNKNOWN
    if status.paper is PaperState.OUT:
        return PrinterHealth.PAPER_OUT
    if status.cover_open:
        return PrinterHealth.COVER_OPEN
    if status.online is False:
        return PrinterHealth.OFFLINE
    if status.error:
        return PrinterHealth.ERROR
    if status.paper is PaperState.NEAR_END:
        return PrinterHealth.PAPER_LOW
    return PrinterHealth.READY


def connection_for(config: Config) -> PrinterConnection:
    """A new connection to the configured printer (one per job; see ``connection.py``).

    Raises ``ValueError`` naming the setting that is missing or wrong.
    """
    from drivers.printer.factory import make_connection

    return make_connection(config.printer, preview_dir=config.preview_dir())


def can_ask_status(connection: PrinterConnection) -> bool:
    """Whether the connection can ask the printer ``DLE EOT`` (file, preview, CUPS cannot)."""
    return type(connection).status is not PrinterConnection.status


def queue_totals_slip(engine: Engine, day: date, actor: str, station_id: str) -> str:
    """Queue the totals slip of the local ``day`` behind the waiting labels of
    ``station_id``'s printer; its job id."""
    from db.printjobs import queue_totals_slip as queue

    return queue(engine, day, actor, station_id=station_id)


def print_jobs_of_day(
    engine: Engine, day: date, station_id: str | None = None
) -> list[PrintJobInfo]:
    """The jobs queued on the local ``day``, and older ones still waiting; oldest first.

    With ``station_id`` only the jobs for that station's printer.
    """
    from db.printjobs import print_jobs_between
    from db.queries import day_bounds

    start, end = day_bounds(day, STATION_TZ)
    return print_jobs_between(engine, start, end, include_pending=True, station_id=station_id)


def reprint_job(engine: Engine, job_id: str, actor: str, station_id: str) -> str:
    """Queue another copy of the job's document for ``station_id``'s printer; its id.

    A label is queued as a reprint of its drop-off (marked ``HERDRUK``; refused with
    ``ValueError`` for a voided drop-off); a totals slip again for the same day; a
    test page again.
    """
    from db import printjobs

    job = printjobs.print_job(engine, job_id)
    if job.document == DocumentKind.ITEM_LABEL:
        if job.drop_off_id is None:
            raise ValueError(f"print job {job_id} has no drop-off to reprint")
        return printjobs.queue_reprint(engine, job.drop_off_id, actor, station_id=station_id)
    if job.document == DocumentKind.TOTALS_SLIP:
        return printjobs.queue_totals_slip(
            engine, _slip_day(engine, job), actor, station_id=station_id
        )
    return printjobs.queue_document(engine, job.document, actor, station_id=station_id)


def cancel_job(engine: Engine, job_id: str, actor: str) -> PrintJobInfo:
    """Take a waiting job out of the queue; ``PrintJobStateError`` if it no longer waits."""
    from db.printjobs import cancel

    return cancel(engine, job_id, actor)


def _slip_day(engine: Engine, job: PrintJobInfo) -> date:
    from db.printjobs import totals_slip_day

    return totals_slip_day(engine, job.id) or job.created_at.astimezone(STATION_TZ).date()


# -- the service -----------------------------------------------------------------------


class PrintService:
    """Sends the print queue from its own thread; see the module docstring.

    ``backoff``: seconds to wait before each retry after consecutive failures (the
    last one repeats). ``mark_sent_retry_delays``: seconds to wait before each new try
    to mark a printed job sent after the database refused it; ``sleep`` waits them.
    ``drain()`` can also be called directly, e.g. by a test, to send what is pending
    without the thread.
    """

    def __init__(
        self,
        config: Config,
        engine: Engine,
        messages: Messages,
        on_event: Callable[[PrintEvent], None] | None = None,
        connection_factory: Callable[[], PrinterConnection] | None = None,
        *,
        backoff: Sequence[float] = BACKOFF_SECONDS,
        mark_sent_retry_delays: Sequence[float] = MARK_SENT_RETRY_DELAYS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not backoff or any(delay < 0 for delay in backoff):
            raise ValueError("backoff needs at least one delay, none negative")
        if any(delay < 0 for delay in mark_sent_retry_delays):
            raise ValueError("mark_sent_retry_delays must not be negative")
        self._config = config
        self._engine = engine
        self._messages = messages
        self._on_event = on_event
        self._connection_factory = connection_factory or self._make_connection
        self._backoff = tuple(backoff)
        self._mark_sent_retry_delays = tuple(mark_sent_retry_delays)
        self._sleep = sleep
        # Jobs whose certain failure the database refused to record
        # (job id -> reason, its fault code).
        self._failed_unrecorded: dict[str, tuple[str, str | None]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._last_event = PrintEvent(PrinterHealth.UNKNOWN, 0)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def actor(self) -> str:
        """Who the audit log names for changes made at this counter."""
        return self._config.station.operator

    @property
    def station_id(self) -> str:
        """The station whose jobs this service sends (and no other's)."""
        return self._config.station.id

    def _pending(self) -> list[PrintJobInfo]:
        from db.printjobs import pending_print_jobs

        return pending_print_jobs(self._engine, self.station_id)

    def _claimant_alive(self, claimant: Mapping[str, object] | None) -> bool:
        """Whether the process that began an open attempt of our job may still send it.

        While this process holds the station's lock (the counter takes it when it
        starts) no other process of the station runs, so none is alive; without the
        lock the process table decides (``db.printjobs.claimant_alive``).
        """
        from counter_app.services.station_lock import held_here
        from db.engine import database_path
        from db.printjobs import claimant_alive

        if held_here(database_path(self._engine), self.station_id):
            return False
        return claimant_alive(claimant)

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="print-worker", daemon=True)
        self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wake(self) -> None:
        """A job was queued: send it now rather than at the next retry."""
        self._failures = 0
        self._wake.set()

    def _make_connection(self) -> PrinterConnection:
        return connection_for(self._config)

    def retry_delay(self) -> float:
        """Seconds to wait after the current run of failures."""
        return self._backoff[min(max(self._failures, 1), len(self._backoff)) - 1]

    # -- the worker ----------------------------------------------------------------------

    def _run(self) -> None:
        from db import printjobs

        try:
            # Waiting jobs from before print jobs had a station become this station's.
            printjobs.adopt_unassigned_jobs(self._engine, self.station_id)
            if not self._pending():
                self.check_printer()
        except Exception as exc:  # the status line says so; the worker goes on
            self._emit(PrinterHealth.ERROR, 0, str(exc) or repr(exc))
        delay: float | None = None
        while not self._stop.is_set():
            self._wake.wait(delay)  # None: until woken
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                done = self.drain()
            except Exception as exc:  # e.g. the database is locked; try again later
                self._failures += 1
                self._emit(PrinterHealth.ERROR, 0, str(exc) or repr(exc))
                done = False
            delay = None if done else self.retry_delay()

    def drain(self) -> bool:
        """Send this station's pending jobs in order; False if one failed or another
        process is sending the first one (the rest wait)."""
        while not self._stop.is_set():
            jobs = self._pending()
            if not jobs:
                return True
            ok = self._send_job(jobs[0], pending=len(jobs))
            if not ok:
                self._failures += 1
                return False
            self._failures = 0
        return True

    def check_printer(self) -> PrinterHealth:
        """Ask the printer how it is and tell the UI, without sending anything."""
        pending = len(self._pending())
        health, message, error = self._ask()
        self._emit(health, pending, message, error=error)
        return health

    def _ask(self) -> tuple[PrinterHealth, str, PrinterError | None]:
        try:
            status = self._connection_factory().status()
        except PrinterError as exc:
            return PrinterHealth.UNREACHABLE, str(exc), exc
        except Exception as exc:  # a wrong setting: ValueError from the factory
            return PrinterHealth.ERROR, str(exc) or repr(exc), None
        health = health_from_status(status)
        return health, _not_ready_message(status) if status.ready is False else "", None

    def _send_job(self, job: PrintJobInfo, pending: int) -> bool:
        from db import printjobs

        try:
            if job.id in self._failed_unrecorded:
                # The last attempt failed for certain, but the database would not take
                # it then: record it now, so this print carries no duplicate marker.
                reason, fault = self._failed_unrecorded[job.id]
                self._settle_failed(job.id, reason, uncertain=False, fault=fault)
            # An earlier attempt that began and never ended may have printed: this
            # print then carries the duplicate marker, so render after settling it.
            job = printjobs.settle_interrupted_attempt(
                self._engine, job.id, alive=self._claimant_alive
            )
        except printjobs.PrintJobStateError:  # cancelled meanwhile: nothing to send
            return True
        try:
            document, label_code = self.render_job(job)
        except Exception as exc:  # a job we cannot render must not stop the queue
            reason = f"the {job.document} cannot be printed: {exc}"
            self._settle_failed(job.id, reason, uncertain=False)
            self._cancel_quietly(job.id)
            self._emit(PrinterHealth.ERROR, pending - 1, reason, job.id, job.label_code)
            return True
        health = PrinterHealth.UNKNOWN
        try:
            connection = self._connection_factory()
            # May raise PrinterUnavailable (a network printer that cannot be reached):
            # then the job fails with that reason and waits, like any failed send.
            status = connection.status()
            health = health_from_status(status)
            if status.ready is False:  # answered and cannot print: send nothing
                raise PrinterNotReady(_not_ready_message(status))
        except PrinterError as exc:
            if not isinstance(exc, PrinterNotReady):
                health = PrinterHealth.UNREACHABLE
            return self._failed(job, pending, exc, exc.uncertain, health, label_code)
        except Exception as exc:  # e.g. ValueError for a wrong setting, a driver bug
            reason = str(exc) or repr(exc)
            return self._failed(job, pending, reason, False, PrinterHealth.ERROR, label_code)
        try:
            # The claim: committed before the first byte goes out, in one write
            # transaction that checks no other process is sending the job. A database
            # error here sends nothing and reaches the worker, which tries again later.
            printjobs.begin_attempt(self._engine, job.id, station_id=self.station_id)
        except printjobs.PrintJobClaimed:  # another process sends it: wait our turn
            return False
        except printjobs.PrintJobStateError:  # cancelled meanwhile: nothing to send
            return True
        try:
            connection.send(document)
        except PrinterUnconfirmed as exc:
            # It took the bytes and did not answer after them: a fault, not "unreachable".
            return self._failed(job, pending, exc, True, PrinterHealth.ERROR, label_code)
        except PrinterError as exc:
            health = PrinterHealth.UNREACHABLE
            return self._failed(job, pending, exc, exc.uncertain, health, label_code)
        except Exception as exc:  # a driver bug: the bytes may or may not have gone out
            reason = str(exc) or repr(exc)
            return self._failed(job, pending, reason, True, PrinterHealth.ERROR, label_code)
        problem = self._mark_sent(job.id)
        if problem is not None:
            # Printed, but the queue still holds the job: it comes out once more,
            # marked as a duplicate, when the database takes changes again.
            reason = f"the job was printed but could not be recorded as printed: {problem}"
            self._emit(PrinterHealth.ERROR, pending, reason, job.id, label_code, document)
            return False
        self._emit(health, pending - 1, "", job.id, label_code, document)
        return True

    def _mark_sent(self, job_id: str) -> str | None:
        """Mark the job sent, trying again while the database refuses; the last refusal.

        Never sends again in between: the bytes went out once.
        """
        from db import printjobs

        return self._write_through(lambda: printjobs.mark_sent(self._engine, job_id))

    def _write_through(self, write: Callable[[], object]) -> str | None:
        """Run a print job write, trying again while the database refuses (locked by
        another program); the last refusal, or None once it is in. A job that was
        cancelled meanwhile counts as written: there is nothing left to record."""
        from db import printjobs
        from db.engine import DatabaseError

        refusal: DatabaseError | None = None
        for delay in (None, *self._mark_sent_retry_delays):
            if delay is not None:
                self._sleep(delay)
            try:
                write()
            except printjobs.PrintJobStateError:
                return None
            except DatabaseError as exc:
                refusal = exc
                continue
            return None
        return str(refusal) or repr(refusal)

    def _failed(
        self,
        job: PrintJobInfo,
        pending: int,
        reason: str | PrinterError,
        uncertain: bool,
        health: PrinterHealth,
        label_code: str | None,
    ) -> bool:
        error = reason if isinstance(reason, PrinterError) else None
        fault = None if error is None else error.fault.value
        self._settle_failed(job.id, str(reason), uncertain=uncertain, fault=fault)
        # No bytes of the job with the event: nothing (or not all of it) printed.
        self._emit(health, pending, str(reason), job.id, label_code, error=error)
        return False

    def _settle_failed(
        self, job_id: str, reason: str, *, uncertain: bool, fault: str | None = None
    ) -> None:
        from db import printjobs

        refusal = self._write_through(
            lambda: printjobs.mark_failed(
                self._engine, job_id, reason, uncertain=uncertain, fault=fault
            )
        )
        if refusal is None:
            self._failed_unrecorded.pop(job_id, None)
        elif not uncertain:
            # Still open in the database, which would make the next print a duplicate:
            # remember here that nothing went out, and record it before that print.
            self._failed_unrecorded[job_id] = (reason, fault)

    def _cancel_quietly(self, job_id: str) -> None:
        from db import printjobs

        with contextlib.suppress(printjobs.PrintJobStateError):
            printjobs.cancel(self._engine, job_id, printjobs.PRINTER_ACTOR)

    def _emit(
        self,
        health: PrinterHealth,
        pending: int,
        message: str,
        job_id: str | None = None,
        label_code: str | None = None,
        document: bytes | None = None,
        *,
        error: PrinterError | None = None,
        fault: PrinterFault | None = None,
        where: str = "",
    ) -> None:
        if self._on_event is None:
            return
        preview: tuple[PreviewLine, ...] = ()
        if document is not None:
            preview = self.preview(document)
        if error is not None:
            fault, where = error.fault, error.where
        event = PrintEvent(
            health, max(0, pending), message, job_id, label_code, document, preview, fault, where
        )
        self._last_event = event
        self._on_event(event)

    def preview(self, document: bytes) -> tuple[PreviewLine, ...]:
        """The label as it will come out, decoded from the very bytes for the printer."""
        from drivers.printer.layout import columns_for_profile
        from drivers.printer.preview import preview_escpos

        profile = self._config.printer.profile
        return tuple(preview_escpos(document, columns_for_profile(profile), profile=profile))

    # -- documents -----------------------------------------------------------------------

    def render_job(self, job: PrintJobInfo) -> tuple[bytes, str | None]:
        """The bytes of a job's document, with its copy marker; and its label code."""
        from counter_app.services.labels import item_label_for, totals_slip_for
        from db.queries import drop_off_by_id, totals_for_day
        from db.verify import chain_heads
        from drivers.printer.documents import (
            render_item_label,
            render_test_page,
            render_totals_slip,
        )

        profile = self._config.printer.profile
        if job.document == DocumentKind.ITEM_LABEL and job.drop_off_id is not None:
            drop_off = drop_off_by_id(self._engine, job.drop_off_id)
            label = item_label_for(drop_off, self._config, self._messages, job.copy_marker)
            return render_item_label(label, profile=profile), drop_off.label_code
        if job.document == DocumentKind.TOTALS_SLIP:
            totals = totals_for_day(self._engine, _slip_day(self._engine, job), STATION_TZ)
            slip = totals_slip_for(
                totals,
                self._config,
                self._messages,
                copy_marker=job.copy_marker,
                anchors=chain_heads(self._engine),
            )
            return render_totals_slip(slip, profile=profile), None
        if job.document == DocumentKind.TEST_PAGE:
            return render_test_page(profile, self._config.station.name), None
        raise ValueError(f"unknown document {job.document!r}")

    # -- the queue, for the print queue screen ---------------------------------------------

    def jobs_of_day(self, day: date | None = None) -> list[PrintJobInfo]:
        """Today's jobs (or ``day``'s) and older ones still waiting, oldest first."""
        return print_jobs_of_day(
            self._engine, day or datetime.now(STATION_TZ).date(), self.station_id
        )

    def reprint(self, job_id: str) -> PrintJobInfo:
        """Queue another copy of the job's document and send it soon; the new job."""
        from db.printjobs import print_job

        new_id = reprint_job(self._engine, job_id, self.actor, self.station_id)
        self.wake()
        return print_job(self._engine, new_id)

    def job(self, job_id: str) -> PrintJobInfo:
        """One job as it is now; ``RecordNotFound`` if there is none with that id."""
        from db.printjobs import print_job

        return print_job(self._engine, job_id)

    def cancel(self, job_id: str) -> PrintJobInfo:
        """Take a waiting job out of the queue; ``PrintJobStateError`` if it no longer waits.

        The status line hears the new number of waiting jobs at once, and the next job
        is tried now instead of after the current backoff.
        """
        cancelled = cancel_job(self._engine, job_id, self.actor)
        last = self._last_event
        self._emit(
            last.health, len(self._pending()), last.message, fault=last.fault, where=last.where
        )
        self.wake()
        return cancelled

    def queue_totals_slip(self, day: date | None = None) -> str:
        """Queue the totals slip of ``day`` (default today) and send it soon; its job id."""
        job_id = queue_totals_slip(
            self._engine, day or datetime.now(STATION_TZ).date(), self.actor, self.station_id
        )
        self.wake()
        return job_id


def _not_ready_message(status: PrinterStatus) -> str:
    from drivers.printer.status import not_ready_reason

    return f"the printer is {not_ready_reason(status)}"
