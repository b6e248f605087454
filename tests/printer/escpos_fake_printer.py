"""A network ESC/POS printer for tests: a real TCP server on 127.0.0.1.

It takes jobs on an ephemeral port the way a raw port 9100 printer does: it reads until
the client closes its side, keeps the bytes, then closes. It answers the real-time
status request ``DLE EOT n`` (``10 04 n``) wherever it appears in the stream, as an
Epson printer does, with the reply bytes of its current mode, and ``GS r 1``
(``1D 72 01``, transmit paper sensor status) in order, after the bytes before it, as
long as it can print (an offline printer processes no data, so it does not answer).
It can stay silent (``mode="silent"``: answers nothing), answer ``DLE EOT`` but not
``GS r`` (``transmit_status=False``), accept connections and never read a byte
(``reads=False``), refuse connections (switched off) and reset a connection after some
bytes (cable pulled mid-job).

Every thread is a daemon and stops on :meth:`FakeEscposPrinter.close`, or by itself
after ``lifetime`` seconds, so a test that forgets to close it cannot hang the run.

    with FakeEscposPrinter(mode="paper_out") as printer:
        NetworkConnection("127.0.0.1", printer.port).status()
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from types import TracebackType

DLE = 0x10
EOT = 0x04
GS = 0x1D
TRANSMIT_STATUS = bytes((GS, 0x72, 0x01))  # GS r 1

# Reply to GS r 1 per mode (Epson: bits 0-1 paper near end, bits 2-3 paper end, bits 4
# and 7 fixed 0). None: the printer is offline and processes no data, so no reply.
TRANSMIT_STATUS_REPLIES: dict[str, int | None] = {
    "online": 0x00,
    "paper_near_end": 0x03,
    "paper_out": None,
    "cover_open": None,
    "offline": None,
    "error": None,
    "silent": None,
}

# Reply bytes per mode for DLE EOT 1 (printer), 2 (offline cause), 3 (error cause) and
# 4 (paper roll sensor). 0x12 is the fixed-bit pattern alone, i.e. "nothing to report".
# Epson TM-T88III specification, DLE EOT n: offline = n1 bit 3; cover open = n2 bit 2;
# paper end stop = n2 bit 5; error = n2 bit 6; autocutter error = n3 bit 3;
# near end = n4 bits 2-3; paper end = n4 bits 5-6.
STATUS_REPLIES: dict[str, dict[int, int] | None] = {
    "online": {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12},
    "paper_near_end": {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x1E},
    "paper_out": {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x7E},
    "cover_open": {1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12},
    "offline": {1: 0x1A, 2: 0x12, 3: 0x12, 4: 0x12},
    "error": {1: 0x1A, 2: 0x52, 3: 0x1A, 4: 0x12},
    "silent": None,
}

_POLL = 0.02  # seconds between checks for stop; only bounds how fast threads notice


class FakeEscposPrinter:
    """See the module docstring. ``mode`` and ``drop_after`` may be changed at any time."""

    def __init__(
        self,
        mode: str = "online",
        *,
        drop_after: int | None = None,
        lifetime: float = 30.0,
        transmit_status: bool = True,
        reads: bool = True,
    ) -> None:
        if mode not in STATUS_REPLIES:
            raise ValueError(f"unknown mode {mode!r}; modes: {', '.join(STATUS_REPLIES)}")
        self.mode = mode
        self.drop_after = drop_after
        self.transmit_status = transmit_status
        self.reads = reads
        self.transmit_status_requests = 0
        self.host = "127.0.0.1"
        self.jobs: list[bytes] = []  # what would be printed: status requests removed
        self._ordered_jobs: list[tuple[int, bytes]] = []
        self._accepted = 0
        self.connections: list[bytes] = []  # every byte of each finished connection
        self.status_requests: list[int] = []
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + lifetime
        self._listener: socket.socket | None = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((self.host, 0))
        self._listener.listen(8)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._refuse = threading.Event()
        self._listener_closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._start(self._accept_loop, "fake-printer-accept")

    # -- control from the test -----------------------------------------------------------

    def __enter__(self) -> FakeEscposPrinter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=2)

    def refuse_connections(self) -> None:
        """Stop listening: a connection attempt is refused, like a printer switched off."""
        self._refuse.set()
        self._listener_closed.wait(timeout=2)

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """The jobs once ``count`` have arrived (or whatever came within ``timeout``)."""
        with self._lock:
            self._lock.wait_for(lambda: len(self.jobs) >= count, timeout=timeout)
            return list(self.jobs)

    def wait_for_connections(self, count: int, timeout: float = 5.0) -> list[bytes]:
        with self._lock:
            self._lock.wait_for(lambda: len(self.connections) >= count, timeout=timeout)
            return list(self.connections)

    # -- the server ----------------------------------------------------------------------

    def _running(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def _start(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        try:
            while self._running() and not self._refuse.is_set():
                readable, _, _ = select.select([listener], [], [], _POLL)
                if not readable:
                    continue
                try:
                    conn, _ = listener.accept()
                except BlockingIOError:
                    continue
                self._accepted += 1
                self._start(self._serve, "fake-printer-connection", conn, self._accepted)
        finally:
            listener.close()
            self._listener = None
            self._listener_closed.set()

    def _serve(self, conn: socket.socket, order: int) -> None:
        if not self.reads:
            self._hold_without_reading(conn)
            return
        raw = bytearray()
        payload = bytearray()
        pending = bytearray()  # a DLE or DLE EOT whose remaining bytes have not arrived yet
        conn.settimeout(_POLL)
        try:
            while self._running():
                want = 4096
                if self.drop_after is not None:
                    want = min(want, self.drop_after - len(raw))
                    if want <= 0:
                        self._record(order, raw, payload + pending)  # before the client goes on
                        self._reset(conn)
                        return
                try:
                    chunk = conn.recv(want)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                raw += chunk
                pending += chunk
                pending = self._take_requests(conn, pending, payload)
            self._record(order, raw, payload + pending)
        finally:
            conn.close()

    def _take_requests(self, conn: socket.socket, data: bytearray, payload: bytearray) -> bytearray:
        """Answer every complete ``DLE EOT n`` in ``data``; the rest goes to ``payload``.

        Returns the unfinished tail (a trailing DLE or DLE EOT) to wait for more bytes.
        """
        i = 0
        while i < len(data):
            if data[i] == GS:
                if len(data) - i < len(TRANSMIT_STATUS):
                    if TRANSMIT_STATUS.startswith(bytes(data[i:])):
                        return data[i:]
                elif data[i : i + len(TRANSMIT_STATUS)] == TRANSMIT_STATUS:
                    self._answer_transmit_status(conn)
                    i += len(TRANSMIT_STATUS)
                    continue
            if data[i] == DLE:
                if i + 1 >= len(data) or (data[i + 1] == EOT and i + 2 >= len(data)):
                    return data[i:]
                if data[i + 1] == EOT and 1 <= data[i + 2] <= 4:
                    self._answer(conn, data[i + 2])
                    i += 3
                    continue
            payload.append(data[i])
            i += 1
        return bytearray()

    def _answer(self, conn: socket.socket, n: int) -> None:
        with self._lock:
            self.status_requests.append(n)
        replies = STATUS_REPLIES[self.mode]
        if replies is None:
            return
        with contextlib.suppress(OSError):
            conn.sendall(bytes((replies[n],)))

    def _answer_transmit_status(self, conn: socket.socket) -> None:
        with self._lock:
            self.transmit_status_requests += 1
        reply = TRANSMIT_STATUS_REPLIES[self.mode]
        if reply is None or not self.transmit_status:
            return
        with contextlib.suppress(OSError):
            conn.sendall(bytes((reply,)))

    def _hold_without_reading(self, conn: socket.socket) -> None:
        """Keep the connection open and never read from it (a hung print server)."""
        try:
            while self._running():
                time.sleep(_POLL)
        finally:
            with self._lock:
                self.connections.append(b"")
                self._lock.notify_all()
            conn.close()

    def _record(self, order: int, raw: bytearray, payload: bytearray) -> None:
        # A printer prints in the order the connections came in; the threads here may
        # see their connections end in another order on a busy machine.
        with self._lock:
            self.connections.append(bytes(raw))
            if payload:
                self._ordered_jobs.append((order, bytes(payload)))
                self._ordered_jobs.sort(key=lambda job: job[0])
                self.jobs[:] = [job for _, job in self._ordered_jobs]
            self._lock.notify_all()

    @staticmethod
    def _reset(conn: socket.socket) -> None:
        """Close with a reset, not an orderly close: the client must see the job broke."""
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
