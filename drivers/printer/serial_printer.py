"""A printer on a serial line (RS-232, a USB-serial adapter, or any pyserial URL).

The port is opened per job with ``serial.serial_for_url`` and closed again, so
``/dev/ttyUSB0``, ``COM3``, ``socket://host:port`` and ``rfc2217://`` all work and an
adapter that was unplugged and plugged back is found again.

At 9600 baud a printer takes under 1 kB per second, and with hardware flow control a
printer that is off, or out of paper, holds the line: bytes wait in the kernel's output
buffer. So a job is delivered when the output buffer is empty, and the wait for that
has a deadline. pyserial's ``flush()`` (``tcdrain``) has none: it can block for ever,
so it is used only where the output buffer cannot be measured.

An empty output buffer says only that the bytes left the PC. The job counts as
delivered when the printer answers the status request sent right after it (``GS r 1``,
processed in order after the job; ``DLE EOT 1`` for profiles without ``GS r``): no
answer within ``timeout`` makes the delivery uncertain. A printer wired without a
return line (TX only) can never answer: print to it with ``connection = "file"`` on
the port's device instead.
"""

from __future__ import annotations

import contextlib
import errno
import time
from typing import Any, get_args

import serial

from drivers.printer.connection import (
    PrinterConnection,
    PrinterError,
    PrinterFault,
    PrinterNotReady,
    PrinterStatus,
    PrinterUnavailable,
    PrinterUnconfirmed,
)
from drivers.printer.settings import FlowControl
from drivers.printer.status import (
    TRANSMIT_STATUS_CHECK,
    DeliveryCheck,
    collect_replies,
    first_status_byte,
    not_ready_reason,
    parse_status,
    status_request,
)

FLOW_CONTROLS: tuple[str, ...] = get_args(FlowControl)

#: The fault of a port that cannot be opened, by errno (the cases ``_open_failure`` words).
_OPEN_FAULTS = {
    errno.ENOENT: PrinterFault.NO_DEVICE,
    errno.EACCES: PrinterFault.NO_PERMISSION,
    errno.EBUSY: PrinterFault.DEVICE_BUSY,
}

_BITS_PER_BYTE_8N1 = 10  # start + 8 data + stop: the usual frame, close enough for others


class SerialConnection(PrinterConnection):
    """A serial printer on ``port``.

    ``flow``: ``"none"``, ``"rtscts"`` (hardware, RTS/CTS), ``"dsrdtr"`` (hardware,
    DTR/DSR, the Epson default) or ``"xonxoff"`` (software). ``timeout``: seconds the
    printer may hold the line beyond the time the job takes at ``baudrate``, and to
    answer ``delivery_check`` after it. ``status_timeout``: seconds to wait for each
    ``DLE EOT`` reply of :meth:`status`.
    """

    kind = "serial"

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        flow: str = "none",
        bytesize: int = 8,
        parity: str = "N",
        stopbits: float = 1,
        timeout: float = 5.0,
        *,
        status_timeout: float = 0.5,
        delivery_check: DeliveryCheck = TRANSMIT_STATUS_CHECK,
    ) -> None:
        if not port:
            raise ValueError("a serial printer needs a port, e.g. /dev/ttyUSB0 or COM3")
        if flow not in FLOW_CONTROLS:
            raise ValueError(
                f"unknown flow control {flow!r} for the serial printer; "
                f"choose one of: {', '.join(FLOW_CONTROLS)}"
            )
        self.port = port
        self.baudrate = baudrate
        self.flow = flow
        self.bytesize = bytesize
        self.parity = parity
        self.stopbits = stopbits
        self.timeout = timeout
        self.status_timeout = status_timeout
        self.delivery_check = delivery_check
        # Let pyserial check the settings now (without opening the port), so a wrong
        # baud rate or parity is a configuration error and not a failed print later.
        try:
            self._make(do_not_open=True)
        except ValueError as exc:
            raise ValueError(f"serial printer settings for {port} are not valid: {exc}") from exc

    def describe(self) -> str:
        return f"serial printer on {self.port} ({self.baudrate} baud)"

    # -- the public operations -----------------------------------------------------------

    def send(self, data: bytes, *, check_status: bool = False) -> None:
        """Write every byte and wait until the line has taken them, then close the port.

        ``check_status``: ask first on the same line and raise :class:`PrinterNotReady`
        when the printer says it cannot print (a silent printer gets the job anyway).
        """
        data += self.delivery_check.request
        transmit_seconds = len(data) * _BITS_PER_BYTE_8N1 / self.baudrate
        deadline_seconds = self.timeout + transmit_seconds
        port = self._open(write_timeout=deadline_seconds)
        try:
            if check_status:
                status = self._ask_status(port)
                if status.ready is False:
                    raise PrinterNotReady(
                        f"serial printer on {self.port} is {not_ready_reason(status)}",
                        where=self.port,
                    )
            with contextlib.suppress(serial.SerialException, OSError, NotImplementedError):
                port.reset_input_buffer()  # stale bytes are no answer to the check
            self._write_all(port, data, time.monotonic() + deadline_seconds)
            self._confirm_delivery(port)
        finally:
            _close_quietly(port)

    def status(self) -> PrinterStatus:
        """Ask ``DLE EOT 1, 2, 4`` on the line; no reply gives ``answered=False``."""
        port = self._open(write_timeout=self.timeout)
        try:
            return self._ask_status(port)
        finally:
            _close_quietly(port)

    # -- the steps -----------------------------------------------------------------------

    def _make(self, *, do_not_open: bool, write_timeout: float | None = None) -> Any:
        return serial.serial_for_url(
            self.port,
            baudrate=self.baudrate,
            bytesize=self.bytesize,
            parity=self.parity,
            stopbits=self.stopbits,
            timeout=self.status_timeout,
            write_timeout=write_timeout,
            xonxoff=self.flow == "xonxoff",
            rtscts=self.flow == "rtscts",
            dsrdtr=self.flow == "dsrdtr",
            do_not_open=do_not_open,
        )

    def _open(self, *, write_timeout: float) -> Any:
        try:
            return self._make(do_not_open=False, write_timeout=write_timeout)
        except serial.SerialException as exc:
            raise PrinterUnavailable(
                self._open_failure(exc),
                fault=_OPEN_FAULTS.get(exc.errno or 0, PrinterFault.OTHER),
                where=self.port,
                errno=exc.errno,
            ) from exc
        except (OSError, ValueError) as exc:  # URL handlers raise these for bad hosts
            raise PrinterUnavailable(
                f"serial printer on {self.port} cannot be opened ({exc}): "
                "check the port name in the config",
                fault=PrinterFault.NO_DEVICE,
                where=self.port,
            ) from exc

    def _open_failure(self, exc: serial.SerialException) -> str:
        code = exc.errno
        if code == errno.ENOENT:
            return (
                f"serial port {self.port} does not exist: check the cable (or the USB-serial "
                "adapter) and the port name in the config"
            )
        if code == errno.EACCES:
            return (
                f"no permission to open serial port {self.port}: add the user to the "
                "'dialout' group (Linux) and log in again"
            )
        if code == errno.EBUSY:
            return f"serial port {self.port} is in use by another program"
        return f"serial printer on {self.port} cannot be opened: {exc}"

    def _write_all(self, port: Any, data: bytes, deadline: float) -> None:
        broken = f"the line to the serial printer on {self.port} broke while sending"
        try:
            written = port.write(data)
        except serial.SerialTimeoutException as exc:
            raise PrinterError(
                f"serial printer on {self.port} stopped taking data before the end of the "
                "job (flow control held the line): the label may be incomplete",
                uncertain=True,
                fault=PrinterFault.STALLED,
                where=self.port,
            ) from exc
        except (serial.SerialException, OSError) as exc:
            raise PrinterError(
                f"{broken} ({exc})",
                uncertain=True,
                fault=PrinterFault.BROKE_WHILE_SENDING,
                where=self.port,
            ) from exc
        if written is not None and written != len(data):
            raise PrinterError(
                f"{broken}: {written} of {len(data)} bytes written",
                uncertain=True,
                fault=PrinterFault.BROKE_WHILE_SENDING,
                where=self.port,
            )
        self._wait_until_sent(port, len(data), deadline)

    def _wait_until_sent(self, port: Any, size: int, deadline: float) -> None:
        """Wait until the kernel's output buffer is empty, or give up at ``deadline``."""
        try:
            while (waiting := int(port.out_waiting)) > 0:
                if time.monotonic() >= deadline:
                    port.reset_output_buffer()  # else close() waits on the held line
                    if waiting >= size:
                        raise PrinterUnavailable(
                            f"serial printer on {self.port} takes no data: is it on, and do "
                            f"the baud rate ({self.baudrate}) and flow control "
                            f"({self.flow}) match its settings?",
                            fault=PrinterFault.NO_ANSWER,
                            where=self.port,
                        )
                    raise PrinterError(
                        f"serial printer on {self.port} stopped taking data before the end "
                        "of the job: the label may be incomplete",
                        uncertain=True,
                        fault=PrinterFault.STALLED,
                        where=self.port,
                    )
                time.sleep(0.01)
        except (AttributeError, NotImplementedError):
            port.flush()  # a URL handler without an output buffer count
        except (serial.SerialException, OSError) as exc:
            raise PrinterError(
                f"the line to the serial printer on {self.port} broke while sending ({exc})",
                uncertain=True,
                fault=PrinterFault.BROKE_WHILE_SENDING,
                where=self.port,
            ) from exc

    def _confirm_delivery(self, port: Any) -> None:
        """Wait for the answer to the delivery check that followed the job."""
        deadline = time.monotonic() + self.timeout
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                port.timeout = remaining
                chunk: bytes = port.read(1)
                if chunk and self.delivery_check.first_reply(chunk) is not None:
                    return
        except (serial.SerialException, OSError) as exc:
            raise PrinterError(
                f"the line to the serial printer on {self.port} broke before the printer "
                f"confirmed the job ({exc}): the label may be incomplete",
                uncertain=True,
                fault=PrinterFault.BROKE_WHILE_SENDING,
                where=self.port,
            ) from exc
        raise PrinterUnconfirmed(
            f"serial printer on {self.port} took the job but did not confirm it within "
            f"{self.timeout:g} s (out of paper, cover open, offline, or no return line in "
            "the cable?): the label may not have printed",
            where=self.port,
        )

    def _ask_status(self, port: Any) -> PrinterStatus:
        with contextlib.suppress(serial.SerialException, OSError, NotImplementedError):
            port.reset_input_buffer()  # stale bytes are no answer to this question

        def exchange(n: int) -> int | None:
            try:
                port.write(status_request(n))
                return _read_status_byte(port, self.status_timeout)
            except (serial.SerialException, OSError) as exc:
                raise PrinterUnavailable(
                    f"the line to the serial printer on {self.port} is broken ({exc}): "
                    "check the cable",
                    fault=PrinterFault.IO_ERROR,
                    where=self.port,
                ) from exc

        return parse_status(collect_replies(exchange))


def _read_status_byte(port: Any, timeout: float) -> int | None:
    """Read until a byte with the status pattern arrives or time is up."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        port.timeout = remaining
        chunk: bytes = port.read(1)
        if not chunk:
            return None
        value = first_status_byte(chunk)
        if value is not None:
            return value
    return None


def _close_quietly(port: Any) -> None:
    with contextlib.suppress(serial.SerialException, OSError):
        port.close()
