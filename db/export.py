"""Exports for the municipality: one row per drop-off (DESIGN.md section 4).

Columns, in this order: ``id, label_code, recorded_at, station_id, visit_id,
classification, category, eural_code, weight_kg, weight_source, operator, voided,
corrects, corrected_by, void_reason``.

- ``recorded_at``: ISO 8601 in local time with its offset, to the second
  (``2024-03-31T03:15:00+02:00``).
- ``category``: the category or fraction *code* from the catalogue (``metaal``,
  ``furniture``), because names change with the language and the catalogue's wording
  while codes stay; the name is on the label and in ``counter totals``.
- ``weight_kg``: the integer grams as a decimal with three decimals: ``12.340`` as
  CSV text, as a JSON number written from the ``Decimal`` (:func:`json_text`), and in
  XLSX as a number cell written from a ``Decimal`` with format ``0.000``. No float is
  involved anywhere.
- ``voided``: a voided drop-off is listed with ``true`` (so its label number is not
  a gap); the void rows themselves are not listed.
- ``corrects``: a correction's row names the label code of the drop-off it replaces;
  ``corrected_by``: the replaced (voided) drop-off names its correction's label code;
  ``void_reason``: why a voided drop-off was voided or corrected. A reader follows a
  correction from either row; the totals count the correction, not the original.
- Empty values are JSON ``null`` and empty CSV/XLSX cells.

CSV is RFC 4180: comma separated, ``\\r\\n`` line ends, UTF-8, booleans ``true`` /
``false``. A text cell of CSV or XLSX that starts with ``= + - @``, a tab or a carriage
return gets a leading ``'`` (:func:`spreadsheet_text`), so a spreadsheet shows it as
text and never runs it as a formula (OWASP, "CSV Injection"); XLSX text cells are
always written as text. JSON is data, not a spreadsheet: its values are unaltered.

JSON is one object: ``{"period": {"from", "to"}, "columns": [...], "drop_offs":
[{...}, ...]}``. XLSX has the sheet ``drop-offs`` and a sheet ``totals`` (kilograms
and counts per classification and per category or fraction for the period).

:func:`export_rows` counts the period's drop-offs a second time, reading the table
itself instead of an index, in the same read transaction; when the two disagree an
index is damaged and :class:`ExportIncomplete` is raised instead of returning rows
with some silently missing.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import col

from db.domain import STATION_TZ, Classification
from db.engine import DatabaseError, DatabaseProblem, read_session
from db.export_values import grams_to_kg as grams_to_kg
from db.export_values import json_text as json_text
from db.models import DropOff, UtcDateTime
from db.queries import corrected_by_label, corrects_label, day_bounds, not_a_void, voided_condition

# The sheet's order of classifications, as the plain text the export writes.
_CLASSIFICATIONS: tuple[str, ...] = tuple(c.value for c in Classification)

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
    # Added with corrections (after the original columns, which keep their order).
    "corrects",
    "corrected_by",
    "void_reason",
)

# openpyxl writes a number cell with "%.16g"; 15 significant digits (below a billion
# tonnes, to the gram) always come back as the exact decimal written. It is also all
# the precision Excel keeps.
XLSX_MAX_DIGITS = 15


# The first characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


class ExportIncomplete(DatabaseError):
    """The rows read for a period are fewer or other than the table holds: a damaged
    index. ``expected`` and ``found`` are the two counts of drop-offs, ``expected_voided``
    and ``found_voided`` those of the voided ones among them."""

    problem = DatabaseProblem.INCOMPLETE

    def __init__(self, expected: int, found: int, expected_voided: int, found_voided: int) -> None:
        super().__init__(
            f"The database returned {found} of the {expected} drop-offs of the period "
            f"({found_voided} of {expected_voided} voided): an index is damaged."
        )
        self.expected = expected
        self.found = found
        self.expected_voided = expected_voided
        self.found_voided = found_voided


def grams_to_kg_text(grams: int) -> str:
    """``12340`` -> ``"12.340"``: exact, three decimals."""
    return str(grams_to_kg(grams))


def spreadsheet_text(value: str) -> str:
    """``"=1+1"`` -> ``"'=1+1"``: text a spreadsheet shows and never evaluates."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


# Counted by reading the table itself (``NOT INDEXED``), not through the index the
# rows came through: a damaged index makes the two counts differ.
_COUNT_FROM_TABLE = text(
    "SELECT count(*), coalesce(sum(voided), 0) FROM ("
    "SELECT d.id IN (SELECT v.voids_id FROM drop_off AS v NOT INDEXED"
    " WHERE v.voids_id IS NOT NULL) AS voided"
    " FROM drop_off AS d NOT INDEXED"
    " WHERE d.voids_id IS NULL AND d.recorded_at >= :start AND d.recorded_at < :end)"
).bindparams(bindparam("start", type_=UtcDateTime()), bindparam("end", type_=UtcDateTime()))


def export_rows(
    engine: Engine, start_day: date, end_day: date, tz: ZoneInfo = STATION_TZ
) -> list[dict[str, Any]]:
    """Drop-offs of the local days ``start_day`` to ``end_day`` inclusive, oldest first.

    Raises :class:`ExportIncomplete` when the rows found disagree with a count of the
    table itself (a damaged index), and :class:`~db.engine.DatabaseError` when the
    database cannot be read.
    """
    if end_day < start_day:
        raise ValueError(f"the period ends ({end_day}) before it starts ({start_day})")
    start, _ = day_bounds(start_day, tz)
    _, end = day_bounds(end_day, tz)
    void = aliased(DropOff)
    void_reason = (
        select(col(void.reason)).where(col(void.voids_id) == col(DropOff.id)).scalar_subquery()
    )
    statement = (
        select(
            DropOff,
            voided_condition().label("voided"),
            corrects_label(),
            corrected_by_label(),
            void_reason,
        )
        .where(
            not_a_void(),
            col(DropOff.recorded_at) >= start,
            col(DropOff.recorded_at) < end,
        )
        .order_by(col(DropOff.recorded_at), col(DropOff.station_id), col(DropOff.label_no))
    )
    with read_session(engine) as session:
        rows = [
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
                "corrects": corrects,
                "corrected_by": corrected_by,
                "void_reason": reason,
            }
            for row, voided, corrects, corrected_by, reason in session.execute(statement)
        ]
        expected, expected_voided = session.execute(
            _COUNT_FROM_TABLE, {"start": start, "end": end}
        ).one()
    found_voided = sum(1 for row in rows if row["voided"])
    if (len(rows), found_voided) != (expected, expected_voided):
        raise ExportIncomplete(int(expected), len(rows), int(expected_voided), found_voided)
    return rows


def _csv_value(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if column == "weight_kg":  # a number, never a formula
        return str(value)
    return spreadsheet_text(str(value))


def write_csv(rows: Sequence[dict[str, Any]], stream: TextIO) -> None:
    """Header and rows as RFC 4180 CSV. Open files with ``newline=""``."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([_csv_value(column, row[column]) for column in EXPORT_COLUMNS])


def write_json(
    rows: Sequence[dict[str, Any]],
    stream: TextIO,
    *,
    start_day: date,
    end_day: date,
    anchors: Sequence[str] = (),
) -> None:
    """One JSON object: the period, the chain's anchors when the export was made (one
    per station, ``STATION:NUMBER:HASH``, for ``counter verify --anchor``), the columns
    and the drop-offs (objects with the columns as keys, in column order);
    ``weight_kg`` is a JSON number (``12.340``)."""
    document = {
        "period": {"from": start_day.isoformat(), "to": end_day.isoformat()},
        "chain_anchors": list(anchors),
        "columns": list(EXPORT_COLUMNS),
        "drop_offs": [
            {
                column: Decimal(row[column]) if column == "weight_kg" else row[column]
                for column in EXPORT_COLUMNS
            }
            for row in rows
        ],
    }
    stream.write(json_text(document))
    stream.write("\n")


def _kg_cell(value: Decimal | str) -> Decimal:
    """A weight for a number cell; one the cell could not hold exactly raises."""
    kg = Decimal(value)
    if len(kg.normalize().as_tuple().digits) > XLSX_MAX_DIGITS:
        raise ValueError(f"weight {kg} kg has too many digits for a spreadsheet")
    return kg


def period_totals(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Kilograms and counts of the export rows that were not voided.

    ``classifications``: ``(classification, kg, count)`` for each classification in
    order, 0 where none; ``categories``: ``(classification, category, eural_code, kg,
    count)``, per classification heaviest first; ``total`` and ``voided``: ``(kg,
    count)``, the voided ones not counted in the others.
    """
    kg: dict[tuple[str, str, str | None], Decimal] = {}
    count: dict[tuple[str, str, str | None], int] = {}
    voided_kg, voided_count = Decimal("0.000"), 0
    for row in rows:
        weight = Decimal(row["weight_kg"])
        if row["voided"]:
            voided_kg += weight
            voided_count += 1
            continue
        key = (row["classification"], row["category"], row["eural_code"])
        kg[key] = kg.get(key, Decimal("0.000")) + weight
        count[key] = count.get(key, 0) + 1
    order = {name: index for index, name in enumerate(_CLASSIFICATIONS)}
    keys = sorted(kg, key=lambda k: (order.get(k[0], len(order)), -kg[k], k[1], k[2] or ""))
    classifications = [
        (
            name,
            sum((kg[k] for k in keys if k[0] == name), Decimal("0.000")),
            sum(count[k] for k in keys if k[0] == name),
        )
        for name in (*_CLASSIFICATIONS, *sorted({k[0] for k in keys} - set(_CLASSIFICATIONS)))
    ]
    return {
        "classifications": classifications,
        "categories": [(*k, kg[k], count[k]) for k in keys],
        "total": (sum(kg.values(), Decimal("0.000")), sum(count.values())),
        "voided": (voided_kg, voided_count),
    }


def write_xlsx(
    rows: Sequence[dict[str, Any]],
    target: Path | str | IO[bytes],
    *,
    start_day: date,
    end_day: date,
    tz: ZoneInfo = STATION_TZ,
    anchors: Sequence[str] = (),
) -> None:
    """An Excel workbook (to a file name or a binary stream) with two sheets.

    ``drop-offs``: a bold header, then the rows. ``weight_kg`` is a number cell written
    from a ``Decimal`` formatted ``0.000``; a weight with more than ``XLSX_MAX_DIGITS``
    significant digits, which the cell could not hold exactly, raises ``ValueError``.
    ``voided`` is a boolean cell; the rest text cells (see :func:`spreadsheet_text`).

    ``totals``: the period (date cells), its time zone and the chain's anchors when
    the export was made (a row ``chain`` per station, for ``counter verify --anchor``),
    then kilograms (number cells, ``0.000``) and counts per classification, per
    category or fraction, in total and voided.
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.worksheet.worksheet import Worksheet

    def append(sheet: Worksheet, values: Sequence[Any], *, bold: bool = False) -> None:
        """One row: text as text cells, a Decimal as a ``0.000`` number cell."""
        sheet.append([None] * len(values))
        for index, value in enumerate(values, start=1):
            cell = sheet.cell(row=sheet.max_row, column=index)
            if isinstance(value, str):
                # A character XLSX cannot hold (a control character) shows as U+FFFD.
                cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", spreadsheet_text(value))
                cell.data_type = "s"  # text, even when it starts with "="
            elif isinstance(value, Decimal):
                cell.value = _kg_cell(value)
                cell.number_format = "0.000"
            elif isinstance(value, date):
                cell.value = value
                cell.number_format = "yyyy-mm-dd"
            else:
                cell.value = value
            if bold:
                cell.font = Font(bold=True)

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "drop-offs"
    append(sheet, EXPORT_COLUMNS, bold=True)
    for row in rows:
        append(
            sheet,
            [
                Decimal(row[column]) if column == "weight_kg" else row[column]
                for column in EXPORT_COLUMNS
            ],
        )
    sheet.freeze_panes = "A2"

    totals = period_totals(rows)
    summary = workbook.create_sheet("totals")
    # The period and the chain's anchors, one labelled row each.
    append(summary, ["from", start_day])
    append(summary, ["to", end_day])
    append(summary, ["time_zone", tz.key])
    for anchor in anchors:
        append(summary, ["chain", anchor])
    summary.append([])
    append(summary, ["classification", "category", "eural_code", "kg", "count"], bold=True)
    for name, kg, count in totals["classifications"]:
        append(summary, [name, None, None, kg, count])
    for classification, category, eural_code, kg, count in totals["categories"]:
        append(summary, [classification, category, eural_code, kg, count])
    append(summary, ["total", None, None, *totals["total"]], bold=True)
    append(summary, ["voided", None, None, *totals["voided"]])
    workbook.save(target if not isinstance(target, Path) else str(target))
