"""The screen, the label and the slip write a weight the same way, character for character."""

from __future__ import annotations

import re
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
from db.writes import NewDropOff, record_drop_off, void_drop_off
from drivers.printer.decode import decode_escpos
from drivers.printer.documents import render_item_label, render_totals_slip
from tests.conftest import NewDatabase

RECORDED_AT = datetime(2024, 5, 3, 12, 5, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path, new_database: NewDatabase) -> Iterator[Engine]:
    engine = open_database(new_database(tmp_path / "counter.sqlite3"))
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


def _manual(classification: Classification, code: str, name: str, grams: int) -> NewDropOff:
    return NewDropOff(
        station_id="MS01",
        classification=classification,
        category_code=code,
        category_name=name,
        eural_code="20 01 40" if classification == Classification.RECYCLING else None,
        weight_grams=grams,
        weight_source=WeightSource.MANUAL,
        operator="balie",
        reading=None,
        reason="brugweegschaal",
    )


@pytest.mark.parametrize(
    ("language", "profile", "columns"),
    [("nl", "TM-T20II", 48), ("en", "TM-T88V", 42), ("nl", "Sunmi-V2", 32)],
)
def test_the_slip_counts_the_drop_offs_of_every_line_and_of_the_day(
    engine: Engine, language: str, profile: str, columns: int
) -> None:
    config = Config(language=language, station=StationConfig(id="MS01", name="Noord"))
    messages = Messages(language)
    reuse, repair, recycling = Classification.REUSE, Classification.REPAIR, Classification.RECYCLING
    for new in [
        _manual(reuse, "meubels", "Meubels", 12_340),
        _manual(reuse, "meubels", "Meubels", 5_000),
        _manual(reuse, "klein-elektrisch", "Klein elektrisch", 1_250),
        _manual(recycling, "metaal", "Metalen", 100_000),
        _manual(recycling, "metaal", "Metalen", 2_500),
        _manual(recycling, "metaal", "Metalen", 1_234_560),
    ]:
        record_drop_off(engine, new, now=RECORDED_AT)
    voided = record_drop_off(engine, _manual(reuse, "meubels", "Meubels", 9_000), now=RECORDED_AT)
    void_drop_off(engine, voided.id, "balie", "dubbel gewogen", now=RECORDED_AT)

    totals = totals_for_day(engine, RECORDED_AT.astimezone(STATION_TZ).date())
    slip_bytes = render_totals_slip(
        totals_slip_for(totals, config, messages, printed_at=RECORDED_AT), profile=profile
    )
    doc = decode_escpos(slip_bytes, columns=columns, profile=profile)
    assert doc.problems == []
    assert all(line.columns <= columns and not line.wrapped for line in doc.lines)
    texts = [line.text for line in doc.lines]

    def row(caption: str) -> tuple[str, str]:
        """The count and the weight printed on the line of ``caption`` (its label cut
        short with "..." on narrow paper)."""
        lines = [re.fullmatch(r"(.*\S) +(\d+) +(\S+ kg)", text) for text in texts]
        (match,) = [
            m
            for m in lines
            if m is not None
            and (m[1] == caption or (m[1].endswith("...") and caption.startswith(m[1][:-3])))
        ]
        return match[2], match[3]

    kg = [format_kg(grams, language) for grams in (18_590, 0, 1_337_060, 1_355_650)]
    title = {c: messages.t(f"classification.{c}").upper() for c in Classification}
    assert row(title[reuse]) == ("3", kg[0])
    assert row("· Meubels") == ("2", format_kg(17_340, language))
    assert row("· Klein elektrisch") == ("1", format_kg(1_250, language))
    assert row(title[repair]) == ("0", kg[1])
    assert row(title[recycling]) == ("3", kg[2])
    assert row("· Metalen") == ("3", kg[2])
    total = next(line for line in doc.lines if line.text.startswith(messages.t("slip.total")))
    assert total.bold
    assert row(messages.t("slip.total")) == ("6", kg[3])

    # A heading names the two columns; every count ends in one column, every weight
    # at the right edge.
    caption_count, caption_weight = messages.t("slip.count"), messages.t("slip.weight")
    (heading,) = [text for text in texts if text.split() == [caption_count, caption_weight]]
    counted = [re.fullmatch(r"(.*\S) +(\d+) +(\S+ kg)", text) for text in texts]
    counted_rows = [match for match in counted if match is not None]
    assert len(counted_rows) == 7
    assert {match.end(2) for match in counted_rows} == {
        heading.index(caption_count) + len(caption_count)
    }
    assert {len(match.string) for match in counted_rows} == {len(heading)} == {columns}
