"""Exports for the municipality: one row per drop-off (DESIGN.md section 4).

Columns, in this order: ``id, label_code, recorded_at, station_id, visit_id,
classification, category, eural_code, weight_kg, weight_source, operator, voided``.

- ``recorded_at``: ISO 8601 in local time with its offset, to the second
  (``2024-03-31T03:15:00+02:00``).
- ``category``: the category or fraction *code* from the catalogue (``metaal``,
  ``furniture``), because names change with the language and the catalogue's wording
  while codes stay; the name is on the label and in ``counter totals``.
- ``weight_kg``: the integer grams as a decimal string with three decimals
  (``"12.340"``); in XLSX a number cell written from a ``Decimal`` with format
  ``0.000``. No float is involved anywhere.
- ``voided``: a voided drop-off is listed with ``true`` (so its label number is not
  a gap); the void rows themselves are not listed.
- Empty values are JSON ``null`` and empty CSV/XLSX cells.

CSV is RFC 4180: comma separated, ``\\r\\n`` line ends, UTF-8, booleans ``true`` /
``false``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from db.engine import read_session
from db.models import DropOff
from db.records import LOCAL_TZ, day_bounds, voided_condition

EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "label_code",
    "recorded_at",
    "station_id",
    "visit_id",
    "classification",
    "category",
    "eural_code",
    "weight_kg",
    "weight_source",
    "operator",
    "voided",
)

_KG = Decimal("0.001")

# openpyxl writes a number cell with "%.16g"; 15 significant digits (below a billion
# tonnes, to the gram) always come back as the exact decimal written. It is also all
# the precision Excel keeps.
XLSX_MAX_DIGITS = 15


def grams_to_kg_text(grams: int) -> str:
    """``12340`` -> ``"12.340"``: exact, three decimals."""
    if not isinstance(grams, int) or isinstance(grams, bool):
        raise TypeError(f"grams must be an integer, not {grams!r}")
    return str((Decimal(grams) * _KG).quantize(_KG))


def export_rows(
    engine: Engine, start_day: date, end_day: date, tz: ZoneInfo = LOCAL_TZ
) -> list[dict[str, Any]]:
    """Drop-offs of the local days ``start_day`` to ``end_day`` inclusive, oldest first."""
    if end_day < start_day:
        raise ValueError(f"the period ends ({end_day}) before it starts ({start_day})")
    start, _ = day_bounds(start_day, tz)
    _, end = day_bounds(end_day, tz)
    statement = (
        select(DropOff, voided_condition().label("voided"))
        .where(
            col(DropOff.voids_id).is_(None),
            col(DropOff.recorded_at) >= start,
            col(DropOff.recorded_at) < end,
        )
        .order_by(col(DropOff.recorded_at), col(DropOff.station_id), col(DropOff.label_no))
    )
    with read_session(engine) as session:
        return [
            {
                "id": row.id,
                "label_code": row.label_code,
                "recorded_at": row.recorded_at.astimezone(tz).isoformat(timespec="seconds"),
                "station_id": row.station_id,
                "visit_id": row.visit_id,
                "classification": row.classification,
                "category": row.category_code,
                "eural_code": row.eural_code,
                "weight_kg": grams_to_kg_text(row.weight_grams),
                "weight_source": row.weight_source,
                "operator": row.operator,
                "voided": bool(voided),
            }
            for row, voided in session.execute(statement)
        ]


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_csv(rows: Sequence[dict[str, Any]], stream: TextIO) -> None:
    """Header and rows as RFC 4180 CSV. Open files with ``newline=""``."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([_csv_value(row[column]) for column in EXPORT_COLUMNS])


def write_json(rows: Sequence[dict[str, Any]], stream: TextIO) -> None:
    """A JSON array of objects with the export columns as keys, in column order."""
    ordered = [{column: row[column] for column in EXPORT_COLUMNS} for row in rows]
    json.dump(ordered, stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def write_xlsx(rows: Sequence[dict[str, Any]], path: Path | str) -> None:
    """An Excel workbook with one sheet ``drop-offs``: a bold header, then the rows.

    ``weight_kg`` is a number cell written from a ``Decimal`` formatted ``0.000``; a
    weight with more than ``XLSX_MAX_DIGITS`` significant digits, which the cell could
    not hold exactly, raises ``ValueError``. ``voided`` is a boolean cell; the rest text.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "drop-offs"
    sheet.append(list(EXPORT_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    weight_column = EXPORT_COLUMNS.index("weight_kg") + 1
    for row in rows:
        values: list[Any] = []
        for column in EXPORT_COLUMNS:
            value = row[column]
            if column == "weight_kg":
                value = Decimal(value)
                if len(value.normalize().as_tuple().digits) > XLSX_MAX_DIGITS:
                    raise ValueError(f"weight {value} kg has too many digits for a spreadsheet")
            values.append(value)
        sheet.append(values)
        sheet.cell(row=sheet.max_row, column=weight_column).number_format = "0.000"
    sheet.freeze_panes = "A2"
    workbook.save(str(path))
