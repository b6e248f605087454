"""``counter scale ...``: decode, simulate, monitor and ports, through the real CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import serial

from counter_app.cli import main
from counter_app.cli.scale_protocols import parse_options
from counter_app.cli.scale_simulate import SimulatorConsole
from counter_app.i18n import STATION_TZ
from counter_app.scale_view import printable
from drivers.scale import registry
from drivers.scale.comma import CommaProtocol
from drivers.scale.reading import IndicatorState, Reading
from drivers.scale.simulator import ScaleSimulator

ROOT = Path(__file__).resolve().parents[1]
DECODE_KEYS = {"weight", "unit", "stable", "overload", "underload", "net", "kind", "raw"}
needs_pty = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")


def run_with_stdin(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    data: bytes,
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="ascii"))
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


class TestDecode:
    def test_one_json_object_per_frame_from_stdin(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        data = b"ST,GS,+0012.34kg\r\nUS,NT,+0001.20kg\r\nOL,GS,+    .  kg\r\n\xff\x00\r\n"
        code, out, err = run_with_stdin(
            monkeypatch, capsys, ["scale", "decode", "--protocol", "comma"], data
        )
        assert code == 0, err
        lines = [json.loads(line) for line in out.splitlines()]
        assert all(set(line) == DECODE_KEYS for line in lines)
        assert lines == [
            {
                "weight": "12.34",
                "unit": "kg",
                "stable": True,
                "overload": False,
                "underload": False,
                "net": False,
                "kind": "weight",
                "raw": "ST,GS,+0012.34kg",
            },
            {
                "weight": "1.20",
                "unit": "kg",
                "stable": False,
                "overload": False,
                "underload": False,
                "net": True,
                "kind": "weight",
                "raw": "US,NT,+0001.20kg",
            },
            {
                "weight": None,
                "unit": "kg",
                "stable": None,
                "overload": True,
                "underload": False,
                "net": False,
                "kind": "status",
                "raw": "OL,GS,+    .  kg",
            },
            {
                "weight": None,
                "unit": None,
                "stable": None,
                "overload": False,
                "underload": False,
                "net": None,
                "kind": "error",
                "raw": "\xff\x00",
            },
        ]

    def test_file_and_options(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        capture = tmp_path / "capture.bin"
        capture.write_bytes(b"01ST,GS,+0002.50\r\n02ST,GS,+0009.99\r\n")
        code = main(
            [
                "scale",
                "decode",
                "--protocol",
                "comma",
                "--file",
                str(capture),
                "--option",
                "unit=kg",
                "--option",
                "address=01",
            ]
        )
        out = capsys.readouterr().out
        assert code == 0
        (line,) = [json.loads(text) for text in out.splitlines()]
        assert (line["weight"], line["unit"], line["kind"]) == ("2.50", "kg", "weight")

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--protocol", "scalez"], "unknown scale protocol 'scalez'"),
            (["--protocol", "comma", "--option", "colour=red"], "no option 'colour'"),
            (["--protocol", "comma", "--option", "unit=stone"], "option 'unit'"),
            (["--protocol", "comma", "--option", "unit"], "--option expects KEY=VALUE"),
            (["--protocol", "comma", "--file", "/no/such/file"], "cannot read /no/such/file"),
        ],
    )
    def test_mistakes_are_explained_with_exit_status_2(
        self,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        argv: list[str],
        message: str,
    ) -> None:
        code, out, err = run_with_stdin(monkeypatch, capsys, ["scale", "decode", *argv], b"")
        assert code == 2
        assert message in err
        assert out == ""

    def test_a_protocol_module_that_is_not_there(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setitem(
            registry._PROTOCOLS, "ghost", ("drivers.scale.ghost_indicator", "Ghost", "GhostEmu")
        )
        code, _, err = run_with_stdin(
            monkeypatch, capsys, ["scale", "decode", "--protocol", "ghost"], b""
        )
        assert code == 2
        assert "scale protocol 'ghost' is not available" in err

    def test_real_subprocess_streams_stdin(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "counter_app", "scale", "decode", "--protocol", "comma"],
            input=b"ST,+00123.45  g\r\nQT,+0000012 PC\r\n",
            capture_output=True,
            cwd=ROOT,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
        assert [(line["weight"], line["unit"], line["kind"]) for line in lines] == [
            ("123.45", "g", "weight"),
            (None, "pcs", "status"),
        ]

    def test_an_unterminated_last_frame_is_reported_not_dropped(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run_with_stdin(
            monkeypatch, capsys, ["scale", "decode", "--protocol", "comma"], b"ST,GS,+0012.34kg"
        )
        assert code == 0
        assert [json.loads(line) for line in out.splitlines()] == [
            {
                "weight": None,
                "unit": None,
                "stable": None,
                "overload": False,
                "underload": False,
                "net": None,
                "kind": "error",
                "raw": "ST,GS,+0012.34kg",
            }
        ]
        assert "16 bytes at the end did not complete a frame" in err

    def test_whole_frames_leave_nothing_to_report(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run_with_stdin(
            monkeypatch,
            capsys,
            ["scale", "decode", "--protocol", "comma"],
            b"ST,GS,+0012.34kg\r\n",
        )
        assert code == 0
        assert [json.loads(line)["kind"] for line in out.splitlines()] == ["weight"]
        assert err == ""

    @pytest.mark.parametrize("name", registry.PROTOCOL_NAMES)
    def test_every_protocol_reports_a_cut_off_end(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
    ) -> None:
        parser = registry.make_protocol(name)
        emulator = registry.make_emulator(name)
        state = IndicatorState(weight=Decimal("12.34"))
        request = parser.weight_request()
        frame = emulator.receive(request, state) if request else emulator.frame(state)
        code, out, err = run_with_stdin(
            monkeypatch, capsys, ["scale", "decode", "--protocol", name], frame + frame[:5]
        )
        assert code == 0, err
        *whole, last = [json.loads(line) for line in out.splitlines()]
        assert [line["weight"] for line in whole] == ["12.34"]
        assert (last["kind"], last["weight"], last["raw"]) == (
            "error",
            None,
            frame[:5].decode("latin-1"),
        )
        assert "5 bytes at the end did not complete a frame" in err

    def test_toledo_without_checksum_decodes_the_last_frame(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """checksum=auto holds a frame to see whether a checksum follows; at the end
        none did, and the frame is a reading like the others."""
        frame = registry.make_emulator("toledo", {"checksum": "no"}).frame(
            IndicatorState(weight=Decimal("12.34"))
        )
        code, out, err = run_with_stdin(
            monkeypatch, capsys, ["scale", "decode", "--protocol", "toledo"], frame * 3
        )
        assert code == 0
        lines = [json.loads(line) for line in out.splitlines()]
        assert [(line["kind"], line["weight"]) for line in lines] == [("weight", "12.34")] * 3
        assert err == ""

    def test_a_monitor_log_that_ends_mid_frame(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from datetime import UTC, datetime

        from counter_app.cli.scale_monitor import MonitorView
        from drivers.scale.transport import RawChunk

        log_path = tmp_path / "line.log"
        at = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
        with log_path.open("a", encoding="utf-8") as log:
            view = MonitorView("test", log)
            view.on_raw(RawChunk(b"ST,GS,+0012.34kg\r\nST,GS,+00", at, "rx"))
        assert main(["scale", "decode", "--protocol", "comma", "--file", str(log_path)]) == 0
        captured = capsys.readouterr()
        lines = [json.loads(line) for line in captured.out.splitlines()]
        assert [(d["kind"], d["raw"]) for d in lines] == [
            ("weight", "ST,GS,+0012.34kg"),
            ("error", "ST,GS,+00"),
        ]
        assert "9 bytes at the end did not complete a frame" in captured.err

    def test_real_subprocess_reports_the_unterminated_frame(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "counter_app", "scale", "decode", "--protocol", "comma"],
            input=b"ST,GS,+0012.34kg",
            capture_output=True,
            cwd=ROOT,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        (line,) = [json.loads(text) for text in result.stdout.decode().splitlines()]
        assert (line["kind"], line["raw"]) == ("error", "ST,GS,+0012.34kg")
        assert result.stderr.decode().strip() == (
            "counter scale decode: 16 bytes at the end did not complete a frame"
        )


def test_parse_options_and_printable() -> None:
    assert parse_options(["a=1", " b = x=y "]) == {"a": "1", "b": "x=y"}
    assert printable(b"ST\r\n\x02\xff") == "ST\\r\\n\\x02\\xff"


PORTS_HEADER = {
    "nl": ["Poort", "Omschrijving", "Hardware-id"],
    "en": ["Port", "Description", "Hardware", "ID"],
}
NO_PORTS = {"nl": "Geen seriële poorten gevonden", "en": "No serial ports found"}


@pytest.mark.parametrize("language", ["nl", "en"])
def test_ports_prints_a_header_or_says_there_are_none(
    capsys: pytest.CaptureFixture[str], config_file: Callable[..., Path], language: str
) -> None:
    from drivers.scale.ports import list_ports

    config = config_file(f'language = "{language}"')
    assert main(["--config", str(config), "scale", "ports"]) == 0
    lines = capsys.readouterr().out.splitlines()
    if list_ports():
        assert lines[0].split() == PORTS_HEADER[language]
        assert len(lines) == 1 + len(list_ports())
    else:
        assert len(lines) == 1 and lines[0].startswith(NO_PORTS[language])


@pytest.mark.parametrize("language", ["nl", "en"])
def test_ports_listing_has_a_header_and_a_line_per_port(language: str) -> None:
    from counter_app.cli.scale import ports_listing
    from counter_app.i18n import Messages
    from drivers.scale.ports import PortInfo

    ports = [
        PortInfo("/dev/ttyS0", "n/a", "n/a"),
        PortInfo("/dev/ttyUSB0", "FT232R USB UART", "USB VID:PID=0403:6001 SER=A50285BI"),
    ]
    header, first, second = ports_listing(ports, Messages(language))
    assert header.split() == PORTS_HEADER[language]
    assert first.split() == ["/dev/ttyS0", "n/a", "n/a"]
    assert second.split() == [
        "/dev/ttyUSB0",
        "FT232R",
        "USB",
        "UART",
        "USB",
        "VID:PID=0403:6001",
        "SER=A50285BI",
    ]
    # The columns line up under the header.
    columns = [header.index(word) for word in PORTS_HEADER[language][1:3]]
    assert [first.index("n/a"), first.rindex("n/a")] == columns
    assert [second.index("FT232R"), second.index("USB VID")] == columns


@pytest.mark.parametrize("language", ["nl", "en"])
def test_ports_listing_says_in_words_that_there_are_none(language: str) -> None:
    from counter_app.cli.scale import ports_listing
    from counter_app.i18n import Messages

    (line,) = ports_listing([], Messages(language))
    assert line.startswith(NO_PORTS[language])


def read_reading(port: serial.Serial, predicate: object, timeout: float = 10.0) -> Reading:
    return read_reading_of(port, CommaProtocol(), predicate, timeout)


def read_reading_of(
    port: serial.Serial, protocol: object, predicate: object, timeout: float = 10.0
) -> Reading:
    """The first reading ``protocol`` decodes from ``port`` that ``predicate`` accepts;
    a polled protocol's weight request is sent before each read."""
    request = protocol.weight_request()  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if request:
            port.write(request)
        for reading in protocol.feed(port.read(256)):  # type: ignore[attr-defined]
            if predicate(reading):  # type: ignore[operator]
                return reading
    raise AssertionError("no matching reading on the simulated port")


@contextmanager
def simulate_command(*args: str) -> Iterator[subprocess.Popen[str]]:
    """``counter scale simulate ARGS`` running as a technician starts it, its stdin
    and stdout piped; killed if the test leaves it running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "counter_app", "scale", "simulate", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@needs_pty
class TestSimulate:
    def test_commands_drive_the_virtual_indicator(self, tmp_path: Path) -> None:
        link = tmp_path / "ttyCounter"
        with simulate_command(
            "--protocol", "comma", "--link", str(link), "--weight", "2.5", "--rate", "50"
        ) as process:
            assert process.stdout.readline().strip() == str(link)
            port = serial.Serial(str(link), 9600, timeout=0.05)
            try:
                assert read_reading(port, lambda r: r.kind == "weight").weight == Decimal("2.50")
                for command, check in [
                    ("w 12.5", lambda r: r.weight == Decimal("12.50") and r.stable),
                    ("m on", lambda r: r.stable is False),
                    ("m off", lambda r: r.stable is True),
                    ("t 0,5", lambda r: r.net is True and r.weight == Decimal("12.00")),
                    ("o on", lambda r: r.overload),
                    ("o off", lambda r: r.kind == "weight"),
                    ("u on", lambda r: r.underload),
                    ("u off", lambda r: r.kind == "weight"),
                    ("g", lambda r: r.kind == "error"),
                ]:
                    process.stdin.write(command + "\n")
                    process.stdin.flush()
                    assert process.stdout.readline()  # the confirmation line
                    read_reading(port, check)
                process.stdin.write("help\nnonsense\n")
                process.stdin.flush()
                assert "commands:" in process.stdout.readline()
            finally:
                port.close()
            process.stdin.write("q\n")
            process.stdin.flush()
            assert process.wait(timeout=30) == 0
            assert "unknown command 'nonsense'" in (process.stderr.read() if process.stderr else "")
            assert not link.is_symlink()

    @pytest.mark.parametrize(
        ("protocol", "bytesize", "parity"),
        [("toledo", 7, "E"), ("nci", 7, "E"), ("comma", 8, "N")],
    )
    def test_the_port_can_be_opened_again_and_again(
        self, protocol: str, bytesize: int, parity: str
    ) -> None:
        """A technician's tool or the counter closes the port and opens it again (a
        restart, a reconnect): every time, the line is set up and frames arrive."""
        with simulate_command(
            "--protocol", protocol, "--weight", "3.25", "--rate", "50"
        ) as process:
            path = process.stdout.readline().strip()
            for _ in range(4):
                port = serial.Serial(
                    path, 9600, bytesize=bytesize, parity=parity, stopbits=1, timeout=0.05
                )
                try:
                    parser = registry.make_protocol(protocol)
                    reading = read_reading_of(port, parser, lambda r: r.kind == "weight")
                    assert reading.weight == Decimal("3.25")
                finally:
                    port.close()
            process.stdin.write("q\n")
            process.stdin.flush()
            assert process.wait(timeout=30) == 0

    def test_drop_out_unplugs_and_plugs_back_in(self, tmp_path: Path) -> None:
        link = tmp_path / "ttyDrop"
        out = io.StringIO()
        with ScaleSimulator("comma", link=link, rate_hz=50) as sim:
            console = SimulatorConsole(sim, out, replug_after=0.1)
            assert console.handle("d")
            assert not sim.plugged and not link.exists()
            deadline = time.monotonic() + 10
            while not sim.plugged and time.monotonic() < deadline:
                time.sleep(0.01)
            assert sim.plugged and link.exists()
            assert console.handle("q") is False
        assert "unplugged" in out.getvalue()

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--protocol", "comma", "--option", "format=morse"], "option 'format'"),
            (["--protocol", "comma", "--weight", "heavy"], "--weight"),
            (["--protocol", "nope"], "unknown scale protocol"),
        ],
    )
    def test_mistakes_exit_with_status_2(
        self,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        argv: list[str],
        message: str,
    ) -> None:
        code, _, err = run_with_stdin(monkeypatch, capsys, ["scale", "simulate", *argv], b"q\n")
        assert code == 2
        assert message in err


@needs_pty
class TestMonitor:
    def test_shows_and_logs_the_raw_stream(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        log = tmp_path / "raw.log"
        with ScaleSimulator("comma", link=tmp_path / "ttyMon", rate_hz=50) as sim:
            sim.set_weight("4.20")
            code = main(
                [
                    "scale",
                    "monitor",
                    "--port",
                    sim.port,
                    "--protocol",
                    "comma",
                    "--baudrate",
                    "9600",
                    "--log",
                    str(log),
                    "--duration",
                    "1.5",
                ]
            )
        out = capsys.readouterr().out
        assert code == 0
        assert "4.20" in out
        header, *lines = log.read_text().splitlines()
        assert header.startswith("# counter scale monitor log")
        assert lines
        stamp, direction, *_ = lines[0].split(" ")
        assert direction == "rx"
        # The station's local time with its offset from UTC, as ISO 8601.
        at = datetime.fromisoformat(stamp)
        assert at.utcoffset() == at.astimezone(STATION_TZ).utcoffset() != timedelta(0)
        assert stamp[-6:] in ("+01:00", "+02:00") and "." in stamp
        # The hex column of every chunk, joined, is the byte stream the indicator sent.
        stream = b"".join(bytes.fromhex(line.split("  ")[0].split(" ", 2)[2]) for line in lines)
        assert b"ST,GS,+0004.20kg\r\n" in stream

    def test_built_in_simulator(self, capsys: pytest.CaptureFixture[str]) -> None:
        code = main(
            ["scale", "monitor", "--port", "sim", "--protocol", "comma", "--duration", "0.8"]
        )
        assert code == 0
        assert "built-in simulator" in capsys.readouterr().out

    def test_unknown_protocol(self, capsys: pytest.CaptureFixture[str]) -> None:
        code = main(["scale", "monitor", "--port", "sim", "--protocol", "x", "--duration", "0"])
        assert code == 2
        assert "unknown scale protocol" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("received_at", "stamp"),
    [
        (datetime(2026, 12, 2, 11, 30, 1, 123_000, tzinfo=UTC), "2026-12-02T12:30:01.123+01:00"),
        (datetime(2026, 7, 1, 22, 0, 0, 5_000, tzinfo=UTC), "2026-07-02T00:00:00.005+02:00"),
    ],
)
def test_the_monitor_log_carries_the_station_time_with_its_offset(
    received_at: datetime, stamp: str
) -> None:
    from io import StringIO

    from counter_app.cli.scale_monitor import MonitorView
    from drivers.scale.transport import RawChunk

    log = StringIO()
    view = MonitorView("sim (comma)", log)
    view.on_raw(RawChunk(b"ST,GS,+0004.20kg\r\n", received_at, "rx"))
    header, line = log.getvalue().splitlines()
    assert header.startswith("# counter scale monitor log")
    assert line == f"{stamp} rx 53 54 2c 47 53 2c 2b 30 30 30 34 2e 32 30 6b 67 0d 0a  " + (
        "ST,GS,+0004.20kg\\r\\n"
    )


def test_monitor_names_an_unreadable_signal_and_a_silent_line() -> None:
    """Another protocol's frames: the monitor says the signal does not decode."""
    from io import StringIO

    from rich.console import Console

    from counter_app.cli.scale_monitor import MonitorView
    from drivers.scale.registry import make_protocol

    class Counts:
        frames = errors = missed = bytes_received = 0

    view = MonitorView("test")
    toledo = make_protocol("toledo")
    for _ in range(4):  # comma frames read by the toledo parser
        for reading in toledo.feed(b"ST,GS,+0012.34kg\r\n" * 20):
            view.on_reading(reading)
    out = StringIO()
    Console(file=out, width=120).print(view.render(Counts()))
    assert "unreadable signal" in out.getvalue()

    view.signal.silent_after_ms = -1  # every moment is now "too long ago"
    out = StringIO()
    Console(file=out, width=120).print(view.render(Counts()))
    assert "silent: no bytes" in out.getvalue()


def test_monitor_counts_checksum_failures_apart() -> None:
    from io import StringIO

    from rich.console import Console

    from counter_app.cli.scale_monitor import MonitorView
    from drivers.scale.reading import IndicatorState
    from drivers.scale.registry import make_emulator, make_protocol

    frame = make_emulator("toledo").frame(IndicatorState())
    damaged = frame[:-1] + bytes([frame[-1] ^ 0x01])  # the checksum byte is last
    view = MonitorView("test")
    toledo = make_protocol("toledo", {"checksum": "yes"})
    for reading in toledo.feed(frame + damaged + frame):
        view.on_reading(reading)

    class Counts:
        frames = 3
        errors = 1
        missed = bytes_received = 0

    out = StringIO()
    Console(file=out, width=160).print(view.render(Counts()))
    assert view.checksum_failures == 1
    assert "errors 1 (checksum 1)" in out.getvalue()


def test_decoding_a_monitor_log_prints_the_readings(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json
    from datetime import UTC, datetime

    from counter_app.cli import main
    from counter_app.cli.scale_monitor import MonitorView
    from drivers.scale.transport import RawChunk

    log_path = tmp_path / "line.log"
    at = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    with log_path.open("a", encoding="utf-8") as log:
        view = MonitorView("test", log)
        view.on_raw(RawChunk(b"ST,GS,+00", at, "rx"))
        view.on_raw(RawChunk(b"ab\r\n", at, "tx"))  # our request: not part of the stream
        view.on_raw(RawChunk(b"12.34kg\r\nUS,GS,+0001.00kg\r\n", at, "rx"))
    assert main(["scale", "decode", "--protocol", "comma", "--file", str(log_path)]) == 0
    decoded = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(d["weight"], d["stable"]) for d in decoded] == [("12.34", True), ("1.00", False)]


class _NoCounts:
    frames = errors = missed = bytes_received = 0


def _render_monitor(view: object, width: int) -> str:
    from io import StringIO

    from rich.console import Console

    out = StringIO()
    Console(file=out, width=width, color_system=None).print(
        view.render(_NoCounts())  # type: ignore[attr-defined]
    )
    return out.getvalue()


def test_monitor_shows_the_whole_weight_at_80_columns() -> None:
    """At 80 columns the raw column is cut, never the time, kind, weight, unit or stable."""
    from datetime import UTC, datetime

    from counter_app.cli.scale_monitor import MonitorView
    from drivers.scale.transport import RawChunk

    at = datetime(2026, 1, 15, 11, 5, 9, 123000, tzinfo=UTC)
    view = MonitorView("/dev/ttyUSB0 (comma)")
    raw = b"ST,GS,+0012.34kg\r\n" * 3
    view.on_raw(RawChunk(raw, at, "rx"))
    for reading in CommaProtocol().feed(raw):
        view.on_reading(Reading(**{**_fields(reading), "received_at": at}))
    view.on_reading(
        Reading(
            Decimal("-12345.678"), "kg", False, net=True, raw=b"US,NT,-12345.678kg", received_at=at
        )
    )
    view.on_reading(Reading.unreadable(b"\x00\xff" * 30, error="checksum"))
    text = _render_monitor(view, 80)
    assert all(len(line) <= 80 for line in text.splitlines())
    readings = text[text.index("readings") :]
    rows = [line for line in readings.splitlines() if "12.34" in line]
    assert len(rows) == 3
    for row in rows:
        cells = [cell.strip() for cell in row.split("│")]
        assert cells[1:6] == ["12:05:09.123", "weight", "12.34", "kg", "yes"]
    row = next(line for line in readings.splitlines() if "-12345.678" in line)
    assert [cell.strip() for cell in row.split("│")][1:6] == [
        "12:05:09.123",
        "weight",
        "-12345.678",
        "kg",
        "no",
    ]
    header = next(line for line in readings.splitlines() if "time" in line)
    for name in ("time", "kind", "weight", "unit", "stable"):
        assert name in header.split()
    # The long raw frame is the one that gives way.
    assert "…" in readings


def _fields(reading: Reading) -> dict[str, object]:
    import dataclasses

    return {f.name: getattr(reading, f.name) for f in dataclasses.fields(reading)}


def test_monitor_times_are_the_stations_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Europe/Amsterdam, like the rest of the counter, whatever zone the computer is in."""
    from datetime import UTC, datetime

    from counter_app import scale_view
    from counter_app.cli import scale_monitor
    from counter_app.cli.scale_monitor import MonitorView
    from drivers.scale.transport import RawChunk

    if hasattr(time, "tzset"):
        monkeypatch.setenv("TZ", "America/New_York")
        time.tzset()
    try:
        winter = datetime(2026, 1, 15, 11, 5, 9, 123000, tzinfo=UTC)
        summer = datetime(2026, 7, 15, 11, 5, 9, 4000, tzinfo=UTC)
        assert scale_monitor.clock is scale_view.clock  # one clock for both views
        assert scale_monitor.printable is scale_view.printable
        view = MonitorView("test")
        view.on_raw(RawChunk(b"ST,GS,+0012.34kg\r\n", summer, "rx"))
        view.on_reading(Reading(Decimal("12.34"), "kg", True, received_at=winter))
        text = _render_monitor(view, 120)
        assert "13:05:09.004" in text  # CEST, UTC+2
        assert "12:05:09.123" in text  # CET, UTC+1
    finally:
        monkeypatch.undo()
        if hasattr(time, "tzset"):
            time.tzset()


def test_monitor_log_to_a_pipe_gets_its_header(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    from counter_app.cli.scale_decode import MONITOR_LOG_HEADER
    from counter_app.cli.scale_monitor import MonitorView

    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w", encoding="utf-8") as pipe:
        MonitorView("test", pipe)  # tell() is not possible on a pipe
    with os.fdopen(read_end, encoding="utf-8") as reader:
        assert reader.readline().rstrip("\n") == MONITOR_LOG_HEADER


class TestDecodeRange:
    def test_forty_digits_are_an_error_frame_in_a_real_process(self) -> None:
        line = b"ST,GS,+" + b"1" * 40 + b"kg\r\n"
        result = subprocess.run(
            [sys.executable, "-m", "counter_app", "scale", "decode", "--protocol", "regex"],
            input=line + b"ST,GS,+0012.34kg\r\n",
            capture_output=True,
            cwd=ROOT,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        first, second = (json.loads(x) for x in result.stdout.decode().splitlines())
        assert (first["kind"], first["weight"], first["raw"]) == ("error", None, line[:-2].decode())
        assert (second["kind"], second["weight"]) == ("weight", "12.34")

    def test_capacity_option(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        argv = ["scale", "decode", "--protocol", "comma", "--capacity-kg", "60000"]
        code, out, _ = run_with_stdin(
            monkeypatch, capsys, argv, b"ST,GS,+60000.0kg\r\nST,GS,+60000.1kg\r\n"
        )
        assert code == 0
        assert [json.loads(x)["kind"] for x in out.splitlines()] == ["weight", "error"]

    @pytest.mark.parametrize("value", ["0", "lots", "1E+999999999"])
    def test_a_wrong_capacity_is_explained(
        self, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        argv = ["scale", "decode", "--protocol", "comma", "--capacity-kg", value]
        code, _, err = run_with_stdin(monkeypatch, capsys, argv, b"")
        assert code == 2
        assert err.startswith("counter scale: --capacity-kg: expected a ")
        assert f'got "{value}"' in err


def test_decode_with_a_catastrophic_pattern_ends_with_an_error_frame() -> None:
    # With Python's re this never ends; the generous timeout only guards the suite.
    result = subprocess.run(
        [
            *(sys.executable, "-m", "counter_app", "scale", "decode", "--protocol", "regex"),
            *("--option", "pattern=(?P<weight>(a|aa)+)$"),
        ],
        input=b"a" * 200 + b"b\r\n" + b"a" * 300 + b"\r\n",
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    readings = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [r["kind"] for r in readings] == ["error", "error", "error"]
    assert readings[0]["raw"] == "a" * 200 + "b"
    assert "the pattern took too long" in result.stderr.decode()
