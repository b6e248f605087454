"""Why a service could not do what was asked, as a catalogue key and its facts.

The drivers and the database raise typed errors with a reason code; their ``str()``
is plain English for the log and the technician. Here a failure becomes the key of its
words (``database_problem.busy``) and the place it names, so the screens word it in the
attendant's language without knowing the database or the drivers' exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.printer.connection import PrinterError
from drivers.scale.link import LinkCause
from drivers.scale.simulator import SimulatorUnavailableError


@dataclass(frozen=True, slots=True)
class FailureReason:
    """A catalogue key, the place the failure names (an address, a device) and, for a
    program error nobody gave a reason for, the kind of exception."""

    key: str
    where: str = ""
    kind: str = ""


def reason_of(error: BaseException) -> FailureReason:
    """The reason of a failure; a program error is named by its kind only."""
    from db.engine import DatabaseError
    from db.printjobs import PrintJobStateError
    from db.queries import RecordNotFound
    from db.writes import DropOffVoided

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
