"""The counter: live weight, classify with 1/2/3, capture with Enter, today's list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, TypeVar

from rich.cells import cell_len
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from counter_app.catalogue import Catalogue, CatalogueEntry, Classification
from counter_app.i18n import STATION_TZ, Messages, format_kg
from counter_app.services.corrections import CorrectionRefused, refusal_words
from counter_app.services.counter import (
    CaptureOutcome,
    CounterRefusal,
    CounterService,
    Dropped,
    ManualRefused,
    NeedsConfirmation,
    Recorded,
    RefusalReason,
    Refused,
    TodayView,
    Waiting,
)
from counter_app.services.failures import failure_advice, failure_words
from counter_app.services.scale import CaptureRefusal, ScaleService, ScaleSnapshot, ScaleState
from counter_app.services.zero_tare import ZeroTareAnswer, ZeroTareCommand, ZeroTareGuard
from counter_app.ui.help import HelpScreen
from counter_app.ui.messages import ActionDone, CaptureFinished, RecordFailed, ServiceFailed
from counter_app.ui.picker import CategoryPicker
from counter_app.ui.status_words import link_words
from counter_app.ui.widgets import (
    DropOffTable,
    KeyBar,
    LabelPreview,
    TotalsStrip,
    WeightDisplay,
    release_lines_of_removed_widgets,
)

if TYPE_CHECKING:
    from counter_app.config import Config
    from counter_app.services.counter import RecordedDropOff
    from counter_app.services.printing import PrintService
    from counter_app.ui.correct import CorrectionRequest
    from drivers.printer.preview import PreviewLine

#: What a void or correction modal answers (a reason, a correction request).
Answer = TypeVar("Answer")
#: What a committed void or correction gives back.
Changed = TypeVar("Changed")

#: Catalogue key of the prompt for each reason a capture is refused.
REFUSAL_KEYS: dict[RefusalReason, str] = {
    CounterRefusal.NOTHING_CHOSEN: "capture.choose_classification",
    CounterRefusal.NOT_OPEN: "status.database_not_ready",
    CounterRefusal.UNAVAILABLE: "capture.unavailable",
    CaptureRefusal.MOTION: "capture.motion",
    CaptureRefusal.OVERLOAD: "capture.overload",
    CaptureRefusal.UNDERLOAD: "capture.underload",
    CaptureRefusal.NEGATIVE: "capture.negative",
    CaptureRefusal.ZERO: "capture.zero",
    CaptureRefusal.OFFLINE: "capture.offline",
    CaptureRefusal.NO_SIGNAL: "capture.no_signal",
    CaptureRefusal.NO_WEIGHT: "capture.no_weight",
    CaptureRefusal.SAME_LOAD: "capture.same_load",
    CaptureRefusal.UNIT: "capture.unit",
}
# The database not being open is the counter's fault, not the load's.
REFUSAL_SEVERITY: dict[RefusalReason, str] = {
    CounterRefusal.NOT_OPEN: "error",
    CounterRefusal.UNAVAILABLE: "error",
}
# How often an armed capture looks whether its time is up (the scale may be silent).
SETTLE_TICK_SECONDS = 0.25

# The label preview beside the list: its pane's width (#preview-pane in counter.tcss:
# a 48-column label, its padding and the border). It stands beside the list only
# where the list keeps at least CATEGORY_BESIDE_PREVIEW cells for the category;
# elsewhere it takes the list's place when asked for (v), and v hides it where it
# stands beside.
PREVIEW_PANE_WIDTH = 54
CATEGORY_BESIDE_PREVIEW = 24

# The keys that void and correct: offered only with [counter] allow_corrections.
CORRECTION_ACTIONS = frozenset({"void", "correct"})

# From this height the weight panel grows and draws the weight in big block digits.
TALL_ENOUGH_FOR_BIG_WEIGHT = 40


class CounterScreen(Screen[None]):
    # (keys, action, catalogue key of the footer text, key shown in the footer)
    KEYS = (
        ("1", "classify('reuse')", "keys.reuse", "1"),
        ("2", "classify('repair')", "keys.repair", "2"),
        ("3", "classify('recycling')", "keys.recycling", "3"),
        ("enter", "capture", "keys.weigh", "Enter"),
        ("escape", "cancel", "keys.cancel", "Esc"),
        ("f1", "help", "keys.help", "F1"),
        ("f9", "diagnostics", "diagnostics.open_key", "F9"),
        ("r", "reprint", "keys.reprint", "r"),
        ("w", "print_queue", "print_queue.key", "w"),
        ("s", "totals_slip", "slip.key", "s"),
        ("v", "toggle_preview", "keys.preview", "v"),
        ("delete", "void", "keys.void", "Del"),
        ("c", "correct", "keys.correct", "c"),
        ("pageup", "scroll_preview(-1)", "", ""),
        ("pagedown", "scroll_preview(1)", "", ""),
        ("up", "cursor(-1)", "", ""),
        ("down", "cursor(1)", "", ""),
    )

    # The key bar's word for a key (by action) when the full words do not fit in two
    # lines at the terminal's width; keys without one keep their full word.
    SHORT_WORDS = {
        "cancel": "keys.short.cancel",
        "diagnostics": "keys.short.diagnostics",
        "print_queue": "keys.short.print_queue",
        "totals_slip": "keys.short.totals_slip",
        "quit": "keys.short.quit",
    }

    def __init__(
        self,
        messages: Messages,
        config: Config,
        catalogue: Catalogue,
        counter: CounterService,
        scale: ScaleService,
        *,
        load_day: Callable[[], None],
    ) -> None:
        """``load_day`` loads the day's list and totals again (blocking; called from a
        worker when a record belongs to another day than the one shown); the view
        comes back through :meth:`show_day`."""
        super().__init__()
        self._messages = messages
        self._config = config
        self._catalogue = catalogue
        self._counter = counter
        self._scale = scale
        self._load_day = load_day
        self._zero_tare = ZeroTareGuard(scale)
        if config.scale.allow_zero_tare:
            # Shown only where the protocol can send them; elsewhere the key still says
            # that it cannot.
            for command, text_key in (
                (ZeroTareCommand.ZERO, "zero_tare.zero_key"),
                (ZeroTareCommand.TARE, "zero_tare.tare_key"),
            ):
                self._bindings.bind(
                    command.key,
                    command.value,
                    messages.t(text_key),
                    show=self._zero_tare.supports(command),
                    key_display=command.key,
                )
        if config.manual_weight_allowed:
            self._bindings.bind("m", "manual_weight", messages.t("manual.key"), key_display="m")
        # Bound per instance so the footer speaks the configured language.
        for keys, action, text_key, display in self.KEYS:
            if action in CORRECTION_ACTIONS and not config.counter.allow_corrections:
                continue  # the site does not let the counter void or correct
            description = messages.t(text_key) if text_key else ""
            self._bindings.bind(
                keys, action, description, show=bool(text_key), key_display=display or None
            )
        self._classification: str | None = None
        self._entry: CatalogueEntry | None = None
        self._last_code: dict[str, str] = {}
        # A capture is being recorded (in a worker); keys wait for it.
        self._recording = False
        self._snapshot: ScaleSnapshot | None = None
        # Why the last capture was refused, while that refusal is on the prompt.
        self._refused_with: CaptureRefusal | None = None
        self._preview_toggled = False
        # The services report from the first moment of the app's life: what they say
        # is kept here and shown while the screen has its widgets.
        self._composed = False
        self._preview_lines: Sequence[PreviewLine] | None = None
        self._grams_by_class: dict[Classification, int] = {}
        # The local day the list and totals show (None until the first load).
        self._day: date | None = None
        self._printer_line = ""
        # The status line as shown (see _refresh_status).
        self._status_shown: str | None = None
        # Today's records by id, as last shown: what Delete and c act on.
        self._day_records: dict[str, RecordedDropOff] = {}

    def compose(self) -> ComposeResult:
        t = self._messages.t
        config = self._config
        title = f"{config.station.name} · {config.station.id}"
        with Horizontal(id="title-bar"):
            yield Static(title, id="station")
            if config.is_demo:
                yield Static(t("app.demo_banner"), id="demo-banner")
        with Horizontal(id="top"):
            yield WeightDisplay(self._messages, config.language, id="weight")
            yield TotalsStrip(id="totals")
        yield Static(self._idle_prompt(), id="prompt")
        with Horizontal(id="middle"):
            yield DropOffTable(self._messages, config.language, id="drop-offs")
            # Never focused: the arrow keys move the list's cursor, PgUp/PgDn page here.
            with VerticalScroll(id="preview-pane", can_focus=False):
                yield Static(t("preview.title"), id="preview-title")
                yield LabelPreview(t("preview.empty"), id="preview")
        yield Static("", id="status")
        yield KeyBar(
            {action: t(key) for action, key in self.SHORT_WORDS.items()},
            more_action="help",
            more_word=t("keys.more"),
        )

    def on_mount(self) -> None:
        self.set_interval(SETTLE_TICK_SECONDS, self._settle_if_due)
        self._show_totals()
        self._composed = True
        # What arrived before the widgets existed (the database opened or failed, a
        # snapshot, a label) is shown now.
        if self._snapshot is not None:
            self.query_one(WeightDisplay).show(self._snapshot)
        if self._preview_lines is not None:
            self.query_one(LabelPreview).show_lines(self._preview_lines)
        self._refresh_status()
        self._layout_preview()

    def on_unmount(self) -> None:
        self._composed = False
        self._status_shown = None  # widgets composed again start empty

    def on_screen_resume(self) -> None:
        # Back from the picker, a question or another screen: what they drew can go.
        release_lines_of_removed_widgets()

    def on_resize(self) -> None:
        self._layout_preview()

    def _layout_preview(self) -> None:
        # A tall terminal gets the big weight (see bigdigits.py).
        self.set_class(self.size.height >= TALL_ENOUGH_FOR_BIG_WEIGHT, "-tall")
        # The list keeps its columns whole: the preview stands beside it only where
        # both fit; v turns that around at every width.
        table = self.query_one(DropOffTable)
        wide = self.size.width >= PREVIEW_PANE_WIDTH + table.width_needed(CATEGORY_BESIDE_PREVIEW)
        shown = wide != self._preview_toggled
        self.set_class(shown, "-show-preview")
        self.set_class(shown and not wide, "-preview-only")

    # -- prompt line --------------------------------------------------------------------

    def _idle_prompt(self) -> Text:
        return Text(self._messages.t("prompt.idle"))

    def _set_prompt(self, text: str | Text, severity: str = "") -> None:
        self._refused_with = None
        prompt = self.query_one("#prompt", Static)
        # One line, as wide as the screen, except a fault's (up to three lines): only
        # a fault's words, or the line that follows one, change its height.
        grows = severity == "error" or prompt.has_class("-error")
        # Plain text: the words name files and keys in brackets ("[database] path").
        prompt.update(Text(text) if isinstance(text, str) else text, layout=grows)
        for s in ("info", "warning", "error", "success"):
            prompt.set_class(s == severity, f"-{s}")

    def _step_prompt(self) -> None:
        t = self._messages.t
        assert self._classification is not None and self._entry is not None
        self._set_prompt(
            t(
                "prompt.capture",
                classification=t(f"classification.{self._classification}"),
                category=self._entry.name(self._config.language),
            ),
            "info",
        )

    # -- the flow: 1/2/3, pick, Enter --------------------------------------------------

    def action_classify(self, classification: str) -> None:
        if self._recording:
            return
        # Another choice: the waiting capture was for the one before.
        if self._counter.cancel_armed():
            self._set_prompt(self._messages.t("capture.waiting_cancelled"), "warning")

        def picked(entry: CatalogueEntry | None) -> None:
            if entry is None:
                self.action_cancel()
                return
            self._classification = classification
            self._entry = entry
            self._last_code[classification] = entry.code
            self._step_prompt()

        self.app.push_screen(
            CategoryPicker(
                self._catalogue,
                classification,
                self._messages,
                self._config.language,
                preselect=self._last_code.get(classification),
            ),
            picked,
        )

    def action_cancel(self) -> None:
        if self._recording:
            return
        if self._counter.cancel_armed():
            # Only the waiting is cancelled: the choice stays, Enter weighs again.
            self._set_prompt(self._messages.t("capture.waiting_cancelled"), "warning")
            return
        self._classification = None
        self._entry = None
        self._set_prompt(self._idle_prompt())

    def action_capture(self, repeat_confirmed: bool = False) -> None:
        if self._recording:
            return
        # The service's answer without writing, at once; the write goes to a worker.
        outcome = self._counter.check(self._entry, repeat_confirmed=repeat_confirmed)
        if isinstance(outcome, Refused) and outcome.reason is CaptureRefusal.MOTION:
            # The load still moves: the service arms the capture (never a write, so on
            # this thread); settled meanwhile, it is recorded in the worker below.
            assert self._entry is not None  # check refuses without one
            armed = self._counter.arm(self._entry, repeat_confirmed=repeat_confirmed)
            if armed is not None:
                self._show_outcome(armed)
                return
            outcome = None
        if outcome is not None:
            self._show_outcome(outcome)
            return
        assert self._entry is not None  # check refuses without one
        self._recording = True
        self._set_prompt(self._messages.t("prompt.saving"), "info")
        self._record(self._entry, repeat_confirmed)

    @work(thread=True, exclusive=True, group="record")
    def _record(self, entry: CatalogueEntry, repeat_confirmed: bool) -> None:
        self._finish_record(lambda: self._counter.capture(entry, repeat_confirmed=repeat_confirmed))

    def _finish_record(self, record: Callable[[], CaptureOutcome | ManualRefused | None]) -> None:
        """Run ``record`` (in a worker) and report its outcome to the screen."""
        try:
            outcome = record()
        except Exception as exc:  # the attendant must see it; nothing was acknowledged
            words = failure_words(exc, self._messages)
            advice = failure_advice(exc, self._messages)
            self.post_message(RecordFailed(f"{words}. {advice}" if advice else words))
            return
        self.post_message(CaptureFinished(outcome))

    # -- capture on settle: the service decides, the screen asks it as the scale changes

    def _settle_if_due(self) -> None:
        # Not under another screen (help, diagnostics, a question): a load settling
        # there is recorded when the counter shows again, if still in time.
        if self.app.screen is not self:
            return
        if not self._recording and self._counter.settle_due():
            self._recording = True
            self._settle()

    @work(thread=True, exclusive=True, group="record")
    def _settle(self) -> None:
        self._finish_record(self._counter.settle)

    @on(CaptureFinished)
    def _capture_finished(self, message: CaptureFinished) -> None:
        self._recording = False
        self._show_outcome(message.outcome)
        if isinstance(message.outcome, Waiting):
            # It moved again between the check and the worker: still armed, keep asking.
            self._settle_if_due()

    def _show_outcome(self, outcome: CaptureOutcome | ManualRefused | None) -> None:
        t = self._messages.t
        if isinstance(outcome, Refused):
            reason = outcome.reason
            severity = REFUSAL_SEVERITY.get(reason, "warning")
            failure = self._counter.open_failure
            if reason is CounterRefusal.UNAVAILABLE and failure is not None:
                words = failure_words(failure, self._messages)
                advice = failure_advice(failure, self._messages)
                self._set_prompt(t("capture.unavailable", reason=words, advice=advice), severity)
            else:
                self._set_prompt(t(REFUSAL_KEYS[reason]), severity)
            if isinstance(reason, CaptureRefusal):
                self._refused_with = reason
        elif isinstance(outcome, NeedsConfirmation):
            self._ask_before_repeat(outcome)
        elif isinstance(outcome, Waiting):
            self._set_prompt(t("capture.waiting", seconds=outcome.seconds), "info")
        elif isinstance(outcome, Dropped):
            seconds = self._config.counter.settle_seconds
            self._set_prompt(t("capture.dropped", seconds=seconds), "warning")
        elif isinstance(outcome, ManualRefused):
            self._set_prompt(self._manual_words(outcome), "warning")
        elif isinstance(outcome, Recorded):
            self._recorded(outcome.drop_off)

    def _ask_before_repeat(self, question: NeedsConfirmation) -> None:
        """After a restart, the last record's weight again: ask before recording it.

        Yes captures again without asking; no says that nothing was recorded.
        """
        from counter_app.ui.confirm import ConfirmRepeatScreen

        t = self._messages.t
        earlier = question.previous
        text = t(
            "repeat.question",
            weight=format_kg(earlier.weight_grams, self._config.language),
            time=earlier.recorded_at.astimezone(STATION_TZ).strftime("%H:%M"),
            label_code=earlier.label_code,
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.action_capture(repeat_confirmed=True)
            else:
                self._set_prompt(t("repeat.declined"), "warning")

        self.app.push_screen(ConfirmRepeatScreen(text), answered)

    def _recorded(self, record: RecordedDropOff) -> None:
        t = self._messages.t
        self._classification = None
        self._entry = None
        self.add_to_day(record)
        manual = record.weight_source == "manual"
        self._set_prompt(
            t(
                "manual.saved" if manual else "record.saved",
                label_code=record.label_code,
                weight=format_kg(record.weight_grams, self._config.language),
                classification=t(f"classification.{record.classification}").lower(),
            ),
            "success",
        )

    @on(RecordFailed)
    def _record_failed(self, message: RecordFailed) -> None:
        self._recording = False
        self._set_prompt(self._messages.t("record.failed", reason=message.error), "error")

    def show_day(self, view: TodayView) -> None:
        """Show the day's list and totals (the app passes the newest load only).

        A record is never deleted, so one listed before that the load lacks was
        committed after the load read the day (a record added while a reload after a
        void ran): it stays listed and counted.
        """
        previous = self._day_records
        self._day = view.totals.day
        self._grams_by_class = dict(view.totals.grams_by_classification)
        self._day_records = {record.id: record for record in view.drop_offs}
        table = self.query_one(DropOffTable)
        table.show(view.drop_offs)
        newer = [
            r
            for r in previous.values()
            if r.id not in self._day_records
            and r.recorded_at.astimezone(STATION_TZ).date() == view.totals.day
        ]
        for record in sorted(newer, key=lambda r: r.recorded_at):
            self._day_records[record.id] = record
            if table.add_first(record) and not record.voided:
                grams = self._grams_by_class
                grams[record.classification] = (
                    grams.get(record.classification, 0) + record.weight_grams
                )
        table.move_cursor(row=0)  # the newest on top, ready for a reprint
        self._show_totals()

    def add_to_day(self, record: RecordedDropOff) -> None:
        """A drop-off the service committed: on top of the list and into the totals,
        without loading the day again (a few hundred rows took 100 ms).

        The service returns the record as stored, so the list and totals are what the
        database holds. A record of another day than the one shown (midnight passed)
        loads the new day instead; one listed already (the day's load came after it
        was committed) is not added twice.
        """
        if self._day is None:
            # The day's first load is on its way; it may have read the day before this
            # record was committed: show_day keeps it then.
            self._day_records[record.id] = record
            return
        if record.recorded_at.astimezone(STATION_TZ).date() != self._day:
            self._reload_day()
            return
        table = self.query_one(DropOffTable)
        self._day_records[record.id] = record
        if table.add_first(record):
            if not record.voided:
                grams = self._grams_by_class
                grams[record.classification] = (
                    grams.get(record.classification, 0) + record.weight_grams
                )
            self._show_totals()
        table.move_cursor(row=0)

    @work(thread=True, exclusive=True, group="today")
    def _reload_day(self) -> None:
        self._load_day()

    def _show_totals(self) -> None:
        self.query_one(TotalsStrip).show(
            self._grams_by_class, self._messages, self._config.language
        )

    @on(ServiceFailed)
    def _service_failed(self, message: ServiceFailed) -> None:
        self._set_prompt(self._messages.t("status.failed", error=message.error), "error")

    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        self._set_prompt(message.text, message.severity)

    # -- scale and printer ---------------------------------------------------------------

    def show_snapshot(self, snapshot: ScaleSnapshot) -> None:
        # When the reason shown no longer holds, show again what is chosen and what
        # Enter will do. (Compared by reason, not by weight: a load in motion changes
        # its weight every frame and stays refused.)
        if (
            self._composed
            and self._refused_with is not None
            and self._entry is not None
            and not self._recording
            and _reason(self._counter.check(self._entry)) is not self._refused_with
        ):
            self._step_prompt()
        self._snapshot = snapshot
        if self._composed:
            self.query_one(WeightDisplay).show(snapshot)
            self._refresh_status()
            # An armed capture records the moment the load settles, not a tick later.
            self._settle_if_due()

    def show_preview(self, lines: Sequence[PreviewLine]) -> None:
        self._preview_lines = lines
        if self._composed:
            self.query_one(LabelPreview).show_lines(lines)

    def show_printer_line(self, line: str) -> None:
        """The printer's part of the status line, in words (see ``status_words``)."""
        self._printer_line = line
        self.refresh_status()

    def _refresh_status(self) -> None:
        t = self._messages.t
        demo = self._config.is_demo
        parts = []
        snapshot = self._snapshot
        if snapshot is not None:
            where = t("status.demo_scale") if demo else snapshot.port
            if snapshot.state is ScaleState.OFFLINE:
                line = t("status.scale_offline", port=where)
                if snapshot.detail == "silent":
                    line += " (" + t("status.scale_silent") + ")"
                elif snapshot.cause and (not demo or self._scale.simulator is None):
                    # The driver's reason, in words (in demo mode only when the
                    # simulator itself could not start); its English is in the detail.
                    line += f" ({link_words(snapshot.cause, self._messages)})"
                parts.append(line)
            else:
                parts.append(t("status.scale", port=where))
        parts.append(self._printer_line)
        line = " · ".join(p for p in parts if p)
        # Asked again with every scale reading: an unchanged line is not drawn again.
        if line != self._status_shown:
            before = self._status_shown or ""
            self._status_shown = line
            status = self.query_one("#status", Static)
            # One line as wide as the screen, up to four where the words need them (an
            # offline scale beside a refusing printer at 80 columns): only words that do
            # not fit on one line, or that did not, may change its height and need a
            # layout.
            width = status.content_size.width
            fits = width > 0 and cell_len(line) <= width and cell_len(before) <= width
            status.update(line, layout=not fits)

    def refresh_status(self) -> None:
        """Show the status line again. Safe at any moment of the screen's life: before
        the screen is composed or after it left, the state waits here and
        :meth:`on_mount` shows it."""
        if self._composed:
            self._refresh_status()

    # -- other keys ----------------------------------------------------------------------

    def action_reprint(self) -> None:
        table = self.query_one(DropOffTable)
        drop_off_id = table.drop_off_id_at_cursor()
        if not self._counter.is_open or drop_off_id is None:
            return
        code = str(table.get_cell(drop_off_id, "code"))
        self._reprint(drop_off_id, code)

    @work(thread=True, group="print")
    def _reprint(self, drop_off_id: str, label_code: str) -> None:
        # A database write: never on the UI thread, and a refusal (a voided record,
        # a locked database) is said on the prompt, not raised.
        try:
            self._counter.reprint(drop_off_id)
        except Exception as exc:
            self.post_message(ServiceFailed(failure_words(exc, self._messages)))
            return
        text = self._messages.t("record.reprint_queued", label_code=label_code)
        self.post_message(ActionDone(text))

    # -- void and correct (Delete, c) --------------------------------------------------------

    def _selected_record(self) -> RecordedDropOff | None:
        table = self.query_one(DropOffTable)
        if not self._counter.is_open or table.row_count == 0:
            self._set_prompt(self._messages.t("record.nothing_selected"), "warning")
            return None
        drop_off_id = table.drop_off_id_at_cursor()
        record = self._day_records.get(drop_off_id) if drop_off_id else None
        if record is None:
            return None
        refused = self._counter.corrections.refusal_for(record)
        if refused is not None:
            self._set_prompt(self._refusal_words(refused), "warning")
            return None
        return record

    def _refusal_words(self, refused: CorrectionRefused) -> str:
        return refusal_words(refused, self._messages, self._config.language)

    def _modal_title(self, key: str, record: RecordedDropOff) -> str:
        return self._messages.t(
            key,
            label_code=record.label_code,
            weight=format_kg(record.weight_grams, self._config.language),
            category=record.category_name,
        )

    def _change_selected(
        self,
        title_key: str,
        modal: Callable[[str, str], ModalScreen[Answer | None]],
        save: Callable[[str, Answer], object],
    ) -> None:
        """Void or correct the selected record: ask ``modal`` (titled by
        ``title_key``) and hand its answer to the ``save`` worker."""
        if self._recording:
            return
        record = self._selected_record()
        if record is None:
            return
        # A capture waiting for the load to settle must not record the load under the
        # question (nor be taken by "weigh again" as well).
        self._counter.cancel_armed()

        def answered(answer: Answer | None) -> None:
            if answer is None:
                self._set_prompt(self._messages.t("record.cancelled"))
                return
            self._set_prompt(self._messages.t("correction.saving"), "info")
            save(record.id, answer)

        self.app.push_screen(modal(self._modal_title(title_key, record), record.id), answered)

    def _save_change(
        self, change: Callable[[], Changed | CorrectionRefused], done: Callable[[Changed], str]
    ) -> None:
        """Run ``change`` (a void or a correction; in a worker: it blocks on the
        database) and say what came of it in the words ``done`` gives."""
        try:
            outcome = change()
        except Exception as exc:  # nothing was changed; the attendant must see why
            words = failure_words(exc, self._messages)
            self.post_message(
                ActionDone(self._messages.t("correction.failed", reason=words), "error")
            )
            return
        if isinstance(outcome, CorrectionRefused):
            self.post_message(ActionDone(self._refusal_words(outcome), "warning"))
            return
        self._load_day()
        self.post_message(ActionDone(done(outcome), "success"))

    def action_void(self) -> None:
        from counter_app.ui.void import VoidScreen

        self._change_selected(
            "correction.void_title",
            lambda title, _id: VoidScreen(self._messages, title),
            self._void,
        )

    # Its own group: the exclusive "record" workers (Enter, settle) must never cancel it.
    @work(thread=True, group="change")
    def _void(self, drop_off_id: str, reason: str) -> None:
        self._save_change(
            lambda: self._counter.void(drop_off_id, reason),
            lambda voided: self._messages.t(
                "correction.voided", label_code=voided.drop_off.label_code
            ),
        )

    def action_correct(self) -> None:
        from counter_app.ui.correct import CorrectScreen

        def modal(title: str, drop_off_id: str) -> CorrectScreen:
            return CorrectScreen(
                self._messages,
                self._config.language,
                self._catalogue,
                title,
                weight_now=lambda: self._weight_to_correct_with(drop_off_id),
            )

        self._change_selected("correction.correct_title", modal, self._correct)

    def _weight_to_correct_with(self, drop_off_id: str) -> tuple[str | None, str, int | None]:
        found = self._counter.weight_to_correct_with(drop_off_id)
        if isinstance(found, CaptureRefusal):
            return None, self._messages.t(REFUSAL_KEYS[found]), None
        assert found.grams is not None  # a reading fit to record has its grams
        return format_kg(found.grams, self._config.language), "", found.grams

    @work(thread=True, group="change")
    def _correct(self, drop_off_id: str, request: CorrectionRequest) -> None:
        self._save_change(
            lambda: self._counter.correct(
                drop_off_id,
                reason=request.reason,
                entry=request.entry,
                weigh_again=request.weigh_again,
                weighed_grams=request.weighed_grams,
            ),
            lambda corrected: self._messages.t(
                "correction.corrected",
                label_code=corrected.correction.label_code,
                original=corrected.original.label_code,
            ),
        )

    def action_zero(self) -> None:
        self._zero_or_tare(ZeroTareCommand.ZERO)

    def action_tare(self) -> None:
        self._zero_or_tare(ZeroTareCommand.TARE)

    def _zero_or_tare(self, command: ZeroTareCommand) -> None:
        # The same guard as F9 (pressed twice, no zero under a load); the words differ.
        t = self._messages.t
        answer = self._zero_tare.press(command)
        if answer is ZeroTareAnswer.UNSUPPORTED:
            self._set_prompt(t("zero_tare.unsupported"), "warning")
        elif answer is ZeroTareAnswer.NOT_CONNECTED:
            self._set_prompt(t("capture.offline"), "error")
        elif answer is ZeroTareAnswer.LOADED:
            self._set_prompt(t("zero_tare.loaded"), "warning")
        elif answer is ZeroTareAnswer.ARMED:
            words = t(f"diagnostics.{command.value}")
            self._set_prompt(t("diagnostics.confirm", command=words, press=command.key), "warning")
        else:
            self._set_prompt(t(f"zero_tare.{command.value}_sent"), "info")

    def on_key(self, event: events.Key) -> None:
        self._zero_tare.key_pressed(event.key)

    # -- a weight typed in by hand ----------------------------------------------------------

    def action_manual_weight(self) -> None:
        from counter_app.ui.manual_weight import ManualWeightScreen

        if self._recording:
            return
        entry = self._entry
        if entry is None:
            self._set_prompt(self._messages.t("manual.choose_first"), "warning")
            return
        self._counter.cancel_armed()

        def entered(typed: tuple[str, str] | None) -> None:
            if typed is None:
                self._step_prompt()
                return
            self._recording = True
            self._set_prompt(self._messages.t("prompt.saving"), "info")
            self._record_manual(entry, *typed)

        self.app.push_screen(
            ManualWeightScreen(
                self._messages, entry.name(self._config.language), self._manual_problem
            ),
            entered,
        )

    def _manual_problem(self, weight_text: str, reason: str) -> str | None:
        """The modal's check before it closes: the service's rule, in words."""
        problem = self._counter.check_manual(weight_text, reason)
        return None if problem is None else self._manual_words(ManualRefused(problem))

    def _manual_words(self, refused: ManualRefused) -> str:
        capacity = self._config.scale.capacity_kg * 1000
        return self._messages.t(
            f"manual.{refused.problem.value}",
            capacity=format_kg(int(capacity), self._config.language),
        )

    @work(thread=True, exclusive=True, group="record")
    def _record_manual(self, entry: CatalogueEntry, weight_text: str, reason: str) -> None:
        self._finish_record(lambda: self._counter.record_manual(entry, weight_text, reason))

    def action_cursor(self, delta: int) -> None:
        table = self.query_one(DropOffTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + delta)))

    def action_scroll_preview(self, pages: int) -> None:
        # The label is taller than a 24-line terminal: page through it.
        preview = self.query_one("#preview-pane", VerticalScroll)
        if pages < 0:
            preview.scroll_page_up()
        else:
            preview.scroll_page_down()

    def action_toggle_preview(self) -> None:
        self._preview_toggled = not self._preview_toggled
        self._layout_preview()

    def action_print_queue(self) -> None:
        from counter_app.ui.print_queue import PrintQueueScreen

        printer = self._counter.printer
        if printer is None:
            self._set_prompt(self._messages.t("status.database_not_ready"), "warning")
            return
        self.app.push_screen(PrintQueueScreen(self._messages, printer))

    def action_totals_slip(self) -> None:
        printer = self._counter.printer
        if printer is None:
            self._set_prompt(self._messages.t("status.database_not_ready"), "warning")
            return
        self._queue_totals_slip(printer)

    @work(thread=True, group="print")
    def _queue_totals_slip(self, printer: PrintService) -> None:
        try:
            printer.queue_totals_slip()
        except Exception as exc:
            self.post_message(ServiceFailed(failure_words(exc, self._messages)))
            return
        self.post_message(ActionDone(self._messages.t("slip.queued")))

    def action_diagnostics(self) -> None:
        from counter_app.ui.diagnostics import DiagnosticsScreen

        self.app.push_screen(DiagnosticsScreen(self._scale, self._messages))

    def action_help(self) -> None:
        # The help lists the keys this counter offers: Delete and c only where the site
        # allows corrections at the counter.
        not_offered = () if self._config.counter.allow_corrections else ("Delete", "c")
        self.app.push_screen(HelpScreen(self._messages, not_offered))


def _reason(outcome: Refused | NeedsConfirmation | None) -> RefusalReason | None:
    return outcome.reason if isinstance(outcome, Refused) else None
