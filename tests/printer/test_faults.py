"""Every printer connection says why a job failed as a code and the place it names, beside
its English sentence: the application words the code (``counter_app.services.failures``)."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import pytest

from counter_app.i18n import Messages
from counter_app.services.failures import failure_words
from drivers.printer.connection import PrinterError, PrinterFault
from drivers.printer.file import FileConnection
from drivers.printer.network import NetworkConnection
from drivers.printer.preview import PreviewConnection
from drivers.printer.serial_printer import SerialConnection
from drivers.scale.link import LinkCause
from drivers.scale.transport import link_cause


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _failure(send: object) -> PrinterError:
    with pytest.raises(PrinterError) as info:
        send(b"\x1b@label")  # type: ignore[operator]
    return info.value


def test_a_refused_connection() -> None:
    port = _closed_port()
    error = _failure(NetworkConnection("127.0.0.1", port, timeout=2).send)
    assert (error.fault, error.where, error.errno) == (
        PrinterFault.REFUSED,
        f"127.0.0.1:{port}",
        errno.ECONNREFUSED,
    )
    assert "refuses the connection" in str(error)  # the English sentence stays, for the log
    assert failure_words(error, Messages("nl")) == f"127.0.0.1:{port}: weigert de verbinding"
    assert failure_words(error, Messages("en")) == f"127.0.0.1:{port}: refuses the connection"


def test_a_device_that_is_not_there() -> None:
    error = _failure(FileConnection("/dev/usb/lp-not-plugged-in").send)
    assert (error.fault, error.where) == (PrinterFault.NO_DEVICE, "/dev/usb/lp-not-plugged-in")
    assert failure_words(error, Messages("nl")).endswith(": niet aangesloten")


def test_a_folder_where_a_file_should_be(tmp_path: Path) -> None:
    error = _failure(FileConnection(tmp_path).send)
    assert (error.fault, error.where) == (PrinterFault.WRONG_PATH, str(tmp_path))
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    error = _failure(PreviewConnection(blocked / "labels").send)
    assert error.fault is PrinterFault.WRONG_PATH


def test_a_serial_port_that_does_not_exist() -> None:
    error = _failure(SerialConnection("/dev/ttyDOES-NOT-EXIST").send)
    assert (error.fault, error.where) == (PrinterFault.NO_DEVICE, "/dev/ttyDOES-NOT-EXIST")


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (FileNotFoundError(errno.ENOENT, "No such file"), LinkCause.NO_DEVICE),
        (PermissionError(errno.EACCES, "Permission denied"), LinkCause.NO_PERMISSION),
        (OSError(errno.EBUSY, "Device or resource busy"), LinkCause.BUSY),
        (OSError(errno.EIO, "Input/output error"), LinkCause.IO_ERROR),
        (OSError("device reports readiness to read but returned no data"),
         LinkCause.STOPPED_ANSWERING),
        (RuntimeError("something else"), LinkCause.OTHER),
    ],
)  # fmt: skip
def test_the_scale_line_says_why_it_is_down(error: BaseException, cause: LinkCause) -> None:
    assert link_cause(error) is cause
    assert f"scale_cause.{cause.value}" in Messages("nl")
