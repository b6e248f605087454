"""The counter's workflow without a screen: a real SQLite file, the real simulator.

Capture refuses what it must (and records nothing then), records one load once, asks
before recording the last record's weight again after a restart, and a write the
database refuses acknowledges nothing.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from counter_app.catalogue import load_default_catalogue
from counter_app.config import Config, DatabaseConfig, ScaleConfig, StationConfig
from counter_app.services.counter import (
    CounterRefusal,
    CounterService,
    NeedsConfirmation,
    Recorded,
    Refused,
)
from counter_app.services.scale import CaptureRefusal, ScaleService, ScaleState
from db.writes import void_drop_off
from drivers.printer.settings import PreviewPrinter
from drivers.scale.reading import Reading
from drivers.scale.simulator import ScaleSimulator

needs_pty = pytest.mark.skipif(os.name != "posix", reason="the simulator runs on a pty")

ENTRY = load_default_catalogue().entries_for("reuse")[0]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(
        station=StationConfig(id="MS01", name="Milieustraat Test", operator="balie"),
        scale=ScaleConfig(port="sim"),
        printer=PreviewPrinter(path=str(tmp_path / "labels")),
        database=DatabaseConfig(path=str(tmp_path / "counter.sqlite3")),
    )


def opened(config: Config, scale: ScaleService | None = None) -> CounterService:
    """A counter service on the configured database (the scale not started)."""
    service = CounterService(config, scale or ScaleService(config.scale))
    service.open()
    return service


def count(config: Config) -> int:
    with sqlite3.connect(config.database_path()) as conn:
        (n,) = conn.execute("select count(*) from drop_off").fetchone()
    return int(n)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# -- one load, one record across a restart: the rule behind the question -----------------


def weighed(kg: str) -> Reading:
    return Reading(weight=Decimal(kg), unit="kg", stable=True, raw=f"ST,GS,+{kg}kg".encode())


def record_then_restart(config: Config, kg: str = "12.34") -> tuple[CounterService, datetime]:
    """Record one drop-off, then 'crash': a new service on the same file."""
    before = opened(config)
    recorded = before.record(ENTRY, weighed(kg))
    before.engine.dispose()
    return opened(config), recorded.recorded_at


DIVISION = 10  # grams


def test_the_same_weight_soon_after_a_restart_asks_first(config: Config) -> None:
    service, at = record_then_restart(config)
    earlier = service.recorded_before(weighed("12.34"), DIVISION, now=at + timedelta(minutes=2))
    assert earlier is not None
    assert earlier.label_code == "MS01-000001"
    assert earlier.weight_grams == 12340
    assert earlier.recorded_at == at
    # Within one division is the same weight; two divisions away is another load.
    assert service.recorded_before(weighed("12.35"), DIVISION, now=at) is not None
    assert service.recorded_before(weighed("12.36"), DIVISION, now=at) is None


def test_after_the_window_or_on_another_station_nothing_is_asked(config: Config) -> None:
    service, at = record_then_restart(config)
    later = at + timedelta(minutes=6)
    assert service.recorded_before(weighed("12.34"), DIVISION, now=later) is None
    other = opened(
        config.model_copy(update={"station": config.station.model_copy(update={"id": "MS02"})})
    )
    assert other.recorded_before(weighed("12.34"), DIVISION, now=at) is None


def test_the_window_is_configurable_and_zero_turns_it_off(config: Config) -> None:
    _, at = record_then_restart(config)
    ten = config.model_copy(
        update={"scale": config.scale.model_copy(update={"same_load_minutes": 10})}
    )
    later = at + timedelta(minutes=8)
    assert opened(ten).recorded_before(weighed("12.34"), DIVISION, now=later)
    off = config.model_copy(
        update={"scale": config.scale.model_copy(update={"same_load_minutes": 0})}
    )
    assert opened(off).recorded_before(weighed("12.34"), DIVISION, now=at) is None


def test_a_new_record_in_this_session_ends_the_question(config: Config) -> None:
    service, at = record_then_restart(config)
    service.record(ENTRY, weighed("12.34"))  # confirmed: recorded again
    # From here on the scale's own one-load lock holds, as in any session.
    assert service.recorded_before(weighed("12.34"), DIVISION, now=at) is None


def test_a_voided_last_record_is_not_asked_about(config: Config) -> None:
    service, at = record_then_restart(config)
    first = service.today().drop_offs
    void_drop_off(service.engine, first[0].id, operator="balie", reason="verkeerd")
    restarted = opened(config)
    assert restarted.recorded_before(weighed("12.34"), DIVISION, now=at) is None


def test_no_record_yet_asks_nothing(config: Config) -> None:
    service = opened(config)
    assert service.recorded_before(weighed("12.34"), DIVISION, now=datetime.now(UTC)) is None


def test_the_default_window_is_five_minutes() -> None:
    assert ScaleConfig().same_load_minutes == 5


# -- capture: the whole workflow on the simulator ------------------------------------------


class Counter:
    """A counter service on a started, simulator-backed scale service."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.scale = ScaleService(config.scale, demo_scenario=False)
        self.scale.start()
        assert self.scale.simulator is not None
        self.simulator: ScaleSimulator = self.scale.simulator
        self.service = CounterService(config, self.scale)

    def put(self, kg: str, state: ScaleState = ScaleState.STABLE, *, motion: bool = False) -> None:
        self.simulator.set_motion(motion)
        self.simulator.set_weight(Decimal(kg))

        def shows() -> bool:
            snap = self.scale.snapshot()
            if snap.state is not state:
                return False
            if state in (ScaleState.STABLE, ScaleState.MOTION):
                return snap.reading is not None and snap.reading.weight == Decimal(kg)
            return True

        wait_for(shows, f"{kg} kg {state.value}")

    def wait_state(self, state: ScaleState) -> None:
        wait_for(lambda: self.scale.snapshot().state is state, state.value)

    def stop(self) -> None:
        self.scale.stop()


@pytest.fixture
def counter(config: Config) -> Iterator[Counter]:
    started = Counter(config)
    try:
        yield started
    finally:
        started.stop()


def refused(outcome: object, reason: object) -> bool:
    return isinstance(outcome, Refused) and outcome.reason is reason


@needs_pty
def test_a_stable_positive_weight_is_recorded_in_one_call(counter: Counter) -> None:
    from counter_app.i18n import Messages
    from counter_app.services.printing import PrintService

    counter.service.open()
    events: list[object] = []
    printer = PrintService(
        counter.config, counter.service.engine, Messages("nl"), on_event=events.append
    )
    counter.service.attach_printer(printer)
    printer.start()
    # Nothing waits: once it reported the printer, the worker sleeps until woken.
    wait_for(lambda: bool(events), "the print worker's first report")
    labels = counter.config.preview_dir()
    counter.put("12.34")
    assert counter.service.check(ENTRY) is None
    outcome = counter.service.capture(ENTRY)
    assert isinstance(outcome, Recorded)
    drop_off = outcome.drop_off
    assert (drop_off.label_code, drop_off.weight_grams) == ("MS01-000001", 12340)
    assert (drop_off.classification, drop_off.category_code) == ("reuse", ENTRY.code)
    assert drop_off.weight_source == "scale"
    assert count(counter.config) == 1
    try:
        # Woken by the record: the label is sent now, not at some later retry.
        wait_for(lambda: any(labels.glob("*.escpos")), "the label printed")
    finally:
        printer.stop()
    assert [d.label_code for d in counter.service.today().drop_offs] == ["MS01-000001"]


@needs_pty
def test_nothing_chosen_or_no_database_refuses_before_the_scale(counter: Counter) -> None:
    counter.put("5.00")
    # The database is not open yet.
    assert refused(counter.service.capture(ENTRY), CounterRefusal.NOT_OPEN)
    counter.service.open()
    assert refused(counter.service.capture(None), CounterRefusal.NOTHING_CHOSEN)
    assert refused(counter.service.check(None), CounterRefusal.NOTHING_CHOSEN)
    assert count(counter.config) == 0


@needs_pty
def test_every_scale_refusal_records_nothing(counter: Counter) -> None:
    service = counter.service
    service.open()
    sim = counter.simulator

    def expect(reason: CaptureRefusal) -> None:
        outcome = service.capture(ENTRY)
        assert refused(outcome, reason), outcome
        assert refused(service.check(ENTRY), reason)
        assert isinstance(outcome, Refused) and outcome.snapshot is not None

    counter.put("5.00", ScaleState.MOTION, motion=True)
    expect(CaptureRefusal.MOTION)
    sim.set_overload(True)
    counter.wait_state(ScaleState.OVERLOAD)
    expect(CaptureRefusal.OVERLOAD)
    sim.set_overload(False)
    sim.set_underload(True)
    counter.wait_state(ScaleState.UNDERLOAD)
    expect(CaptureRefusal.UNDERLOAD)
    sim.set_underload(False)
    counter.put("-1.20")
    expect(CaptureRefusal.NEGATIVE)
    counter.put("0.00")
    expect(CaptureRefusal.ZERO)
    sim.set_unit("pcs")  # counting mode: the indicator answers without a weight
    counter.wait_state(ScaleState.NO_WEIGHT)
    expect(CaptureRefusal.NO_WEIGHT)
    sim.set_unit("kg")
    sim.unplug()
    counter.wait_state(ScaleState.OFFLINE)
    expect(CaptureRefusal.OFFLINE)
    assert count(counter.config) == 0


@needs_pty
def test_one_load_one_record(counter: Counter) -> None:
    service = counter.service
    service.open()
    counter.put("13.30")
    assert isinstance(service.capture(ENTRY), Recorded)
    # Still on the scale: another category, the same load.
    other = load_default_catalogue().entries_for("recycling")[0]
    assert refused(service.capture(other), CaptureRefusal.SAME_LOAD)
    assert count(counter.config) == 1
    # Taken off and put back: a new weighing.
    counter.put("0.00")
    counter.put("13.30")
    assert isinstance(service.capture(other), Recorded)
    assert count(counter.config) == 2


@needs_pty
def test_after_a_restart_the_same_weight_asks_and_a_yes_records(config: Config) -> None:
    first = Counter(config)
    try:
        first.service.open()
        first.put("12.34")
        assert isinstance(first.service.capture(ENTRY), Recorded)
    finally:
        first.stop()

    counter = Counter(config)  # the restart: the load still on the scale
    try:
        counter.service.open()
        counter.put("12.34")
        question = counter.service.capture(ENTRY)
        assert isinstance(question, NeedsConfirmation)
        assert question.previous.label_code == "MS01-000001"
        assert question.reading.weight == Decimal("12.34")
        assert isinstance(counter.service.check(ENTRY), NeedsConfirmation)
        assert count(config) == 1  # asking records nothing
        outcome = counter.service.confirm_repeat(ENTRY)
        assert isinstance(outcome, Recorded)
        assert outcome.drop_off.label_code == "MS01-000002"
        # Recorded in this session: the scale's own lock holds the load now.
        assert refused(counter.service.capture(ENTRY), CaptureRefusal.SAME_LOAD)
        assert count(config) == 2
    finally:
        counter.stop()


@needs_pty
def test_a_refused_write_acknowledges_nothing_and_the_retry_records(counter: Counter) -> None:
    from sqlalchemy import event

    service = counter.service
    service.open()
    engine = service.engine

    def refuse_writes(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.execute("PRAGMA query_only = ON")

    event.listen(engine, "connect", refuse_writes)
    engine.dispose()  # new connections, each refusing writes
    counter.put("31.00")
    with pytest.raises(Exception, match=r"readonly|read-only|query_only"):
        service.capture(ENTRY)
    assert count(counter.config) == 0
    # The load was not marked recorded: the same weight is still capturable.
    assert service.check(ENTRY) is None

    event.remove(engine, "connect", refuse_writes)
    engine.dispose()
    outcome = service.capture(ENTRY)
    assert isinstance(outcome, Recorded)
    assert outcome.drop_off.label_code == "MS01-000001"
    assert count(counter.config) == 1
