"""``counter scale monitor``: the indicator's raw bytes and decoded readings, live."""

from __future__ import annotations

import argparse
import threading
import time
from collections import deque
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from counter_app.cli.context import CliContext
from counter_app.cli.scale_decode import MONITOR_LOG_HEADER
from counter_app.cli.scale_protocols import (
    CliProblem,
    build_protocol,
    parse_options,
    say_problem,
)
from counter_app.i18n import to_local_time
from counter_app.scale_view import clock, printable
from drivers.scale.reading import Reading
from drivers.scale.signal import SignalJudge, SignalState


def _scale_config(ctx: CliContext, explicit: bool) -> Any:
    """The [scale] configuration, or None when there is none to use.

    With both --port and --protocol given, a broken configuration file is only a
    warning: the technician can still look at the line.
    """
    try:
        from counter_app.config import ConfigError
    except ImportError:
        return None
    try:
        config = ctx.config
    except ConfigError as exc:
        if not explicit:
            raise
        print(f"counter scale: ignoring the configuration: {exc}", file=ctx.err)
        return None
    return getattr(config, "scale", None)


SIGNAL_WORDS = {
    SignalState.WAITING: ("waiting for data", "yellow"),
    SignalState.OK: ("ok: frames decode", "green"),
    SignalState.UNREADABLE: (
        "unreadable signal: bytes arrive but do not decode (wrong protocol, baud rate or parity?)",
        "bold red",
    ),
    SignalState.SILENT: ("silent: no bytes (cable, power, port?)", "bold red"),
}


def _monotonic_ms() -> int:
    return int(time.monotonic() * 1000)


def _at_start(log: IO[str]) -> bool:
    """True for a new or empty log file, and for a pipe or terminal (no position)."""
    try:
        return log.tell() == 0
    except OSError:  # io.UnsupportedOperation: --log /dev/stdout | ...
        return True


class MonitorView:
    """What ``counter scale monitor`` shows; fed from the transport's thread."""

    def __init__(self, title: str, log: IO[str] | None = None, rows: int = 12) -> None:
        self.title = title
        self.log = log
        if log is not None and _at_start(log):
            log.write(MONITOR_LOG_HEADER + "\n")
        self._lock = threading.Lock()
        self._raw: deque[Any] = deque(maxlen=rows)
        self._readings: deque[Reading] = deque(maxlen=rows)
        self._times: deque[float] = deque(maxlen=2000)
        self._link: Any = None
        self.started = time.monotonic()
        # The same judgement the counter makes: silent, unreadable or ok.
        self.signal = SignalJudge()
        self.checksum_failures = 0

    def on_raw(self, chunk: Any) -> None:
        with self._lock:
            if chunk.direction == "rx":
                self.signal.bytes_arrived(_monotonic_ms())
            self._raw.append(chunk)
            if self.log is not None:
                # The station's local time with its UTC offset (ISO 8601), as every
                # time the counter shows: compared with labels and records, and exact
                # across the change to and from summer time.
                stamp = to_local_time(chunk.at).isoformat(timespec="milliseconds")
                self.log.write(
                    f"{stamp} {chunk.direction} {chunk.data.hex(' ')}  {printable(chunk.data)}\n"
                )

    def on_reading(self, reading: Reading) -> None:
        with self._lock:
            if reading.kind == "error" and reading.error == "checksum":
                self.checksum_failures += 1
            self.signal.reading_arrived(reading, _monotonic_ms())
            self._readings.append(reading)
            self._times.append(time.monotonic())

    def on_link(self, link: Any) -> None:
        with self._lock:
            self._link = link
            self.signal.reset()

    def frames_per_second(self, window: float = 3.0) -> float:
        now = time.monotonic()
        with self._lock:
            recent = sum(1 for t in self._times if t > now - window)
        span = min(window, max(now - self.started, 1e-3))
        return recent / span

    def render(self, transport: Any) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        with self._lock:
            raw = list(self._raw)
            readings = list(self._readings)
            link = self._link
            signal = self.signal.state(_monotonic_ms())

        header = Table.grid(padding=(0, 2))
        header.add_column(style="bold")
        header.add_column()
        header.add_row("port", self.title)
        if link is not None:
            colour = {"connected": "green", "connecting": "yellow"}.get(link.state, "red")
            header.add_row("link", Text(f"{link.state}: {link.message}", style=colour))
        signal_text, signal_colour = SIGNAL_WORDS[signal]
        header.add_row("signal", Text(signal_text, style=signal_colour))
        header.add_row(
            "frames",
            f"{transport.frames} ({self.frames_per_second():.1f}/s), "
            f"errors {transport.errors} (checksum {self.checksum_failures}), "
            f"missed {transport.missed}, "
            f"bytes {transport.bytes_received}",
        )

        raw_table = Table(title="raw bytes", expand=True, title_justify="left")
        raw_table.add_column("time", no_wrap=True)
        raw_table.add_column("", no_wrap=True)
        raw_table.add_column("hex", overflow="ellipsis", no_wrap=True, ratio=3)
        raw_table.add_column("text", overflow="ellipsis", no_wrap=True, ratio=2)
        for chunk in raw:
            raw_table.add_row(
                clock(chunk.at), chunk.direction, chunk.data.hex(" "), printable(chunk.data)
            )

        decoded = Table(title="readings", expand=True, title_justify="left")
        # What a technician reads off is never cut: time, kind, weight, unit, stable
        # and net keep their width, and on a narrow terminal the raw frame (its bytes
        # are in the raw table above) gives way.
        decoded.add_column("time", no_wrap=True, min_width=12)  # 14:05:09.123
        decoded.add_column("kind", no_wrap=True, min_width=6)
        decoded.add_column("weight", no_wrap=True, min_width=8, justify="right")
        decoded.add_column("unit", no_wrap=True, min_width=4)
        decoded.add_column("stable", no_wrap=True, min_width=6)
        decoded.add_column("net", no_wrap=True, min_width=3)
        decoded.add_column("flags", no_wrap=True, overflow="ellipsis", max_width=18)
        decoded.add_column("raw", no_wrap=True, overflow="ellipsis", ratio=1, min_width=4)
        for reading in readings:
            flags = [
                name
                for name, on in (("overload", reading.overload), ("underload", reading.underload))
                if on
            ]
            if reading.error and reading.error not in flags:  # "overload" says it once
                flags.append(reading.error)
            style = "red" if reading.kind == "error" else None
            decoded.add_row(
                clock(reading.received_at),
                reading.kind,
                "" if reading.weight is None else str(reading.weight),
                reading.unit or "",
                _tri(reading.stable),
                _tri(reading.net),
                " ".join(flags),
                printable(reading.raw),
                style=style,
            )
        return Group(header, raw_table, decoded)


def _tri(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from rich.console import Console
    from rich.live import Live

    from drivers.scale.line import LineSettings
    from drivers.scale.transport import ScaleTransport

    scale = _scale_config(ctx, explicit=bool(args.port and args.protocol))
    port = args.port or getattr(scale, "port", None) or "sim"
    protocol_name = args.protocol or getattr(scale, "protocol", None) or "comma"
    options = dict(getattr(scale, "options", None) or {})
    simulator: Any = None
    scenario: Any = None
    try:
        options.update(parse_options(args.option))
        protocol = build_protocol(protocol_name, options, getattr(scale, "capacity_kg", None))
        title = f"{port} ({protocol_name})"
        if port == "sim":
            from drivers.scale.simulator import (
                DemoScenario,
                ScaleSimulator,
                SimulatorUnavailableError,
            )

            try:
                simulator = ScaleSimulator(protocol_name)
                simulator.start()
            except (SimulatorUnavailableError, OSError) as exc:
                raise CliProblem(f"cannot start the simulator: {exc}") from None
            scenario = DemoScenario(simulator)
            scenario.start()
            port = simulator.port
            title = f"built-in simulator on {port} ({protocol_name})"
        with ExitStack() as stack:
            log: IO[str] | None = None
            if args.log:
                try:
                    log = stack.enter_context(Path(args.log).open("a", encoding="utf-8"))
                except OSError as exc:
                    raise CliProblem(f"cannot write {args.log}: {exc.strerror or exc}") from None
            view = MonitorView(title, log)
            # The configured line, when the configured port is watched; --baudrate over it.
            settings: LineSettings = scale if scale is not None else LineSettings()
            if args.baudrate:
                settings = settings.model_copy(update={"baudrate": args.baudrate})
            line = settings.over(protocol.serial_defaults)
            transport = ScaleTransport(
                port,
                protocol,
                baudrate=line.baudrate,
                bytesize=line.bytesize,
                parity=line.parity,
                stopbits=line.stopbits,
                on_reading=view.on_reading,
                on_link=view.on_link,
                raw_listener=view.on_raw,
                poll_interval=getattr(scale, "poll_interval_ms", 200) / 1000,
            )
            console = Console(file=ctx.out)
            deadline = None if args.duration is None else time.monotonic() + args.duration
            transport.start()
            try:
                with Live(view.render(transport), console=console, refresh_per_second=4) as live:
                    while deadline is None or time.monotonic() < deadline:
                        time.sleep(0.25)
                        live.update(view.render(transport))
            except KeyboardInterrupt:
                pass
            finally:
                transport.stop()
    except CliProblem as problem:
        return say_problem(ctx, problem)
    finally:
        if scenario is not None:
            scenario.stop()
        if simulator is not None:
            simulator.stop()
    return 0


__all__ = ["MonitorView", "run"]
