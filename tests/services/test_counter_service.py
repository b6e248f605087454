"""One load, one record across a restart: the rule, on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from counter_app.catalogue import load_default_catalogue
from counter_app.config import Config, DatabaseConfig, ScaleConfig, StationConfig
from counter_app.services.counter import CounterService
from db.records import void_drop_off
from drivers.printer.settings import PreviewPrinter
from drivers.scale.reading import Reading


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(
        station=StationConfig(id="MS01", name="Milieustraat Test", operator="balie"),
        printer=PreviewPrinter(path=str(tmp_path / "labels")),
        database=DatabaseConfig(path=str(tmp_path / "counter.sqlite3")),
    )


def weighed(kg: str) -> Reading:
    return Reading(weight=Decimal(kg), unit="kg", stable=True, raw=f"ST,GS,+{kg}kg".encode())


def record_then_restart(config: Config, kg: str = "12.34") -> tuple[CounterService, datetime]:
    """Record one drop-off, then 'crash': a new service on the same file."""
    before = CounterService.open(config)
    entry = load_default_catalogue().entries_for("reuse")[0]
    recorded = before.record(entry, weighed(kg))
    before.engine.dispose()
    return CounterService.open(config), recorded.recorded_at


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
    other = CounterService.open(
        config.model_copy(update={"station": config.station.model_copy(update={"id": "MS02"})})
    )
    assert other.recorded_before(weighed("12.34"), DIVISION, now=at) is None


def test_the_window_is_configurable_and_zero_turns_it_off(config: Config) -> None:
    _, at = record_then_restart(config)
    ten = config.model_copy(
        update={"scale": config.scale.model_copy(update={"same_load_minutes": 10})}
    )
    later = at + timedelta(minutes=8)
    assert CounterService.open(ten).recorded_before(weighed("12.34"), DIVISION, now=later)
    off = config.model_copy(
        update={"scale": config.scale.model_copy(update={"same_load_minutes": 0})}
    )
    assert CounterService.open(off).recorded_before(weighed("12.34"), DIVISION, now=at) is None


def test_a_new_record_in_this_session_ends_the_question(config: Config) -> None:
    service, at = record_then_restart(config)
    entry = load_default_catalogue().entries_for("reuse")[0]
    service.record(entry, weighed("12.34"))  # confirmed: recorded again
    # From here on the scale's own one-load lock holds, as in any session.
    assert service.recorded_before(weighed("12.34"), DIVISION, now=at) is None


def test_a_voided_last_record_is_not_asked_about(config: Config) -> None:
    service, at = record_then_restart(config)
    first = service.today().drop_offs
    void_drop_off(service.engine, first[0].id, operator="balie", reason="verkeerd")
    restarted = CounterService.open(config)
    assert restarted.recorded_before(weighed("12.34"), DIVISION, now=at) is None


def test_no_record_yet_asks_nothing(config: Config) -> None:
    service = CounterService.open(config)
    assert service.recorded_before(weighed("12.34"), DIVISION, now=datetime.now(UTC)) is None


def test_the_default_window_is_five_minutes() -> None:
    assert ScaleConfig().same_load_minutes == 5
