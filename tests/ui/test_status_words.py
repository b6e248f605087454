"""The printer's part of the status line: the print service's events in words."""

from __future__ import annotations

from dataclasses import replace

import pytest

from counter_app.i18n import Messages
from counter_app.services.printing import PrinterHealth, PrintEvent
from counter_app.ui.status_words import status_line
from drivers.printer.connection import PrinterFault

NL = Messages("nl")
EN = Messages("en")


@pytest.mark.parametrize(
    ("health", "dutch", "english"),
    [
        (PrinterHealth.READY, "Printer: gereed", "Printer: ready"),
        (PrinterHealth.PAPER_OUT, "Printer: papier op", "Printer: out of paper"),
        (PrinterHealth.PAPER_LOW, "Printer: papier bijna op", "Printer: paper nearly out"),
        (PrinterHealth.COVER_OPEN, "Printer: klep open", "Printer: cover open"),
        (PrinterHealth.OFFLINE, "Printer: offline", "Printer: offline"),
        (PrinterHealth.UNREACHABLE, "Printer: niet bereikbaar", "Printer: not reachable"),
        (PrinterHealth.UNKNOWN, "Printer: status onbekend", "Printer: status unknown"),
        (PrinterHealth.ERROR, "Printer: storing", "Printer: fault"),
    ],
)
def test_status_line_speaks_plain_words(health: PrinterHealth, dutch: str, english: str) -> None:
    assert status_line(PrintEvent(health, 0), NL) == dutch
    assert status_line(PrintEvent(health, 0), EN) == english
    assert status_line(PrintEvent(health, 4), NL) == f"{dutch} · wachtrij: 4"
    assert status_line(PrintEvent(health, 4), EN) == f"{english} · queued: 4"


def test_status_line_words_the_drivers_reason_only_where_the_health_needs_it() -> None:
    refused = PrintEvent(
        PrinterHealth.UNREACHABLE,
        2,
        "printer at 10.0.0.9:9100 refuses the connection: is this the printer's address "
        "and raw port (usually 9100), and is no other computer printing to it?",
        fault=PrinterFault.REFUSED,
        where="10.0.0.9:9100",
    )
    # The count before the detail: where the line is cut short, the detail goes first.
    assert status_line(refused, NL) == (
        "Printer: niet bereikbaar · wachtrij: 2 (10.0.0.9:9100: weigert de verbinding)"
    )
    assert status_line(refused, EN) == (
        "Printer: not reachable · queued: 2 (10.0.0.9:9100: refuses the connection)"
    )
    assert status_line(replace(refused, pending=0), NL) == (
        "Printer: niet bereikbaar (10.0.0.9:9100: weigert de verbinding)"
    )
    # Paper out says it all; the English reason stays in the job's last error.
    paper_out = PrintEvent(
        PrinterHealth.PAPER_OUT, 1, "the printer is out of paper", fault=PrinterFault.NOT_READY
    )
    assert status_line(paper_out, NL) == "Printer: papier op · wachtrij: 1"
    # A failure no driver explained (a program error) shows its English only in the log.
    bug = PrintEvent(PrinterHealth.ERROR, 0, "KeyError: 'profile'")
    assert status_line(bug, NL) == "Printer: storing"


def test_the_preview_connection_is_named_not_called_unknown() -> None:
    event = PrintEvent(PrinterHealth.UNKNOWN, 2)
    assert status_line(event, NL, "preview") == (
        "Printer: voorbeeld op het scherm (geen printer) · wachtrij: 2"
    )
    assert status_line(event, NL, "network").startswith("Printer: status onbekend")
