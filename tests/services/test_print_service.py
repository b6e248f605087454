"""The print service with the preview connection: documents, the queue, its events.

The fault behaviour against a real network printer is in ``test_print_faults.py``.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from counter_app.config import Config, DatabaseConfig, StationConfig
from counter_app.i18n import Messages
from counter_app.services.printing import (
    STATION_TZ,
    PrinterHealth,
    PrintEvent,
    PrintService,
    health_from_status,
)
from counter_app.ui.status_words import status_line
from db.chain import Anchor
from db.engine import open_database
from db.printjobs import (
    PrintJobStateError,
    attempt_interrupted,
    begin_attempt,
    pending_print_jobs,
    print_job,
    queue_document,
    totals_slip_day,
)
from db.queries import RecordedDropOff
from db.verify import verify_chain
from db.writes import NewDropOff, record_drop_off, void_drop_off
from drivers.printer.connection import PaperState, PrinterStatus
from drivers.printer.decode import DecodedDocument, decode_escpos
from drivers.printer.preview import PreviewConnection
from drivers.printer.settings import NetworkPrinter, PreviewPrinter
from tests.conftest import NewDatabase

NL = Messages("nl")
EN = Messages("en")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(
        station=StationConfig(id="MS01", name="Milieustraat Test", operator="balie"),
        printer=PreviewPrinter(path=str(tmp_path / "labels")),
        database=DatabaseConfig(path=str(tmp_path / "counter.sqlite3")),
    )


@pytest.fixture
def engine(tmp_path: Path, new_database: NewDatabase) -> Iterator[Engine]:
    engine = open_database(new_database(tmp_path / "counter.sqlite3"))
    yield engine
    engine.dispose()


def record(
    engine: Engine,
    classification: str = "reuse",
    grams: int = 12340,
    category: tuple[str, str, str | None] = ("meubels", "Meubels", None),
    now: datetime | None = None,
) -> RecordedDropOff:
    code, name, eural = category
    return record_drop_off(
        engine,
        NewDropOff(
            station_id="MS01",
            classification=classification,
            category_code=code,
            category_name=name,
            eural_code=eural,
            weight_grams=grams,
            weight_source="manual",
            operator="balie",
            reading=None,
            reason="weegschaal in onderhoud",
        ),
        now=now,
    )


def printed(config: Config) -> list[DecodedDocument]:
    preview = PreviewConnection(config.preview_dir())
    return [
        decode_escpos(path.read_bytes(), columns=48, profile="TM-T20II") for path in preview.jobs()
    ]


@pytest.mark.parametrize(
    ("status", "health"),
    [
        (PrinterStatus(answered=False), PrinterHealth.UNKNOWN),
        (PrinterStatus(True, True, False, PaperState.OK, False), PrinterHealth.READY),
        (PrinterStatus(True, False, False, PaperState.OUT, False), PrinterHealth.PAPER_OUT),
        (PrinterStatus(True, False, True, PaperState.OK, False), PrinterHealth.COVER_OPEN),
        (PrinterStatus(True, False, False, PaperState.OK, False), PrinterHealth.OFFLINE),
        (PrinterStatus(True, True, False, PaperState.OK, True), PrinterHealth.ERROR),
        (PrinterStatus(True, True, False, PaperState.NEAR_END, False), PrinterHealth.PAPER_LOW),
    ],
)
def test_health_from_status(status: PrinterStatus, health: PrinterHealth) -> None:
    assert health_from_status(status) is health


# -- labels through the preview connection ---------------------------------------------


def test_labels_are_written_in_order_and_marked_sent(config: Config, engine: Engine) -> None:
    events: list[PrintEvent] = []
    service = PrintService(config, engine, NL, on_event=events.append)
    first = record(engine, "reuse", 12340)
    record(engine, "recycling", 2250, ("metaal", "Metalen", "20 01 40"))

    assert service.drain() is True

    docs = printed(config)
    assert [doc.qr_codes for doc in docs] == [["MS01-000001"], ["MS01-000002"]]
    assert "HERGEBRUIK" in docs[0].text
    assert "Handmatig ingevoerd" in docs[0].text
    assert "EURAL 20 01 40" in docs[1].text
    assert print_job(engine, first.print_job_id or "").status == "sent"
    # The preview connection cannot ask: after printing the state is unknown, not "ready".
    assert [(e.health, e.pending, e.label_code) for e in events] == [
        (PrinterHealth.UNKNOWN, 1, "MS01-000001"),
        (PrinterHealth.UNKNOWN, 0, "MS01-000002"),
    ]
    assert events[0].document is not None
    assert any("MS01-000001" in line.text for line in events[0].preview)


def test_an_unwritable_preview_folder_keeps_the_job_waiting(
    config: Config, engine: Engine, tmp_path: Path
) -> None:
    # A file where a folder of the path should be: the label folder cannot be made.
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    config = Config(
        station=config.station,
        printer=PreviewPrinter(path=str(blocked / "labels")),
        database=config.database,
    )
    events: list[PrintEvent] = []
    recorded = record(engine)

    assert PrintService(config, engine, NL, on_event=events.append).drain() is False

    job = print_job(engine, recorded.print_job_id or "")
    assert job.status == "failed"
    assert job.last_error == events[-1].message
    assert events[-1].health is PrinterHealth.UNREACHABLE
    assert status_line(events[-1], NL).startswith("Printer: niet bereikbaar · wachtrij: 1 (…")
    assert status_line(events[-1], NL).endswith("/blocked/labels: verkeerd pad)")


def test_a_wrong_setting_fails_the_job_with_its_reason(config: Config, engine: Engine) -> None:
    config = Config(
        station=config.station,
        printer=NetworkPrinter.model_construct(host=""),
        database=config.database,
    )
    events: list[PrintEvent] = []
    recorded = record(engine)

    assert PrintService(config, engine, NL, on_event=events.append).drain() is False

    assert events[-1].health is PrinterHealth.ERROR
    assert "needs a host" in events[-1].message
    assert print_job(engine, recorded.print_job_id or "").last_error == events[-1].message


def test_a_job_that_cannot_be_rendered_is_cancelled_and_the_queue_goes_on(
    config: Config, engine: Engine
) -> None:
    # A label job without its drop-off: nothing to render, so nothing to wait for.
    with sqlite3.connect(config.database_path()) as conn:
        conn.execute(
            "insert into print_job"
            " (id, station_id, document, status, attempts, created_at, updated_at)"
            " values ('broken', 'MS01', 'item_label', 'queued', 0,"
            " '2000-01-01T00:00:00.000000+00:00', '2000-01-01T00:00:00.000000+00:00')"
        )
    events: list[PrintEvent] = []
    record(engine)

    assert PrintService(config, engine, NL, on_event=events.append).drain() is True

    broken = print_job(engine, "broken")
    assert broken.status == "cancelled"
    assert "cannot be printed" in (broken.last_error or "")
    assert events[0].health is PrinterHealth.ERROR
    assert [doc.qr_codes for doc in printed(config)] == [["MS01-000001"]]


def test_the_retry_delay_follows_the_backoff_and_a_new_job_resets_it(
    config: Config, engine: Engine
) -> None:
    service = PrintService(config, engine, NL, backoff=(0.5, 2.0))
    assert service.retry_delay() == 0.5
    service._failures = 1
    assert service.retry_delay() == 0.5
    service._failures = 7
    assert service.retry_delay() == 2.0  # the last delay repeats
    service.wake()
    assert service.retry_delay() == 0.5
    with pytest.raises(ValueError, match="backoff"):
        PrintService(config, engine, NL, backoff=())


def test_the_worker_says_how_the_printer_is_when_it_starts(config: Config, engine: Engine) -> None:
    events: list[PrintEvent] = []
    service = PrintService(config, engine, NL, on_event=events.append)
    service.start()
    service.stop()
    assert events[0] == PrintEvent(PrinterHealth.UNKNOWN, 0)
    assert service.check_printer() is PrinterHealth.UNKNOWN


# -- the day's totals slip -------------------------------------------------------------


def test_the_totals_slip_shows_the_day_in_dutch(config: Config, engine: Engine) -> None:
    record(engine, "reuse", 12340, ("meubels", "Meubels", None))
    record(engine, "reuse", 1500, ("fietsen", "Fietsen", None))
    record(engine, "repair", 8000, ("aeea-klein", "Kleine apparaten", None))
    record(engine, "recycling", 40250, ("metaal", "Metalen", "20 01 40"))
    voided = record(engine, "recycling", 999000, ("puin", "Schoon puin", "17 01 07"))
    void_drop_off(engine, voided.id, operator="balie", reason="verkeerd gewogen")
    service = PrintService(config, engine, NL)
    service.drain()
    today = datetime.now(STATION_TZ).date()

    job_id = service.queue_totals_slip()
    assert totals_slip_day(engine, job_id) == today
    assert service.drain() is True

    slip = printed(config)[-1]
    lines = [line.text.rstrip() for line in slip.lines if line.text.strip()]
    assert lines[0].strip() == "Dagtotalen"
    assert slip.lines[0].width_mult == 2
    assert lines[1].strip() == today.strftime("%d-%m-%Y")
    assert lines[2].strip() == "Milieustraat Test"
    assert lines[4].split() == ["Aantal", "Gewicht"]
    parts = [row.split() for row in lines[5:12]]
    rows = [(" ".join(part[:-3]), part[-3], " ".join(part[-2:])) for part in parts]
    assert rows == [
        ("HERGEBRUIK", "2", "13,84 kg"),
        ("· Meubels", "1", "12,34 kg"),
        ("· Fietsen", "1", "1,50 kg"),
        ("REPARATIE", "1", "8,00 kg"),
        ("· Kleine apparaten", "1", "8,00 kg"),
        ("RECYCLING", "1", "40,25 kg"),
        ("· Metalen", "1", "40,25 kg"),
    ]
    assert all(len(row) == 48 for row in lines[4:12])
    assert "Schoon puin" not in slip.text  # voided
    total = next(line for line in slip.lines if line.text.startswith("Totaal"))
    assert total.text.split() == ["Totaal", "4", "62,09", "kg"]
    assert total.bold and total.height_mult == 2
    # The chain's anchor as it was when the slip was printed: kept on paper, it lets
    # 'counter verify --anchor' prove later that nothing of the day was changed.
    anchor_line = next(line.text.strip() for line in slip.lines if line.text.startswith("Anker"))
    anchor = Anchor.parse(anchor_line.removeprefix("Anker: "))
    assert anchor.station_id == "MS01"
    assert verify_chain(engine, [anchor]).ok
    assert slip.cuts == 1
    assert print_job(engine, job_id).status == "sent"


def test_a_totals_slip_of_an_earlier_day_waits_its_turn_and_shows_that_day(
    config: Config, engine: Engine
) -> None:
    yesterday = datetime.now(STATION_TZ).date() - timedelta(days=1)
    noon = datetime(yesterday.year, yesterday.month, yesterday.day, 12, tzinfo=STATION_TZ)
    record(engine, "reuse", 5000, now=noon)
    record(engine, "reuse", 7000)  # today's: not on yesterday's slip
    service = PrintService(config, engine, NL)

    job_id = service.queue_totals_slip(yesterday)

    assert [job.document for job in pending_print_jobs(engine)] == [
        "item_label",
        "item_label",
        "totals_slip",
    ]
    assert service.drain() is True
    slip = printed(config)[-1]
    assert yesterday.strftime("%d-%m-%Y") in slip.text
    assert "5,00 kg" in slip.text
    assert "7,00 kg" not in slip.text
    # Printed again from the queue screen: the same day, marked as a reprint.
    again = service.reprint(job_id)
    assert again.document == "totals_slip"
    assert totals_slip_day(engine, again.id) == yesterday
    service.drain()
    assert "5,00 kg" in printed(config)[-1].text


def test_the_totals_slip_in_english(config: Config, engine: Engine) -> None:
    record(engine, "repair", 2500)
    service = PrintService(
        Config(
            language="en",
            station=config.station,
            printer=config.printer,
            database=config.database,
        ),
        engine,
        EN,
    )
    service.queue_totals_slip()
    service.drain()
    slip = printed(config)[-1]
    assert "Day totals" in slip.text
    assert "REPAIR" in slip.text
    assert "2.50 kg" in slip.text
    today = datetime.now(STATION_TZ).date()
    assert today.isoformat() in slip.text  # 2024-05-03, not 03-05-2024
    assert today.strftime("%d-%m-%Y") not in slip.text


def test_a_test_page_job_prints_the_test_page(config: Config, engine: Engine) -> None:
    job_id = queue_document(engine, "test_page", "balie", station_id="MS01")
    assert PrintService(config, engine, NL).drain() is True
    page = printed(config)[-1]
    assert "Printer test" in page.text
    assert "Milieustraat Test" in page.text
    assert print_job(engine, job_id).status == "sent"


# -- the queue, as the print queue screen uses it --------------------------------------


def test_jobs_of_the_day_with_older_ones_still_waiting(config: Config, engine: Engine) -> None:
    service = PrintService(config, engine, NL)
    long_ago = datetime.now(UTC) - timedelta(days=3)
    old_sent = record(engine, now=long_ago)
    service.drain()
    old_waiting = record(engine, now=long_ago + timedelta(minutes=1))
    today = record(engine)

    listed = [job.id for job in service.jobs_of_day()]

    assert listed == [old_waiting.print_job_id, today.print_job_id]
    assert old_sent.print_job_id not in listed
    earlier = service.jobs_of_day(long_ago.astimezone(STATION_TZ).date())
    assert [job.label_code for job in earlier] == ["MS01-000001", "MS01-000002"]


def test_reprint_and_cancel_from_the_queue(config: Config, engine: Engine) -> None:
    service = PrintService(config, engine, NL)
    first = record(engine)
    service.drain()
    second = record(engine, grams=4000)

    reprint = service.reprint(first.print_job_id or "")
    cancelled = service.cancel(second.print_job_id or "")

    assert (reprint.label_code, reprint.copy_marker, reprint.status) == (
        "MS01-000001",
        "reprint",
        "queued",
    )
    assert reprint.reprint_of == first.print_job_id
    assert cancelled.status == "cancelled"
    with pytest.raises(PrintJobStateError):
        service.cancel(first.print_job_id or "")  # already printed
    service.drain()
    docs = printed(config)
    assert [(doc.qr_codes, doc.lines[0].text.strip()) for doc in docs] == [
        (["MS01-000001"], "HERGEBRUIK"),
        (["MS01-000001"], "HERDRUK"),
    ]


def test_a_voided_drop_off_is_not_reprinted(config: Config, engine: Engine) -> None:
    service = PrintService(config, engine, NL)
    recorded = record(engine)
    service.drain()
    void_drop_off(engine, recorded.id, operator="balie", reason="dubbel ingevoerd")

    with pytest.raises(ValueError, match="voided"):
        service.reprint(recorded.print_job_id or "")


# -- labels in the configured language -------------------------------------------------


@pytest.mark.parametrize(
    ("language", "messages", "weight", "recorded"),
    [
        ("nl", NL, "12,34 kg", "03-05-2024 14:05"),
        ("en", EN, "12.34 kg", "2024-05-03 14:05"),
    ],
)
def test_a_label_writes_numbers_and_times_the_way_its_language_does(
    config: Config, engine: Engine, language: str, messages: Messages, weight: str, recorded: str
) -> None:
    record(engine, "reuse", 12340, now=datetime(2024, 5, 3, 12, 5, tzinfo=UTC))  # 14:05 local
    service = PrintService(
        Config(
            language=language,
            station=config.station,
            printer=config.printer,
            database=config.database,
        ),
        engine,
        messages,
    )

    assert service.drain() is True

    label = printed(config)[0]
    lines = [line.text.strip() for line in label.lines]
    assert any(line.endswith(weight) for line in lines), lines
    assert recorded in lines
    other = "12.34 kg" if weight == "12,34 kg" else "12,34 kg"
    assert other not in label.text


# -- a label whose delivery was not recorded -------------------------------------------


class LockedAfterSend(PreviewConnection):
    """The preview printer, after which another program holds the database's write lock
    (a backup, a second counter process) until ``release()``."""

    def __init__(self, folder: Path, database: Path, lock_after_send: list[bool]) -> None:
        super().__init__(folder)
        self._database = database
        self._lock_after_send = lock_after_send
        self.locker: sqlite3.Connection | None = None

    def send(self, data: bytes) -> None:
        super().send(data)
        if self._lock_after_send and self._lock_after_send.pop(0):
            self.locker = sqlite3.connect(self._database, isolation_level=None)
            self.locker.execute("BEGIN IMMEDIATE")  # the write lock, held

    def release(self) -> None:
        if self.locker is not None:
            self.locker.execute("ROLLBACK")
            self.locker.close()
            self.locker = None


@pytest.fixture
def impatient_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, new_database: NewDatabase
) -> Iterator[Engine]:
    """The counter database, with a busy timeout of 50 ms instead of 10 s."""
    monkeypatch.setattr("db.engine.BUSY_TIMEOUT_MS", 50)
    engine = open_database(new_database(tmp_path / "counter.sqlite3"))
    yield engine
    engine.dispose()


def markers(config: Config) -> list[tuple[list[str], str | None]]:
    """(QR codes, copy marker on the inverted top line) of each printed label."""
    return [
        (doc.qr_codes, doc.lines[0].text.strip() if doc.lines[0].inverted else None)
        for doc in printed(config)
    ]


def test_a_label_that_cannot_be_marked_sent_prints_once_more_as_a_duplicate(
    config: Config, impatient_engine: Engine
) -> None:
    engine = impatient_engine
    connections: list[LockedAfterSend] = []

    def connect() -> LockedAfterSend:
        connection = LockedAfterSend(config.preview_dir(), config.database_path(), lock)
        connections.append(connection)
        return connection

    lock = [True]  # the first job's connection locks the database after sending
    events: list[PrintEvent] = []
    service = PrintService(
        config,
        engine,
        NL,
        on_event=events.append,
        connection_factory=connect,
        mark_sent_retry_delays=(0.0, 0.01),
    )
    recorded = record(engine)
    job_id = recorded.print_job_id or ""

    # Printed, but the database refuses "sent" three times: no second copy meanwhile.
    assert service.drain() is False
    assert markers(config) == [(["MS01-000001"], None)]
    assert print_job(engine, job_id).status == "queued"
    assert events[-1].health is PrinterHealth.ERROR
    assert events[-1].message.startswith("the job was printed but could not be recorded")
    assert events[-1].pending == 1

    connections[0].release()  # the database takes changes again
    assert service.drain() is True

    assert markers(config) == [(["MS01-000001"], None), (["MS01-000001"], "DUPLICAAT")]
    job = print_job(engine, job_id)
    assert (job.status, job.copy_marker, job.attempts) == ("sent", "duplicate", 2)
    assert service.drain() is True
    assert len(printed(config)) == 2  # exactly one more print, not one per drain


def test_mark_sent_is_tried_again_without_sending_again(
    config: Config, impatient_engine: Engine
) -> None:
    engine = impatient_engine
    connections: list[LockedAfterSend] = []
    lock = [True]

    def connect() -> LockedAfterSend:
        connection = LockedAfterSend(config.preview_dir(), config.database_path(), lock)
        connections.append(connection)
        return connection

    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        connections[0].release()  # the other program is done while we wait

    service = PrintService(
        config, engine, NL, connection_factory=connect, mark_sent_retry_delays=(0.2,), sleep=sleep
    )
    recorded = record(engine)

    assert service.drain() is True

    assert waited == [0.2]
    assert markers(config) == [(["MS01-000001"], None)]
    job = print_job(engine, recorded.print_job_id or "")
    assert (job.status, job.copy_marker, job.attempts) == ("sent", None, 1)


_KILLED_AFTER_SEND = """
import os, signal, sys
from counter_app.config import Config, DatabaseConfig, StationConfig
from drivers.printer.settings import PreviewPrinter
from counter_app.i18n import Messages
from counter_app.services.printing import PrintService
from db.engine import open_database
from drivers.printer.preview import PreviewConnection

folder, database = sys.argv[1], sys.argv[2]


class KilledAfterSend(PreviewConnection):
    def send(self, data):
        super().send(data)
        os.kill(os.getpid(), signal.SIGKILL)  # the label is out; "sent" never written


config = Config(
    station=StationConfig(id="MS01", name="Milieustraat Test", operator="balie"),
    printer=PreviewPrinter(path=folder),
    database=DatabaseConfig(path=database),
)
engine = open_database(database)
service = PrintService(
    config, engine, Messages("nl"), connection_factory=lambda: KilledAfterSend(folder)
)
service.drain()
sys.exit(3)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_counter_killed_after_sending_reprints_the_label_as_a_duplicate(
    config: Config, engine: Engine
) -> None:
    recorded = record(engine)
    job_id = recorded.print_job_id or ""

    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            _KILLED_AFTER_SEND,
            str(config.preview_dir()),
            str(config.database_path()),
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert markers(config) == [(["MS01-000001"], None)]
    assert attempt_interrupted(engine, job_id)
    assert print_job(engine, job_id).status == "queued"

    # The counter starts again.
    assert PrintService(config, engine, NL).drain() is True

    assert markers(config) == [(["MS01-000001"], None), (["MS01-000001"], "DUPLICAAT")]
    job = print_job(engine, job_id)
    assert (job.status, job.copy_marker) == ("sent", "duplicate")
    assert not attempt_interrupted(engine, job_id)


def test_an_attempt_begun_and_never_ended_makes_the_next_print_a_duplicate(
    config: Config, engine: Engine
) -> None:
    recorded = record(engine)
    job_id = recorded.print_job_id or ""
    begin_attempt(engine, job_id)  # and then the counter stopped

    assert PrintService(config, engine, NL).drain() is True

    assert markers(config) == [(["MS01-000001"], "DUPLICAAT")]


def test_a_normal_label_never_carries_the_duplicate_marker(
    config: Config, engine: Engine, tmp_path: Path
) -> None:
    service = PrintService(config, engine, NL)
    first = record(engine)
    assert service.drain() is True
    service.drain()

    # A failure before any byte went out does not make the retry a duplicate either.
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    blocked_config = Config(
        station=config.station,
        printer=PreviewPrinter(path=str(blocked / "labels")),
        database=config.database,
    )
    second = record(engine, grams=4000)
    assert PrintService(blocked_config, engine, NL).drain() is False
    blocked.unlink()  # the technician mends the folder
    assert PrintService(blocked_config, engine, NL).drain() is True

    assert markers(config) == [(["MS01-000001"], None)]
    assert markers(blocked_config) == [(["MS01-000002"], None)]
    assert print_job(engine, first.print_job_id or "").copy_marker is None
    assert print_job(engine, second.print_job_id or "").copy_marker is None
    assert not attempt_interrupted(engine, first.print_job_id or "")


def test_a_certain_failure_the_database_would_not_record_prints_no_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused connection (nothing printed) while another program locks the database:
    when the printer is back, the one label that comes out carries no DUPLICAAT."""
    import sqlite3

    import db.engine
    from counter_app.config import Config, DatabaseConfig, StationConfig
    from db.printjobs import print_job
    from db.writes import NewDropOff, record_drop_off
    from drivers.printer.connection import PrinterUnavailable
    from drivers.printer.decode import decode_escpos
    from drivers.printer.preview import PreviewConnection
    from drivers.printer.settings import PreviewPrinter

    monkeypatch.setattr(db.engine, "BUSY_TIMEOUT_MS", 50)
    path, labels = tmp_path / "c.sqlite3", tmp_path / "labels"
    config = Config(
        station=StationConfig(id="MS01", name="T", operator="balie"),
        printer=PreviewPrinter(path=str(labels)),
        database=DatabaseConfig(path=str(path)),
    )
    engine = open_database(path)
    recorded = record_drop_off(
        engine,
        NewDropOff(
            station_id="MS01",
            classification="reuse",
            category_code="meubels",
            category_name="Meubels",
            eural_code=None,
            weight_grams=1000,
            weight_source="manual",
            operator="balie",
            reading=None,
            reason="test",
        ),
    )
    lockers: list[sqlite3.Connection] = []
    printer_back = False

    class Printer(PreviewConnection):
        def send(self, data: bytes) -> None:
            if printer_back:
                super().send(data)
                return
            locker = sqlite3.connect(path, isolation_level=None)
            locker.execute("BEGIN IMMEDIATE")  # a backup program holds the lock
            lockers.append(locker)
            raise PrinterUnavailable("connection refused")  # certain: nothing went out

    service = PrintService(
        config,
        engine,
        NL,
        connection_factory=lambda: Printer(labels),
        mark_sent_retry_delays=(0.01,),
        sleep=lambda _: None,
    )
    assert service.drain() is False
    lockers[0].execute("ROLLBACK")
    lockers[0].close()
    printer_back = True
    assert service.drain() is True
    (label,) = labels.iterdir()
    assert "DUPLICAAT" not in decode_escpos(label.read_bytes()).text
    assert print_job(engine, recorded.print_job_id).copy_marker is None
