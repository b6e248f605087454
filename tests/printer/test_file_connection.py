"""The file connection against real files, pipes and device files."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.printer.connection import PrinterNotReady, PrinterUnavailable
from drivers.printer.file import FileConnection, describe_os_error


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "printer.fifo"
    os.mkfifo(path)
    return path


@pytest.fixture
def fifo_reader(fifo: Path) -> Iterator[int]:
    """The printer's end of the pipe: open for reading, read only when asked."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    yield fd
    os.close(fd)


def test_an_ordinary_file_collects_jobs(tmp_path: Path) -> None:
    path = tmp_path / "jobs.escpos"
    connection = FileConnection(path)
    connection.send(b"\x1b@first")
    connection.send(b"\x1b@second")
    assert path.read_bytes() == b"\x1b@first\x1b@second"
    assert connection.kind == "file"
    assert connection.describe() == f"file {path}"
    assert connection.status().answered is False


def test_a_device_gets_the_job_as_is(fifo: Path, fifo_reader: int) -> None:
    FileConnection(fifo).send(b"\x1b@label\n")
    assert os.read(fifo_reader, 100) == b"\x1b@label\n"
    assert not fifo.is_file()  # still the device, not replaced by a file


def test_a_device_nobody_reads_from_is_not_connected(fifo: Path) -> None:
    with pytest.raises(PrinterUnavailable) as raised:
        FileConnection(fifo).send(b"job")
    assert str(raised.value) == (
        f"cannot write to {fifo}: the device is not connected — "
        "is the printer plugged in and switched on?"
    )
    assert not raised.value.uncertain


def test_a_device_that_stops_taking_data_times_out_uncertain(fifo: Path, fifo_reader: int) -> None:
    job = b"x" * (4 * 1024 * 1024)  # more than any pipe buffer holds
    with pytest.raises(PrinterNotReady) as raised:
        FileConnection(fifo, timeout=0.2).send(job)
    assert raised.value.uncertain  # part of the job went out: reprint as duplicate
    assert "is it out of paper, open or offline?" in str(raised.value)


def test_a_missing_device_is_never_created() -> None:
    path = Path("/dev/usb/lp-counter-test")
    with pytest.raises(PrinterUnavailable) as raised:
        FileConnection(path).send(b"job")
    assert str(raised.value) == (
        f"cannot write to {path}: no such device — is the printer plugged in and switched on?"
    )
    assert not path.exists()


def test_a_full_device_says_so() -> None:
    with pytest.raises(PrinterUnavailable) as raised:
        FileConnection("/dev/full").send(b"job")
    assert "no space left" in str(raised.value)
    assert not raised.value.uncertain


def test_a_missing_folder_and_a_folder_as_path(tmp_path: Path) -> None:
    with pytest.raises(PrinterUnavailable, match=r"the folder .* does not exist"):
        FileConnection(tmp_path / "missing" / "jobs.escpos").send(b"job")
    with pytest.raises(PrinterUnavailable, match="it is a folder, not a file or a device"):
        FileConnection(tmp_path).send(b"job")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to a read-only file")
def test_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "jobs.escpos"
    path.write_bytes(b"")
    path.chmod(0o400)
    with pytest.raises(PrinterUnavailable, match="permission denied"):
        FileConnection(path).send(b"job")


@pytest.mark.parametrize(
    ("code", "device", "ending"),
    [
        (errno.EACCES, True, "permission denied — is the user in the lp group?"),
        (
            errno.EIO,
            True,
            "input/output error — the printer may have been unplugged or switched off",
        ),
        (
            errno.ENXIO,
            True,
            "the device is not connected — is the printer plugged in and switched on?",
        ),
        (errno.EBUSY, True, "the device is busy — is another program using the printer?"),
        (errno.EROFS, False, "the file system is read-only"),
        (errno.ELOOP, False, "too many levels of symbolic links"),
    ],
)
def test_error_sentences(code: int, device: bool, ending: str) -> None:
    message = describe_os_error(
        Path("/dev/usb/lp0"), OSError(code, os.strerror(code)), device=device
    )
    assert message == f"cannot write to /dev/usb/lp0: {ending}"
