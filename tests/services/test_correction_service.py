"""Voids and corrections without a screen: a real SQLite file, the real simulator for
weighing again. Every refusal records nothing and says why in both languages."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from waiting import wait_for

from counter_app.catalogue import load_default_catalogue
from counter_app.config import Config, DatabaseConfig, ScaleConfig, StationConfig
from counter_app.i18n import Messages
from counter_app.services.corrections import (
    Corrected,
    CorrectionRefusal,
    CorrectionRefused,
    CorrectionService,
    Voided,
    refusal_words,
)
from counter_app.services.counter import CounterService, Recorded
from counter_app.services.scale import CaptureRefusal, ScaleService, ScaleState
from counter_app.services.typed_weight import ManualWeightProblem, read_manual_weight
from db.verify import verify_chain
from drivers.printer.settings import PreviewPrinter
from drivers.scale.reading import Reading
from tests.conftest import NewDatabase

needs_pty = pytest.mark.skipif(os.name != "posix", reason="the simulator runs on a pty")

CATALOGUE = load_default_catalogue()
FURNITURE = CATALOGUE.entries_for("reuse")[0]
METAL = CATALOGUE.find("recycling", "metaal")


@pytest.fixture
def config(tmp_path: Path, new_database: NewDatabase) -> Config:
    return Config(
        station=StationConfig(id="MS01", name="Milieustraat Test", operator="balie"),
        scale=ScaleConfig(port="sim", capacity_kg=Decimal("600")),
        printer=PreviewPrinter(path=str(tmp_path / "labels")),
        database=DatabaseConfig(path=str(new_database(tmp_path / "counter.sqlite3"))),
    )


@pytest.fixture
def counter(config: Config) -> CounterService:
    service = CounterService(config, ScaleService(config.scale))
    service.open()
    return service


def weighed(kg: str) -> Reading:
    return Reading(weight=Decimal(kg), unit="kg", stable=True, raw=f"ST,GS,+{kg}kg".encode())


def rows(config: Config) -> tuple[int, int, int]:
    with sqlite3.connect(config.database_path()) as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("drop_off", "audit_entry", "print_job")
        )


def test_void_by_label_code_leaves_the_totals(counter: CounterService) -> None:
    recorded = counter.record(FURNITURE, weighed("12.34"))

    outcome = counter.void("MS01-000001", "Dubbel gewogen")

    assert isinstance(outcome, Voided)
    assert outcome.drop_off.id == recorded.id
    assert outcome.void.reason == "Dubbel gewogen"
    day = counter.today(recorded.recorded_at.date())
    assert [d.voided for d in day.drop_offs] == [True]
    assert day.totals.total_grams == 0
    assert verify_chain(counter.engine).ok


def test_correct_the_category_by_id(counter: CounterService) -> None:
    assert METAL is not None
    recorded = counter.record(FURNITURE, weighed("12.34"))

    outcome = counter.correct(recorded.id, reason="Verkeerde classificatie", entry=METAL)

    assert isinstance(outcome, Corrected)
    assert outcome.original.label_code == "MS01-000001"
    correction = outcome.correction
    assert correction.label_code == "MS01-000002"
    assert correction.corrects_label_code == "MS01-000001"
    assert (correction.classification, correction.category_code) == ("recycling", "metaal")
    assert correction.category_name == METAL.name_nl
    assert correction.weight_grams == 12340
    totals = counter.today(recorded.recorded_at.date()).totals
    assert totals.grams_by_classification["recycling"] == 12340
    assert totals.grams_by_classification["reuse"] == 0
    assert verify_chain(counter.engine).ok


def test_a_typed_weight_is_parsed_as_a_person_types_it(config: Config) -> None:
    # One reader for every typed weight, the manual weight's: test_counter_service.py.
    capacity = config.scale.capacity_kg
    assert read_manual_weight(" 12.5 ", capacity) == 12500
    for text in ("", "12,5kg", "1.234,5", "1e3", "twaalf", "12..5", "NaN", "Infinity"):
        assert read_manual_weight(text, capacity) is ManualWeightProblem.NOT_A_NUMBER, text

    service = CorrectionService(config, lambda: None)
    assert service.manual_grams("12,5") == 12500
    assert service.manual_grams("0,001") == 1
    assert isinstance(service.manual_grams(Decimal("12.5")), int)
    for text, reason in (
        ("abc", CorrectionRefusal.WEIGHT_NOT_A_NUMBER),
        ("0", CorrectionRefusal.WEIGHT_NOT_POSITIVE),
        ("-2,5", CorrectionRefusal.WEIGHT_NOT_POSITIVE),
        ("600,001", CorrectionRefusal.WEIGHT_TOO_HIGH),
        ("1,0005", CorrectionRefusal.WEIGHT_TOO_FINE),
    ):
        refused = service.manual_grams(text)
        assert isinstance(refused, CorrectionRefused), text
        assert refused.reason is reason, text


def test_a_manual_weight_correction(config: Config, counter: CounterService) -> None:
    counter.record(FURNITURE, weighed("12.34"))
    supervisor = CorrectionService(config, lambda: counter.engine, operator="supervisor")

    outcome = supervisor.correct("MS01-000001", reason="weegschaal stond scheef", manual_kg="12,5")

    assert isinstance(outcome, Corrected)
    assert outcome.correction.weight_grams == 12500
    assert outcome.correction.weight_source == "manual"
    assert outcome.correction.operator == "supervisor"


def test_every_refusal_records_nothing_and_has_words(
    config: Config, counter: CounterService
) -> None:
    counter.record(FURNITURE, weighed("1.00"))  # MS01-000001, voided below
    counter.record(FURNITURE, weighed("2.00"))  # MS01-000002, corrected below
    counter.record(FURNITURE, weighed("3.00"))  # MS01-000003 stands
    assert isinstance(counter.void("MS01-000001", "Proefweging"), Voided)
    assert isinstance(counter.correct("MS01-000002", reason="Anders", entry=METAL), Corrected)
    before = rows(config)

    cases = [
        (counter.void("MS01-000001", "Anders"), CorrectionRefusal.ALREADY_VOIDED),
        (counter.correct("MS01-000001", reason="x", entry=METAL), CorrectionRefusal.ALREADY_VOIDED),
        (counter.void("MS01-000002", "Anders"), CorrectionRefusal.ALREADY_CORRECTED),
        (
            counter.correct("MS01-000002", reason="x", entry=METAL),
            CorrectionRefusal.ALREADY_CORRECTED,
        ),
        (counter.void("MS01-000003", "   "), CorrectionRefusal.EMPTY_REASON),
        (counter.correct("MS01-000003", reason="", entry=METAL), CorrectionRefusal.EMPTY_REASON),
        (counter.void("MS01-999999", "Anders"), CorrectionRefusal.UNKNOWN_LABEL),
        (counter.correct("", reason="Anders", entry=METAL), CorrectionRefusal.UNKNOWN_LABEL),
        (counter.correct("MS01-000003", reason="Anders"), CorrectionRefusal.NOTHING_CHANGED),
        (
            counter.correct("MS01-000003", reason="Anders", entry=FURNITURE),
            CorrectionRefusal.NOTHING_CHANGED,
        ),
        (
            counter.corrections.correct("MS01-000003", reason="Anders", manual_kg="0"),
            CorrectionRefusal.WEIGHT_NOT_POSITIVE,
        ),
        (
            counter.corrections.correct(
                "MS01-000003",
                reason="Anders",
                reading=Reading(
                    weight=Decimal("4.00"), unit="kg", stable=False, raw=b"US,GS,+4.00kg"
                ),
            ),
            CaptureRefusal.MOTION,
        ),
    ]

    for outcome, reason in cases:
        assert isinstance(outcome, CorrectionRefused), reason
        assert outcome.reason is reason
    assert rows(config) == before
    nl, en = Messages("nl"), Messages("en")
    corrected = cases[2][0]
    assert isinstance(corrected, CorrectionRefused)
    assert refusal_words(corrected, nl, "nl") == (
        "MS01-000002 is al gecorrigeerd door MS01-000004: laat MS01-000004 vervallen of "
        "corrigeer die; er is niets vastgelegd"
    )
    assert refusal_words(corrected, en, "en").startswith(
        "MS01-000002 was corrected already by MS01-000004"
    )
    for outcome, _ in cases:
        assert isinstance(outcome, CorrectionRefused)
        for messages, language in ((nl, "nl"), (en, "en")):
            words = refusal_words(outcome, messages, language)
            assert "{" not in words and "correction.refused" not in words


def test_nothing_is_recorded_before_the_database_is_open(config: Config) -> None:
    service = CounterService(config, ScaleService(config.scale))
    outcome = service.void("MS01-000001", "Anders")
    assert isinstance(outcome, CorrectionRefused)
    assert outcome.reason is CorrectionRefusal.NOT_OPEN


def test_too_heavy_a_typed_weight_names_the_capacity(config: Config) -> None:
    refused = CorrectionService(config, lambda: None).manual_grams("1000")
    assert isinstance(refused, CorrectionRefused)
    assert refusal_words(refused, Messages("nl"), "nl") == (
        "1000 kg is meer dan de weegschaal kan wegen (600,00 kg); er is niets vastgelegd"
    )


# -- weighing again, on the real simulator -------------------------------------------------


@pytest.fixture
def live(config: Config) -> Iterator[tuple[CounterService, ScaleService]]:
    scale = ScaleService(config.scale, demo_scenario=False)
    scale.start()
    service = CounterService(config, scale)
    service.open()
    try:
        yield service, scale
    finally:
        scale.stop()


def put(scale: ScaleService, kg: str, *, motion: bool = False) -> None:
    assert scale.simulator is not None
    scale.simulator.set_motion(motion)
    scale.simulator.set_weight(Decimal(kg))
    state = ScaleState.MOTION if motion else ScaleState.STABLE

    def shows() -> bool:
        snap = scale.snapshot()
        return (
            snap.state is state and snap.reading is not None and snap.reading.weight == Decimal(kg)
        )

    wait_for(shows, f"{kg} kg")


@needs_pty
def test_weighing_again_takes_the_stable_reading_even_of_the_recorded_load(
    config: Config, live: tuple[CounterService, ScaleService]
) -> None:
    service, scale = live
    put(scale, "20.00")
    recorded = service.capture(FURNITURE)
    assert isinstance(recorded, Recorded)

    # The load moves: refused, nothing recorded.
    put(scale, "18.50", motion=True)
    moving = service.correct("MS01-000001", reason="Dubbel gewogen", weigh_again=True)
    assert isinstance(moving, CorrectionRefused)
    assert moving.reason is CaptureRefusal.MOTION
    put(scale, "0.00")
    empty = service.correct("MS01-000001", reason="Dubbel gewogen", weigh_again=True)
    assert isinstance(empty, CorrectionRefused) and empty.reason is CaptureRefusal.ZERO
    assert rows(config)[0] == 1

    put(scale, "18.50")
    outcome = service.correct("MS01-000001", reason="Verkeerd gewogen", weigh_again=True)

    assert isinstance(outcome, Corrected)
    assert outcome.correction.weight_grams == 18500
    assert outcome.correction.weight_source == "scale"
    # The load on the scale is now recorded (as the correction): one load, one record.
    again = service.capture(FURNITURE)
    assert not isinstance(again, Recorded)
    assert verify_chain(service.engine).ok


@needs_pty
def test_weighing_again_never_takes_the_load_of_another_record(
    config: Config, live: tuple[CounterService, ScaleService]
) -> None:
    """A (10 kg) was recorded, then B (25 kg), which still lies on the scale: weighing
    A again must not record B's load a second time (50 kg for one 25 kg load)."""
    service, scale = live
    put(scale, "10.00")
    assert isinstance(service.capture(FURNITURE), Recorded)
    put(scale, "25.00")
    second = service.capture(FURNITURE)
    assert isinstance(second, Recorded)

    refused = service.correct("MS01-000001", reason="Verkeerd gewogen", weigh_again=True)
    assert isinstance(refused, CorrectionRefused)
    assert refused.reason is CaptureRefusal.SAME_LOAD
    assert isinstance(service.weight_to_correct_with(second.drop_off.id), Reading)
    assert service.weight_to_correct_with("some other id") is CaptureRefusal.SAME_LOAD
    assert service.today().totals.total_grams == 35000

    # The weight shown when g was pressed must still be on the scale when it is saved.
    changed = service.correct(
        "MS01-000002", reason="Verkeerd gewogen", weigh_again=True, weighed_grams=24000
    )
    assert isinstance(changed, CorrectionRefused)
    assert changed.reason is CorrectionRefusal.WEIGHT_CHANGED
    assert refusal_words(changed, Messages("nl"), "nl").startswith(
        "Het gewicht op de weegschaal is veranderd sinds g"
    )
    assert service.today().totals.total_grams == 35000

    # B's own load may be weighed again for B (here with another category).
    assert METAL is not None
    corrected = service.correct(
        "MS01-000002",
        reason="Verkeerde categorie",
        entry=METAL,
        weigh_again=True,
        weighed_grams=25000,
    )
    assert isinstance(corrected, Corrected)
    assert corrected.correction.weight_grams == 25000
    assert service.today().totals.total_grams == 35000
    # ... and is then held as the correction's: not recorded a third time.
    assert not isinstance(service.capture(FURNITURE), Recorded)


@pytest.mark.parametrize(
    ("language", "marker", "replaces"),
    [("nl", "GECORRIGEERD", "Vervangt MS01-000001"), ("en", "CORRECTED", "Replaces MS01-000001")],
)
def test_the_correction_label_is_marked_on_every_copy(
    config: Config, counter: CounterService, language: str, marker: str, replaces: str
) -> None:
    from counter_app.services.labels import item_label_for

    counter.record(FURNITURE, weighed("12.34"))
    outcome = counter.correct("MS01-000001", reason="Anders", entry=METAL)
    assert isinstance(outcome, Corrected)
    spoken = config.model_copy(update={"language": language})

    first = item_label_for(outcome.correction, spoken, Messages(language), None)
    reprint = item_label_for(outcome.correction, spoken, Messages(language), "reprint")
    original = item_label_for(outcome.original, spoken, Messages(language), None)

    assert (first.copy_marker, first.correction_marker, first.replaces) == (None, marker, replaces)
    assert reprint.correction_marker == marker and reprint.copy_marker is not None
    assert (original.correction_marker, original.replaces) == (None, None)


def test_the_slip_counts_the_correction_not_the_original(
    config: Config, counter: CounterService
) -> None:
    from counter_app.services.labels import totals_slip_for

    assert METAL is not None
    recorded = counter.record(FURNITURE, weighed("12.34"))
    counter.record(FURNITURE, weighed("1.00"))
    assert isinstance(counter.correct("MS01-000001", reason="Anders", entry=METAL), Corrected)

    totals = counter.today(recorded.recorded_at.date()).totals
    slip = totals_slip_for(totals, config, Messages("nl"))

    # (label, number of drop-offs, kilograms): the voided original counts nowhere.
    assert {label: (count, kg) for label, count, kg in slip.rows} == {
        "HERGEBRUIK": (1, "1,00 kg"),
        f"· {FURNITURE.name_nl}": (1, "1,00 kg"),
        "REPARATIE": (0, "0,00 kg"),
        "RECYCLING": (1, "12,34 kg"),
        f"· {METAL.name_nl}": (1, "12,34 kg"),
    }
    assert slip.grand_total == "13,34 kg"
    assert slip.grand_count == 2
