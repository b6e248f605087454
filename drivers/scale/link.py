"""Why the line to the indicator is down, as a code: no pyserial here, so the screens
can word it without loading the transport."""

from __future__ import annotations

import enum


class LinkCause(enum.StrEnum):
    """Why the line to the indicator is down, as a code the application puts into words."""

    NO_DEVICE = "no_device"
    NO_PERMISSION = "no_permission"
    BUSY = "busy"  # another program holds the port, or it refused its line settings
    IO_ERROR = "io_error"  # unplugged while open
    REFUSED = "refused"
    RESET = "reset"
    UNREACHABLE = "unreachable"
    TIMED_OUT = "timed_out"
    STOPPED_ANSWERING = "stopped_answering"
    CLOSED_BY_PEER = "closed_by_peer"
    NO_SIMULATOR = "no_simulator"  # the demo scale needs pseudo-terminals
    OTHER = "other"
