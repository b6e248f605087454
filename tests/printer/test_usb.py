"""UsbConnection with a stand-in USB device: the one part of printing that is faked.

The stand-in has pyusb's shape (``usb.core.find``, ``USBError`` with an errno, the
device's ``write`` / ``read`` / kernel-driver calls, ``usb.util.claim_interface``) and
answers ``DLE EOT`` the way a printer's bulk IN endpoint does.
"""

from __future__ import annotations

import errno
from array import array
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from drivers.printer import usb as usb_printer
from drivers.printer.connection import (
    PaperState,
    PrinterError,
    PrinterNotReady,
    PrinterUnavailable,
)
from drivers.printer.usb import UsbConnection

EPSON, TM_T20 = 0x04B8, 0x0E28
BULK, INTERRUPT = 0x02, 0x03


class FakeUSBError(OSError):
    """pyusb's ``usb.core.USBError(strerror, error_code=None, errno=None)``."""

    def __init__(self, strerror: str, error_code: int | None = None, errno: int | None = None):
        super().__init__(errno, strerror)
        self.backend_error_code = error_code


class FakeUSBTimeoutError(FakeUSBError):
    pass


@dataclass
class FakeEndpoint:
    bEndpointAddress: int
    bmAttributes: int = BULK


@dataclass
class FakePrinterDevice:
    idVendor: int = EPSON
    idProduct: int = TM_T20
    endpoints: list[FakeEndpoint] = field(
        default_factory=lambda: [FakeEndpoint(0x01), FakeEndpoint(0x82)]
    )
    replies: dict[int, bytes] = field(default_factory=lambda: {1: b"\x12", 2: b"\x12", 4: b"\x12"})
    configured: bool = True
    kernel_driver_active: bool = False
    detach_errno: int | None = None
    configure_errno: int | None = None
    claim_errno: int | None = None
    write_errno: int | None = None
    write_timeout: bool = False
    accept_bytes: int | None = None
    # The answer to GS r 1 (transmit status) after a job; None: never answered.
    transmit_status_reply: bytes | None = b"\x00"
    transmit_status_requests: int = 0
    # what happened
    job: bytearray = field(default_factory=bytearray)
    requests: list[int] = field(default_factory=list)
    written_to: set[int] = field(default_factory=set)
    detached: bool = False
    claimed: bool = False
    released: bool = False
    disposed: bool = False
    _answers: list[bytes] = field(default_factory=list)

    def is_kernel_driver_active(self, interface: int) -> bool:
        return self.kernel_driver_active

    def detach_kernel_driver(self, interface: int) -> None:
        if self.detach_errno is not None:
            raise FakeUSBError("Access denied", errno=self.detach_errno)
        self.kernel_driver_active = False
        self.detached = True

    def get_active_configuration(self) -> dict[tuple[int, int], list[FakeEndpoint]]:
        if not self.configured:
            raise FakeUSBError("Configuration not set", errno=errno.EIO)
        return {(0, 0): self.endpoints}

    def set_configuration(self) -> None:
        if self.configure_errno is not None:
            raise FakeUSBError(
                "Access denied (insufficient permissions)", errno=self.configure_errno
            )
        self.configured = True

    def write(self, endpoint: int, data: bytes, timeout: int) -> int:
        assert self.claimed, "written before the interface was claimed"
        self.written_to.add(endpoint)
        if self.write_timeout:
            raise FakeUSBTimeoutError("Operation timed out", errno=errno.ETIMEDOUT)
        if self.write_errno is not None:
            raise FakeUSBError(
                "No such device (it may have been disconnected)", errno=self.write_errno
            )
        if bytes(data) == b"\x1dr\x01":
            self.transmit_status_requests += 1
            if self.transmit_status_reply is not None:
                self._answers.append(self.transmit_status_reply)
            return 3
        if data[:2] == b"\x10\x04" and len(data) == 3:
            self.requests.append(data[2])
            if data[2] in self.replies:
                self._answers.append(self.replies[data[2]])
            return 3
        taken = bytes(data) if self.accept_bytes is None else bytes(data[: self.accept_bytes])
        self.job += taken
        return len(taken)

    def read(self, endpoint: int, size: int, timeout: int) -> array[int]:
        if endpoint & 0x80 == 0:
            raise FakeUSBError("Pipe error", errno=errno.EPIPE)
        if not self._answers:
            raise FakeUSBTimeoutError("Operation timed out", errno=errno.ETIMEDOUT)
        return array("B", self._answers.pop(0))


@pytest.fixture
def device(monkeypatch: pytest.MonkeyPatch) -> FakePrinterDevice:
    """A printer on the fake USB bus; ``usb.core`` / ``usb.util`` are stood in."""
    plugged = FakePrinterDevice()

    def find(idVendor: int, idProduct: int) -> FakePrinterDevice | None:
        if (idVendor, idProduct) == (plugged.idVendor, plugged.idProduct):
            return plugged
        return None

    def claim_interface(dev: FakePrinterDevice, interface: int) -> None:
        if dev.claim_errno is not None:
            raise FakeUSBError("Resource busy", errno=dev.claim_errno)
        dev.claimed = True

    def release_interface(dev: FakePrinterDevice, interface: int) -> None:
        dev.claimed = False
        dev.released = True

    def dispose_resources(dev: FakePrinterDevice) -> None:
        dev.disposed = True

    core = SimpleNamespace(find=find, USBError=FakeUSBError, USBTimeoutError=FakeUSBTimeoutError)
    util = SimpleNamespace(
        claim_interface=claim_interface,
        release_interface=release_interface,
        dispose_resources=dispose_resources,
    )
    monkeypatch.setattr(usb_printer, "_import_pyusb", lambda: (core, util))
    return plugged


def tm_t20(**kwargs: Any) -> UsbConnection:
    return UsbConnection(EPSON, TM_T20, status_timeout=0.05, **kwargs)


def test_job_is_written_to_the_bulk_out_endpoint(device: FakePrinterDevice) -> None:
    data = b"\x1b@MS01-000123\n" + bytes(range(256)) + b"\x1dVA\x00"

    tm_t20().send(data)

    assert bytes(device.job) == data
    assert device.written_to == {0x01}
    assert device.released and device.disposed


def test_endpoints_are_found_from_the_descriptors(device: FakePrinterDevice) -> None:
    device.endpoints = [FakeEndpoint(0x83, INTERRUPT), FakeEndpoint(0x81), FakeEndpoint(0x03)]

    connection = tm_t20()
    connection.send(b"label\n")
    status = connection.status()

    assert device.written_to == {0x03}
    assert status.ready is True


def test_configured_endpoints_win(device: FakePrinterDevice) -> None:
    device.endpoints = [FakeEndpoint(0x01), FakeEndpoint(0x02), FakeEndpoint(0x82)]

    tm_t20(out_ep=0x02).send(b"label\n")

    assert device.written_to == {0x02}


def test_unconfigured_device_is_configured(device: FakePrinterDevice) -> None:
    device.configured = False

    tm_t20().send(b"label\n")

    assert bytes(device.job) == b"label\n"


def test_status_replies_are_parsed(device: FakePrinterDevice) -> None:
    device.replies = {1: b"\x1a", 2: b"\x32", 4: b"\x7e"}

    status = tm_t20().status()

    assert status.answered is True
    assert status.paper is PaperState.OUT
    assert status.ready is False
    assert device.requests == [1, 2, 4]


def test_silent_printer_is_unknown(device: FakePrinterDevice) -> None:
    device.replies = {}

    status = tm_t20().status()

    assert status.answered is False
    assert status.ready is None
    assert device.requests == [1]


def test_no_in_endpoint_means_unknown(device: FakePrinterDevice) -> None:
    device.endpoints = [FakeEndpoint(0x01)]

    assert tm_t20().status().answered is False
    assert device.requests == []


def test_send_with_status_check_refuses_when_not_ready(device: FakePrinterDevice) -> None:
    device.replies = {1: b"\x1a", 2: b"\x16", 4: b"\x12"}

    with pytest.raises(PrinterNotReady, match="cover open"):
        tm_t20().send(b"label\n", check_status=True)

    assert device.job == b""
    assert device.released


def test_wrong_ids_are_not_found(device: FakePrinterDevice) -> None:
    with pytest.raises(PrinterUnavailable) as error:
        UsbConnection(0x0519, 0x0001).send(b"label\n")

    assert str(error.value) == (
        "no USB printer with id 0519:0001 found: check the cable and the ids in the config"
    )
    assert error.value.uncertain is False


def test_busy_device_says_what_to_check(device: FakePrinterDevice) -> None:
    device.claim_errno = errno.EBUSY

    with pytest.raises(PrinterUnavailable) as error:
        tm_t20().send(b"label\n")

    message = str(error.value)
    assert "04b8:0e28 is busy" in message
    assert "usblp" in message and "another program" in message
    assert device.job == b""


def test_kernel_driver_is_detached(device: FakePrinterDevice) -> None:
    device.kernel_driver_active = True

    tm_t20().send(b"label\n")

    assert device.detached
    assert bytes(device.job) == b"label\n"


def test_kernel_driver_that_cannot_be_detached(device: FakePrinterDevice) -> None:
    device.kernel_driver_active = True
    device.detach_errno = errno.EACCES

    with pytest.raises(PrinterUnavailable) as error:
        tm_t20().send(b"label\n")

    assert "usblp" in str(error.value)
    assert "udev rule" in str(error.value)


def test_no_permission_asks_for_a_udev_rule(device: FakePrinterDevice) -> None:
    device.configured = False
    device.configure_errno = errno.EACCES

    with pytest.raises(PrinterUnavailable) as error:
        tm_t20().status()

    assert "no permission" in str(error.value)
    assert 'ATTRS{idVendor}=="04b8"' in str(error.value)


def test_write_timeout_is_uncertain(device: FakePrinterDevice) -> None:
    device.write_timeout = True

    with pytest.raises(PrinterError) as error:
        tm_t20().send(b"label\n")

    assert error.value.uncertain is True
    assert device.released


def test_unplugged_mid_job_is_uncertain(device: FakePrinterDevice) -> None:
    device.write_errno = errno.ENODEV

    with pytest.raises(PrinterError) as error:
        tm_t20().send(b"label\n")

    assert error.value.uncertain is True
    assert "unplugged" in str(error.value)


def test_partial_write_is_uncertain(device: FakePrinterDevice) -> None:
    device.accept_bytes = 3

    with pytest.raises(PrinterError) as error:
        tm_t20().send(b"label\n")

    assert error.value.uncertain is True
    assert "3 of 6 bytes" in str(error.value)


def test_missing_pyusb_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pyusb() -> tuple[Any, Any]:
        raise ImportError("No module named 'usb'")

    monkeypatch.setattr(usb_printer, "_import_pyusb", no_pyusb)

    with pytest.raises(PrinterUnavailable, match="pyusb"):
        tm_t20().send(b"label\n")


def test_ids_are_checked_when_made() -> None:
    with pytest.raises(ValueError, match="vendor"):
        UsbConnection(0, TM_T20)
    assert UsbConnection(EPSON, TM_T20).describe() == "USB printer 04b8:0e28"


# -- delivery: the printer must answer GS r 1 sent after the job ---------------------------


def test_delivery_is_confirmed_by_the_answer_to_gs_r(device: FakePrinterDevice) -> None:
    tm_t20().send(b"label\n")

    assert bytes(device.job) == b"label\n"
    assert device.transmit_status_requests == 1


def test_a_printer_that_does_not_answer_after_the_job_is_not_delivered(
    device: FakePrinterDevice,
) -> None:
    # (A USB printer that reads nothing times the bulk write out: see above.)
    device.transmit_status_reply = None

    with pytest.raises(PrinterError) as error:
        tm_t20(timeout=0.2).send(b"label\n")

    assert error.value.uncertain is True
    assert "did not confirm" in str(error.value)


def test_without_an_in_endpoint_the_job_is_trusted_as_before(device: FakePrinterDevice) -> None:
    device.endpoints = [FakeEndpoint(0x01)]

    tm_t20().send(b"label\n")

    assert bytes(device.job) == b"label\n"
    assert device.transmit_status_requests == 0
