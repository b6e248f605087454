"""The printer's part of the status line: the print service's events put into words.

The print service reports what happened (:class:`PrintEvent`: a health, the number
of waiting jobs, the driver's reason as a code with the place it names); the attendant
reads it here, in the configured language. The driver's English sentence stays in the
log and the job's last error.
"""

from __future__ import annotations

from counter_app.i18n import Messages
from counter_app.services.failures import fault_words
from counter_app.services.printing import PrinterHealth, PrintEvent
from drivers.scale.link import LinkCause

#: Catalogue key of each health on the status line ("Printer: papier op").
HEALTH_KEYS: dict[PrinterHealth, str] = {
    PrinterHealth.READY: "printer.ready",
    PrinterHealth.UNKNOWN: "printer.unknown",
    PrinterHealth.PAPER_OUT: "printer.paper_out",
    PrinterHealth.PAPER_LOW: "printer.paper_near_end",
    PrinterHealth.COVER_OPEN: "printer.cover_open",
    PrinterHealth.OFFLINE: "printer.offline",
    PrinterHealth.UNREACHABLE: "printer.unreachable",
    PrinterHealth.ERROR: "printer.error",
}

# Where the health says all there is to say (paper out), no detail follows it.
_DETAIL_SHOWN = frozenset({PrinterHealth.UNREACHABLE, PrinterHealth.ERROR})


def status_line(event: PrintEvent, messages: Messages, connection: str = "") -> str:
    """The printer's part of the status line, in the attendant's language.

    ``Printer: niet bereikbaar · wachtrij: 2 (10.0.0.9:9100: weigert de verbinding)``:
    the health in words, the number of jobs waiting, and the driver's reason in
    brackets where the health alone does not say enough (unreachable, fault). The
    count comes before the detail so a narrow terminal (80 columns) cuts the detail,
    never the count. A failure no driver explained (a program error) shows no detail
    here: its English text stays in the job's last error.
    """
    line = messages.t(HEALTH_KEYS[event.health])
    if connection == "preview" and event.health is PrinterHealth.UNKNOWN:
        # Not a printer whose state is unknown: there is no printer, by design.
        line = messages.t("printer.preview_mode")
    if event.pending:
        line += " · " + messages.t("printer.pending", count=event.pending)
    if event.fault is not None and event.health in _DETAIL_SHOWN:
        line += f" ({fault_words(event.fault, messages, event.where)})"
    return line


def link_words(cause: LinkCause, messages: Messages) -> str:
    """Why the line to the indicator is down, in the attendant's language."""
    return messages.t(f"scale_cause.{cause.value}")
