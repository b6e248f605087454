"""NetworkConnection against a real TCP server that behaves like an ESC/POS printer."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from escpos.printer import Dummy

from drivers.printer.connection import (
    PaperState,
    PrinterError,
    PrinterNotReady,
    PrinterStatus,
    PrinterUnavailable,
)
from drivers.printer.factory import make_connection
from drivers.printer.network import NetworkConnection
from drivers.printer.settings import (
    PRINTER_CONNECTIONS,
    NetworkPrinter,
    PreviewPrinter,
    read_printer_settings,
)

from .escpos_fake_printer import FakeEscposPrinter


@pytest.fixture
def printer() -> Iterator[FakeEscposPrinter]:
    with FakeEscposPrinter(lifetime=20) as fake:
        yield fake


def connection_to(fake: FakeEscposPrinter, status_timeout: float = 2.0) -> NetworkConnection:
    # A printer that answers does so at once; the long reply timeout only keeps a busy
    # test machine from turning a late answer into silence. Tests of silence pass a
    # short one.
    return NetworkConnection(fake.host, fake.port, timeout=2.0, status_timeout=status_timeout)


def label_bytes() -> bytes:
    dummy = Dummy()
    dummy.set(align="center", double_height=True)
    dummy.text("MS01-000123\n")
    dummy.set(align="left", normal_textsize=True)
    dummy.text("Hergebruik: fietsen\n12,34 kg\n")
    dummy.qr("MS01-000123", native=True, size=6)
    dummy.cut()
    data: bytes = dummy.output
    # The fake answers DLE EOT anywhere in the stream, as Epson printers do.
    assert b"\x10\x04" not in data
    return data


def test_job_arrives_byte_exact(printer: FakeEscposPrinter) -> None:
    data = label_bytes()

    connection_to(printer).send(data)

    assert printer.wait_for_jobs(1) == [data]
    assert printer.connections == [data + b"\x1dr\x01"]  # and GS r 1 to confirm it
    assert b"MS01-000123" in printer.jobs[0]


def test_large_job_arrives_byte_exact(printer: FakeEscposPrinter) -> None:
    data = bytes(range(0x20, 0x7F)) * 3000  # ~285 kB: more than the socket buffers hold

    connection_to(printer).send(data)

    assert printer.wait_for_jobs(1) == [data]


def test_each_job_has_its_own_connection(printer: FakeEscposPrinter) -> None:
    connection = connection_to(printer)

    connection.send(b"first\n")
    connection.send(b"second\n")

    assert printer.wait_for_jobs(2) == [b"first\n", b"second\n"]
    assert len(printer.connections) == 2


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (
            "online",
            PrinterStatus(True, online=True, cover_open=False, paper=PaperState.OK, error=False),
        ),
        (
            "paper_near_end",
            PrinterStatus(
                True, online=True, cover_open=False, paper=PaperState.NEAR_END, error=False
            ),
        ),
        (
            "paper_out",
            PrinterStatus(True, online=False, cover_open=False, paper=PaperState.OUT, error=False),
        ),
        (
            "cover_open",
            PrinterStatus(True, online=False, cover_open=True, paper=PaperState.OK, error=False),
        ),
        (
            "offline",
            PrinterStatus(True, online=False, cover_open=False, paper=PaperState.OK, error=False),
        ),
        (
            "error",
            PrinterStatus(True, online=False, cover_open=False, paper=PaperState.OK, error=True),
        ),
    ],
)
def test_status_per_mode(printer: FakeEscposPrinter, mode: str, expected: PrinterStatus) -> None:
    printer.mode = mode

    status = connection_to(printer).status()

    assert status == expected
    assert status.ready is (mode in ("online", "paper_near_end"))
    assert printer.status_requests == [1, 2, 4]


def test_silent_printer_is_unknown_not_fine(printer: FakeEscposPrinter) -> None:
    printer.mode = "silent"

    status = connection_to(printer, status_timeout=0.2).status()

    assert status.answered is False
    assert status.paper is PaperState.UNKNOWN
    assert status.online is None
    assert status.ready is None
    # After the first unanswered request it stops asking instead of waiting for each.
    printer.wait_for_connections(1)
    assert printer.status_requests == [1]


def test_status_asks_nothing_that_prints(printer: FakeEscposPrinter) -> None:
    connection_to(printer).status()

    assert printer.wait_for_connections(1) == [b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"]
    assert printer.jobs == []


def test_refused_connection_is_unavailable(printer: FakeEscposPrinter) -> None:
    printer.refuse_connections()
    connection = connection_to(printer)

    with pytest.raises(PrinterUnavailable) as send_error:
        connection.send(b"label\n")
    with pytest.raises(PrinterUnavailable) as status_error:
        connection.status()

    assert f"127.0.0.1:{printer.port}" in str(send_error.value)
    assert "refuses" in str(send_error.value)
    assert send_error.value.uncertain is False
    assert isinstance(status_error.value, PrinterUnavailable)


def test_unreachable_host_is_unavailable() -> None:
    # A listening socket that never accepts would queue us; an unused port refuses.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()

    with pytest.raises(PrinterUnavailable) as error:
        NetworkConnection("127.0.0.1", port, timeout=0.5).send(b"x")

    assert error.value.uncertain is False


def test_connection_dropped_mid_job_is_uncertain(printer: FakeEscposPrinter) -> None:
    printer.drop_after = 1000
    data = bytes(range(0x20, 0x7F)) * 2000

    with pytest.raises(PrinterError) as error:
        connection_to(printer).send(data)

    assert error.value.uncertain is True
    assert not isinstance(error.value, PrinterUnavailable)
    assert "may be incomplete" in str(error.value)
    assert printer.wait_for_jobs(1) == [data[:1000]]


def test_small_job_dropped_before_the_end_is_uncertain(printer: FakeEscposPrinter) -> None:
    # The whole job fits in the socket buffers, so sendall succeeds: the reset must
    # still be noticed while waiting for the printer to close its side.
    printer.drop_after = 10

    with pytest.raises(PrinterError) as error:
        connection_to(printer).send(label_bytes())

    assert error.value.uncertain is True


def test_connection_object_survives_a_failed_job(printer: FakeEscposPrinter) -> None:
    connection = connection_to(printer)
    printer.drop_after = 5
    with pytest.raises(PrinterError):
        connection.send(b"0123456789" * 100)

    printer.drop_after = None
    connection.send(b"next label\n")

    assert printer.wait_for_jobs(2) == [b"01234", b"next label\n"]


def test_send_with_status_check_refuses_when_not_ready(printer: FakeEscposPrinter) -> None:
    printer.mode = "paper_out"

    with pytest.raises(PrinterNotReady) as error:
        connection_to(printer).send(b"label\n", check_status=True)

    assert "out of paper" in str(error.value)
    assert error.value.uncertain is False
    printer.wait_for_connections(1)
    assert printer.jobs == []


def test_send_with_status_check_prints_when_ready_or_silent(
    printer: FakeEscposPrinter,
) -> None:
    connection_to(printer).send(b"first\n", check_status=True)
    printer.mode = "silent"
    silent = NetworkConnection(printer.host, printer.port, timeout=0.5, status_timeout=0.2)
    # A silent printer gets the job, but without an answer it is not confirmed.
    with pytest.raises(PrinterError) as error:
        silent.send(b"second\n", check_status=True)

    assert error.value.uncertain is True
    assert printer.wait_for_jobs(2) == [b"first\n", b"second\n"]


def test_describe_names_the_address() -> None:
    assert NetworkConnection("10.0.0.5").describe() == "network printer 10.0.0.5:9100"
    assert NetworkConnection("fe80::1", 9101).address == "[fe80::1]:9101"


def test_missing_host_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="host"):
        NetworkConnection("")


# -- the factory: configuration to connection (every kind, here with the network one) -----


@pytest.mark.parametrize(
    ("kind", "settings", "described"),
    [
        ("network", {"host": "10.0.0.5"}, "network printer 10.0.0.5:9100"),
        ("serial", {"path": "/dev/ttyUSB0", "baudrate": 19200}, "serial printer on /dev/ttyUSB0"),
        ("usb", {}, "USB printer 04b8:0e28"),
        ("cups", {"queue": "labels"}, "CUPS queue labels"),
        ("file", {"path": "/dev/usb/lp0"}, "/dev/usb/lp0"),
    ],
)
def test_factory_makes_each_kind(kind: str, settings: dict[str, Any], described: str) -> None:
    connection = make_connection(read_printer_settings({"connection": kind, **settings}))

    assert connection.kind == kind
    assert described in connection.describe()


def test_factory_preview_writes_into_the_preview_folder(tmp_path: Path) -> None:
    connection = make_connection(PreviewPrinter(), preview_dir=tmp_path / "labels")

    assert connection.kind == "preview"
    assert str(tmp_path / "labels") in connection.describe()


def test_factory_network_connection_reaches_the_printer(printer: FakeEscposPrinter) -> None:
    make_connection(NetworkPrinter(host=printer.host, port=printer.port)).send(b"label\n")

    assert printer.wait_for_jobs(1) == [b"label\n"]


@pytest.mark.parametrize(
    ("kind", "missing"),
    [("network", "host"), ("serial", "port"), ("file", "path"), ("preview", "folder")],
)
def test_factory_names_a_missing_setting(kind: str, missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        make_connection(read_printer_settings({"connection": kind}))


def test_factory_lists_the_kinds_for_an_unknown_one() -> None:
    with pytest.raises(ValueError) as error:
        read_printer_settings({"connection": "bluetooth"})

    assert "'bluetooth'" in str(error.value)
    for kind in PRINTER_CONNECTIONS:
        assert kind in str(error.value)


# -- delivery: the printer must answer a status request sent after the job ----------------


def test_a_printer_that_never_reads_does_not_count_as_delivered() -> None:
    with FakeEscposPrinter(reads=False, lifetime=10) as deaf:
        connection = NetworkConnection(deaf.host, deaf.port, timeout=1.0)

        with pytest.raises(PrinterError) as error:
            connection.send(label_bytes())

    assert error.value.uncertain is True
    assert not isinstance(error.value, PrinterUnavailable)
    assert "did not confirm" in str(error.value)


def test_delivery_is_confirmed_by_the_answer_to_gs_r_after_the_job(
    printer: FakeEscposPrinter,
) -> None:
    data = label_bytes()

    connection_to(printer).send(data)

    # GS r 1 follows the job's last byte, on the same connection; nothing else is sent.
    assert printer.wait_for_connections(1) == [data + b"\x1dr\x01"]
    assert printer.jobs == [data]
    assert printer.transmit_status_requests == 1


def test_a_printer_that_reads_but_never_answers_does_not_count_as_delivered() -> None:
    with FakeEscposPrinter(transmit_status=False, lifetime=10) as mute:
        with pytest.raises(PrinterError) as error:
            NetworkConnection(mute.host, mute.port, timeout=0.5).send(label_bytes())

        assert error.value.uncertain is True
        assert "did not confirm" in str(error.value)
        # It read the job: the label may well have printed, so a retry is a duplicate.
        assert mute.wait_for_jobs(1) == [label_bytes()]
        assert mute.transmit_status_requests == 1


def test_a_printer_without_gs_r_is_asked_dle_eot_after_the_job() -> None:
    with FakeEscposPrinter(transmit_status=False, lifetime=10) as star:
        connection = make_connection(
            NetworkPrinter(host=star.host, port=star.port, profile="TSP600")
        )

        connection.send(b"label\n")

        assert star.wait_for_connections(1) == [b"label\n\x10\x04\x01"]
        assert star.jobs == [b"label\n"]
