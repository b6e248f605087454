"""SerialConnection through a real pseudo-terminal pair, the test playing the printer."""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Iterator

import pytest

from drivers.printer.connection import (
    PaperState,
    PrinterError,
    PrinterNotReady,
    PrinterUnavailable,
)
from drivers.printer.serial_printer import SerialConnection

ONLINE = {1: b"\x12", 2: b"\x12", 4: b"\x12"}
PAPER_OUT = {1: b"\x1a", 2: b"\x32", 4: b"\x7e"}


class PtyPrinter:
    """Reads the master side of a pty as a printer reads its serial line.

    ``replies[n]`` is written back for ``DLE EOT n`` (missing: silent). ``hang_up_on``
    closes the master side (the cable pulled) when a status request with that number,
    or (``"data"``) the first job byte, arrives. ``GS r 1`` (transmit status, sent after
    each job) is answered with ``transmit_status_reply`` (None: never answered).
    Stops by itself after ``lifetime``.
    """

    def __init__(self, lifetime: float = 20.0) -> None:
        self.master, self._slave = os.openpty()
        self.port = os.ttyname(self._slave)
        self.replies: dict[int, bytes] = dict(ONLINE)
        self.hang_up_on: int | str | None = None
        self.transmit_status_reply: bytes | None = b"\x00"
        self.transmit_status_requests = 0
        self.received = bytearray()
        self.requests: list[int] = []
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + lifetime
        self._master_open = True
        self._hang_up_now = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pty-printer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._close_master()
        os.close(self._slave)

    def hang_up(self) -> None:
        """Close the master side now (from the test), as if the cable were pulled."""
        self._hang_up_now.set()
        self._thread.join(timeout=2)

    def wait_for(self, size: int, timeout: float = 5.0) -> bytes:
        with self._lock:
            self._lock.wait_for(lambda: len(self.received) >= size, timeout=timeout)
            return bytes(self.received)

    def _close_master(self) -> None:
        if self._master_open:
            self._master_open = False
            os.close(self.master)

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            if self._hang_up_now.is_set():
                self._close_master()

    def _serve(self) -> None:
        pending = b""
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            if self._hang_up_now.is_set():
                return
            readable, _, _ = select.select([self.master], [], [], 0.02)
            if not readable:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                continue
            with self._lock:
                self.received += chunk
                self._lock.notify_all()
            pending += chunk
            while pending:
                if pending.startswith(b"\x1dr\x01"):
                    self.transmit_status_requests += 1
                    if self.transmit_status_reply is not None:
                        os.write(self.master, self.transmit_status_reply)
                    pending = pending[3:]
                    continue
                if len(pending) < 3 and b"\x1dr\x01".startswith(pending):
                    break  # wait for the rest of a possible GS r 1
                starts = [i for i in (pending.find(b"\x10"), pending.find(b"\x1dr\x01")) if i >= 0]
                start = min(starts, default=-1)
                if start != 0:  # job bytes up to the next request (or all of them)
                    pending = b"" if start < 0 else pending[start:]
                    if self.hang_up_on == "data":
                        self._hang_up_now.set()
                        return
                    continue
                if len(pending) < 3:
                    break  # wait for the rest of a possible DLE EOT n
                if pending[1] == 0x04 and 1 <= pending[2] <= 4:
                    n = pending[2]
                    self.requests.append(n)
                    if self.hang_up_on == n:
                        self._hang_up_now.set()
                        return
                    if n in self.replies:
                        os.write(self.master, self.replies[n])
                    pending = pending[3:]
                else:
                    pending = pending[1:]


@pytest.fixture
def printer() -> Iterator[PtyPrinter]:
    pty = PtyPrinter()
    yield pty
    pty.close()


def connection_to(
    pty: PtyPrinter, status_timeout: float = 2.0, flow: str = "none"
) -> SerialConnection:
    return SerialConnection(pty.port, 9600, flow=flow, timeout=2.0, status_timeout=status_timeout)


def test_job_arrives_byte_exact(printer: PtyPrinter) -> None:
    data = b"\x1b@\x1ba\x01MS01-000123\n\x1d(k\x03\x001C\x06" + bytes(range(256)) + b"\x1dVA\x00"

    connection_to(printer).send(data)

    # The job, then GS r 1: the printer's answer to it confirmed the delivery.
    assert printer.wait_for(len(data) + 3) == data + b"\x1dr\x01"
    assert printer.transmit_status_requests == 1


@pytest.mark.parametrize("flow", ["none", "rtscts", "dsrdtr", "xonxoff"])
def test_every_flow_control_delivers(printer: PtyPrinter, flow: str) -> None:
    data = b"label " * 500

    connection_to(printer, flow=flow).send(data)

    assert printer.wait_for(len(data) + 3) == data + b"\x1dr\x01"


def test_status_replies_are_parsed(printer: PtyPrinter) -> None:
    connection = connection_to(printer)
    assert connection.status().ready is True

    printer.replies = dict(PAPER_OUT)
    status = connection.status()

    assert status.answered is True
    assert status.paper is PaperState.OUT
    assert status.online is False
    assert status.ready is False
    assert printer.requests == [1, 2, 4, 1, 2, 4]


def test_xon_before_a_reply_is_not_taken_for_status(printer: PtyPrinter) -> None:
    printer.replies = {1: b"\x11\x1a", 2: b"\x13\x16", 4: b"\x12"}

    status = connection_to(printer).status()

    assert status.online is False
    assert status.cover_open is True


def test_silent_printer_is_unknown(printer: PtyPrinter) -> None:
    printer.replies = {}

    status = connection_to(printer, status_timeout=0.2).status()

    assert status.answered is False
    assert status.ready is None
    assert status.paper is PaperState.UNKNOWN
    assert printer.requests == [1]


def test_send_with_status_check_refuses_when_not_ready(printer: PtyPrinter) -> None:
    printer.replies = dict(PAPER_OUT)

    with pytest.raises(PrinterNotReady, match="out of paper"):
        connection_to(printer).send(b"label\n", check_status=True)

    assert printer.wait_for(9) == b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"


def test_send_with_status_check_prints_when_ready(printer: PtyPrinter) -> None:
    connection_to(printer).send(b"label\n", check_status=True)

    assert printer.wait_for(18) == b"\x10\x04\x01\x10\x04\x02\x10\x04\x04label\n\x1dr\x01"


def test_closed_other_end_before_the_job_is_unavailable(printer: PtyPrinter) -> None:
    printer.hang_up()

    with pytest.raises(PrinterUnavailable, match="does not exist") as error:
        connection_to(printer).send(b"label\n")

    assert error.value.uncertain is False


def test_other_end_closed_mid_job_is_uncertain(printer: PtyPrinter) -> None:
    printer.hang_up_on = "data"
    data = b"0123456789abcdef" * 8192  # more than the pty buffer holds

    with pytest.raises(PrinterError) as error:
        connection_to(printer).send(data)

    assert error.value.uncertain is True


def test_other_end_closed_while_asked_for_status(printer: PtyPrinter) -> None:
    printer.hang_up_on = 1

    with pytest.raises(PrinterUnavailable, match="check the cable"):
        connection_to(printer).status()


def test_connection_object_survives_a_failed_job(printer: PtyPrinter) -> None:
    connection = connection_to(printer)
    printer.replies = dict(PAPER_OUT)
    with pytest.raises(PrinterNotReady):
        connection.send(b"first\n", check_status=True)

    printer.replies = dict(ONLINE)
    connection.send(b"second\n", check_status=True)

    requests = b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"
    assert printer.wait_for(28) == requests + requests + b"second\n\x1dr\x01"


def test_missing_port_is_unavailable() -> None:
    with pytest.raises(PrinterUnavailable, match="does not exist"):
        SerialConnection("/dev/does-not-exist-ttyUSB9").status()


def test_settings_are_checked_when_made() -> None:
    with pytest.raises(ValueError, match="flow control"):
        SerialConnection("/dev/ttyUSB0", flow="cts")
    with pytest.raises(ValueError, match="not valid"):
        SerialConnection("/dev/ttyUSB0", bytesize=9)
    with pytest.raises(ValueError, match="port"):
        SerialConnection("")


def test_describe_names_the_port() -> None:
    assert SerialConnection("/dev/ttyUSB0", 19200).describe() == (
        "serial printer on /dev/ttyUSB0 (19200 baud)"
    )


# -- delivery: the printer must answer GS r 1 sent after the job ---------------------------


def test_a_printer_that_never_reads_does_not_count_as_delivered() -> None:
    master, slave = os.openpty()  # nobody reads the other end
    try:
        connection = SerialConnection(os.ttyname(slave), 9600, timeout=0.5)
        with pytest.raises(PrinterError) as error:
            connection.send(b"label\n")
    finally:
        os.close(master)
        os.close(slave)

    assert error.value.uncertain is True
    assert "did not confirm" in str(error.value)


def test_a_printer_that_reads_but_never_answers_does_not_count_as_delivered(
    printer: PtyPrinter,
) -> None:
    printer.transmit_status_reply = None

    with pytest.raises(PrinterError) as error:
        SerialConnection(printer.port, 9600, timeout=0.5).send(b"label\n")

    assert error.value.uncertain is True
    assert "did not confirm" in str(error.value)
    assert printer.wait_for(len(b"label\n\x1dr\x01")) == b"label\n\x1dr\x01"


def test_an_xoff_is_not_taken_for_the_answer(printer: PtyPrinter) -> None:
    printer.transmit_status_reply = b"\x13"  # XOFF: bit 4 set, not a GS r reply

    with pytest.raises(PrinterError):
        SerialConnection(printer.port, 9600, timeout=0.5).send(b"label\n")
