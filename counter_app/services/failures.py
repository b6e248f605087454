"""Why a service could not do what was asked, as a catalogue key and its facts.

The drivers and the database raise typed errors with a reason code; their ``str()``
is plain English for the log and the technician. Here a failure becomes the key of its
words (``database_problem.busy``) and the place it names, so the screens word it in the
attendant's language without knowing the database or the drivers' exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from counter_app.i18n import Messages

if TYPE_CHECKING:
    from drivers.printer.connection import PrinterFault

#: The longest place (address, device, path) named before a reason's words.
_WHERE_LIMIT = 32


@dataclass(frozen=True, slots=True)
class FailureReason:
    """A catalogue key, the place the failure names (an address, a device) and, for a
    program error nobody gave a reason for, the kind of exception."""

    key: str
    where: str = ""
    kind: str = ""


def reason_of(error: BaseException) -> FailureReason:
    """The reason of a failure; a program error is named by its kind only."""
    # Imported here, as the database's: the counter screen imports this module before
    # its first paint, and a failure to word comes later.
    from db.engine import DatabaseError
    from db.printjobs import PrintJobStateError
    from db.queries import RecordNotFound
    from db.writes import DropOffVoided
    from drivers.printer.connection import PrinterError
    from drivers.scale.link import LinkCause
    from drivers.scale.simulator import SimulatorUnavailableError

    if isinstance(error, PrinterError):
        return FailureReason(f"printer.fault.{error.fault.value}", error.where)
    if isinstance(error, DatabaseError):
        return FailureReason(f"database_problem.{error.problem.value}")
    if isinstance(error, DropOffVoided):
        return FailureReason("failure.voided")
    if isinstance(error, RecordNotFound):
        return FailureReason("failure.not_found")
    if isinstance(error, PrintJobStateError):
        return FailureReason("failure.job_state")
    if isinstance(error, SimulatorUnavailableError):
        return FailureReason(f"scale_cause.{LinkCause.NO_SIMULATOR.value}")
    return FailureReason("failure.unexpected", kind=type(error).__name__)


def _with_place(words: str, where: str) -> str:
    if len(where) > _WHERE_LIMIT:
        # The end of a path names the place (``…/blocked/labels``); its start is the same
        # on every station.
        where = "…" + where[-(_WHERE_LIMIT - 1) :]
    return f"{where}: {words}" if where else words


def fault_words(fault: PrinterFault, messages: Messages, where: str = "") -> str:
    """The printer driver's reason in the attendant's language: ``10.0.0.9:9100: weigert
    de verbinding``; the place first, as the driver named it (an address, a device)."""
    return _with_place(messages.t(f"printer.fault.{fault.value}"), where)


def failure_words(error: BaseException, messages: Messages) -> str:
    """A failure in the configured language, for the screens and the command line."""
    reason = reason_of(error)
    return _with_place(messages.t(reason.key, kind=reason.kind), reason.where)


def failure_advice(error: BaseException, messages: Messages) -> str:
    """What the attendant can do about a database that cannot be used (close the other
    program, free disk space, call the administrator); empty for any other failure."""
    from db.engine import DatabaseError

    if isinstance(error, DatabaseError):
        return messages.t(f"database_advice.{error.problem.value}")
    return ""
