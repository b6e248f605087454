"""What every printer connection offers, and the faults it reports.

A connection is opened and closed per job: python-escpos leaves a printer object
unusable after a failed first open (every later call raises ``AssertionError``),
so no object outlives a job.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass


class PrinterFault(enum.StrEnum):
    """Why a job could not be delivered, as a code the application puts into words.

    The code and the facts (``where``: the address, device, file or queue; ``errno``
    when the system gave one) are language-neutral; the exception's ``str()`` is the
    same in plain English for the log and the technician.
    """

    HOST_UNKNOWN = "host_unknown"  # the printer's host name does not resolve
    REFUSED = "refused"  # the host answers, the port refuses the connection
    NO_ANSWER = "no_answer"  # time-out, host or network unreachable
    NO_DEVICE = "no_device"  # the device (USB, serial, /dev path) is not there
    NO_PERMISSION = "no_permission"  # the device or file may not be opened
    DEVICE_BUSY = "device_busy"  # another program holds the device
    DISK_FULL = "disk_full"
    IO_ERROR = "io_error"  # unplugged or switched off during the job
    WRONG_PATH = "wrong_path"  # a folder, a missing folder, a read-only file system
    BROKE_WHILE_SENDING = "broke_while_sending"  # part of the job may have printed
    NOT_CONFIRMED = "not_confirmed"  # took the job, did not answer after it
    STALLED = "stalled"  # stopped taking bytes (paper, cover, offline)
    NOT_READY = "not_ready"  # answered that it cannot print
    SPOOLER_REFUSED = "spooler_refused"  # CUPS or lp did not take the job
    OTHER = "other"


class PrinterError(Exception):
    """A job could not be delivered. ``str()`` is a plain English sentence for the log;
    ``fault`` and ``facts`` are what the application words for the attendant.

    ``uncertain`` is True when some bytes may already have reached the printer (the
    connection broke mid-send): such a job is reprinted marked as a duplicate.
    """

    def __init__(
        self,
        message: str,
        *,
        uncertain: bool = False,
        fault: PrinterFault = PrinterFault.OTHER,
        where: str = "",
        errno: int | None = None,
    ) -> None:
        super().__init__(message)
        self.uncertain = uncertain
        self.fault = fault
        self.where = where
        self.errno = errno


class PrinterUnavailable(PrinterError):
    """The printer cannot be reached (off, unplugged, wrong address, no permission)."""


class PrinterUnconfirmed(PrinterError):
    """The printer took the job's bytes but did not answer the status request sent after
    them: it may or may not have printed, so the delivery is uncertain."""

    def __init__(self, message: str, *, where: str = "") -> None:
        super().__init__(message, uncertain=True, fault=PrinterFault.NOT_CONFIRMED, where=where)


class PrinterNotReady(PrinterError):
    """The printer answered but cannot print (paper out, cover open, offline)."""

    def __init__(
        self,
        message: str,
        *,
        uncertain: bool = False,
        fault: PrinterFault = PrinterFault.NOT_READY,
        where: str = "",
    ) -> None:
        super().__init__(message, uncertain=uncertain, fault=fault, where=where)


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
