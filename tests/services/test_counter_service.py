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
from waiting import wait_for

from counter_app.catalogue import load_default_catalogue
from counter_app.config import Config, DatabaseConfig, ScaleConfig, StationConfig
from counter_app.services.counter import (
    CounterRefusal,
    CounterService,
    Dropped,
    ManualRefused,
    ManualWeightProblem,
    NeedsConfirmation,
    Recorded,
    Refused,
    Waiting,
    read_manual_weight,
)
from counter_app.services.scale import CaptureRefusal, ScaleService, ScaleState
from db.writes import void_drop_off
from drivers.printer.settings import PreviewPrinter
from drivers.scale.reading import Reading
from drivers.scale.simulator import ScaleSimulator
from tests.conftest import NewDatabase

needs_pty = pytest.mark.skipif(os.name != "posix", reason="the simulator runs on a pty")

ENTRY = load_default_catalogue().entries_for("reuse")[0]


@pytest.fixture
def config(tmp_path: Path, new_database: NewDatabase) -> Config:
    return Config(
        station=StationConfig(id="MS01", name="Milieustraat Test", operator="balie"),
        scale=ScaleConfig(port="sim"),
        printer=PreviewPrinter(path=str(tmp_path / "labels")),
        database=DatabaseConfig(path=str(new_database(tmp_path / "counter.sqlite3"))),
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

    def __init__(self, config: Config, clock: Callable[[], int] | None = None) -> None:
        self.config = config
        if clock is None:
            self.scale = ScaleService(config.scale, demo_scenario=False)
        else:
            self.scale = ScaleService(config.scale, demo_scenario=False, clock=clock)
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


def record_before_the_restart(config: Config, kg: str) -> None:
    """A counter session that weighs ``kg`` on the scale, records it and ends."""
    first = Counter(config)
    try:
        first.service.open()
        first.put(kg)
        assert isinstance(first.service.capture(ENTRY), Recorded)
    finally:
        first.stop()


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
    # In motion the capture is not refused but armed (see the settle tests below).
    assert refused(service.check(ENTRY), CaptureRefusal.MOTION)
    assert isinstance(service.capture(ENTRY), Waiting)
    assert service.cancel_armed()
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
    record_before_the_restart(config, "12.34")

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


# -- capture on settle: Enter while the load moves --------------------------------------


class SteppedClock:
    """The scale service's clock: real monotonic time (the stability window needs it
    to run) plus what the test steps it on by, to end a wait without waiting."""

    def __init__(self) -> None:
        self.stepped_ms = 0

    def __call__(self) -> int:
        return int(time.monotonic() * 1000) + self.stepped_ms

    def step_seconds(self, seconds: int) -> None:
        self.stepped_ms += seconds * 1000


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
def settling(config: Config, clock: SteppedClock) -> Iterator[Counter]:
    started = Counter(config, clock)
    started.service.open()
    try:
        yield started
    finally:
        started.stop()


def recorded_weights(config: Config) -> list[tuple[int, str]]:
    with sqlite3.connect(config.database_path()) as conn:
        rows = conn.execute("select weight_grams, weight_source from drop_off order by label_no")
        return [(int(grams), str(source)) for grams, source in rows]


@needs_pty
def test_enter_in_motion_arms_and_records_the_settled_weight(settling: Counter) -> None:
    service = settling.service
    settling.put("8.40", ScaleState.MOTION, motion=True)
    waiting = service.capture(ENTRY)
    assert isinstance(waiting, Waiting)
    assert waiting.entry == ENTRY and waiting.seconds == 15
    assert service.armed == ENTRY
    assert not service.settle_due()
    assert isinstance(service.settle(), Waiting)  # still moving: still waiting
    assert count(settling.config) == 0
    settling.put("8.60")  # settled
    assert service.settle_due()
    outcome = service.settle()
    assert isinstance(outcome, Recorded)
    assert outcome.drop_off.weight_grams == 8600
    assert service.armed is None
    # One load, one record: nothing more is armed, and Enter again is the same load.
    assert service.settle() is None
    assert refused(service.capture(ENTRY), CaptureRefusal.SAME_LOAD)
    assert recorded_weights(settling.config) == [(8600, "scale")]


@needs_pty
def test_an_armed_capture_is_dropped_when_its_time_is_up(
    settling: Counter, clock: SteppedClock
) -> None:
    service = settling.service
    settling.put("3.10", ScaleState.MOTION, motion=True)
    assert isinstance(service.capture(ENTRY), Waiting)
    clock.step_seconds(14)
    assert not service.settle_due()
    clock.step_seconds(2)  # past the 15 s
    assert service.settle_due()
    # (Why the scale refused it last is in the outcome; the stepped clock also ages
    # the last frame, so that may be "offline" here rather than "motion".)
    assert isinstance(service.settle(), Dropped)
    assert service.armed is None
    settling.put("3.10")  # settles after the time: nothing is recorded by itself
    assert not service.settle_due()
    assert service.settle() is None
    assert count(settling.config) == 0


@needs_pty
def test_the_wait_is_configurable(config: Config, clock: SteppedClock) -> None:
    from counter_app.config import CounterConfig

    short = config.model_copy(update={"counter": CounterConfig(settle_seconds=2)})
    counter = Counter(short, clock)
    try:
        counter.service.open()
        counter.put("2.00", ScaleState.MOTION, motion=True)
        waiting = counter.service.capture(ENTRY)
        assert isinstance(waiting, Waiting) and waiting.seconds == 2
        clock.step_seconds(3)
        assert isinstance(counter.service.settle(), Dropped)
    finally:
        counter.stop()


@needs_pty
def test_cancelling_the_armed_capture_records_nothing(settling: Counter) -> None:
    service = settling.service
    settling.put("4.00", ScaleState.MOTION, motion=True)
    assert isinstance(service.capture(ENTRY), Waiting)
    assert service.cancel_armed()
    assert not service.cancel_armed()  # nothing armed any more
    settling.put("4.00")
    assert not service.settle_due()
    assert service.settle() is None
    assert count(settling.config) == 0


@needs_pty
def test_arming_never_records(settling: Counter) -> None:
    """The screen arms on its own thread: arming waits for a moving load and, once the
    load is still, leaves the record to the caller's worker instead of writing."""
    service = settling.service
    settling.put("5.00", ScaleState.MOTION, motion=True)
    assert isinstance(service.arm(ENTRY), Waiting)
    assert service.armed == ENTRY
    settling.put("5.20")  # settled before the screen asked
    assert service.arm(ENTRY) is None
    assert count(settling.config) == 0


@needs_pty
def test_without_a_motion_flag_the_counters_own_stability_decides(
    config: Config, clock: SteppedClock
) -> None:
    """XK3190 frames cannot say 'in motion': the software stability rule arms and
    releases the capture."""
    scale = config.scale.model_copy(update={"protocol": "xk3190"})
    counter = Counter(config.model_copy(update={"scale": scale}), clock)
    try:
        counter.service.open()
        counter.simulator.set_weight(Decimal("17.50"))
        counter.simulator.set_motion(True)  # the simulator wobbles the weight
        counter.wait_state(ScaleState.MOTION)
        assert counter.scale.snapshot().reading is not None
        assert counter.scale.snapshot().reading.stable is False  # decided by the counter
        assert isinstance(counter.service.capture(ENTRY), Waiting)
        counter.simulator.set_motion(False)
        wait_for(counter.service.settle_due, "the load to settle")
        outcome = counter.service.settle()
        assert isinstance(outcome, Recorded)
        assert outcome.drop_off.weight_grams == 17500
    finally:
        counter.stop()


@needs_pty
def test_after_a_restart_the_settled_weight_still_asks_first(
    config: Config, clock: SteppedClock
) -> None:
    record_before_the_restart(config, "12.34")
    counter = Counter(config, clock)
    try:
        counter.service.open()
        counter.put("12.34", ScaleState.MOTION, motion=True)
        assert isinstance(counter.service.capture(ENTRY), Waiting)
        counter.put("12.34")
        assert counter.service.settle_due()
        question = counter.service.settle()
        assert isinstance(question, NeedsConfirmation)
        assert question.previous.label_code == "MS01-000001"
        assert count(config) == 1  # asking records nothing, and is no longer armed
        assert counter.service.armed is None
    finally:
        counter.stop()


# -- a weight typed in by hand -----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "grams"),
    [("12,5", 12500), ("12.5", 12500), (" 0,125 ", 125), ("7", 7000), (",5", 500)],
)
def test_a_typed_weight_is_read_as_decimal_grams(typed: str, grams: int) -> None:
    assert read_manual_weight(typed, Decimal(60000)) == grams


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("", ManualWeightProblem.NOT_A_NUMBER),
        ("twaalf", ManualWeightProblem.NOT_A_NUMBER),
        ("12kg", ManualWeightProblem.NOT_A_NUMBER),
        ("1.234,5", ManualWeightProblem.NOT_A_NUMBER),
        ("1e3", ManualWeightProblem.NOT_A_NUMBER),
        ("NaN", ManualWeightProblem.NOT_A_NUMBER),
        ("0", ManualWeightProblem.ZERO),
        ("0,000", ManualWeightProblem.ZERO),
        ("-3", ManualWeightProblem.NEGATIVE),
        ("60000,001", ManualWeightProblem.OVER_CAPACITY),
        ("1,2345", ManualWeightProblem.TOO_FINE),
    ],
)
def test_a_typed_weight_that_cannot_be_recorded_says_why(
    typed: str, problem: ManualWeightProblem
) -> None:
    assert read_manual_weight(typed, Decimal(60000)) is problem


def test_a_manual_weight_is_recorded_as_manual_with_its_reason(config: Config) -> None:
    from counter_app.config import CounterConfig

    allowed = config.model_copy(update={"counter": CounterConfig(manual_weight=True)})
    service = opened(allowed)
    assert service.record_manual(ENTRY, "12,5", "  ") == ManualRefused(
        ManualWeightProblem.NO_REASON
    )
    assert service.record_manual(ENTRY, "0", "weegschaal defect") == ManualRefused(
        ManualWeightProblem.ZERO
    )
    assert count(allowed) == 0
    outcome = service.record_manual(ENTRY, "12,5", "weegschaal defect")
    assert isinstance(outcome, Recorded)
    assert outcome.drop_off.weight_source == "manual"
    assert outcome.drop_off.reason == "weegschaal defect"
    with sqlite3.connect(allowed.database_path()) as conn:
        assert conn.execute(
            "select weight_grams, weight_source, reason from drop_off"
        ).fetchall() == [(12500, "manual", "weegschaal defect")]
        # A typed weight has no reading behind it.
        assert conn.execute("select count(*) from captured_reading").fetchone() == (0,)

    # Exported as manual, with the weight as typed, never as a scale weight.
    import io

    from db.domain import STATION_TZ
    from db.export import export_rows, write_csv

    today = outcome.drop_off.recorded_at.astimezone(STATION_TZ).date()
    (row,) = export_rows(service.engine, today, today)
    assert (row["weight_source"], row["weight_kg"]) == ("manual", "12.500")
    stream = io.StringIO()
    write_csv([row], stream)
    assert ",12.500,manual," in stream.getvalue()


def test_a_manual_weight_is_refused_where_the_site_does_not_allow_it(config: Config) -> None:
    assert config.source is not None or config.counter.manual_weight is False
    service = opened(config.model_copy(update={"source": Path("site.toml")}))
    assert service.record_manual(ENTRY, "12,5", "weegschaal defect") == ManualRefused(
        ManualWeightProblem.NOT_ALLOWED
    )
    assert count(config) == 0
