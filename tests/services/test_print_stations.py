"""Two counters on one database: each prints its own station's labels, each label once.

Real parts: one SQLite file, print services in their own threads or processes, and a
real TCP printer (``FakeEscposPrinter``) per station on 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from printer.escpos_fake_printer import FakeEscposPrinter
from sqlalchemy.engine import Engine
from together import CHILD_PATH

from counter_app.config import Config, DatabaseConfig, StationConfig
from counter_app.i18n import Messages
from counter_app.services.printing import PrintService
from db.engine import open_database
from db.printjobs import pending_print_jobs
from db.writes import NewDropOff, record_drop_off
from drivers.printer.decode import decode_escpos
from drivers.printer.settings import NetworkPrinter

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "counter.sqlite3"


@pytest.fixture
def engine(database: Path) -> Iterator[Engine]:
    engine = open_database(database)
    yield engine
    engine.dispose()


def station_config(database: Path, station: str, port: int) -> Config:
    return Config(
        station=StationConfig(id=station, name=f"Milieustraat {station}", operator="balie"),
        printer=NetworkPrinter(host="127.0.0.1", port=port),
        database=DatabaseConfig(path=str(database)),
    )


def record(engine: Engine, station: str, grams: int) -> None:
    record_drop_off(
        engine,
        NewDropOff(
            station_id=station,
            classification="reuse",
            category_code="meubels",
            category_name="Meubels",
            eural_code=None,
            weight_grams=grams,
            weight_source="manual",
            operator="balie",
            reading=None,
            reason="weegschaal in onderhoud",
        ),
    )


def labels(printer: FakeEscposPrinter) -> list[tuple[str, str | None]]:
    """(label code, copy marker) of every job the printer received."""
    found = []
    for job in printer.jobs:
        doc = decode_escpos(job, columns=48, profile="TM-T20II")
        marker = doc.lines[0].text.strip() if doc.lines and doc.lines[0].inverted else None
        found.append((doc.qr_codes[0] if doc.qr_codes else "?", marker))
    return found


def wait_until_printed(engine: Engine, printers: list[FakeEscposPrinter], count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not pending_print_jobs(engine) and sum(len(p.jobs) for p in printers) >= count:
            return
        time.sleep(0.05)


def test_two_stations_on_one_database_each_print_their_own_labels_once(
    database: Path, engine: Engine
) -> None:
    per_station = 15
    with FakeEscposPrinter(lifetime=60) as ms01, FakeEscposPrinter(lifetime=60) as ms02:
        services = [
            PrintService(station_config(database, "MS01", ms01.port), engine, Messages("nl")),
            PrintService(station_config(database, "MS02", ms02.port), engine, Messages("nl")),
        ]
        for service in services:
            service.start()
        try:
            for n in range(per_station):
                record(engine, "MS01", 1000 + n)
                services[0].wake()
                record(engine, "MS02", 2000 + n)
                services[1].wake()
            wait_until_printed(engine, [ms01, ms02], 2 * per_station)
        finally:
            for service in services:
                service.stop()

        expected = [f"{{}}-{n:06d}" for n in range(1, per_station + 1)]
        assert labels(ms01) == [(code.format("MS01"), None) for code in expected]
        assert labels(ms02) == [(code.format("MS02"), None) for code in expected]
    assert pending_print_jobs(engine) == []


_DRAINERS = """
import sys
from counter_app.config import Config, DatabaseConfig, StationConfig
from drivers.printer.settings import NetworkPrinter
from counter_app.i18n import Messages
from counter_app.services.printing import PrintService
from db.engine import open_database
from together import fork_together
# What sending a label loads on first use: loaded once, before the fork.
import counter_app.services.labels, db.printjobs, db.verify
import drivers.printer.factory, drivers.printer.layout, drivers.printer.network
import drivers.printer.documents, drivers.printer.status

database, port = sys.argv[1], int(sys.argv[2])
config = Config(
    station=StationConfig(id="MS01", name="Milieustraat MS01", operator="balie"),
    printer=NetworkPrinter(host="127.0.0.1", port=port),
    database=DatabaseConfig(path=database),
)


def prepare(_index):
    return PrintService(config, open_database(database), Messages("nl"))


def work(service):
    for _ in range(200):
        if service.drain():
            break


sys.exit(fork_together(2, prepare, work))
"""


def test_two_processes_of_one_station_never_send_the_same_label(
    database: Path, engine: Engine
) -> None:
    """Without the station lock (taken by the command line, not here), the claim in the
    database alone keeps two senders of one station from printing a label twice."""
    jobs = 30
    for n in range(jobs):
        record(engine, "MS01", 1000 + n)
    with FakeEscposPrinter(lifetime=60) as printer:
        # Two sending processes, forked from one interpreter after its imports; they
        # start draining together.
        drainers = subprocess.run(
            [sys.executable, "-c", _DRAINERS, str(database), str(printer.port)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "PYTHONPATH": CHILD_PATH,
                # The printer database from a pickle, as the counter loads it.
                "ESCPOS_CAPABILITIES_PICKLE_DIR": str(database.parent / "escpos"),
            },
            timeout=120,
        )
        assert drainers.returncode == 0, drainers.stderr
        printed = labels(printer)

    counts = Counter(code for code, _ in printed)
    assert {code for code, count in counts.items() if count > 1} == set()
    assert sorted(counts) == [f"MS01-{n:06d}" for n in range(1, jobs + 1)]
    assert [marker for _, marker in printed if marker] == []
    assert pending_print_jobs(engine) == []
