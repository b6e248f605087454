"""A printer on the network: raw TCP, usually port 9100 (Epson, Star, Bixolon and clones).

Each job and each status question opens its own connection and closes it again, so a
printer that was off a minute ago works as soon as it is back, and nothing is left
half-open between jobs (python-escpos's ``Network`` keeps one socket in its printer
object, which stays unusable after a failed open).

A job counts as delivered when the printer closed its side after we closed ours (the
raw port 9100 convention: the printer reads to the end, then closes). A reset instead
of a close means the printer dropped bytes: the delivery is uncertain.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import time

from drivers.printer.connection import (
    PrinterConnection,
    PrinterError,
    PrinterNotReady,
    PrinterStatus,
    PrinterUnavailable,
)
from drivers.printer.status import (
    collect_replies,
    first_status_byte,
    not_ready_reason,
    parse_status,
    status_request,
)

DEFAULT_PORT = 9100


class NetworkConnection(PrinterConnection):
    """Raw TCP to ``host:port``.

    ``timeout``: seconds to connect, to send the whole job, and to wait for the printer
    to close its side after it (a printer that never closes costs this wait per job).
    ``status_timeout``: seconds to wait for each ``DLE EOT`` reply.
    """

    kind = "network"

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        timeout: float = 5.0,
        *,
        status_timeout: float = 0.5,
    ) -> None:
        if not host:
            raise ValueError("a network printer needs a host name or IP address")
        if not 0 < port < 65536:
            raise ValueError(f"printer port must be 1 to 65535, not {port}")
        self.host = host
        self.port = port
        self.timeout = timeout
        self.status_timeout = status_timeout

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def describe(self) -> str:
        return f"network printer {self.address}"

    # -- the public operations -----------------------------------------------------------

    def send(self, data: bytes, *, check_status: bool = False) -> None:
        """Deliver ``data`` over a new connection, then close it.

        With ``check_status`` the printer is first asked over the same connection, and a
        printer that says it cannot print raises :class:`PrinterNotReady` before any byte
        of the job is sent (a silent printer gets the job anyway). The print service asks
        :meth:`status` itself, so the default is not to ask twice.
        """
        sock = self._connect()
        try:
            if check_status:
                status = self._ask_status(sock)
                if status.ready is False:
                    raise PrinterNotReady(
                        f"printer at {self.address} is {not_ready_reason(status)}"
                    )
            try:
                sock.settimeout(self.timeout)
                sock.sendall(data)
            except OSError as exc:
                raise PrinterError(
                    f"connection to the printer at {self.address} broke while sending "
                    f"({_reason(exc)}): the label may be incomplete",
                    uncertain=True,
                ) from exc
            self._confirm_delivery(sock)
        finally:
            sock.close()

    def status(self) -> PrinterStatus:
        """Ask ``DLE EOT 1, 2, 4`` over a new connection.

        A printer that accepts the connection but does not answer gives
        ``answered=False``. A printer that cannot be reached at all raises
        :class:`PrinterUnavailable`: that much is known.
        """
        sock = self._connect()
        try:
            return self._ask_status(sock)
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    # -- the steps -----------------------------------------------------------------------

    def _connect(self) -> socket.socket:
        try:
            return socket.create_connection((self.host, self.port), timeout=self.timeout)
        except socket.gaierror as exc:
            raise PrinterUnavailable(
                f"printer host {self.host!r} is not known ({exc.strerror}): "
                "check the host name or IP address in the config"
            ) from exc
        except ConnectionRefusedError as exc:
            raise PrinterUnavailable(
                f"printer at {self.address} refuses the connection: is this the printer's "
                "address and raw port (usually 9100), and is no other computer printing to it?"
            ) from exc
        except OSError as exc:  # timeout, host or network unreachable
            raise PrinterUnavailable(
                f"printer at {self.address} does not answer ({_reason(exc)}): "
                "is it on and on the network?"
            ) from exc

    def _ask_status(self, sock: socket.socket) -> PrinterStatus:
        def exchange(n: int) -> int | None:
            try:
                sock.settimeout(self.timeout)
                sock.sendall(status_request(n))
                return _receive_status_byte(sock, self.status_timeout)
            except OSError:
                return None

        return parse_status(collect_replies(exchange))

    def _confirm_delivery(self, sock: socket.socket) -> None:
        """Close our side and wait for the printer to close its side.

        A clean close (end of stream) means the printer read every byte. A reset means
        it closed with bytes unread. A printer that keeps the connection open past the
        timeout is trusted when the kernel reports every byte acknowledged.
        """
        uncertain = PrinterError(
            f"the printer at {self.address} dropped the connection before it took the "
            "whole job: the label may be incomplete",
            uncertain=True,
        )
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            raise uncertain from exc
        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(256)  # status bytes a printer may push; not needed here
            except TimeoutError:
                break
            except OSError as exc:
                raise uncertain from exc
            if not chunk:
                return
        unacknowledged = _unacknowledged_bytes(sock)
        if unacknowledged:
            raise PrinterError(
                f"the printer at {self.address} stopped taking data ({unacknowledged} bytes "
                "not acknowledged): the label may be incomplete",
                uncertain=True,
            )


def _receive_status_byte(sock: socket.socket, timeout: float) -> int | None:
    """Read until a byte with the status pattern arrives, the stream ends, or time is up."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(16)
        except TimeoutError:
            return None
        if not chunk:
            return None
        value = first_status_byte(chunk)
        if value is not None:
            return value


def _unacknowledged_bytes(sock: socket.socket) -> int | None:
    """Bytes sent but not yet acknowledged by the peer (Linux ``SIOCOUTQ``), if known."""
    if sys.platform != "linux":
        return None
    import fcntl
    import termios

    try:
        raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
    except OSError:
        return None
    count: int = struct.unpack("i", raw)[0]
    return count


def _reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if exc.errno is not None and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
