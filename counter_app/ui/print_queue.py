"""The print queue: today's print jobs, with reprint (r) and cancel (x).

Every database call runs in a thread worker through the print service
(``counter_app.services.printing``); the results come back as messages. The list
reloads every few seconds, so a label that waited for paper shows as printed once
it came out.
"""

from __future__ import annotations

from datetime import date, datetime

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from counter_app.i18n import STATION_TZ, Messages
from counter_app.services.failures import failure_words
from counter_app.services.labels import COPY_MARKER_KEYS
from counter_app.services.printing import (
    PENDING_STATUSES,
    PrintJobInfo,
    PrintJobStateError,
    PrintJobStatus,
    PrintService,
)

#: Seconds between reloads of the list while the screen is open.
REFRESH_SECONDS = 2.0

_STATUS_STYLES = {
    PrintJobStatus.QUEUED: "bold yellow",
    PrintJobStatus.FAILED: "bold red",
    PrintJobStatus.CANCELLED: "dim",
    PrintJobStatus.SENT: "",
}

_COLUMNS = ("time", "code", "document", "status", "attempts", "marker", "error")


class PrintJobsLoaded(Message):
    """The jobs to show, newest first."""

    def __init__(self, jobs: list[PrintJobInfo]) -> None:
        super().__init__()
        self.jobs = jobs


class PrintQueueChanged(Message):
    """A reprint or cancel finished (or did not): what to tell the attendant."""

    def __init__(self, text: str, severity: str) -> None:
        super().__init__()
        self.text = text
        self.severity = severity


class PrintQueueScreen(ModalScreen[None]):
    """``PrintQueueScreen(messages, print_service, day=None)``: the jobs of ``day``
    (default today) and older jobs still waiting, newest on top."""

    DEFAULT_CSS = """
    PrintQueueScreen {
        align: center middle;
    }
    #print-queue {
        width: 100%;
        max-width: 120;
        height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    #print-queue-title {
        text-style: bold;
        height: 1;
    }
    #print-queue-table {
        height: 1fr;
    }
    #print-queue-message {
        height: 1;
    }
    #print-queue-message.-success { background: $success 35%; }
    #print-queue-message.-error { background: $error 50%; text-style: bold; }
    #print-queue-hint {
        height: 1;
        color: $text-muted;
    }
    """

    BINDINGS = [
        Binding("escape", "close", show=False),
        Binding("r", "reprint", show=False),
        Binding("x", "cancel_job", show=False),
    ]

    def __init__(
        self, messages: Messages, print_service: PrintService, *, day: date | None = None
    ) -> None:
        super().__init__()
        self._messages = messages
        self._service = print_service
        self._day = day
        self._jobs: dict[str, PrintJobInfo] = {}
        # A cancel needs x twice on the same job: one stray key loses no label.
        self._cancel_armed: str | None = None
        self._loaded = False

    def compose(self) -> ComposeResult:
        t = self._messages.t
        day = self._day or datetime.now(STATION_TZ).date()
        with Vertical(id="print-queue"):
            yield Static(
                t("print_queue.title", day=day.strftime("%d-%m-%Y")), id="print-queue-title"
            )
            yield DataTable(id="print-queue-table", cursor_type="row", zebra_stripes=True)
            yield Static(t("print_queue.loading"), id="print-queue-message")
            yield Static(t("print_queue.hint"), id="print-queue-hint")

    def on_mount(self) -> None:
        t = self._messages.t
        table = self.query_one(DataTable)
        widths = {"time": 5, "code": 11, "attempts": 8, "marker": 10}
        for key in _COLUMNS:
            table.add_column(t(f"print_queue.columns.{key}"), key=key, width=widths.get(key))
        table.focus()
        self._load()
        self.set_interval(REFRESH_SECONDS, self._load)

    # -- loading ---------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="print-queue-load")
    def _load(self) -> None:
        try:
            jobs = self._service.jobs_of_day(self._day)
        except Exception as exc:  # the database is gone or locked: say so, keep the list
            self.post_message(self._failed(exc))
            return
        self.post_message(PrintJobsLoaded(list(reversed(jobs))))

    @on(PrintJobsLoaded)
    def _show(self, message: PrintJobsLoaded) -> None:
        table = self.query_one(DataTable)
        selected = self.selected_job_id()
        table.clear()
        self._jobs = {job.id: job for job in message.jobs}
        for job in message.jobs:
            table.add_row(*self._cells(job), key=job.id)
        if selected in self._jobs:
            table.move_cursor(row=table.get_row_index(selected))
        if not self._loaded:
            self._loaded = True
            self._say("" if message.jobs else self._messages.t("print_queue.empty"), "")

    def _cells(self, job: PrintJobInfo) -> list[str | Text]:
        t = self._messages.t
        marker = t(COPY_MARKER_KEYS[job.copy_marker]) if job.copy_marker else ""
        return [
            job.created_at.astimezone(STATION_TZ).strftime("%H:%M"),
            job.label_code or "—",
            t(f"print_queue.documents.{job.document}"),
            Text(t(f"print_queue.statuses.{job.status}"), style=_STATUS_STYLES[job.status]),
            str(job.attempts),
            marker,
            self._error_words(job),
        ]

    def _error_words(self, job: PrintJobInfo) -> str:
        """The last failure in words: the printer's reason where it gave one, else only
        that it failed (its English sentence is for the technician: ``counter printer
        queue``)."""
        if job.last_fault:
            return self._messages.t(f"printer.fault.{job.last_fault}")
        return self._messages.t("printer.fault.other") if job.last_error else ""

    def selected_job_id(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key is None else str(key)

    # -- keys ------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        if event.key != "x":
            self._cancel_armed = None

    def action_close(self) -> None:
        self.dismiss(None)

    def action_reprint(self) -> None:
        job_id = self.selected_job_id()
        if job_id is None:
            self._say(self._messages.t("print_queue.nothing_selected"), "error")
            return
        self._reprint(job_id)

    def action_cancel_job(self) -> None:
        job_id = self.selected_job_id()
        if job_id is None:
            self._say(self._messages.t("print_queue.nothing_selected"), "error")
            return
        job = self._jobs[job_id]
        if job.status not in PENDING_STATUSES:
            self._say(self._cannot_cancel(job), "error")
            return
        if self._cancel_armed != job_id:
            self._cancel_armed = job_id
            what = job.label_code or self._messages.t(f"print_queue.documents.{job.document}")
            self._say(self._messages.t("print_queue.confirm_cancel", what=what), "warning")
            return
        self._cancel_armed = None
        self._cancel(job_id)

    @work(thread=True, group="print-queue-change")
    def _reprint(self, job_id: str) -> None:
        t = self._messages.t
        try:
            job = self._service.reprint(job_id)
        except Exception as exc:  # a voided drop-off, a vanished job, a locked database
            self.post_message(self._failed(exc))
            return
        what = self._what(job)
        self.post_message(PrintQueueChanged(t("print_queue.reprint_queued", what=what), "success"))

    @work(thread=True, group="print-queue-change")
    def _cancel(self, job_id: str) -> None:
        t = self._messages.t
        try:
            job = self._service.cancel(job_id)
        except PrintJobStateError:  # printed just before: say how it is now
            try:
                now = self._service.job(job_id)
            except Exception as exc:
                self.post_message(self._failed(exc))
                return
            self.post_message(PrintQueueChanged(self._cannot_cancel(now), "error"))
            return
        except Exception as exc:
            self.post_message(self._failed(exc))
            return
        what = self._what(job)
        self.post_message(PrintQueueChanged(t("print_queue.cancelled", what=what), "success"))

    @on(PrintQueueChanged)
    def _changed(self, message: PrintQueueChanged) -> None:
        self._say(message.text, message.severity)
        self._load()

    # -- words -----------------------------------------------------------------------

    def _what(self, job: PrintJobInfo) -> str:
        return job.label_code or self._messages.t(f"print_queue.documents.{job.document}")

    def _cannot_cancel(self, job: PrintJobInfo) -> str:
        t = self._messages.t
        return t(
            "print_queue.cannot_cancel",
            what=self._what(job),
            status=t(f"print_queue.statuses.{job.status}"),
        )

    def _failed(self, exc: Exception) -> PrintQueueChanged:
        reason = failure_words(exc, self._messages)
        return PrintQueueChanged(self._messages.t("print_queue.failed", reason=reason), "error")

    def _say(self, text: str, severity: str) -> None:
        line = self.query_one("#print-queue-message", Static)
        line.update(text)
        line.set_classes(f"-{severity}" if severity else "")
