"""Labels: bytes per document and printer, their time on a 9600-baud line, and how long
a recorded drop-off takes to reach a network printer.

Sizes are of the documents as the print service renders them (Dutch captions); the
transfer time is what a serial printer at 9600 baud 8N1 needs for those bytes (10 bits
a byte: start, 8 data, stop). The latency runs the real print service against the
test suite's fake network printer on 127.0.0.1: from the moment ``record_drop_off``
committed to the first byte of the label arriving at the printer (after the service
asked the printer's status, as it does before every job).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
import weakref
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

PROFILES = ("TM-T20II", "TM-T88V", "POS-5890")
BAUD = 9600
BITS_PER_BYTE = 10  # 8N1: start bit, 8 data bits, stop bit
LATENCY_RUNS = 20


def _documents(profile: str) -> dict[str, bytes]:
    from counter_app.config import Config
    from counter_app.i18n import STATION_TZ, Messages, format_kg
    from counter_app.services.labels import totals_slip_for
    from db.domain import Classification
    from db.queries import CategoryTotal, DayTotals
    from drivers.printer.documents import (
        ItemLabel,
        render_item_label,
        render_test_page,
        render_totals_slip,
    )

    messages = Messages("nl")
    from drivers.printer.settings import PreviewPrinter

    config = Config(printer=PreviewPrinter(profile=profile))
    t = messages.t

    def label(marker: str | None) -> ItemLabel:
        return ItemLabel(
            label_code="MS01-000123",
            classification_title=t("classification.reuse").upper(),
            category="Meubels",
            eural_code=None,
            weight=format_kg(12_340, config.language),
            recorded_at_local=datetime(2024, 5, 3, 10, 15, tzinfo=UTC).astimezone(STATION_TZ),
            station_name=config.station.name,
            copy_marker=marker,
            weight_caption=t("label.weight"),
        )

    # A busy day: three classifications, eight categories and fractions.
    reuse, repair, recycling = Classification
    categories = (
        (reuse, "meubels", "Meubels", 182_400),
        (reuse, "fietsen", "Fietsen", 64_250),
        (reuse, "boeken", "Boeken en media", 21_300),
        (repair, "aeea-klein", "Kleine elektrische apparaten", 18_900),
        (repair, "fietsen", "Fietsen", 32_000),
        (recycling, "metaal", "Metalen", 412_750),
        (recycling, "hout-ab", "A/B-hout", 1_250_500),
        (recycling, "puin", "Schoon puin", 3_480_000),
    )
    grams = dict.fromkeys(Classification, 0)
    counts = dict.fromkeys(Classification, 0)
    for classification, _, _, weight in categories:
        grams[classification] += weight
        counts[classification] += 1
    totals = DayTotals(
        day=date(2024, 5, 3),
        grams_by_classification=grams,
        count_by_classification=counts,
        categories=tuple(
            CategoryTotal(classification, code, name, None, weight, 1)
            for classification, code, name, weight in categories
        ),
    )
    slip = totals_slip_for(
        totals, config, messages, printed_at=datetime(2024, 5, 3, 16, 0, tzinfo=UTC)
    )
    return {
        "item label": render_item_label(label(None), profile),
        "item label HERDRUK": render_item_label(label(t("label.reprint")), profile),
        "totals slip": render_totals_slip(slip, profile),
        "test page": render_test_page(profile, config.station.name),
    }


def _sizes() -> list[tuple[str, str]]:
    from drivers.printer.layout import paper_layout

    figures = []
    for profile in PROFILES:
        layout = paper_layout(profile)
        extras = "" if layout.qr_code else ", no QR/CODE128"
        for name, data in _documents(profile).items():
            seconds = len(data) * BITS_PER_BYTE / BAUD
            figures.append(
                (
                    f"{name}, {profile} ({layout.columns} col{extras})",
                    f"{len(data)} B, {seconds * 1000:.0f} ms at {BAUD} baud 8N1",
                )
            )
    return figures


def _fake_printer_class() -> Any:
    """The test suite's fake network printer, noting when each job's first byte came."""
    root = Path(__file__).resolve().parent.parent / "tests"
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from printer.escpos_fake_printer import FakeEscposPrinter

    class TimedFakePrinter(FakeEscposPrinter):  # type: ignore[misc]
        def __init__(self) -> None:
            self.first_bytes: list[float] = []
            # Connections whose first job byte was noted (ids of closed sockets recur).
            self._timed: weakref.WeakSet[Any] = weakref.WeakSet()
            self._timing = threading.Lock()
            super().__init__(lifetime=120)

        def _take_requests(self, conn: Any, data: bytearray, payload: bytearray) -> bytearray:
            rest: bytearray = super()._take_requests(conn, data, payload)
            # The first chunk with bytes that are not a status request: a job started.
            if payload:
                with self._timing:
                    if conn not in self._timed:
                        self._timed.add(conn)
                        self.first_bytes.append(time.perf_counter())
            return rest

    return TimedFakePrinter


def _latency() -> list[tuple[str, str]]:
    from counter_app.config import Config, DatabaseConfig
    from counter_app.i18n import Messages
    from counter_app.services.printing import PrintService
    from db.engine import open_database
    from db.writes import NewDropOff, record_drop_off
    from drivers.printer.settings import NetworkPrinter

    fake = _fake_printer_class()()
    delays = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(Path(tmp) / "counter.sqlite3")
        config = Config(
            printer=NetworkPrinter(host="127.0.0.1", port=fake.port),
            database=DatabaseConfig(path=str(Path(tmp) / "counter.sqlite3")),
        )
        service = PrintService(config, engine, Messages("nl"))
        service.start()
        try:
            for run in range(LATENCY_RUNS):
                record_drop_off(
                    engine,
                    NewDropOff(
                        station_id="MS01",
                        classification="reuse",
                        category_code="meubels",
                        category_name="Meubels",
                        eural_code=None,
                        weight_grams=12_340 + run,
                        weight_source="manual",
                        operator="balie",
                        reading=None,
                        reason="bench",
                    ),
                )
                committed = time.perf_counter()
                service.wake()
                fake.wait_for_jobs(run + 1, timeout=10)
                if len(fake.first_bytes) > run:
                    delays.append(fake.first_bytes[run] - committed)
        finally:
            service.stop()
            fake.close()
            engine.dispose()
    if len(delays) < LATENCY_RUNS:
        return [("record commit to first label byte at network printer", "FAILED")]
    ms = sorted(d * 1000 for d in delays)
    return [
        (
            f"record commit to first label byte, network (median of {LATENCY_RUNS})",
            f"{statistics.median(ms):.1f} ms (min {ms[0]:.1f}, max {ms[-1]:.1f})",
        )
    ]


def run() -> list[tuple[str, str]]:
    return _sizes() + _latency()
