"""The print service against a real TCP printer: off, paper out, cover open, cable pulled.

Every test records drop-offs in a real SQLite file, lets the print service send them to
``FakeEscposPrinter`` (a raw port 9100 server answering DLE EOT), breaks the printer,
mends it, and decodes what arrived: every label once, in order, or, after an uncertain
delivery, once more marked DUPLICAAT; never silently twice. ``drain()`` is called
directly so no test waits for a backoff, except the one that runs the worker thread
with a backoff of a few milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from drop_offs import scale_drop_off
from printer.escpos_fake_printer import FakeEscposPrinter
from sqlalchemy.engine import Engine

from counter_app.config import Config, DatabaseConfig, StationConfig
from counter_app.i18n import Messages
from counter_app.services.printing import (
    PrinterHealth,
    PrintEvent,
    PrintService,
    connection_for,
)
from counter_app.ui.status_words import status_line
from db.domain import Classification
from db.engine import open_database
from db.printjobs import pending_print_jobs, print_job, queue_reprint
from db.queries import RecordedDropOff
from db.writes import NewCategory, record_drop_off
from drivers.printer.connection import PrinterFault
from drivers.printer.decode import DecodedDocument, decode_escpos
from drivers.printer.network import NetworkConnection
from drivers.printer.settings import NetworkPrinter
from tests.conftest import NewDatabase

NL = Messages("nl")


def config_for(tmp_path: Path, port: int) -> Config:
    return Config(
        station=StationConfig(id="MS01", name="Milieustraat Test", operator="balie"),
        printer=NetworkPrinter(host="127.0.0.1", port=port),
        database=DatabaseConfig(path=str(tmp_path / "counter.sqlite3")),
    )


@pytest.fixture
def engine(tmp_path: Path, new_database: NewDatabase) -> Iterator[Engine]:
    engine = open_database(new_database(tmp_path / "counter.sqlite3"))
    yield engine
    engine.dispose()


@pytest.fixture
def fake() -> Iterator[FakeEscposPrinter]:
    with FakeEscposPrinter(lifetime=20) as printer:
        yield printer


FURNITURE = NewCategory(Classification.REUSE, "meubels", "Meubels", None)


def record(engine: Engine, grams: int = 12340) -> RecordedDropOff:
    new = scale_drop_off(grams, received_at=datetime.now(UTC), category=FURNITURE)
    return record_drop_off(engine, new)


def service(
    config: Config,
    engine: Engine,
    events: list[PrintEvent],
    connection_factory: Callable[[], object] | None = None,
    **options: object,
) -> PrintService:
    return PrintService(
        config,
        engine,
        NL,
        on_event=events.append,
        connection_factory=connection_factory,  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


def label_of(job: bytes) -> tuple[str | None, str | None, bool]:
    """(label code from the QR code, copy marker, complete) of one received job."""
    doc: DecodedDocument = decode_escpos(job, columns=48, profile="TM-T20II")
    marker = None
    if doc.lines and doc.lines[0].inverted:
        marker = doc.lines[0].text.strip()
    complete = doc.cuts == 1 and not doc.truncated and not doc.pending_text
    return (doc.qr_codes[0] if doc.qr_codes else None, marker, complete)


def complete_labels(fake: FakeEscposPrinter, count: int) -> list[tuple[str | None, str | None]]:
    jobs = fake.wait_for_jobs(count)
    return [(code, marker) for code, marker, complete in map(label_of, jobs) if complete]


# -- the printer says it cannot print ----------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "health", "words", "reason"),
    [
        ("paper_out", PrinterHealth.PAPER_OUT, "Printer: papier op", "out of paper"),
        ("cover_open", PrinterHealth.COVER_OPEN, "Printer: klep open", "cover open"),
        ("offline", PrinterHealth.OFFLINE, "Printer: offline", "offline"),
    ],
)
def test_a_printer_that_cannot_print_gets_nothing_until_it_can(
    tmp_path: Path,
    engine: Engine,
    fake: FakeEscposPrinter,
    mode: str,
    health: PrinterHealth,
    words: str,
    reason: str,
) -> None:
    events: list[PrintEvent] = []
    printing = service(config_for(tmp_path, fake.port), engine, events)
    fake.mode = mode
    records = [record(engine, grams) for grams in (1000, 2000, 3000)]

    assert printing.drain() is False
    assert printing.drain() is False  # the retry: still not ready, still nothing sent

    # Only status questions reached the printer: not one byte of a label.
    assert fake.jobs == []
    assert all(set(raw) <= {0x10, 0x04, 0x01, 0x02} for raw in fake.connections)
    failed = events[-1]
    assert (failed.health, failed.pending, failed.label_code) == (health, 3, "MS01-000001")
    assert failed.message == f"the printer is {reason}"
    assert failed.document is None
    assert status_line(failed, NL) == f"{words} · wachtrij: 3"
    first = print_job(engine, records[0].print_job_id or "")
    assert (first.status, first.attempts, first.last_error) == ("failed", 2, failed.message)
    assert first.copy_marker is None  # nothing was sent, so nothing can be doubled
    # The jobs behind it were not tried: they wait their turn.
    assert [job.attempts for job in pending_print_jobs(engine)] == [2, 0, 0]

    fake.mode = "online"
    assert printing.drain() is True

    assert complete_labels(fake, 3) == [
        ("MS01-000001", None),
        ("MS01-000002", None),
        ("MS01-000003", None),
    ]
    assert len(fake.jobs) == 3  # each label once
    assert pending_print_jobs(engine) == []
    sent = print_job(engine, records[0].print_job_id or "")
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 3, None)
    assert (events[-1].health, events[-1].pending) == (PrinterHealth.READY, 0)
    assert status_line(events[-1], NL) == "Printer: gereed"


def test_paper_nearly_out_still_prints_and_says_so(
    tmp_path: Path, engine: Engine, fake: FakeEscposPrinter
) -> None:
    events: list[PrintEvent] = []
    fake.mode = "paper_near_end"
    record(engine)

    assert service(config_for(tmp_path, fake.port), engine, events).drain() is True

    assert complete_labels(fake, 1) == [("MS01-000001", None)]
    assert events[-1].health is PrinterHealth.PAPER_LOW
    assert status_line(events[-1], NL) == "Printer: papier bijna op"


# -- the printer cannot be reached -----------------------------------------------------


def test_a_printer_that_is_off_fails_the_job_with_the_reason_and_the_queue_waits(
    tmp_path: Path, engine: Engine, fake: FakeEscposPrinter
) -> None:
    events: list[PrintEvent] = []
    current = [config_for(tmp_path, fake.port)]
    # The status question is the first thing that fails: PrinterUnavailable from it
    # must fail the job just like a failed send.
    printing = service(current[0], engine, events, lambda: connection_for(current[0]))
    fake.refuse_connections()
    records = [record(engine), record(engine, 500)]

    assert printing.drain() is False

    failed = events[-1]
    assert failed.health is PrinterHealth.UNREACHABLE
    assert failed.pending == 2
    assert f"printer at 127.0.0.1:{fake.port} refuses the connection" in failed.message
    job = print_job(engine, records[0].print_job_id or "")
    assert (job.status, job.attempts, job.last_error) == ("failed", 1, failed.message)
    assert job.copy_marker is None  # refused before any byte: not uncertain
    waiting = print_job(engine, records[1].print_job_id or "")
    assert (waiting.status, waiting.attempts) == ("queued", 0)
    assert (failed.fault, failed.where) == (PrinterFault.REFUSED, f"127.0.0.1:{fake.port}")
    assert status_line(failed, NL) == (
        f"Printer: niet bereikbaar · wachtrij: 2 (127.0.0.1:{fake.port}: weigert de verbinding)"
    )

    with FakeEscposPrinter(lifetime=20) as back:  # switched on again
        current[0] = config_for(tmp_path, back.port)
        assert printing.drain() is True
        assert complete_labels(back, 2) == [("MS01-000001", None), ("MS01-000002", None)]
        assert len(back.jobs) == 2

    assert fake.jobs == []
    assert pending_print_jobs(engine) == []


def test_a_pulled_cable_reprints_that_label_once_marked_duplicaat(
    tmp_path: Path, engine: Engine, fake: FakeEscposPrinter
) -> None:
    events: list[PrintEvent] = []
    printing = service(config_for(tmp_path, fake.port), engine, events)
    record(engine)
    assert printing.drain() is True
    second, third = record(engine, 2500), record(engine, 7000)
    # The printer takes 40 bytes of the next job, then the connection breaks. The
    # status questions (9 bytes on their own connection) still get through.
    fake.drop_after = 40

    assert printing.drain() is False

    failed = events[-1]
    assert failed.health is PrinterHealth.UNREACHABLE
    assert "the label may be incomplete" in failed.message
    assert failed.label_code == "MS01-000002"
    job = print_job(engine, second.print_job_id or "")
    assert (job.status, job.copy_marker, job.last_error) == (
        "failed",
        "duplicate",
        failed.message,
    )
    assert print_job(engine, third.print_job_id or "").attempts == 0
    partial = fake.wait_for_jobs(2)[1]
    assert len(partial) == 40
    assert label_of(partial)[2] is False  # no cut: a torn-off half label

    fake.drop_after = None
    assert printing.drain() is True

    jobs = fake.wait_for_jobs(4)
    assert [label_of(job) for job in jobs] == [
        ("MS01-000001", None, True),
        (None, None, False),
        ("MS01-000002", "DUPLICAAT", True),
        ("MS01-000003", None, True),
    ]
    duplicate = decode_escpos(jobs[2], columns=48, profile="TM-T20II")
    assert duplicate.lines[0].text.strip() == "DUPLICAAT"
    assert duplicate.lines[0].width_mult == 2
    assert "2,50 kg" in duplicate.text
    sent = print_job(engine, second.print_job_id or "")
    assert (sent.status, sent.attempts, sent.copy_marker) == ("sent", 2, "duplicate")


# -- the printer does not answer -------------------------------------------------------


def network_to(printer: FakeEscposPrinter, timeout: float = 0.5) -> Callable[[], object]:
    """Connections with a short wait for the printer's answer after each job."""
    return lambda: NetworkConnection(printer.host, printer.port, timeout=timeout)


@pytest.mark.parametrize(
    "printer_kind",
    [
        "never_reads",  # accepts TCP, reads nothing: the bytes sit in a socket buffer
        "reads_never_answers",  # takes the job, never answers GS r 1
        "silent",  # answers nothing at all, neither DLE EOT nor GS r
    ],
)
def test_a_job_the_printer_does_not_confirm_stays_waiting_and_comes_again_as_duplicaat(
    tmp_path: Path, engine: Engine, printer_kind: str
) -> None:
    options: dict[str, Any] = {
        "never_reads": {"reads": False},
        "reads_never_answers": {"transmit_status": False},
        "silent": {"mode": "silent"},
    }[printer_kind]
    events: list[PrintEvent] = []
    with (
        FakeEscposPrinter(lifetime=20, **options) as stuck,
        FakeEscposPrinter(lifetime=20) as mended,
    ):
        first, second, third = record(engine), record(engine, 2500), record(engine, 7000)
        config = config_for(tmp_path, stuck.port)

        assert service(config, engine, events, network_to(stuck)).drain() is False

        job = print_job(engine, first.print_job_id or "")
        assert (job.status, job.copy_marker, job.attempts) == ("failed", "duplicate", 1)
        assert "did not confirm" in (job.last_error or "")
        assert [j.status for j in pending_print_jobs(engine)] == ["failed", "queued", "queued"]
        assert print_job(engine, second.print_job_id or "").attempts == 0
        assert events[-1].health is PrinterHealth.ERROR
        assert events[-1].pending == 3
        assert "did not confirm" in events[-1].message
        assert status_line(events[-1], NL).startswith("Printer: storing · wachtrij: 3")

        # The printer answers again: the first label comes once more, marked DUPLICAAT,
        # because the first copy may have printed; the others once, unmarked.
        assert service(config, engine, events, network_to(mended, 2.0)).drain() is True

        assert complete_labels(mended, 3) == [
            ("MS01-000001", "DUPLICAAT"),
            ("MS01-000002", None),
            ("MS01-000003", None),
        ]
        assert pending_print_jobs(engine) == []
        assert print_job(engine, third.print_job_id or "").status == "sent"


# -- reprints and the worker -----------------------------------------------------------


def test_a_reprint_comes_out_marked_herdruk(
    tmp_path: Path, engine: Engine, fake: FakeEscposPrinter
) -> None:
    printing = service(config_for(tmp_path, fake.port), engine, [])
    recorded = record(engine)
    printing.drain()

    queue_reprint(engine, recorded.id, "balie")
    assert printing.drain() is True

    assert complete_labels(fake, 2) == [("MS01-000001", None), ("MS01-000001", "HERDRUK")]


def test_the_worker_retries_by_itself_and_prints_in_order_once_paper_is_back(
    tmp_path: Path, engine: Engine, fake: FakeEscposPrinter
) -> None:
    events: list[PrintEvent] = []
    printing = service(config_for(tmp_path, fake.port), engine, events, backoff=(0.01, 0.02))
    fake.mode = "paper_out"
    printing.start()
    try:
        for grams in (1100, 2200, 3300):
            record(engine, grams)
            printing.wake()
        deadline = time.monotonic() + 10
        while sum(e.health is PrinterHealth.PAPER_OUT for e in events) < 3:
            assert time.monotonic() < deadline, "the worker did not retry"
            time.sleep(0.01)
        assert fake.jobs == []

        fake.mode = "online"  # a new roll

        assert complete_labels(fake, 3) == [
            ("MS01-000001", None),
            ("MS01-000002", None),
            ("MS01-000003", None),
        ]
    finally:
        printing.stop()
    assert len(fake.jobs) == 3
    assert pending_print_jobs(engine) == []
