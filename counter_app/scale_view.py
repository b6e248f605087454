"""What the technician's scale views show: raw bytes, readings, frame rates.

Shared by ``counter scale monitor`` (a Rich live view) and the diagnostics screen
(Textual). Nothing here imports ``textual``: these are plain functions and
thread-safe buffers that the transport's thread fills and a view drains at its own
pace, so a fast indicator never sets the pace of the screen.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from counter_app.i18n import to_local_time
from drivers.scale.reading import Reading

if TYPE_CHECKING:
    # Only named in annotations: `counter scale ...` starts without loading pyserial.
    from drivers.scale.transport import RawChunk


def hex_bytes(data: bytes) -> str:
    """``b"ST\\r"`` -> ``"53 54 0d"``."""
    return bytes(data).hex(" ")


def printable(data: bytes) -> str:
    """Bytes as text a person can read: ASCII as is, the rest escaped (``\\r``, ``\\xff``)."""
    return repr(bytes(data))[2:-1]


def clock(at: datetime | None) -> str:
    """A receive time in the station's time zone with milliseconds (``14:05:09.123``).

    The station's zone (Europe/Amsterdam), like every other time the counter shows,
    not the computer's: a technician compares these with label and record times.
    A naive time is taken as UTC. Empty when there is no time.
    """
    return "" if at is None else to_local_time(at).strftime("%H:%M:%S.%f")[:-3]


class FrameRate:
    """Frames a second over a sliding window, from a growing frame counter.

    Call :meth:`sample` with the counter now and then (each view refresh); the rate
    is the growth over the last ``window`` seconds. ``now`` (monotonic seconds) may
    be given, so that tests need no sleeping.
    """

    def __init__(self, window: float = 3.0) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()

    def sample(self, count: int, now: float | None = None) -> float:
        """Record ``count`` at ``now`` and return the frames a second."""
        now = time.monotonic() if now is None else now
        samples = self._samples
        if samples and count < samples[-1][1]:
            samples.clear()  # the counter started again (a new transport)
        samples.append((now, count))
        while len(samples) > 2 and samples[1][0] <= now - self.window:
            samples.popleft()
        first_at, first = samples[0]
        span = now - first_at
        return 0.0 if span <= 0 else (count - first) / span


@dataclass(slots=True)
class Drained:
    """What a :class:`LineFeed` collected since the last drain."""

    raw: list[RawChunk] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    #: Chunks and readings that fell out of the buffer before anyone drained them.
    dropped: int = 0


class LineFeed:
    """A bounded, thread-safe buffer between the transport thread and a view.

    Give :meth:`on_raw` and :meth:`on_reading` to the scale service as listeners;
    they only append under a lock, so the transport thread never waits on the view.
    The view calls :meth:`drain` at its refresh rate. At most ``limit`` chunks and
    ``limit`` readings are kept; older ones are dropped and counted.
    """

    def __init__(self, limit: int = 200) -> None:
        self._lock = threading.Lock()
        self._raw: deque[RawChunk] = deque(maxlen=limit)
        self._readings: deque[Reading] = deque(maxlen=limit)
        self._dropped = 0

    def on_raw(self, chunk: RawChunk) -> None:
        with self._lock:
            if len(self._raw) == self._raw.maxlen:
                self._dropped += 1
            self._raw.append(chunk)

    def on_reading(self, reading: Reading) -> None:
        with self._lock:
            if len(self._readings) == self._readings.maxlen:
                self._dropped += 1
            self._readings.append(reading)

    def drain(self) -> Drained:
        with self._lock:
            drained = Drained(list(self._raw), list(self._readings), self._dropped)
            self._raw.clear()
            self._readings.clear()
            self._dropped = 0
        return drained


__all__ = [
    "Drained",
    "FrameRate",
    "LineFeed",
    "clock",
    "hex_bytes",
    "printable",
]
