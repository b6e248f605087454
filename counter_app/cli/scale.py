"""``counter scale ports | decode | monitor | simulate``: the technician's scale tools.

These commands speak English: they are for the person who wires the indicator, and
their output goes into support tickets and forum posts.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from counter_app.cli import CliContext
from counter_app.scale_view import clock, printable
from drivers.scale.protocol import IndicatorEmulator, ProtocolOptionError, ScaleProtocol
from drivers.scale.reading import IndicatorState, Reading
from drivers.scale.registry import (
    PROTOCOL_NAMES,
    UnknownProtocolError,
    make_emulator,
    make_protocol,
)
from drivers.scale.signal import SignalJudge, SignalState

PROTOCOL_LIST = ", ".join(PROTOCOL_NAMES)


class CliProblem(Exception):
    """A wrong argument, said in one line; the command exits with status 2."""


def register(subparsers: Any) -> None:
    scale = subparsers.add_parser(
        "scale",
        help="scale indicator tools: ports, decode, monitor, simulate",
        description="Tools for connecting and checking the scale indicator.",
    )
    scale.set_defaults(handler=_usage_handler(scale))
    commands = scale.add_subparsers(title="scale commands", metavar="COMMAND")

    ports = commands.add_parser("ports", help="list the serial ports of this computer")
    ports.set_defaults(handler=run_ports)

    decode = commands.add_parser(
        "decode",
        help="decode raw indicator bytes into one JSON object per frame",
        description="Read raw indicator bytes from standard input (or --file) and print "
        "one JSON object per frame, one per line.",
    )
    _add_protocol_argument(decode, required=True)
    decode.add_argument("--file", metavar="F", help="read the bytes from this file")
    decode.add_argument(
        "--capacity-kg",
        metavar="KG",
        help="the most the scale can weigh; a larger weight is an error frame (default 100000)",
    )
    _add_option_argument(decode)
    decode.set_defaults(handler=run_decode)

    monitor = commands.add_parser(
        "monitor",
        help="show live raw bytes and decoded readings from the indicator",
        description="Open the indicator's port and show the raw bytes (hex and text), "
        "the decoded readings, frames per second and errors, until Ctrl-C. Settings not "
        "given here come from the configuration's [scale] table.",
    )
    monitor.add_argument("--port", metavar="P", help='serial port or URL; "sim" = simulator')
    _add_protocol_argument(monitor, required=False)
    monitor.add_argument("--baudrate", metavar="N", type=int, help="line speed in bit/s")
    _add_option_argument(monitor)
    monitor.add_argument(
        "--log", metavar="FILE", help="append the raw byte stream with timestamps to FILE"
    )
    monitor.add_argument(
        "--duration", metavar="SECONDS", type=float, help="stop after this many seconds"
    )
    monitor.set_defaults(handler=run_monitor)

    simulate = commands.add_parser(
        "simulate",
        help="run a virtual indicator on a pseudo-terminal",
        description="Run a virtual indicator on a pseudo-terminal and print the port to "
        "open. Then read commands from standard input (type 'help').",
    )
    _add_protocol_argument(simulate, required=True)
    simulate.add_argument(
        "--link", metavar="PATH", help="also make a symbolic link to the port at PATH"
    )
    simulate.add_argument(
        "--weight", metavar="KG", default="0.00", help="starting weight (default 0.00)"
    )
    simulate.add_argument(
        "--rate", metavar="HZ", type=float, default=10.0, help="frames a second (default 10)"
    )
    _add_option_argument(simulate)
    simulate.set_defaults(handler=run_simulate)


def _add_protocol_argument(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--protocol", metavar="NAME", required=required, help=f"one of: {PROTOCOL_LIST}"
    )


def _add_option_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--option",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="a protocol option; repeat for more",
    )


def _usage_handler(parser: argparse.ArgumentParser) -> Any:
    def show_usage(args: argparse.Namespace, ctx: CliContext) -> int:
        parser.print_help(ctx.err)
        return 2

    return show_usage


# -- shared helpers -----------------------------------------------------------------


def parse_options(pairs: Sequence[str]) -> dict[str, str]:
    """``["unit=kg", "address=01"]`` -> ``{"unit": "kg", "address": "01"}``."""
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliProblem(f"--option expects KEY=VALUE, got {pair!r}")
        options[key.strip()] = value.strip()
    return options


def _missing_module(name: str, exc: ModuleNotFoundError) -> CliProblem:
    return CliProblem(
        f"scale protocol {name!r} is not available in this installation "
        f"(module {exc.name} is missing)"
    )


def build_protocol(
    name: str, options: Mapping[str, str], capacity_kg: Decimal | None = None
) -> ScaleProtocol:
    try:
        return make_protocol(name, options, capacity_kg=capacity_kg)
    except UnknownProtocolError as exc:
        raise CliProblem(str(exc)) from None
    except ProtocolOptionError as exc:
        raise CliProblem(str(exc)) from None
    except ModuleNotFoundError as exc:
        raise _missing_module(name, exc) from None


def build_emulator(name: str, options: Mapping[str, str]) -> IndicatorEmulator:
    try:
        emulator = make_emulator(name, options)
    except UnknownProtocolError as exc:
        raise CliProblem(str(exc)) from None
    except ProtocolOptionError as exc:
        raise CliProblem(str(exc)) from None
    except ModuleNotFoundError as exc:
        raise _missing_module(name, exc) from None
    unknown = sorted(set(options) - set(emulator.options_help))
    if unknown:
        known = ", ".join(sorted(emulator.options_help)) or "none"
        raise CliProblem(f"the {name!r} simulator has no option {unknown[0]!r} (options: {known})")
    return emulator


def _problem(ctx: CliContext, problem: CliProblem) -> int:
    print(f"counter scale: {problem}", file=ctx.err)
    return 2


# -- counter scale ports ---------------------------------------------------------------


def run_ports(args: argparse.Namespace, ctx: CliContext) -> int:
    from drivers.scale.ports import list_ports

    ports = list_ports()
    if not ports:
        print("no serial ports found", file=ctx.out)
        return 0
    width = max(len(p.device) for p in ports)
    for port in ports:
        print(f"{port.device.ljust(width)}  {port.description}  [{port.hwid}]", file=ctx.out)
    return 0


# -- counter scale decode --------------------------------------------------------------


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    # read1 hands over what a pipe has now, so `cat /dev/ttyUSB0 | counter scale
    # decode` prints readings as they arrive instead of at the end.
    read = getattr(stream, "read1", stream.read)
    while True:
        chunk = read(4096)
        if not chunk:
            return
        yield bytes(chunk)


#: First line of a ``counter scale monitor --log`` file; ``decode`` recognises it.
MONITOR_LOG_HEADER = "# counter scale monitor log: ISO time, rx|tx, hex bytes, two spaces, text"


def monitor_log_chunks(lines: Iterator[str]) -> Iterator[bytes]:
    """The received bytes of a monitor log, in order (``tx`` lines are our requests).

    A line is ``<time> <rx|tx> <hex bytes, one space apart>  <printable text>``; the
    two spaces end the hex, so the text column can never be mistaken for bytes.
    """
    for line in lines:
        if line.startswith("#") or not line.strip():
            continue
        parts = line.rstrip("\n").split(" ", 2)
        if len(parts) < 3 or parts[1] != "rx":
            continue
        hex_part = parts[2].partition("  ")[0]
        try:
            yield bytes.fromhex(hex_part)
        except ValueError:
            raise CliProblem(f"not a monitor log line: {line.strip()[:60]!r}") from None


def _capacity_argument(text: str | None) -> Decimal | None:
    from counter_app.config import parse_capacity

    if text is None:
        return None
    try:
        return parse_capacity(text)
    except ValueError as exc:
        raise CliProblem(f"--capacity-kg: {exc}") from None


def run_decode(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        protocol = build_protocol(
            args.protocol, parse_options(args.option), _capacity_argument(args.capacity_kg)
        )
        with ExitStack() as stack:
            if args.file:
                try:
                    stream: IO[bytes] = stack.enter_context(Path(args.file).open("rb"))
                except OSError as exc:
                    raise CliProblem(f"cannot read {args.file}: {exc.strerror or exc}") from None
            else:
                stream = sys.stdin.buffer
            chunks = _chunks(stream)
            first = next(chunks, b"")
            if first.startswith(MONITOR_LOG_HEADER.encode()):
                # A log written by `counter scale monitor --log`: decode what it saw.
                text = (first + b"".join(chunks)).decode("utf-8", "replace")
                chunks = monitor_log_chunks(iter(text.splitlines(keepends=True)))
            else:
                chunks = itertools.chain([first], chunks)
            timeouts = 0
            for chunk in chunks:
                for reading in protocol.feed(chunk):
                    print(json.dumps(reading.to_json_dict()), file=ctx.out)
                    timeouts += reading.error == "timeout"
                ctx.out.flush()
            # The input ended: a last frame without its terminator is shown, not lost.
            incomplete = 0
            for reading in protocol.finish():
                print(json.dumps(reading.to_json_dict()), file=ctx.out)
                timeouts += reading.error == "timeout"
                if reading.error == "incomplete":
                    incomplete += len(reading.raw)
            ctx.out.flush()
            if timeouts:
                noun = "frame" if timeouts == 1 else "frames"
                print(
                    f"counter scale decode: the pattern took too long on {timeouts} {noun}; "
                    "write it without nested repeats such as (a+)+",
                    file=ctx.err,
                )
            if incomplete:
                noun = "byte" if incomplete == 1 else "bytes"
                print(
                    f"counter scale decode: {incomplete} {noun} at the end did not complete "
                    "a frame",
                    file=ctx.err,
                )
    except CliProblem as problem:
        return _problem(ctx, problem)
    return 0


# -- counter scale simulate ------------------------------------------------------------

SIMULATOR_HELP = """\
commands:
  w KG        set the weight (e.g. w 12.5)
  m on|off    motion
  o on|off    overload
  u on|off    underload
  t KG        set the tare (t 0 clears it)
  g           inject a burst of garbage bytes
  d           drop-out: pull the cable, plug it back in after 2 s
  q           quit
  help        this list"""

# Bytes a line with a wrong baud rate or a loose connector produces.
GARBAGE = b"\x00\xff\x1b\x83ST,G\xfe\x9a\r\n\x15\xe1+00\xa712\r\n"


def _switch(word: str) -> bool:
    if word in ("on", "1", "yes", "true"):
        return True
    if word in ("off", "0", "no", "false"):
        return False
    raise CliProblem(f"expected on or off, got {word!r}")


class SimulatorConsole:
    """The command loop of ``counter scale simulate`` (one line, one command)."""

    def __init__(self, simulator: Any, out: IO[str], replug_after: float = 2.0) -> None:
        self.simulator = simulator
        self.out = out
        self.replug_after = replug_after
        self._replug: threading.Timer | None = None

    def handle(self, line: str) -> bool:
        """Carry out one command; False when the user asked to quit."""
        from drivers.scale.simulator import as_weight

        words = line.split()
        if not words:
            return True
        command, rest = words[0].lower(), words[1:]
        sim = self.simulator
        if command in ("q", "quit", "exit"):
            return False
        if command in ("help", "h", "?"):
            print(SIMULATOR_HELP, file=self.out)
        elif command in ("w", "t"):
            if len(rest) != 1:
                raise CliProblem(f"usage: {command} KG")
            try:
                value = as_weight(rest[0].replace(",", "."))
            except ValueError as exc:
                raise CliProblem(str(exc)) from None
            if command == "w":
                sim.set_weight(value)
            else:
                sim.set_tare(value)
        elif command in ("m", "o", "u"):
            if len(rest) != 1:
                raise CliProblem(f"usage: {command} on|off")
            setter = {"m": sim.set_motion, "o": sim.set_overload, "u": sim.set_underload}
            setter[command](_switch(rest[0].lower()))
        elif command == "g":
            sim.inject(GARBAGE)
        elif command == "d":
            self.cancel()
            sim.unplug()
            self._replug = threading.Timer(self.replug_after, self._plug_back)
            self._replug.daemon = True
            self._replug.start()
            print(f"unplugged; plugging back in after {self.replug_after:g} s", file=self.out)
            return True
        else:
            raise CliProblem(f"unknown command {command!r}; type 'help'")
        print(self.describe(), file=self.out)
        return True

    def describe(self) -> str:
        state: IndicatorState = self.simulator.snapshot()
        flags = ["motion" if state.motion else "stable"]
        if state.overload:
            flags.append("overload")
        if state.underload:
            flags.append("underload")
        if state.net:
            flags.append(f"tare {state.tare} {state.unit}")
        return f"weight {state.weight} {state.unit}, shows {state.displayed}; " + ", ".join(flags)

    def _plug_back(self) -> None:
        try:
            self.simulator.replug()
        except RuntimeError:
            return  # stopped meanwhile
        print("plugged back in", file=self.out, flush=True)

    def cancel(self) -> None:
        if self._replug is not None:
            self._replug.cancel()
            self._replug = None


def run_simulate(args: argparse.Namespace, ctx: CliContext) -> int:
    from drivers.scale.simulator import ScaleSimulator, SimulatorUnavailableError, as_weight

    try:
        emulator = build_emulator(args.protocol, parse_options(args.option))
        try:
            weight = as_weight(str(args.weight).replace(",", "."))
        except ValueError as exc:
            raise CliProblem(f"--weight: {exc}") from None
        if args.rate <= 0:
            raise CliProblem("--rate must be positive")
        simulator = ScaleSimulator(
            emulator, link=args.link, rate_hz=args.rate, state=IndicatorState(weight=weight)
        )
        try:
            simulator.start()
        except (SimulatorUnavailableError, OSError) as exc:
            raise CliProblem(f"cannot start the simulator: {exc}") from None
    except CliProblem as problem:
        return _problem(ctx, problem)

    console = SimulatorConsole(simulator, ctx.out)
    print(simulator.port, file=ctx.out, flush=True)
    print("simulating; type 'help' for commands", file=ctx.err, flush=True)
    try:
        with _sigterm_as_interrupt():
            for line in sys.stdin:
                try:
                    if not console.handle(line):
                        break
                except CliProblem as problem:
                    print(problem, file=ctx.err)
                ctx.out.flush()
            else:
                if not sys.stdin.isatty():
                    # Started with no terminal (a service, `&`): keep going.
                    print("input closed; simulating until interrupted", file=ctx.err, flush=True)
                    while True:
                        time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        console.cancel()
        simulator.stop()
    return 0


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Let SIGTERM end the command like Ctrl-C, so that the link is cleaned up."""
    import signal

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- counter scale monitor -------------------------------------------------------------


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
                stamp = chunk.at.isoformat(timespec="milliseconds")
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


def run_monitor(args: argparse.Namespace, ctx: CliContext) -> int:
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
        return _problem(ctx, problem)
    finally:
        if scenario is not None:
            scenario.stop()
        if simulator is not None:
            simulator.stop()
    return 0


__all__ = [
    "CliProblem",
    "MonitorView",
    "SimulatorConsole",
    "build_emulator",
    "build_protocol",
    "parse_options",
    "printable",
    "register",
]
