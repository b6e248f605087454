"""Zero and tare, safely: the one rule the diagnostics (F9) and the counter screen share.

Zeroing or taring the indicator changes every weight after it, so a stray key press
must change nothing: a command is sent only on the second press of its key (the first
arms it and the screen says what a second press does; any other key disarms it). It is
not sent when the protocol has no such command or the line is down, and a zero is
refused with a load on the scale (a zero point under a load makes every later weight
too light) unless the indicator itself judges its zero-setting range.
"""

from __future__ import annotations

import enum

from counter_app.services.scale import ScaleService
from drivers.scale.reading import to_grams

#: A weight more than this many divisions from zero is a load, not drift of the zero
#: point (an indicator's own zero tracking follows drift of a fraction of a division;
#: a few divisions is what a dirty platform or a temperature change gives).
ZERO_DRIFT_DIVISIONS = 20


class ZeroTareCommand(enum.StrEnum):
    ZERO = "zero"
    TARE = "tare"

    @property
    def key(self) -> str:
        """The key that sends it (the same on every screen)."""
        return "z" if self is ZeroTareCommand.ZERO else "t"


class ZeroTareAnswer(enum.Enum):
    """What a key press of zero or tare did; each screen words it."""

    #: The protocol has no such command.
    UNSUPPORTED = "unsupported"
    #: The line to the indicator is not connected: nothing was sent.
    NOT_CONNECTED = "not_connected"
    #: A zero with a load on the scale, and the indicator does not judge it itself.
    LOADED = "loaded"
    #: The first press: a second press of the same key sends it.
    ARMED = "armed"
    #: The second press: the command went out on the line.
    SENT = "sent"


class ZeroTareGuard:
    """Pressed twice, refused when unsafe: see the module. One per screen."""

    def __init__(self, scale: ScaleService) -> None:
        self._scale = scale
        self._armed: ZeroTareCommand | None = None

    def supports(self, command: ZeroTareCommand) -> bool:
        scale = self._scale
        return scale.supports_zero() if command is ZeroTareCommand.ZERO else scale.supports_tare()

    @property
    def armed(self) -> ZeroTareCommand | None:
        return self._armed

    def key_pressed(self, key: str) -> None:
        """Any key but the one that armed a command takes the command back."""
        if self._armed is not None and key != self._armed.key:
            self._armed = None

    def press(self, command: ZeroTareCommand) -> ZeroTareAnswer:
        """The key of ``command`` was pressed: refuse, arm or send (see the module)."""
        scale = self._scale
        if not self.supports(command):
            self._armed = None
            return ZeroTareAnswer.UNSUPPORTED
        link = scale.transport_link()
        if link is None or link.state != "connected":
            self._armed = None
            return ZeroTareAnswer.NOT_CONNECTED
        if command is ZeroTareCommand.ZERO and self._loaded():
            self._armed = None
            return ZeroTareAnswer.LOADED
        if self._armed is not command:
            self._armed = command
            return ZeroTareAnswer.ARMED
        self._armed = None
        sent = scale.zero() if command is ZeroTareCommand.ZERO else scale.tare()
        return ZeroTareAnswer.SENT if sent else ZeroTareAnswer.NOT_CONNECTED

    def _loaded(self) -> bool:
        scale = self._scale
        if scale.indicator_judges_zero_range():
            return False
        reading = scale.snapshot().reading
        if reading is None or reading.grams is None:
            # Without a weight the counter cannot tell; the indicator answers.
            return False
        grams = abs(reading.grams)
        if reading.tare is not None and reading.unit is not None:
            # Under a tare the reading is net: the load on the platform is net plus tare.
            grams += abs(to_grams(reading.tare, reading.unit))
        return grams > ZERO_DRIFT_DIVISIONS * scale.division_grams(reading)
