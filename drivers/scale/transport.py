"""The serial transport: one port, one thread, a protocol parser, callbacks out.

The transport owns the port. Its thread reads whatever arrives (short timeouts, so
it notices ``stop()`` quickly), feeds the protocol, stamps each reading with the
time it was received, and reports through the callbacks it was given. It never
raises into the caller: a port that cannot be opened, a cable that is pulled or a
USB adapter that disappears is reported as ``disconnected`` with a plain English
reason, and the thread keeps trying to open the port again until it is stopped.

Ports are opened with ``serial.serial_for_url``, so a device path (``/dev/ttyUSB0``),
a Windows port (``COM3``), ``socket://host:port`` and ``rfc2217://host:port`` all
work. Nothing here is POSIX-only.

Callbacks run on the transport's thread; they must be quick and must not block (the
scale service hands readings on to the UI through its own queue).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

import serial

from drivers.scale.link import LinkCause
from drivers.scale.protocol import ScaleProtocol
from drivers.scale.reading import Reading

log = logging.getLogger(__name__)

LinkState = Literal["connecting", "connected", "disconnected"]


@dataclass(frozen=True, slots=True)
class TransportLink:
    """The state of the line to the indicator: ``message`` in plain English for the log
    and the technician's tools, ``cause`` (when it is down for a reason) for the words
    the application shows."""

    state: LinkState
    port: str
    message: str = ""
    cause: LinkCause | None = None


@dataclass(frozen=True, slots=True)
class RawChunk:
    """Bytes as they went over the line, for the monitor and its log."""

    data: bytes
    at: datetime
    direction: Literal["rx", "tx"]


ReadingCallback = Callable[[Reading], None]
LinkCallback = Callable[[TransportLink], None]
MissedCallback = Callable[[], None]
RawListener = Callable[[RawChunk], None]

# Reasons for the errno values a technician meets when a port will not open.
_REASONS: dict[int, str] = {
    errno.ENOENT: "no such device",
    errno.ENODEV: "no such device",
    errno.ENXIO: "no such device",
    errno.EACCES: "permission denied (is the user in the dialout group?)",
    errno.EPERM: "permission denied",
    errno.EBUSY: "the port is in use by another program",
    errno.EIO: "input/output error (device unplugged?)",
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by the other side",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ETIMEDOUT: "connection timed out",
    # termios refuses the line settings, e.g. on a port another program holds.
    errno.EINVAL: "the port refused its line settings (in use by another program?)",
}


def _errno_of(exc: BaseException) -> int | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        number = getattr(current, "errno", None)
        if number is None and current.args and isinstance(current.args[0], int):
            number = current.args[0]  # termios.error carries (errno, text) as args
        if isinstance(number, int) and number in _REASONS:
            return number
        current = current.__cause__ or current.__context__
    return None


# The cause of each errno in ``_REASONS`` (the same cases, as a code).
_CAUSES: dict[int, LinkCause] = {
    errno.ENOENT: LinkCause.NO_DEVICE,
    errno.ENODEV: LinkCause.NO_DEVICE,
    errno.ENXIO: LinkCause.NO_DEVICE,
    errno.EACCES: LinkCause.NO_PERMISSION,
    errno.EPERM: LinkCause.NO_PERMISSION,
    errno.EBUSY: LinkCause.BUSY,
    errno.EIO: LinkCause.IO_ERROR,
    errno.ECONNREFUSED: LinkCause.REFUSED,
    errno.ECONNRESET: LinkCause.RESET,
    errno.EHOSTUNREACH: LinkCause.UNREACHABLE,
    errno.ETIMEDOUT: LinkCause.TIMED_OUT,
    errno.EINVAL: LinkCause.BUSY,
}


def link_cause(exc: BaseException) -> LinkCause:
    """The cause of a port error, as :func:`describe_error` words it in English."""
    number = _errno_of(exc)
    if number is not None:
        return _CAUSES[number]
    text = str(exc)
    if "readiness to read but returned no data" in text:
        return LinkCause.STOPPED_ANSWERING
    if "socket disconnected" in text:
        return LinkCause.CLOSED_BY_PEER
    return LinkCause.OTHER


def describe_error(exc: BaseException) -> str:
    """A short English reason for a port error ("no such device")."""
    number = _errno_of(exc)
    if number is not None:
        return _REASONS[number]
    text = str(exc).strip()
    if "readiness to read but returned no data" in text:
        return "the device stopped answering (unplugged?)"
    if "socket disconnected" in text:
        return "the connection was closed by the other side"
    return text or type(exc).__name__


class ScaleTransport:
    """Reads a scale indicator on its own thread and reports readings and link state.

    ``port``: a pyserial port name or URL. ``protocol``: the parser (its
    ``serial_defaults`` fill in any line setting not given). ``on_reading`` gets
    every decoded reading with ``received_at`` set (UTC); ``on_link`` gets each
    change of :class:`TransportLink`; ``on_missed`` is called when a polled
    indicator did not answer a weight request within ``reply_timeout``;
    ``raw_listener`` gets every :class:`RawChunk` received or sent.

    For polled protocols a weight request goes out every ``poll_interval`` seconds
    (or as soon as the previous one was answered, whichever is later).
    """

    def __init__(
        self,
        port: str,
        protocol: ScaleProtocol,
        *,
        baudrate: int | None = None,
        bytesize: int | None = None,
        parity: str | None = None,
        stopbits: float | None = None,
        on_reading: ReadingCallback | None = None,
        on_link: LinkCallback | None = None,
        on_missed: MissedCallback | None = None,
        raw_listener: RawListener | None = None,
        poll_interval: float = 0.2,
        reply_timeout: float = 1.0,
        reconnect_interval: float = 0.5,
        read_timeout: float = 0.05,
    ) -> None:
        defaults = protocol.serial_defaults
        self.port = port
        self.protocol = protocol
        self.baudrate = defaults.baudrate if baudrate is None else baudrate
        self.bytesize = defaults.bytesize if bytesize is None else bytesize
        self.parity = (defaults.parity if parity is None else parity).upper()
        self.stopbits = defaults.stopbits if stopbits is None else stopbits
        self.poll_interval = poll_interval
        self.reply_timeout = reply_timeout
        self.reconnect_interval = reconnect_interval
        self.read_timeout = read_timeout
        self._on_reading = on_reading
        self._on_link = on_link
        self._on_missed = on_missed
        self._raw_listener = raw_listener

        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outgoing: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._connected = threading.Event()
        self._link = TransportLink("disconnected", port, "not started")
        self._link_lock = threading.Lock()
        # The open port, so that stop() can end a read that waits for bytes (pyserial's
        # cancel_read) rather than let it run out its timeout. The lock keeps stop()
        # from cancelling a port the thread is closing: its abort pipe's descriptor
        # may already belong to another file.
        self._open_port: Any | None = None
        self._open_port_lock = threading.Lock()

        # Counters, written by the transport thread only.
        self._frames = 0
        self._errors = 0
        self._bytes_received = 0
        self._missed = 0
        self._connections = 0

    # -- counters and state ---------------------------------------------------

    @property
    def frames(self) -> int:
        """Readings decoded since start (error readings included)."""
        return self._frames

    @property
    def errors(self) -> int:
        """Readings of kind ``"error"`` (unreadable frames, error replies)."""
        return self._errors

    @property
    def bytes_received(self) -> int:
        return self._bytes_received

    @property
    def missed(self) -> int:
        """Weight requests of a polled protocol that got no reply in time."""
        return self._missed

    @property
    def connections(self) -> int:
        """How many times the port was opened successfully."""
        return self._connections

    @property
    def link(self) -> TransportLink:
        with self._link_lock:
            return self._link

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- control --------------------------------------------------------------

    def start(self) -> None:
        """Start the thread; it opens the port and keeps it open until ``stop()``."""
        if self._thread is not None:
            raise RuntimeError("the scale transport was already started")
        self._set_link("connecting", f"opening {self.port}")
        self._thread = threading.Thread(
            target=self._run, name=f"scale-transport {self.port}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread and close the port; returns within about ``timeout``."""
        self._stop.set()
        with self._open_port_lock:
            cancel_read = getattr(self._open_port, "cancel_read", None)
            if callable(cancel_read):
                # Ports of some URL schemes have no cancel_read, or one that raises.
                with contextlib.suppress(Exception):
                    cancel_read()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def send(self, data: bytes) -> bool:
        """Queue bytes for the indicator (a zero or tare command); never blocks.

        Returns False, and drops the bytes, when the port is not open: a command
        meant for now must not fire minutes later after a reconnect.
        """
        if not self._connected.is_set():
            return False
        self._outgoing.put(bytes(data))
        return True

    def __enter__(self) -> ScaleTransport:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- the thread -----------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            port = self._open()
            if port is None:
                self._stop.wait(self.reconnect_interval)
                continue
            with self._open_port_lock:
                self._open_port = port
            try:
                self._serve(port)
            except Exception as exc:
                # SerialException is an OSError, but a serial driver can raise others
                # (termios.error on POSIX): whatever it is, the line is lost and the
                # thread must live on to reconnect.
                reason = describe_error(exc)
                self._set_link(
                    "disconnected",
                    f"lost connection to {self.port}: {reason}",
                    link_cause(exc),
                )
            finally:
                self._connected.clear()
                with self._open_port_lock:
                    self._open_port = None
                self._close(port)
                self._drop_outgoing()
            if not self._stop.is_set():
                self._stop.wait(self.reconnect_interval)
        self._set_link("disconnected", "stopped")

    def _open(self) -> Any | None:
        try:
            port = serial.serial_for_url(self.port, do_not_open=True)
            port.baudrate = self.baudrate
            port.bytesize = self.bytesize
            port.parity = self.parity
            port.stopbits = self.stopbits
            port.timeout = self.read_timeout
            # A write that cannot go out within a second is a dead line, not a wait.
            port.write_timeout = 1.0
            port.open()
        except Exception as exc:  # e.g. termios.error (EINVAL) from a port in use
            self._set_link(
                "disconnected", f"cannot open {self.port}: {describe_error(exc)}", link_cause(exc)
            )
            return None
        reset = getattr(self.protocol, "reset", None)
        if callable(reset):
            reset()
        self._connections += 1
        self._connected.set()
        self._set_link("connected", f"{self.port} open at {self._line_settings()}")
        return port

    def _line_settings(self) -> str:
        stopbits = int(self.stopbits) if float(self.stopbits).is_integer() else self.stopbits
        return f"{self.baudrate} {self.bytesize}{self.parity}{stopbits}"

    @staticmethod
    def _close(port: Any) -> None:
        # The device may be gone already; there is nothing left to flush.
        with contextlib.suppress(Exception):
            port.close()

    def _drop_outgoing(self) -> None:
        while True:
            try:
                self._outgoing.get_nowait()
            except queue.Empty:
                return

    def _serve(self, port: Any) -> None:
        polled = self.protocol.polled
        request = self.protocol.weight_request() if polled else None
        next_poll = time.monotonic()
        awaiting_since: float | None = None
        while not self._stop.is_set():
            self._write_pending(port)
            if request is not None:
                now = time.monotonic()
                if awaiting_since is not None and now - awaiting_since >= self.reply_timeout:
                    awaiting_since = None
                    self._missed += 1
                    self._call(self._on_missed)
                if awaiting_since is None and now >= next_poll:
                    self._write(port, request)
                    awaiting_since = now
                    next_poll = now + self.poll_interval
            # Wait up to read_timeout for a first byte, then take what else is there,
            # so a frame usually arrives in one chunk rather than byte by byte.
            data: bytes = port.read(max(1, min(int(port.in_waiting), 4096)))
            if not data:
                continue
            waiting = int(port.in_waiting)
            if waiting:
                data += port.read(min(waiting, 4096))
            received_at = datetime.now(UTC)
            self._bytes_received += len(data)
            if self._raw_listener is not None:
                self._call(self._raw_listener, RawChunk(data, received_at, "rx"))
            if self._feed(data, received_at):
                awaiting_since = None

    def _feed(self, data: bytes, received_at: datetime) -> bool:
        """Decode and report; True when at least one reading came out."""
        try:
            readings = self.protocol.feed(data)
        except Exception:  # a parser bug must not take the line down with it
            log.exception("scale protocol %r failed on %r", self.protocol.name, data)
            self._errors += 1
            return False
        for reading in readings:
            stamped = replace(reading, received_at=received_at)
            self._frames += 1
            if stamped.kind == "error":
                self._errors += 1
            if self._on_reading is not None:
                self._call(self._on_reading, stamped)
        return bool(readings)

    def _write_pending(self, port: Any) -> None:
        while True:
            try:
                data = self._outgoing.get_nowait()
            except queue.Empty:
                return
            self._write(port, data)

    def _write(self, port: Any, data: bytes) -> None:
        port.write(data)
        if self._raw_listener is not None:
            self._call(self._raw_listener, RawChunk(data, datetime.now(UTC), "tx"))

    def _set_link(self, state: LinkState, message: str, cause: LinkCause | None = None) -> None:
        with self._link_lock:
            if self._link.state == state and self._link.message == message:
                return
            self._link = TransportLink(state, self.port, message, cause)
            link = self._link
        self._call(self._on_link, link)

    @staticmethod
    def _call(callback: Callable[..., None] | None, *args: Any) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:  # a faulty listener must not stop the readings
            log.exception("scale transport callback %r failed", callback)


__all__ = [
    "LinkCause",
    "LinkState",
    "RawChunk",
    "ScaleTransport",
    "TransportLink",
    "describe_error",
    "link_cause",
]
