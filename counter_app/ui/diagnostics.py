"""The technician's scale diagnostics: what the line carries and what it means.

On site, a technician wires an indicator and needs to see at once whether bytes
arrive, whether they decode, and how often they break: the port and its settings,
the link, the raw bytes as hex and text, every decoded reading, the frame rate and
the error, checksum and missed-reply counts. Zero and tare can be sent from here.

The screen never touches the port. It listens to the scale service: the listeners
only put chunks and readings into a bounded :class:`~counter_app.scale_view.LineFeed`
on the transport's thread, and the screen drains it a few times a second, so a
20 Hz indicator (or a burst of noise) never floods the UI.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import RichLog, Static

from counter_app.i18n import Messages
from counter_app.scale_view import (
    FrameRate,
    LineFeed,
    clock,
    hex_bytes,
    printable,
)
from counter_app.services.scale import ScaleService, ScaleState
from counter_app.services.zero_tare import ZeroTareAnswer, ZeroTareCommand, ZeroTareGuard
from counter_app.ui.status_words import link_words
from counter_app.ui.widgets import STATE_KEYS, KeyBar
from drivers.scale.reading import Reading
from drivers.scale.transport import RawChunk

#: View refreshes a second: fast enough to look live, slow enough to cost nothing.
REFRESH_HZ = 8
#: Lines kept in each log.
LOG_LINES = 500
#: From this width the two logs stand side by side.
WIDE = 120

# Column widths of the readings log (the header is built with the same widths).
_COLUMNS = (
    ("col_time", 12, "<"),
    ("col_kind", 7, "<"),
    ("col_weight", 11, ">"),
    ("col_unit", 5, "<"),
    ("col_stable", 7, "<"),
    ("col_net", 6, "<"),
    ("col_flags", 11, "<"),
    ("col_error", 0, "<"),
)


class DiagnosticsScreen(Screen[None]):
    """Live view of the scale line for the technician; Esc goes back."""

    DEFAULT_CSS = """
    DiagnosticsScreen {
        layout: vertical;
    }
    DiagnosticsScreen #diag-title {
        height: 1;
        padding: 0 1;
        background: $primary-darken-2;
        text-style: bold;
    }
    DiagnosticsScreen #diag-info {
        height: auto;
        padding: 0 1;
        layout: vertical;
    }
    DiagnosticsScreen.-wide #diag-info {
        layout: horizontal;
    }
    DiagnosticsScreen #diag-line, DiagnosticsScreen #diag-counters {
        height: auto;
        width: 1fr;
    }
    DiagnosticsScreen #diag-reading {
        height: auto;
        padding: 0 1;
        background: $boost;
    }
    DiagnosticsScreen #diag-logs {
        height: 1fr;
        layout: vertical;
    }
    DiagnosticsScreen.-wide #diag-logs {
        layout: horizontal;
    }
    DiagnosticsScreen .diag-pane {
        height: 1fr;
        width: 1fr;
    }
    DiagnosticsScreen .diag-pane-title {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    DiagnosticsScreen RichLog {
        height: 1fr;
        padding: 0 1;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    DiagnosticsScreen #diag-notice {
        height: 1;
        padding: 0 1;
    }
    DiagnosticsScreen #diag-notice.-warning { background: $warning 40%; }
    DiagnosticsScreen #diag-notice.-error { background: $error 50%; }
    DiagnosticsScreen #diag-notice.-success { background: $success 35%; }
    DiagnosticsScreen #diag-notice.-info { background: $primary 30%; }
    """

    # (key, action, catalogue key of the footer text, key shown in the footer)
    KEYS = (
        ("z", "zero", "diagnostics.key_zero", "z"),
        ("t", "tare", "diagnostics.key_tare", "t"),
        ("p", "pause", "diagnostics.key_pause", "p"),
        ("escape,f9", "back", "diagnostics.key_back", "Esc"),
    )

    def __init__(self, scale_service: ScaleService, messages: Messages) -> None:
        super().__init__()
        self._service = scale_service
        self._messages = messages
        self._feed = LineFeed(limit=LOG_LINES)
        self._rate = FrameRate()
        self._paused = False
        # Zero and tare pressed twice, as on the counter screen.
        self._zero_tare = ZeroTareGuard(scale_service)
        self._last_reading: Reading | None = None
        self._timer: Timer | None = None
        for keys, action, text_key, display in self.KEYS:
            self._bindings.bind(keys, action, messages.t(text_key), key_display=display)

    # -- building -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        t = self._messages.t
        yield Static(t("diagnostics.title"), id="diag-title")
        with Horizontal(id="diag-info"):
            yield Static(id="diag-line")
            yield Static(id="diag-counters")
        yield Static(id="diag-reading")
        with Horizontal(id="diag-logs"):
            with Vertical(classes="diag-pane"):
                yield Static(t("diagnostics.raw_title"), classes="diag-pane-title")
                yield RichLog(id="diag-raw", max_lines=LOG_LINES, wrap=True, min_width=20)
            with Vertical(classes="diag-pane"):
                yield Static(self._readings_header(), classes="diag-pane-title")
                yield RichLog(id="diag-readings", max_lines=LOG_LINES, min_width=20)
        yield Static("", id="diag-notice")
        yield KeyBar()

    def on_mount(self) -> None:
        self._service.add_raw_listener(self._feed.on_raw)
        self._service.add_reading_listener(self._feed.on_reading)
        self._layout()
        self._refresh_view()
        self._timer = self.set_interval(1 / REFRESH_HZ, self._refresh_view)

    def on_unmount(self) -> None:
        self._service.remove_raw_listener(self._feed.on_raw)
        self._service.remove_reading_listener(self._feed.on_reading)
        if self._timer is not None:
            self._timer.stop()

    def on_resize(self) -> None:
        self._layout()

    def _layout(self) -> None:
        wide = self.size.width >= WIDE
        # Side by side on a wide screen; one under the other on 80 columns.
        self.set_class(wide, "-wide")

    # -- refreshing ---------------------------------------------------------------------

    def _refresh_view(self) -> None:
        drained = self._feed.drain()
        if drained.readings:
            self._last_reading = drained.readings[-1]
        self.query_one("#diag-line", Static).update(self._line_table())
        self.query_one("#diag-counters", Static).update(self._counters_table())
        self.query_one("#diag-reading", Static).update(self._reading_table(self._last_reading))
        if self._paused:
            return
        raw_log = self.query_one("#diag-raw", RichLog)
        if drained.dropped:
            raw_log.write(
                Text(self._messages.t("diagnostics.dropped", count=drained.dropped), "dim")
            )
        for chunk in drained.raw:
            for line in self._raw_lines(chunk, raw_log.scrollable_content_region.width):
                raw_log.write(line)
        readings_log = self.query_one("#diag-readings", RichLog)
        for reading in drained.readings:
            readings_log.write(self._reading_row(reading))

    # -- what is shown --------------------------------------------------------------------

    def _grid(self) -> Table:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True, min_width=10)
        grid.add_column()
        return grid

    def _line_table(self) -> Table:
        t = self._messages.t
        settings = self._service.line_settings()
        grid = self._grid()
        port = settings.port
        if settings.simulated:
            port = t("diagnostics.simulator", port=port)
        grid.add_row(t("diagnostics.port"), port)
        mode = t("diagnostics.polled" if settings.polled else "diagnostics.continuous")
        grid.add_row(t("diagnostics.protocol"), f"{settings.protocol} · {mode}")
        stopbits = settings.stopbits
        grid.add_row(
            t("diagnostics.line"),
            t(
                "diagnostics.line_value",
                baudrate=settings.baudrate,
                bytesize=settings.bytesize,
                parity=t(f"diagnostics.parity_{settings.parity.lower()}"),
                stopbits=int(stopbits) if float(stopbits).is_integer() else f"{stopbits:g}",
                framing=settings.framing,
            ),
        )
        link = self._service.transport_link()
        if link is None:
            link_text = Text(t("diagnostics.link_not_started"), "yellow")
        else:
            colour = {"connected": "green", "connecting": "yellow"}.get(link.state, "red")
            link_text = Text(t(f"diagnostics.link_{link.state}"), f"bold {colour}")
            if link.cause is not None:
                link_text.append(f": {link_words(link.cause, self._messages)}", colour)
            elif link.state == "connected":
                link_text.append(f": {link.port}", colour)
        grid.add_row(t("diagnostics.link"), link_text)
        # The counter's own judgement of the line: the same words the attendant sees.
        state = self._service.snapshot().state
        colour = {ScaleState.STABLE: "green", ScaleState.MOTION: "yellow"}.get(state, "red")
        if state is ScaleState.CONNECTING:
            colour = "yellow"
        grid.add_row(t("diagnostics.signal"), Text(t(STATE_KEYS[state]), f"bold {colour}"))
        return grid

    def _counters_table(self) -> Table:
        t = self._messages.t
        counters = self._service.counters()
        rate = self._rate.sample(counters.frames)
        grid = self._grid()
        grid.add_row(
            t("diagnostics.frames"),
            t(
                "diagnostics.frames_value",
                frames=counters.frames,
                rate=self._number(f"{rate:.1f}"),
                bytes=counters.bytes_received,
                connections=counters.connections,
            ),
        )
        bad = counters.errors or counters.checksum_failures or counters.missed
        grid.add_row(
            t("diagnostics.errors"),
            Text(
                t(
                    "diagnostics.errors_value",
                    errors=counters.errors,
                    checksum=counters.checksum_failures,
                    missed=counters.missed,
                ),
                "bold red" if bad else "",
            ),
        )
        return grid

    def _reading_table(self, reading: Reading | None) -> Table:
        t = self._messages.t
        grid = self._grid()
        if reading is None:
            grid.add_row(t("diagnostics.reading"), Text(t("diagnostics.reading_none"), "dim"))
            return grid
        weight = "-" if reading.weight is None else self._number(str(reading.weight))
        if reading.unit:
            weight += f" {reading.unit}"
        value = t(
            "diagnostics.reading_value",
            weight=weight,
            stable=self._yes_no(reading.stable),
            net=self._yes_no(reading.net),
            overload=self._yes_no(reading.overload),
            underload=self._yes_no(reading.underload),
            kind=t(f"diagnostics.kind_{reading.kind}"),
            error=reading.error or "-",
        )
        style = {"error": "bold red", "status": "bold yellow"}.get(reading.kind, "bold")
        grid.add_row(t("diagnostics.reading"), Text(value, style))
        return grid

    def _readings_header(self) -> str:
        return self._columns(self._messages.t(f"diagnostics.{key}") for key, _, _ in _COLUMNS)

    def _reading_row(self, reading: Reading) -> Text:
        t = self._messages.t
        flags = [
            t(f"diagnostics.{name}")
            for name, on in (("overload", reading.overload), ("underload", reading.underload))
            if on
        ]
        net = "-" if reading.net is None else t("scale.net" if reading.net else "scale.gross")
        row = self._columns(
            (
                clock(reading.received_at),
                t(f"diagnostics.kind_{reading.kind}"),
                "-" if reading.weight is None else self._number(str(reading.weight)),
                reading.unit or "-",
                self._yes_no(reading.stable),
                net.lower(),
                ",".join(flags),
                reading.error or "",
            )
        )
        style = {"error": "red", "status": "yellow"}.get(reading.kind, "")
        return Text(row, style)

    @staticmethod
    def _columns(values: Iterable[object]) -> str:
        cells = []
        for value, (_, width, align) in zip(values, _COLUMNS, strict=True):
            text = str(value)
            if width:
                text = f"{text[:width]:{align}{width}}"
            cells.append(text)
        return " ".join(cells).rstrip()

    def _raw_lines(self, chunk: RawChunk, width: int) -> list[Text]:
        lines = []
        incoming = chunk.direction == "rx"
        for index, part in enumerate(_rows_that_fit(chunk.data, width)):
            line = Text()
            line.append(clock(chunk.at) if index == 0 else " " * 12, "dim")
            line.append(f" {chunk.direction} ", "green" if incoming else "bold yellow")
            line.append(hex_bytes(part))
            line.append("  ")
            line.append(printable(part), "bold cyan")
            lines.append(line)
        return lines

    def _yes_no(self, value: bool | None) -> str:
        if value is None:
            return "-"
        return self._messages.t("diagnostics.yes" if value else "diagnostics.no")

    def _number(self, text: str) -> str:
        """A decoded number as the language writes it (a comma in Dutch)."""
        return text.replace(".", ",") if self._messages.language == "nl" else text

    def _notice(self, text: str, severity: str) -> None:
        notice = self.query_one("#diag-notice", Static)
        notice.update(text)
        for s in ("info", "warning", "error", "success"):
            notice.set_class(s == severity, f"-{s}")

    # -- keys -----------------------------------------------------------------------------

    def action_zero(self) -> None:
        self._command("zero")

    def action_tare(self) -> None:
        self._command("tare")

    def _command(self, name: str) -> None:
        t = self._messages.t
        command = ZeroTareCommand(name)
        words = t(f"diagnostics.{name}")
        answer = self._zero_tare.press(command)
        if answer is ZeroTareAnswer.UNSUPPORTED:
            protocol = self._service.line_settings().protocol
            self._notice(
                t("diagnostics.not_supported", command=words, protocol=protocol), "warning"
            )
        elif answer is ZeroTareAnswer.NOT_CONNECTED:
            self._notice(t("diagnostics.not_connected", command=words), "error")
        elif answer is ZeroTareAnswer.LOADED:
            self._notice(t("zero_tare.loaded"), "warning")
        elif answer is ZeroTareAnswer.ARMED:
            self._notice(t("diagnostics.confirm", command=words, press=command.key), "warning")
        else:
            self._notice(t("diagnostics.sent", command=words), "success")

    def on_key(self, event: events.Key) -> None:
        self._zero_tare.key_pressed(event.key)

    def action_pause(self) -> None:
        self._paused = not self._paused
        if self._paused:
            self._notice(self._messages.t("diagnostics.paused"), "info")
        else:
            self._notice("", "")

    def action_back(self) -> None:
        self.dismiss(None)


def _rows_that_fit(data: bytes, width: int) -> list[bytes]:
    """Cut a chunk into rows whose time, direction, hex and text fit in ``width``.

    A byte costs three columns of hex and one to four of text (``\\xff``); at most
    32 bytes a row, at least 4, so a burst of noise stays readable on any screen.
    """
    room = width - len("00:00:00.000 rx   ")
    rows: list[bytes] = []
    start, used = 0, 0
    for index in range(len(data)):
        cost = 3 + len(printable(data[index : index + 1]))
        count = index - start
        if count >= 4 and (count >= 32 or used + cost > room):
            rows.append(data[start:index])
            start, used = index, 0
        used += cost
    rows.append(data[start:])
    return rows


__all__ = ["DiagnosticsScreen"]
