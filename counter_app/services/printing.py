"""The print service: sends queued print jobs, in order, and says how the printer is.

Print jobs are rows in the database (``db.printjobs``). This worker takes the oldest
pending job, renders its document (``drivers.printer.documents``), asks the printer
how it is where the connection can answer, and sends the bytes over a connection
made for this job alone. A job is marked sent only after ``send`` returned, i.e. the
printer (or the file) took every byte. A failure keeps the job and every job after
it waiting; the worker retries with backoff. A job whose delivery is uncertain is
reprinted with a duplicate marker, never silently twice.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from counter_app.i18n import Messages
from drivers.printer.connection import (
    PaperState,
    PrinterConnection,
    PrinterError,
    PrinterNotReady,
    PrinterStatus,
)
from drivers.printer.preview import PreviewLine

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from counter_app.config import Config

# Seconds between retries after a failure: quick at first (a printer being switched
# on), then at most every 30 s so a dead printer does not busy the counter.
BACKOFF_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


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
    """What happened to the printer; the UI shows it on the status line."""

    health: PrinterHealth
    pending: int
    message: str = ""
    job_id: str | None = None
    label_code: str | None = None
    document: bytes | None = None  # the bytes of the job
    preview: tuple[PreviewLine, ...] = ()  # the same bytes decoded, as they will print


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


class PrintService:
    def __init__(
        self,
        config: Config,
        engine: Engine,
        messages: Messages,
        on_event: Callable[[PrintEvent], None] | None = None,
        connection_factory: Callable[[], PrinterConnection] | None = None,
    ) -> None:
        self._config = config
        self._engine = engine
        self._messages = messages
        self._on_event = on_event
        self._connection_factory = connection_factory or self._make_connection
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0

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
        from drivers.printer.factory import make_connection

        p = self._config.printer
        return make_connection(
            p.connection,
            path=p.path,
            host=p.host,
            port=p.port,
            baudrate=p.baudrate,
            usb_vendor=p.usb_vendor,
            usb_product=p.usb_product,
            queue=p.queue,
            flow=p.flow,
            preview_dir=self._config.preview_dir(),
        )

    # -- the worker ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return
            if not self.drain():
                delay = BACKOFF_SECONDS[min(self._failures, len(BACKOFF_SECONDS)) - 1]
                self._wake.wait(delay)

    def drain(self) -> bool:
        """Send every pending job in order; False if one failed (the rest wait)."""
        from db import printjobs

        while not self._stop.is_set():
            jobs = printjobs.pending_print_jobs(self._engine)
            if not jobs:
                return True
            job = jobs[0]
            ok = self._send_job(job, pending=len(jobs))
            if not ok:
                self._failures += 1
                return False
            self._failures = 0
        return True

    def _send_job(self, job, pending: int) -> bool:  # type: ignore[no-untyped-def]
        from db import printjobs

        try:
            document, label_code = self.render_job(job)
        except Exception as exc:  # a job we cannot render must not stop the queue
            printjobs.mark_failed(self._engine, job.id, f"render: {exc}", uncertain=False)
            printjobs.cancel(self._engine, job.id, "print-worker")
            self._emit(PrinterHealth.ERROR, pending - 1, str(exc), job.id)
            return True
        try:
            connection = self._connection_factory()
            status = connection.status()
            health = health_from_status(status)
            if status.answered and status.ready is False:
                raise PrinterNotReady(health.value)
            connection.send(document)
        except PrinterError as exc:
            printjobs.mark_failed(self._engine, job.id, str(exc), uncertain=exc.uncertain)
            failed_health = (
                health_from_status(connection.status())
                if isinstance(exc, PrinterNotReady)
                else PrinterHealth.UNREACHABLE
            )
            self._emit(failed_health, pending, str(exc), job.id, label_code, document)
            return False
        except Exception as exc:  # e.g. AssertionError from a broken escpos object
            printjobs.mark_failed(self._engine, job.id, str(exc) or repr(exc), uncertain=False)
            self._emit(PrinterHealth.ERROR, pending, str(exc) or repr(exc), job.id, label_code)
            return False
        printjobs.mark_sent(self._engine, job.id)
        self._emit(health, pending - 1, "", job.id, label_code, document)
        return True

    def _emit(
        self,
        health: PrinterHealth,
        pending: int,
        message: str,
        job_id: str | None = None,
        label_code: str | None = None,
        document: bytes | None = None,
    ) -> None:
        if self._on_event is None:
            return
        preview: tuple[PreviewLine, ...] = ()
        if document is not None:
            preview = self.preview(document)
        self._on_event(PrintEvent(health, pending, message, job_id, label_code, document, preview))

    def preview(self, document: bytes) -> tuple[PreviewLine, ...]:
        """The label as it will come out, decoded from the very bytes for the printer."""
        from drivers.printer.layout import columns_for_profile
        from drivers.printer.preview import preview_escpos

        profile = self._config.printer.profile
        return tuple(preview_escpos(document, columns_for_profile(profile), profile=profile))

    # -- documents -----------------------------------------------------------------------

    def render_job(self, job) -> tuple[bytes, str | None]:  # type: ignore[no-untyped-def]
        """The bytes of a job's document, with its copy marker."""
        from counter_app.services.labels import item_label_for
        from db import records
        from drivers.printer.documents import render_item_label

        if job.document != "item_label" or job.drop_off_id is None:
            raise ValueError(f"unknown document {job.document!r}")
        drop_off = records.drop_off_by_id(self._engine, job.drop_off_id)
        label = item_label_for(drop_off, self._config, self._messages, job.copy_marker)
        return render_item_label(label, profile=self._config.printer.profile), drop_off.label_code

    def printer_status(self) -> tuple[PrinterHealth, str]:
        """Ask the printer now (``counter printer status``)."""
        try:
            connection = self._connection_factory()
            status = connection.status()
            return health_from_status(status), connection.describe()
        except PrinterError as exc:
            return PrinterHealth.UNREACHABLE, str(exc)
