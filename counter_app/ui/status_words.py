"""The printer's part of the status line: the print service's events put into words.

The print service reports what happened (:class:`PrintEvent`: a health, the number
of waiting jobs, the driver's reason in English); the attendant reads it here, in the
configured language.
"""

from __future__ import annotations

from counter_app.i18n import Messages
from counter_app.services.printing import PrinterHealth, PrintEvent

#: The longest driver detail shown in brackets on the status line.
STATUS_DETAIL_LIMIT = 60

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

# Where the Dutch words say all there is to say, no English detail follows them.
_DETAIL_SHOWN = frozenset({PrinterHealth.UNREACHABLE, PrinterHealth.ERROR})


def short_detail(message: str, limit: int = STATUS_DETAIL_LIMIT) -> str:
    """The first part of a driver message, for the status line.

    Driver messages say what happened first and give advice after a colon or dash
    ("printer at 10.0.0.9:9100 refuses the connection: is this ..."); the first part
    is kept, and shortened at a word when it is still longer than ``limit``.
    """
    text = " ".join(message.split())
    for separator in (": ", " — "):
        head, found, _ = text.partition(separator)
        if found and head:
            text = head
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut.rstrip(" ,;") + "…"


def status_line(event: PrintEvent, messages: Messages, connection: str = "") -> str:
    """The printer's part of the status line, in the attendant's language.

    ``Printer: niet bereikbaar · wachtrij: 2 (printer at 10.0.0.9:9100 refuses …)``:
    the health in words, the number of jobs waiting, and a short English detail in
    brackets where the words alone do not say enough (unreachable, fault). The count
    comes before the detail so a narrow terminal (80 columns) cuts the detail, never
    the count.
    """
    line = messages.t(HEALTH_KEYS[event.health])
    if connection == "preview" and event.health is PrinterHealth.UNKNOWN:
        # Not a printer whose state is unknown: there is no printer, by design.
        line = messages.t("printer.preview_mode")
    if event.pending:
        line += " · " + messages.t("printer.pending", count=event.pending)
    if event.message and event.health in _DETAIL_SHOWN:
        detail = short_detail(event.message)
        if detail:
            line += f" ({detail})"
    return line
