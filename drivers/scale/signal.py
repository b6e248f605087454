"""Is the line carrying a readable signal? One judgement for the counter and the monitor.

Three things can be wrong with a scale line, and an attendant or technician needs to
tell them apart:

* **silent**: no bytes at all. A pulled RS-232 cable gives no error on the PC side;
  the bytes simply stop. For a polled indicator, no reply to our requests.
* **unreadable**: bytes arrive but make no valid frame: the wrong baud rate, the
  wrong protocol, noise. Such bytes often carry no terminator at all, so counting bad
  frames alone is not enough: bytes without a good reading for a while count too.
* **ok**: the latest readings decode.

Sans-I/O like the parsers: the caller passes the time (monotonic milliseconds).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from drivers.scale.reading import Reading


class SignalState(enum.Enum):
    WAITING = "waiting"  # nothing received yet
    OK = "ok"
    UNREADABLE = "unreadable"
    SILENT = "silent"


# Frames that say the bytes could not be read (a weight no indicator can show,
# "range", and a frame the regex pattern could not judge in time, "timeout", are
# such frames too). Other error readings (an indicator's "command not executable"
# reply) prove the line itself is fine.
UNREADABLE_ERRORS = frozenset({"unreadable", "checksum", "range", "timeout"})


@dataclass(slots=True)
class SignalJudge:
    """Judges the line from what arrived and when.

    ``unreadable_streak``: this many unreadable frames in a row, with no good one in
    between, mean the signal is unreadable; one garbled frame in a healthy stream must
    not make the display flicker. ``unreadable_after_ms``: bytes arriving without a
    good reading for this long mean the same (noise without terminators).
    ``silent_after_ms``: no bytes for this long mean the line is silent.
    """

    silent_after_ms: int = 1500
    unreadable_after_ms: int = 1000
    unreadable_streak: int = 3
    _last_bytes_ms: int | None = None
    _last_good_ms: int | None = None
    _first_bytes_ms: int | None = None
    _streak: int = 0

    def bytes_arrived(self, now_ms: int) -> None:
        if self._first_bytes_ms is None:
            self._first_bytes_ms = now_ms
        self._last_bytes_ms = now_ms

    def reading_arrived(self, reading: Reading, now_ms: int) -> None:
        self.bytes_arrived(now_ms)
        if reading.kind == "error" and reading.error in UNREADABLE_ERRORS:
            self._streak += 1
        else:
            self._streak = 0
            self._last_good_ms = now_ms

    def reset(self) -> None:
        """Forget the past: a new connection starts a new judgement."""
        self._last_bytes_ms = self._last_good_ms = self._first_bytes_ms = None
        self._streak = 0

    def state(self, now_ms: int) -> SignalState:
        if self._last_bytes_ms is None:
            return SignalState.WAITING
        if now_ms - self._last_bytes_ms > self.silent_after_ms:
            return SignalState.SILENT
        if self._streak >= self.unreadable_streak:
            return SignalState.UNREADABLE
        # Bytes kept coming after the last good reading (or since the first bytes),
        # for longer than a healthy indicator takes to complete a frame.
        reference = self._last_good_ms if self._last_good_ms is not None else self._first_bytes_ms
        assert reference is not None
        if self._last_bytes_ms > reference and now_ms - reference > self.unreadable_after_ms:
            return SignalState.UNREADABLE
        if self._last_good_ms is None:
            return SignalState.WAITING
        return SignalState.OK
