"""Exports: exact columns, local times with offset, exact kilograms, CSV / JSON / XLSX."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from db.engine import open_database
from db.export import (
    EXPORT_COLUMNS,
    ExportIncomplete,
    export_rows,
    grams_to_kg_text,
    json_text,
    spreadsheet_text,
    write_csv,
    write_json,
    write_xlsx,
)
from db.writes import NewDropOff, NewReading, record_drop_off, void_drop_off

HEADER = (
    "id,label_code,recorded_at,station_id,visit_id,classification,category,"
    "eural_code,weight_kg,weight_source,operator,voided,corrects,corrected_by,void_reason"
)


def drop_off(
    grams: int, classification: str = "recycling", code: str = "metaal", **extra: str
) -> NewDropOff:
    reading = NewReading(
        weight=Decimal(grams).scaleb(-3),
        unit="kg",
        grams=grams,
        stable=True,
        net=None,
        tare=None,
        raw_frame=b"frame",
        received_at=datetime(2024, 3, 30, 12, 0, tzinfo=UTC),
        protocol="comma",
        port="sim",
    )
    return NewDropOff(
        station_id=extra.get("station_id", "MS01"),
        classification=classification,
        category_code=code,
        category_name=code.title(),
        eural_code="20 01 40" if classification == "recycling" else None,
        weight_grams=grams,
        weight_source="scale",
        operator="anna",
        reading=reading,
        visit_id=extra.get("visit_id"),
    )


@pytest.fixture
def recorded(engine: Engine) -> list[str]:
    """Drop-offs around the start of summer time (31 March 2024, 02:00 -> 03:00)."""
    at = [
        datetime(2024, 3, 29, 22, 59, 59, tzinfo=UTC),  # 29 March 23:59:59 +01:00
        datetime(2024, 3, 30, 9, 15, 0, 250000, tzinfo=UTC),  # 30 March 10:15:00 +01:00
        datetime(2024, 3, 31, 0, 30, 0, tzinfo=UTC),  # 31 March 01:30 +01:00
        datetime(2024, 3, 31, 1, 30, 0, tzinfo=UTC),  # 31 March 03:30 +02:00
        datetime(2024, 3, 31, 22, 0, 0, tzinfo=UTC),  # 1 April 00:00 +02:00
    ]
    new = [
        drop_off(12340, "reuse", "furniture", visit_id="visit-7"),
        drop_off(5),
        drop_off(1_234_567, station_id="MS02"),
        drop_off(20000, "repair", "bicycles"),
        drop_off(800),
    ]
    ids = [record_drop_off(engine, n, now=t).id for n, t in zip(new, at, strict=True)]
    void_drop_off(
        engine, ids[2], "teamleider", "wrong fraction", now=datetime(2024, 3, 31, 2, tzinfo=UTC)
    )
    return ids


def test_rows_have_exactly_the_contract_columns(engine: Engine, recorded: list[str]) -> None:
    rows = export_rows(engine, date(2024, 3, 30), date(2024, 3, 31))
    assert tuple(HEADER.split(",")) == EXPORT_COLUMNS
    assert all(tuple(row) == EXPORT_COLUMNS for row in rows)
    assert rows == [
        {
            "id": recorded[1],
            "label_code": "MS01-000002",
            "recorded_at": "2024-03-30T10:15:00+01:00",
            "station_id": "MS01",
            "visit_id": None,
            "classification": "recycling",
            "category": "metaal",
            "eural_code": "20 01 40",
            "weight_kg": "0.005",
            "weight_source": "scale",
            "operator": "anna",
            "voided": False,
            "corrects": None,
            "corrected_by": None,
            "void_reason": None,
        },
        {
            "id": recorded[2],
            "label_code": "MS02-000001",
            "recorded_at": "2024-03-31T01:30:00+01:00",
            "station_id": "MS02",
            "visit_id": None,
            "classification": "recycling",
            "category": "metaal",
            "eural_code": "20 01 40",
            "weight_kg": "1234.567",
            "weight_source": "scale",
            "operator": "anna",
            "voided": True,
            "corrects": None,
            "corrected_by": None,
            "void_reason": "wrong fraction",
        },
        {
            "id": recorded[3],
            "label_code": "MS01-000003",
            "recorded_at": "2024-03-31T03:30:00+02:00",
            "station_id": "MS01",
            "visit_id": None,
            "classification": "repair",
            "category": "bicycles",
            "eural_code": None,
            "weight_kg": "20.000",
            "weight_source": "scale",
            "operator": "anna",
            "voided": False,
            "corrects": None,
            "corrected_by": None,
            "void_reason": None,
        },
    ]


def test_period_is_local_days_inclusive(engine: Engine, recorded: list[str]) -> None:
    one_day = export_rows(engine, date(2024, 3, 29), date(2024, 3, 29))
    assert [r["recorded_at"] for r in one_day] == ["2024-03-29T23:59:59+01:00"]
    assert export_rows(engine, date(2024, 4, 1), date(2024, 4, 1))[0]["recorded_at"] == (
        "2024-04-01T00:00:00+02:00"
    )
    assert len(export_rows(engine, date(2024, 3, 1), date(2024, 4, 30))) == 5
    assert export_rows(engine, date(2024, 5, 1), date(2024, 5, 31)) == []
    with pytest.raises(ValueError, match="before it starts"):
        export_rows(engine, date(2024, 3, 31), date(2024, 3, 30))


def lose_void_index_entry(db_path: Path, voided_id: str) -> None:
    """Damage the unique index on ``drop_off.voids_id`` the way a failing disk does: the
    key of the void row that names ``voided_id`` gets other bytes, so a look-up by that
    id finds no void while the table still holds it (``PRAGMA integrity_check`` says so)."""
    with sqlite3.connect(db_path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        (root,) = [
            connection.execute(
                "SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)
            ).fetchone()[0]
            for (_, name, *_) in connection.execute("PRAGMA index_list(drop_off)")
            if [c for (_, _, c) in connection.execute(f"PRAGMA index_info({name})")] == ["voids_id"]
        ]
    connection.close()
    data = bytearray(db_path.read_bytes())
    page = slice((root - 1) * page_size, root * page_size)  # a few rows: one leaf page
    key = voided_id.encode()
    assert data[page].count(key) == 1
    data[page] = bytes(data[page]).replace(key, key[::-1])
    db_path.write_bytes(bytes(data))
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() != [("ok",)]
    connection.close()


def test_a_voided_drop_off_its_void_index_entry_lost_stops_the_export(
    engine: Engine, db_path: Path, recorded: list[str]
) -> None:
    """Read through a damaged voids_id index a voided drop-off looks valid; the export
    must not say so."""
    engine.dispose()
    lose_void_index_entry(db_path, recorded[2])
    reader = open_database(db_path, create=False, read_only=True)
    try:
        with pytest.raises(ExportIncomplete) as raised:
            export_rows(reader, date(2024, 3, 29), date(2024, 3, 31))
    finally:
        reader.dispose()
    failure = raised.value
    assert (failure.expected, failure.found) == (4, 4)
    assert (failure.expected_voided, failure.found_voided) == (1, 0)


def test_csv(engine: Engine, recorded: list[str]) -> None:
    stream = io.StringIO(newline="")
    write_csv(export_rows(engine, date(2024, 3, 29), date(2024, 3, 31)), stream)
    text = stream.getvalue()
    lines = text.split("\r\n")
    assert lines[0] == HEADER
    assert lines[1] == (
        f"{recorded[0]},MS01-000001,2024-03-29T23:59:59+01:00,MS01,visit-7,reuse,"
        "furniture,,12.340,scale,anna,false,,,"
    )
    assert lines[3].endswith(",recycling,metaal,20 01 40,1234.567,scale,anna,true,,,wrong fraction")
    assert lines[-1] == ""
    assert len(lines) == 6
    parsed = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["weight_kg"] for r in parsed] == ["12.340", "0.005", "1234.567", "20.000"]


def test_csv_of_nothing_is_just_the_header() -> None:
    stream = io.StringIO(newline="")
    write_csv([], stream)
    assert stream.getvalue() == HEADER + "\r\n"


def test_json(engine: Engine, recorded: list[str]) -> None:
    stream = io.StringIO()
    rows = export_rows(engine, date(2024, 3, 29), date(2024, 3, 31))
    write_json(
        rows, stream, start_day=date(2024, 3, 29), end_day=date(2024, 3, 31), anchors=["MS01:9:ab"]
    )
    text = stream.getvalue()
    data = json.loads(text, parse_float=Decimal)
    assert list(data) == ["period", "chain_anchors", "columns", "drop_offs"]
    assert data["chain_anchors"] == ["MS01:9:ab"]
    assert data["period"] == {"from": "2024-03-29", "to": "2024-03-31"}
    assert data["columns"] == list(EXPORT_COLUMNS)
    items = data["drop_offs"]
    assert [list(item) for item in items] == [list(EXPORT_COLUMNS)] * 4
    # A JSON number with exactly three decimals: never a string, never a binary float.
    assert [item["weight_kg"] for item in items] == [
        Decimal("12.340"),
        Decimal("0.005"),
        Decimal("1234.567"),
        Decimal("20.000"),
    ]
    assert '"weight_kg": 12.340,' in text
    assert '"weight_kg": 0.005,' in text
    assert items[0]["visit_id"] == "visit-7"
    assert items[0]["eural_code"] is None
    assert items[2]["voided"] is True
    assert text.endswith("}\n")


def test_json_of_nothing() -> None:
    stream = io.StringIO()
    write_json([], stream, start_day=date(2024, 5, 1), end_day=date(2024, 5, 31))
    assert json.loads(stream.getvalue()) == {
        "period": {"from": "2024-05-01", "to": "2024-05-31"},
        "chain_anchors": [],
        "columns": list(EXPORT_COLUMNS),
        "drop_offs": [],
    }


def test_json_text_is_laid_out_like_json_dumps_and_keeps_decimals() -> None:
    value = {"a": [1, True, None, 'é"x'], "b": {}, "c": [], "d": {"e": "f"}}
    assert json_text(value) == json.dumps(value, ensure_ascii=False, indent=2)
    assert json_text({"kg": Decimal("12.340"), "share": Decimal("0.3000")}) == (
        '{\n  "kg": 12.340,\n  "share": 0.3000\n}'
    )
    with pytest.raises(TypeError):
        json_text({"kg": 12.34})
    with pytest.raises(ValueError):
        json_text(Decimal("NaN"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+31 6", "'+31 6"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("balie", "balie"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_spreadsheet_text(text: str, expected: str) -> None:
    assert spreadsheet_text(text) == expected


def formula_rows() -> list[dict[str, object]]:
    base = {
        **dict.fromkeys(EXPORT_COLUMNS, "x"),
        "weight_kg": "1.000",
        "voided": False,
        "eural_code": None,
        "classification": "recycling",
    }
    return [
        {**base, "operator": "=1+1", "visit_id": "-5", "category": "@x"},
        {**base, "operator": "+1", "visit_id": "\tx", "category": "metaal"},
    ]


def test_csv_text_cells_never_start_a_formula() -> None:
    stream = io.StringIO(newline="")
    write_csv(formula_rows(), stream)
    parsed = list(csv.DictReader(io.StringIO(stream.getvalue(), newline="")))
    assert [(r["operator"], r["visit_id"], r["category"]) for r in parsed] == [
        ("'=1+1", "'-5", "'@x"),
        ("'+1", "'\tx", "metaal"),
    ]
    assert [r["weight_kg"] for r in parsed] == ["1.000", "1.000"]
    assert [r["eural_code"] for r in parsed] == ["", ""]


def test_xlsx_text_cells_are_text_and_never_formulas(tmp_path: Path) -> None:
    path = tmp_path / "formula.xlsx"
    write_xlsx(formula_rows(), path, start_day=date(2024, 5, 1), end_day=date(2024, 5, 31))
    sheet = load_workbook(path)["drop-offs"]
    operator = EXPORT_COLUMNS.index("operator") + 1
    assert [sheet.cell(row=r, column=operator).value for r in (2, 3)] == ["'=1+1", "'+1"]
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"
    assert sheet.cell(row=2, column=EXPORT_COLUMNS.index("weight_kg") + 1).data_type == "n"
    with zipfile.ZipFile(path) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode("utf-8")


def test_xlsx_totals_sheet(tmp_path: Path, engine: Engine, recorded: list[str]) -> None:
    path = tmp_path / "export.xlsx"
    rows = export_rows(engine, date(2024, 3, 29), date(2024, 3, 31))
    write_xlsx(rows, path, start_day=date(2024, 3, 29), end_day=date(2024, 3, 31))
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["drop-offs", "totals"]
    sheet = workbook["totals"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:2] == ("from", datetime(2024, 3, 29))
    assert values[1][:2] == ("to", datetime(2024, 3, 31))
    assert sheet["B1"].is_date and sheet["B1"].number_format == "yyyy-mm-dd"
    assert values[2][:2] == ("time_zone", "Europe/Amsterdam")
    assert values[4] == ("classification", "category", "eural_code", "kg", "count")
    # The voided 1234.567 kg is not counted; it has a row of its own.
    as_decimal = [
        tuple(Decimal(str(v)) if isinstance(v, float) else v for v in row) for row in values[5:]
    ]
    assert as_decimal == [
        ("reuse", None, None, Decimal("12.34"), 1),
        ("repair", None, None, Decimal("20"), 1),
        ("recycling", None, None, Decimal("0.005"), 1),
        ("reuse", "furniture", None, Decimal("12.34"), 1),
        ("repair", "bicycles", None, Decimal("20"), 1),
        ("recycling", "metaal", "20 01 40", Decimal("0.005"), 1),
        ("total", None, None, Decimal("32.345"), 3),
        ("voided", None, None, Decimal("1234.567"), 1),
    ]
    kg_cells = [row[3] for row in sheet.iter_rows(min_row=6)]
    assert {cell.data_type for cell in kg_cells} == {"n"}
    assert {cell.number_format for cell in kg_cells} == {"0.000"}


def test_xlsx(tmp_path: Path, engine: Engine, recorded: list[str]) -> None:
    path = tmp_path / "export.xlsx"
    write_xlsx(
        export_rows(engine, date(2024, 3, 29), date(2024, 3, 31)),
        path,
        start_day=date(2024, 3, 29),
        end_day=date(2024, 3, 31),
    )
    workbook = load_workbook(path)
    sheet = workbook["drop-offs"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == EXPORT_COLUMNS
    assert len(rows) == 5
    assert rows[1][:3] == (recorded[0], "MS01-000001", "2024-03-29T23:59:59+01:00")
    assert rows[1][4] == "visit-7"
    assert rows[1][7] is None
    assert rows[3][11] is True
    assert rows[2][11] is False
    assert sheet.cell(row=2, column=9).number_format == "0.000"
    assert sheet.cell(row=1, column=1).font.bold

    # The number as written in the file is the exact decimal, not a binary neighbour.
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
    written = re.findall(r'<c r="I\d+"[^>]*t="n"[^>]*><v>([^<]+)</v>', xml)
    assert [Decimal(v) for v in written] == [
        Decimal("12.340"),
        Decimal("0.005"),
        Decimal("1234.567"),
        Decimal("20.000"),
    ]


@given(st.integers(min_value=0, max_value=10**15))
def test_kilograms_from_grams_are_exact(grams: int) -> None:
    text = grams_to_kg_text(grams)
    assert re.fullmatch(r"\d+\.\d{3}", text)
    assert Decimal(text) * 1000 == grams


def test_kilograms_need_integer_grams() -> None:
    with pytest.raises(TypeError):
        grams_to_kg_text(12.34)  # type: ignore[arg-type]


def test_xlsx_numbers_are_exact_up_to_a_billion_tonnes(tmp_path: Path) -> None:
    weights = [1, 5, 10, 999, 12340, 123_456_789, 999_999_999_999_999, 100_000_000_000_001]
    rows = [
        {**dict.fromkeys(EXPORT_COLUMNS, "x"), "weight_kg": grams_to_kg_text(g), "voided": False}
        for g in weights
    ]
    written = []
    for number, row in enumerate(rows):
        # One workbook each: their sum would not fit a cell exactly (below).
        path = tmp_path / f"big{number}.xlsx"
        write_xlsx([row], path, start_day=date(2024, 5, 1), end_day=date(2024, 5, 31))
        with zipfile.ZipFile(path) as archive:
            xml = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
        written += re.findall(r'<c r="I\d+"[^>]*t="n"[^>]*><v>([^<]+)</v>', xml)
    assert [Decimal(v) * 1000 for v in written] == weights
    with pytest.raises(ValueError, match="too many digits"):  # a total too large
        write_xlsx(
            rows, tmp_path / "sum.xlsx", start_day=date(2024, 5, 1), end_day=date(2024, 5, 1)
        )
    too_big = [{**rows[0], "weight_kg": grams_to_kg_text(10**16 + 1)}]
    with pytest.raises(ValueError, match="too many digits"):
        write_xlsx(
            too_big, tmp_path / "too_big.xlsx", start_day=date(2024, 5, 1), end_day=date(2024, 5, 1)
        )


def test_xlsx_totals_sheet_carries_the_chain_anchors(
    tmp_path: Path, engine: Engine, recorded: list[str]
) -> None:
    from db.verify import chain_heads

    anchors = [anchor.text(64) for anchor in chain_heads(engine)]
    assert anchors
    path = tmp_path / "export.xlsx"
    rows = export_rows(engine, date(2024, 3, 29), date(2024, 3, 31))
    write_xlsx(rows, path, start_day=date(2024, 3, 29), end_day=date(2024, 3, 31), anchors=anchors)
    sheet = load_workbook(path)["totals"]
    chain_rows = [row for row in sheet.iter_rows(values_only=True) if row[0] == "chain"]
    assert [row[1] for row in chain_rows] == anchors
    assert all(
        cell.data_type == "s"
        for row in sheet.iter_rows()
        if row[0].value == "chain"
        for cell in row[:2]
    )
