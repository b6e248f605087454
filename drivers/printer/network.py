"""A printer on the network: raw TCP, usually port 9100 (Epson, Star, Bixolon and clones).

Each job and each status question opens its own connection and closes it again, so a
printer that was off a minute ago works as soon as it is back, and nothing is left
half-open between jobs (python-escpos's ``Network`` keeps one socket in its printer
object, which stays unusable after a failed open).

A job counts as delivered only when the printer answers a status request sent after
the job's bytes on the same connection: ``GS r 1``, which the printer processes in
order, after the job (``DLE EOT 1`` for profiles without ``GS r``; see
``drivers.printer.status.DeliveryCheck``). A printer that accepts the connection and
never reads, or reads and stalls, gives no answer within ``timeout``: the delivery is
uncertain, and so is a reset while waiting. A kernel that acknowledged every byte is
no proof: the bytes may sit unread in the printer's receive buffer.
"""

from __future__ import annotations

import contextlib
import socket
import time

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

DEFAULT_PORT = 9100


class NetworkConnection(PrinterConnection):
    """Raw TCP to ``host:port``.

    ``timeout``: seconds to connect, to send the whole job, and to wait for the answer
    to ``delivery_check`` after it. ``status_timeout``: seconds to wait for each
    ``DLE EOT`` reply of :meth:`status`.
    """

    kind = "network"

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        timeout: float = 5.0,
        *,
        status_timeout: float = 0.5,
        delivery_check: DeliveryCheck = TRANSMIT_STATUS_CHECK,
    ) -> None:
        if not host:
            raise ValueError("a network printer needs a host name or IP address")
        if not 0 < port < 65536:
            raise ValueError(f"printer port must be 1 to 65535, not {port}")
        self.host = host
        self.port = port
        self.timeout = timeout
        self.status_timeout = status_timeout
        self.delivery_check = delivery_check

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
                        f"printer at {self.address} is {not_ready_reason(status)}",
                        where=self.address,
                    )
            try:
                sock.settimeout(self.timeout)
                sock.sendall(data + self.delivery_check.request)
            except OSError as exc:
                raise PrinterError(
                    f"connection to the printer at {self.address} broke while sending "
                    f"({_reason(exc)}): the label may be incomplete",
                    uncertain=True,
                    fault=PrinterFault.BROKE_WHILE_SENDING,
                    where=self.address,
                    errno=exc.errno,
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
                "check the host name or IP address in the config",
                fault=PrinterFault.HOST_UNKNOWN,
                where=self.host,
            ) from exc
        except ConnectionRefusedError as exc:
            raise PrinterUnavailable(
                f"printer at {self.address} refuses the connection: is this the printer's "
                "address and raw port (usually 9100), and is no other computer printing to it?",
                fault=PrinterFault.REFUSED,
                where=self.address,
                errno=exc.errno,
            ) from exc
        except OSError as exc:  # timeout, host or network unreachable
            raise PrinterUnavailable(
                f"printer at {self.address} does not answer ({_reason(exc)}): "
                "is it on and on the network?",
                fault=PrinterFault.NO_ANSWER,
                where=self.address,
                errno=exc.errno,
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
        """Wait for the answer to the delivery check sent after the job.

        Only that answer proves the printer read the job (and, for ``GS r``, processed
        it). No answer within ``timeout``, an end of stream or a reset: uncertain.
        """
        deadline = time.monotonic() + self.timeout
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(256)
            except TimeoutError:
                break
            except OSError as exc:
                raise PrinterError(
                    f"the printer at {self.address} dropped the connection before it "
                    "confirmed the job: the label may be incomplete",
                    uncertain=True,
                    fault=PrinterFault.BROKE_WHILE_SENDING,
                    where=self.address,
                    errno=exc.errno,
                ) from exc
            if not chunk:
                raise PrinterError(
                    f"the printer at {self.address} closed the connection before it "
                    "confirmed the job: the label may be incomplete",
                    uncertain=True,
                    fault=PrinterFault.BROKE_WHILE_SENDING,
                    where=self.address,
                )
            if self.delivery_check.first_reply(chunk) is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                return
        raise PrinterUnconfirmed(
            f"the printer at {self.address} took the job but did not confirm it within "
            f"{self.timeout:g} s (it read nothing, or stopped: out of paper, cover open, "
            "offline?): the label may not have printed",
            where=self.address,
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


def _reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if exc.errno is not None and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
