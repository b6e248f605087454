"""Software stability for indicators whose frames carry no motion flag.

Some continuous formats (the XK3190 STX, '=' and ASCII formats, many regular
expression set-ups) only send the number. A weighing may only be recorded at rest,
so the scale service judges rest the way an indicator's motion detection does:
the weight counts as stable when the recent readings stayed within one display
division for long enough.

Rule: take the newest readings back far enough that there are at least ``count``
of them *and* the oldest is at least ``window_ms`` old. The weight is stable when
those readings differ by at most one ``division`` (largest minus smallest). Until
that much history exists, the weight is not stable.

Defaults, and why:

* ``window_ms = 1000``: one second at rest is what indicators' own motion
  detection commonly asks for; the Unipulse F159 manual (section 5-4, "Motion
  detection"), for one, compares each conversion with five earlier ones spread
  over the last second. Shorter windows let a swinging load through; longer ones
  make the attendant wait at every drop-off.
* ``count = 5``: a second of silence is no evidence. At least five readings
  must agree, so one slow or lone frame (after a reconnect, say) never makes a
  weight stable; at the usual 5 to 20 frames per second the window fills first.
* ``division``: one display division (the indicator's ``e``), because the last
  digit of a resting load can flicker by one step; a change of more than one step
  is motion.

There is no clock inside: the caller passes a monotonic time in milliseconds with
every reading, so tests can give exact times.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from decimal import Decimal

from drivers.scale.reading import Reading

DEFAULT_COUNT = 5
DEFAULT_WINDOW_MS = 1000


class SoftwareStability:
    """Marks readings without a motion flag as stable or not, from their recent history.

    Readings that already carry a stable flag (``stable`` is not ``None``) pass
    through unchanged. Readings without a weight (status and error frames) pass
    through unchanged too, and break the history: after an overload or an unreadable
    frame, stability has to be earned again. A change of unit also starts afresh.
    """

    def __init__(
        self,
        division: Decimal,
        count: int = DEFAULT_COUNT,
        window_ms: int = DEFAULT_WINDOW_MS,
    ) -> None:
        if not isinstance(division, Decimal) or not division.is_finite() or division <= 0:
            raise ValueError(f"division must be a positive Decimal, not {division!r}")
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count}")
        if window_ms < 0:
            raise ValueError(f"window_ms must not be negative, not {window_ms}")
        self.division = division
        self.count = count
        self.window_ms = window_ms
        self._history: deque[tuple[int, Decimal]] = deque()
        self._unit: str | None = None

    def reset(self) -> None:
        """Forget the history (e.g. after the connection to the indicator was lost)."""
        self._history.clear()
        self._unit = None

    def apply(self, reading: Reading, now_monotonic_ms: int) -> Reading:
        """The reading, with ``stable`` decided when the frame did not say."""
        if reading.stable is not None:
            return reading
        if reading.kind != "weight" or reading.weight is None:
            self.reset()
            return reading
        history = self._history
        if reading.unit != self._unit or (history and now_monotonic_ms < history[-1][0]):
            # Another unit, or time ran backwards: the old readings say nothing.
            self.reset()
            self._unit = reading.unit
        history.append((now_monotonic_ms, reading.weight))
        window_start = now_monotonic_ms - self.window_ms
        # Drop the oldest reading while the rest still holds `count` readings
        # and still reaches back to the window start.
        while len(history) > self.count and history[1][0] <= window_start:
            history.popleft()
        stable = (
            len(history) >= self.count
            and history[0][0] <= window_start
            and _spread(history) <= self.division
        )
        return dataclasses.replace(reading, stable=stable)


def _spread(history: deque[tuple[int, Decimal]]) -> Decimal:
    weights = [weight for _, weight in history]
    return max(weights) - min(weights)


__all__ = ["DEFAULT_COUNT", "DEFAULT_WINDOW_MS", "SoftwareStability"]
