"""A printer on USB, spoken to directly with pyusb (libusb): bulk OUT for the job, bulk IN
for ``DLE EOT`` replies.

pyusb is optional (python-escpos lists it as an extra) and is imported only when a USB
printer is used. The device is looked up, claimed, used and released per job, so a
printer that was unplugged and plugged back in is found again. python-escpos's ``Usb``
class is not used: it logs a failed kernel-driver detach and carries on, and resets the
device on every open; here each of those faults becomes a message that says what to
check.

On Linux the kernel's ``usblp`` driver takes USB printers as ``/dev/usb/lp0``. Either
the user may detach it (a udev rule giving access to the device), or the printer is
used through that device file with the ``file`` connection instead.

A job counts as delivered when the printer answers, on the bulk IN endpoint, the
status request written right after the job (``GS r 1``, processed in order after the
job; ``DLE EOT 1`` for profiles without ``GS r``). No answer within ``timeout`` makes
the delivery uncertain. A device without an IN endpoint cannot answer: its job counts
as delivered when the bulk transfer took every byte, as for a file.
"""

from __future__ import annotations

import contextlib
import errno
import time
from typing import Any

from drivers.printer.connection import (
    PrinterConnection,
    PrinterError,
    PrinterFault,
    PrinterNotReady,
    PrinterStatus,
    PrinterUnavailable,
    PrinterUnconfirmed,
)
from drivers.printer.status import (
    TRANSMIT_STATUS_CHECK,
    DeliveryCheck,
    collect_replies,
    first_status_byte,
    not_ready_reason,
    parse_status,
    status_request,
)

# USB 2.0 specification, 9.6.6 (endpoint descriptor): bit 7 of bEndpointAddress is the
# direction (1 = IN, to the host); bits 0-1 of bmAttributes the transfer type (2 = bulk).
_DIRECTION_IN = 0x80
_TRANSFER_TYPE_MASK = 0x03
_BULK = 0x02


def _import_pyusb() -> tuple[Any, Any]:
    """``usb.core`` and ``usb.util``; a separate function so tests can stand in a device."""
    import usb.core
    import usb.util

    return usb.core, usb.util


#: The fault of a device that cannot be opened, by errno (the cases ``_fault`` words).
_OPEN_FAULTS = {
    errno.EACCES: PrinterFault.NO_PERMISSION,
    errno.EBUSY: PrinterFault.DEVICE_BUSY,
    errno.ENODEV: PrinterFault.NO_DEVICE,
}


class UsbConnection(PrinterConnection):
    """The USB printer with ``vendor_id:product_id``.

    ``out_ep`` / ``in_ep``: endpoint addresses; ``None`` finds the bulk endpoints of
    ``interface``. ``timeout``: seconds for the job's bulk transfer, and to wait for the
    answer to ``delivery_check`` after it. ``status_timeout``: seconds to wait for each
    ``DLE EOT`` reply of :meth:`status`.
    """

    kind = "usb"

    def __init__(
        self,
        vendor_id: int,
        product_id: int,
        in_ep: int | None = None,
        out_ep: int | None = None,
        interface: int = 0,
        timeout: float = 5.0,
        *,
        status_timeout: float = 0.5,
        delivery_check: DeliveryCheck = TRANSMIT_STATUS_CHECK,
    ) -> None:
        for name, value in (("vendor", vendor_id), ("product", product_id)):
            if not 0 < value <= 0xFFFF:
                raise ValueError(f"USB {name} id must be 0x0001 to 0xffff, not {value:#x}")
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.in_ep = in_ep
        self.out_ep = out_ep
        self.interface = interface
        self.timeout = timeout
        self.status_timeout = status_timeout
        self.delivery_check = delivery_check

    @property
    def ids(self) -> str:
        return f"{self.vendor_id:04x}:{self.product_id:04x}"

    def describe(self) -> str:
        return f"USB printer {self.ids}"

    # -- the public operations -----------------------------------------------------------

    def send(self, data: bytes, *, check_status: bool = False) -> None:
        """Write the whole job in one bulk transfer, then release the device.

        ``check_status``: ask first and raise :class:`PrinterNotReady` when the printer
        says it cannot print (a silent printer gets the job anyway).
        """
        with _OpenDevice(self) as device:
            if check_status:
                status = device.ask_status()
                if status.ready is False:
                    raise PrinterNotReady(
                        f"USB printer {self.ids} is {not_ready_reason(status)}", where=self.ids
                    )
            device.write_job(data)
            device.confirm_delivery()

    def status(self) -> PrinterStatus:
        """Ask ``DLE EOT 1, 2, 4``; no IN endpoint or no reply gives ``answered=False``."""
        with _OpenDevice(self) as device:
            return device.ask_status()

    # -- messages ------------------------------------------------------------------------

    def _unavailable(self, exc: BaseException) -> PrinterUnavailable:
        """The error for a pyusb failure while opening: the sentence and its fault."""
        code = getattr(exc, "errno", None)
        return PrinterUnavailable(
            self._fault(exc),
            fault=_OPEN_FAULTS.get(code or 0, PrinterFault.OTHER),
            where=self.ids,
            errno=code,
        )

    def _fault(self, exc: BaseException) -> str:
        """A sentence for a pyusb error while opening, by its errno."""
        code = getattr(exc, "errno", None)
        if code == errno.EACCES:
            return (
                f"no permission to use USB printer {self.ids}: add a udev rule that gives "
                f'the counter\'s user access (SUBSYSTEM=="usb", ATTRS{{idVendor}}=='
                f'"{self.vendor_id:04x}", ATTRS{{idProduct}}=="{self.product_id:04x}", '
                'MODE="0660", GROUP="lp") and plug the printer in again'
            )
        if code == errno.EBUSY:
            return (
                f"USB printer {self.ids} is busy: another program uses it, or the kernel "
                "printer driver usblp holds it; close the other program, or print through "
                '/dev/usb/lp0 with connection = "file"'
            )
        if code == errno.ENODEV:
            return f"USB printer {self.ids} was unplugged: check the cable"
        return f"USB printer {self.ids} cannot be used ({exc}): check the cable and the ids"


class _OpenDevice:
    """One use of the device: found, configured, claimed; released on exit."""

    def __init__(self, owner: UsbConnection) -> None:
        self.owner = owner
        try:
            self.core, self.util = _import_pyusb()
        except ImportError as exc:
            raise PrinterUnavailable(
                "USB printing needs the pyusb package (and libusb): install pyusb, or print "
                'through the kernel\'s printer device with connection = "file" and '
                'path = "/dev/usb/lp0"'
            ) from exc
        self.device: Any = None
        self.claimed = False
        self.out_ep = 0
        self.in_ep: int | None = None

    def __enter__(self) -> _OpenDevice:
        try:
            self._open()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release()

    def _usb_error(self) -> type[BaseException]:
        error: type[BaseException] = self.core.USBError
        return error

    def _open(self) -> None:
        owner = self.owner
        usb_error = self._usb_error()
        try:
            self.device = self.core.find(idVendor=owner.vendor_id, idProduct=owner.product_id)
        except usb_error as exc:
            raise owner._unavailable(exc) from exc
        except ValueError as exc:  # pyusb's NoBackendError: libusb is missing
            raise PrinterUnavailable(
                f"cannot look for USB printer {owner.ids}: the libusb library is not installed"
            ) from exc
        if self.device is None:
            raise PrinterUnavailable(
                f"no USB printer with id {owner.ids} found: check the cable and the ids in "
                "the config",
                fault=PrinterFault.NO_DEVICE,
                where=owner.ids,
            )
        device = self.device
        try:
            self._detach_kernel_driver()
            try:
                configuration = device.get_active_configuration()
            except usb_error:  # not configured yet
                device.set_configuration()
                configuration = device.get_active_configuration()
            try:
                interface = configuration[(owner.interface, 0)]
            except (KeyError, IndexError) as exc:
                raise PrinterUnavailable(
                    f"USB device {owner.ids} has no interface {owner.interface}: is it a "
                    "printer, and is the interface number in the config right?"
                ) from exc
            self.util.claim_interface(device, owner.interface)
            self.claimed = True
        except usb_error as exc:
            raise owner._unavailable(exc) from exc
        self._choose_endpoints(interface)

    def _detach_kernel_driver(self) -> None:
        owner = self.owner
        try:
            active = bool(self.device.is_kernel_driver_active(owner.interface))
        except NotImplementedError:  # not the libusb1 backend (Windows): nothing to detach
            return
        if not active:
            return
        try:
            self.device.detach_kernel_driver(owner.interface)
        except self._usb_error() as exc:
            raise PrinterUnavailable(
                f"USB printer {owner.ids} is held by the kernel printer driver usblp, which "
                f"could not be detached ({exc}): add a udev rule that gives the counter's "
                "user access to the device, or print through /dev/usb/lp0 with "
                'connection = "file"'
            ) from exc

    def _choose_endpoints(self, interface: Any) -> None:
        owner = self.owner
        bulk_out: int | None = None
        bulk_in: int | None = None
        for endpoint in interface:
            address = int(endpoint.bEndpointAddress)
            if int(endpoint.bmAttributes) & _TRANSFER_TYPE_MASK != _BULK:
                continue
            if address & _DIRECTION_IN:
                bulk_in = address if bulk_in is None else bulk_in
            else:
                bulk_out = address if bulk_out is None else bulk_out
        out_ep = owner.out_ep if owner.out_ep is not None else bulk_out
        if out_ep is None:
            raise PrinterUnavailable(
                f"USB device {owner.ids} has no bulk output endpoint on interface "
                f"{owner.interface}: is it a printer?"
            )
        self.out_ep = out_ep
        self.in_ep = owner.in_ep if owner.in_ep is not None else bulk_in

    def _release(self) -> None:
        if self.device is None:
            return
        usb_error = self._usb_error()
        if self.claimed:
            with contextlib.suppress(usb_error):
                self.util.release_interface(self.device, self.owner.interface)
        with contextlib.suppress(usb_error):
            self.util.dispose_resources(self.device)
        self.device = None

    def write_job(self, data: bytes) -> None:
        owner = self.owner
        incomplete = "the label may be incomplete"
        timeout_error = getattr(self.core, "USBTimeoutError", None)
        try:
            written = self.device.write(self.out_ep, data, _milliseconds(owner.timeout))
        except self._usb_error() as exc:
            if (timeout_error is not None and isinstance(exc, timeout_error)) or (
                getattr(exc, "errno", None) == errno.ETIMEDOUT
            ):
                raise PrinterError(
                    f"USB printer {owner.ids} did not take the job within {owner.timeout:g} s "
                    f"(out of paper, cover open or offline?): {incomplete}",
                    uncertain=True,
                    fault=PrinterFault.STALLED,
                    where=owner.ids,
                ) from exc
            if getattr(exc, "errno", None) == errno.ENODEV:
                raise PrinterError(
                    f"USB printer {owner.ids} was unplugged while printing: {incomplete}",
                    uncertain=True,
                    fault=PrinterFault.BROKE_WHILE_SENDING,
                    where=owner.ids,
                ) from exc
            raise PrinterError(
                f"sending to USB printer {owner.ids} failed ({exc}): {incomplete}",
                uncertain=True,
            ) from exc
        if written != len(data):
            raise PrinterError(
                f"USB printer {owner.ids} took {written} of {len(data)} bytes: {incomplete}",
                uncertain=True,
            )

    def confirm_delivery(self) -> None:
        """Write the delivery check after the job and wait for its answer (see above)."""
        if self.in_ep is None:
            return  # cannot answer: the completed bulk transfer is all there is to know
        owner = self.owner
        check = owner.delivery_check
        incomplete = "the label may be incomplete"
        usb_error = self._usb_error()
        try:
            self.device.write(self.out_ep, check.request, _milliseconds(owner.timeout))
        except usb_error as exc:
            raise PrinterError(
                f"USB printer {owner.ids} took the job but not the status request after it "
                f"({exc}): {incomplete}",
                uncertain=True,
            ) from exc
        deadline = time.monotonic() + owner.timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                reply = bytes(self.device.read(self.in_ep, 64, _milliseconds(remaining)))
            except usb_error as exc:
                if getattr(exc, "errno", None) == errno.ENODEV:
                    raise PrinterError(
                        f"USB printer {owner.ids} was unplugged before it confirmed the job: "
                        f"{incomplete}",
                        uncertain=True,
                        fault=PrinterFault.BROKE_WHILE_SENDING,
                        where=owner.ids,
                    ) from exc
                break  # timed out (or a stall): no answer
            if check.first_reply(reply) is not None:
                return
        raise PrinterUnconfirmed(
            f"USB printer {owner.ids} took the job but did not confirm it within "
            f"{owner.timeout:g} s (out of paper, cover open or offline?): the label may not "
            "have printed",
            where=owner.ids,
        )

    def ask_status(self) -> PrinterStatus:
        if self.in_ep is None:
            return PrinterStatus(answered=False)
        in_ep = self.in_ep
        owner = self.owner
        usb_error = self._usb_error()

        def exchange(n: int) -> int | None:
            try:
                self.device.write(self.out_ep, status_request(n), _milliseconds(owner.timeout))
            except usb_error as exc:
                raise owner._unavailable(exc) from exc
            deadline = time.monotonic() + owner.status_timeout
            while (remaining := deadline - time.monotonic()) > 0:
                try:
                    reply = bytes(self.device.read(in_ep, 64, _milliseconds(remaining)))
                except usb_error as exc:
                    if getattr(exc, "errno", None) == errno.ENODEV:
                        raise owner._unavailable(exc) from exc
                    return None  # timed out (or a stall): no answer
                value = first_status_byte(reply)
                if value is not None:
                    return value
            return None

        return parse_status(collect_replies(exchange))


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))
