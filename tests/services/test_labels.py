"""The screen, the label and the slip write a weight the same way, character for character."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from counter_app.config import Config, StationConfig
from counter_app.i18n import STATION_TZ, Messages, format_kg
from counter_app.services.labels import item_label_for, totals_slip_for
from counter_app.ui.widgets import drop_off_cells, plan_columns
from db.domain import Classification, WeightSource
from db.engine import open_database
from db.queries import totals_for_day
from db.writes import NewDropOff, record_drop_off
from drivers.printer.decode import decode_escpos
from drivers.printer.documents import render_item_label, render_totals_slip

RECORDED_AT = datetime(2024, 5, 3, 12, 5, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(tmp_path / "counter.sqlite3")
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("language", "grams", "expected"),
    [
        ("nl", 12_340, "12,34 kg"),
        ("en", 12_340, "12.34 kg"),
        ("nl", 5, "0,005 kg"),
        ("nl", 1_234_500, "1.234,50 kg"),
        ("en", 1_234_500, "1,234.50 kg"),
        ("nl", 1_234_567, "1.234,567 kg"),
        ("en", 98_765_430, "98,765.43 kg"),
    ],
)
def test_screen_label_and_slip_show_the_same_weight(
    engine: Engine, language: str, grams: int, expected: str
) -> None:
    config = Config(language=language, station=StationConfig(id="MS01", name="Noord"))
    messages = Messages(language)
    drop_off = record_drop_off(
        engine,
        NewDropOff(
            station_id="MS01",
            classification=Classification.RECYCLING,
            category_code="puin",
            category_name="Puin",
            eural_code="17 01 07",
            weight_grams=grams,
            weight_source=WeightSource.MANUAL,
            operator="balie",
            reading=None,
            reason="brugweegschaal",
        ),
        now=RECORDED_AT,
    )

    # The screen: the weight cell of today's list.
    columns = plan_columns(80, kind=10, weight=13)
    screen = drop_off_cells(drop_off, messages, language, columns)[-1].plain

    # The label: its bytes decoded as the printer reads them.
    label_bytes = render_item_label(item_label_for(drop_off, config, messages, None))
    label_lines = [line.text for line in decode_escpos(label_bytes).lines]
    caption = messages.t("label.weight")
    label = next(line for line in label_lines if line.startswith(f"{caption}: "))
    label = label.removeprefix(f"{caption}: ")

    # The slip: one classification, one category and the total, all the same weight.
    totals = totals_for_day(engine, RECORDED_AT.astimezone(STATION_TZ).date())
    slip_bytes = render_totals_slip(
        totals_slip_for(totals, config, messages, printed_at=RECORDED_AT)
    )
    slip_lines = [line.text for line in decode_escpos(slip_bytes).lines]
    captions = (
        messages.t("classification.recycling").upper(),
        "· Puin",
        messages.t("slip.total"),
    )
    weighed = [line for line in slip_lines if line.startswith(captions)]

    assert screen == label == format_kg(grams, language) == expected
    assert len(weighed) == 3, slip_lines
    assert all(line.endswith(f" {expected}") for line in weighed), weighed
