"""What every printer connection offers, and the faults it reports.

A connection is opened and closed per job: python-escpos leaves a printer object
unusable after a failed first open (every later call raises ``AssertionError``),
so no object outlives a job.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass


class PrinterError(Exception):
    """A job could not be delivered. ``str()`` is a sentence an attendant understands.

    ``uncertain`` is True when some bytes may already have reached the printer (the
    connection broke mid-send): such a job is reprinted marked as a duplicate.
    """

    def __init__(self, message: str, *, uncertain: bool = False) -> None:
        super().__init__(message)
        self.uncertain = uncertain


class PrinterUnavailable(PrinterError):
    """The printer cannot be reached (off, unplugged, wrong address, no permission)."""


class PrinterUnconfirmed(PrinterError):
    """The printer took the job's bytes but did not answer the status request sent after
    them: it may or may not have printed, so the delivery is uncertain."""

    def __init__(self, message: str) -> None:
        super().__init__(message, uncertain=True)


class PrinterNotReady(PrinterError):
    """The printer answered but cannot print (paper out, cover open, offline)."""


class PaperState(enum.Enum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What the printer reported (DLE EOT), or ``None`` fields where it did not say.

    A connection that cannot ask (file, preview, cups) reports ``answered=False``:
    "unknown", never "fine".
    """

    answered: bool
    online: bool | None = None
    cover_open: bool | None = None
    paper: PaperState = PaperState.UNKNOWN
    error: bool | None = None

    @property
    def ready(self) -> bool | None:
        """True/False when the printer said; None when nobody answered."""
        if not self.answered:
            return None
        return bool(
            self.online is not False
            and self.cover_open is not True
            and self.paper is not PaperState.OUT
            and self.error is not True
        )


UNKNOWN_STATUS = PrinterStatus(answered=False)


class PrinterConnection(ABC):
    """One way to reach a printer. ``send`` delivers a whole job or raises."""

    #: Short name as in the configuration (``preview``, ``file``, ``network`` ...).
    kind: str

    @abstractmethod
    def send(self, data: bytes) -> None:
        """Deliver every byte or raise :class:`PrinterError`."""

    def status(self) -> PrinterStatus:
        """Ask the printer how it is; connections that cannot ask say so."""
        return UNKNOWN_STATUS

    def describe(self) -> str:
        """Where the bytes go, for the status line and ``counter printer status``."""
        return self.kind
