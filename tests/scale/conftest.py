"""Fixtures for the scale tests: real pseudo-terminals, real pyserial, no mocks.

The hardware-in-the-loop tests poll with a deadline instead of sleeping, so that a
loaded two-core machine only makes them slower, never flaky.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from drivers.scale.comma import CommaProtocol
from drivers.scale.protocol import IndicatorEmulator, ScaleProtocol
from drivers.scale.reading import IndicatorState, Reading
from drivers.scale.simulator import ScaleSimulator
from drivers.scale.transport import RawChunk, TransportLink

# Generous: a busy CI machine may take a while to schedule the threads.
DEADLINE_SECONDS = 10.0

needs_pty = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")

WaitUntil = Callable[..., None]


def _wait_until(
    condition: Callable[[], object],
    timeout: float = DEADLINE_SECONDS,
    message: str = "condition",
    interval: float = 0.01,
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


@pytest.fixture
def wait_until() -> WaitUntil:
    """``wait_until(lambda: ..., timeout=5, message="...")``: poll until true or fail."""
    return _wait_until


class Recorder:
    """Collects what a transport reports, from its thread, for the test's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.readings: list[Reading] = []
        self.links: list[TransportLink] = []
        self.raw: list[RawChunk] = []
        self.missed = 0

    def on_reading(self, reading: Reading) -> None:
        with self._lock:
            self.readings.append(reading)

    def on_link(self, link: TransportLink) -> None:
        with self._lock:
            self.links.append(link)

    def on_raw(self, chunk: RawChunk) -> None:
        with self._lock:
            self.raw.append(chunk)

    def on_missed(self) -> None:
        with self._lock:
            self.missed += 1

    def weights(self) -> list[Reading]:
        with self._lock:
            return [r for r in self.readings if r.kind == "weight"]

    def link_states(self) -> list[str]:
        with self._lock:
            return [link.state for link in self.links]

    def last_link(self) -> TransportLink | None:
        with self._lock:
            return self.links[-1] if self.links else None

    def count(self) -> int:
        with self._lock:
            return len(self.readings)

    def since(self, index: int) -> list[Reading]:
        with self._lock:
            return self.readings[index:]

    @property
    def callbacks(self) -> dict[str, Any]:
        return {
            "on_reading": self.on_reading,
            "on_link": self.on_link,
            "on_missed": self.on_missed,
            "raw_listener": self.on_raw,
        }


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def scale_link(tmp_path: Path) -> Path:
    """Where the simulator's symbolic link goes (like /dev/serial/by-id/...)."""
    return tmp_path / "ttyScale0"


@pytest.fixture
def simulator(scale_link: Path) -> Iterator[ScaleSimulator]:
    """A started comma-format simulator at ``scale_link``, 50 frames a second."""
    if os.name != "posix":
        pytest.skip("pseudo-terminals are POSIX")
    sim = ScaleSimulator("comma", link=scale_link, rate_hz=50.0)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


class AskedEmulator(IndicatorEmulator):
    """A request/response indicator for tests: "W" CR LF asks the weight (answered in
    the comma format), "Z" CR LF zeroes. ``mute`` makes it ignore weight requests,
    like an indicator that stopped answering."""

    protocol: ClassVar[str] = "asked"
    continuous: ClassVar[bool] = False
    options_help: ClassVar[Mapping[str, str]] = {}

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        self.buffer = b""
        self.mute = False
        self.requests: list[bytes] = []

    def receive(self, data: bytes, state: IndicatorState) -> bytes:
        self.buffer += data
        replies = b""
        while b"\r\n" in self.buffer:
            command, self.buffer = self.buffer.split(b"\r\n", 1)
            self.requests.append(command)
            if command == b"W" and not self.mute:
                replies += f"ST,GS,+{state.displayed:07}{state.unit}\r\n".encode()
            elif command == b"Z":
                state.weight = Decimal("0.00")
                replies += b"OK\r\n"
        return replies


class AskedProtocol(ScaleProtocol):
    """The parser side of :class:`AskedEmulator`: polled, comma-format replies."""

    name: ClassVar[str] = "asked"
    polled: ClassVar[bool] = True

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        self._comma = CommaProtocol()

    def feed(self, data: bytes) -> list[Reading]:
        return [r for r in self._comma.feed(data) if r.raw != b"OK"]

    def reset(self) -> None:
        self._comma.reset()

    def weight_request(self) -> bytes:
        return b"W\r\n"

    def zero_request(self) -> bytes:
        return b"Z\r\n"
