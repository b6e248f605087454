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

:func:`read_export` counts the period's drop-offs a second time, reading the table
itself instead of an index, in the same read transaction, and takes from the same pass
the drop-offs the table's void rows name; when the rows read disagree with either (one
missing, a voided one not marked voided) an index is damaged and
:class:`ExportIncomplete` is raised instead of returning rows with some silently
missing.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, TextIO, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, String, bindparam, select, text, type_coerce
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import col

from db.domain import STATION_TZ, Classification
from db.engine import DatabaseError, DatabaseProblem, database_path, read_session
from db.errors import refusal
from db.export_values import grams_to_kg as grams_to_kg
from db.export_values import json_text as json_text
from db.models import DropOff, UtcDateTime, parse_stored_utc
from db.queries import (
    corrected_by_label,
    corrects_label,
    day_bounds,
    not_a_void,
    voided_condition,
)

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


# One pass over the table itself (``NOT INDEXED``), not through the indexes the rows
# come through: the period's drop-offs counted, and the ids every void row names (a
# thousandth of the rows). A damaged index on recorded_at makes the count differ from
# the rows read; one on voids_id leaves a voided row unmarked while its id is here.
_TABLE_PASS = text(
    "SELECT count(*) FILTER (WHERE voids_id IS NULL"
    " AND recorded_at >= :start AND recorded_at < :end),"
    " json_group_array(voids_id) FILTER (WHERE voids_id IS NOT NULL)"
    " FROM drop_off NOT INDEXED"
).bindparams(bindparam("start", type_=UtcDateTime()), bindparam("end", type_=UtcDateTime()))

# The same counts the slow way (the table read twice), for the numbers an
# ExportIncomplete gives once the pass above has found a disagreement.
_COUNT_FROM_TABLE = text(
    "SELECT count(*), coalesce(sum(voided), 0) FROM ("
    "SELECT d.id IN (SELECT v.voids_id FROM drop_off AS v NOT INDEXED"
    " WHERE v.voids_id IS NOT NULL) AS voided"
    " FROM drop_off AS d NOT INDEXED"
    " WHERE d.voids_id IS NULL AND d.recorded_at >= :start AND d.recorded_at < :end)"
).bindparams(bindparam("start", type_=UtcDateTime()), bindparam("end", type_=UtcDateTime()))


ExportRow = tuple[Any, ...]
"""One drop-off of an export: its values in ``EXPORT_COLUMNS`` order, as written
(``recorded_at`` local ISO text, ``weight_kg`` text with three decimals, ``voided`` a
boolean, the rest text or ``None``)."""


@dataclass(frozen=True, slots=True)
class ExportReading:
    """One consistent snapshot of a period: the chain's anchors (each station's newest
    link, whole hash) and the period's rows, read one at a time as they are consumed.
    Consuming ``rows`` to the end recounts the period from the table itself and raises
    :class:`ExportIncomplete` when they disagree."""

    anchors: tuple[str, ...]
    rows: Iterator[ExportRow]


def _kg_text(grams: int) -> str:
    """``grams_to_kg_text`` by integer arithmetic, for one call per exported row."""
    sign = "-" if grams < 0 else ""
    whole, rest = divmod(abs(grams), 1000)
    return f"{sign}{whole}.{rest:03d}"


@contextmanager
def read_export(
    engine: Engine, start_day: date, end_day: date, tz: ZoneInfo = STATION_TZ
) -> Iterator[ExportReading]:
    """The drop-offs of the local days ``start_day`` to ``end_day`` inclusive, oldest
    first, streamed from one read transaction that lasts as long as the block.

    Rows come through a Core ``select`` read from its own DB-API cursor, each a plain
    tuple fetched as it is consumed, so memory does not grow with the period. Raises
    :class:`ExportIncomplete` (at the end of ``rows``) when the rows disagree with a
    pass over the table itself (a damaged index), and :class:`~db.engine.DatabaseError`
    when the database cannot be read.
    """
    from db.verify import heads_in

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
            col(DropOff.id),
            col(DropOff.label_code),
            # The stored text itself: parsed once here, not once more by its type.
            type_coerce(col(DropOff.recorded_at), String()),
            col(DropOff.station_id),
            col(DropOff.visit_id),
            col(DropOff.classification),
            col(DropOff.category_code),
            col(DropOff.eural_code),
            col(DropOff.weight_grams),
            col(DropOff.weight_source),
            col(DropOff.operator),
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

    def rows(connection: Connection) -> Iterator[ExportRow]:
        period = {"start": start, "end": end}
        expected, voided_json = connection.execute(_TABLE_PASS, period).one()
        voided_ids = frozenset(json.loads(voided_json))
        found = 0
        # The ids of the rows read that the query marks voided, and of those the
        # table's void rows name, in the order read: equal unless an index is damaged.
        marked: list[str] = []
        named: list[str] = []
        from_text = datetime.fromisoformat
        result = connection.execute(statement)
        # The select's own DB-API cursor, read as it is: each row a plain tuple, fetched
        # as it is consumed, with no row object made and dropped for each.
        cursor = cast(Iterable[tuple[Any, ...]], result.cursor)
        try:
            for (
                id_,
                label_code,
                recorded_at,
                station_id,
                visit_id,
                classification,
                category,
                eural_code,
                grams,
                weight_source,
                operator,
                voided,
                corrects,
                corrected_by,
                reason,
            ) in cursor:
                found += 1
                if voided:
                    marked.append(id_)
                if id_ in voided_ids:
                    named.append(id_)
                # Local ISO text to the second, and kilograms (_kg_text), spelled out:
                # this runs once per drop-off.
                moment = from_text(recorded_at)
                if moment.tzinfo is None:  # not written by this program
                    moment = parse_stored_utc(recorded_at)
                yield (
                    id_,
                    label_code,
                    moment.astimezone(tz).isoformat(timespec="seconds"),
                    station_id,
                    visit_id,
                    classification,
                    category,
                    eural_code,
                    f"{grams // 1000}.{grams % 1000:03d}" if grams >= 0 else _kg_text(grams),
                    weight_source,
                    operator,
                    bool(voided),
                    corrects,
                    corrected_by,
                    reason,
                )
        except sqlite3.Error as exc:
            detail = str(exc)
            locked = isinstance(exc, sqlite3.OperationalError) and "locked" in detail
            raise refusal(database_path(engine), detail, "the query", locked=locked) from exc
        # Not in a ``finally``: rows left unread (a write that failed) leave the cursor to
        # the end of the read transaction, which may already have closed its connection.
        result.close()
        if found != expected or marked != named:
            expected, expected_voided = connection.execute(_COUNT_FROM_TABLE, period).one()
            raise ExportIncomplete(int(expected), found, int(expected_voided), len(marked))

    with read_session(engine) as session:
        connection = session.connection()
        anchors = tuple(anchor.text(64) for anchor in heads_in(connection))
        yield ExportReading(anchors, rows(connection))


def export_rows(
    engine: Engine, start_day: date, end_day: date, tz: ZoneInfo = STATION_TZ
) -> list[dict[str, Any]]:
    """The rows of :func:`read_export` as dicts with the columns as keys, all in
    memory (for a small period; the ``counter export`` command streams instead)."""
    with read_export(engine, start_day, end_day, tz) as reading:
        return [dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in reading.rows]


def _values(row: ExportRow | Mapping[str, Any]) -> Sequence[Any]:
    """An export row as values in column order (a dict with the columns as keys too)."""
    if type(row) is tuple:  # what read_export gives: the common case, checked first
        return row
    if isinstance(row, Mapping):
        return [row[column] for column in EXPORT_COLUMNS]
    return row


def _csv_value(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if column == "weight_kg":  # a number, never a formula
        return str(value)
    return spreadsheet_text(str(value))


def _csv_text(value: Any) -> str:
    """A text cell: ``_csv_value`` with text, the common case, taken first."""
    if value.__class__ is str:
        return f"'{value}" if value.startswith(FORMULA_STARTS) else value
    return _csv_value("", value)


def _csv_number(value: Any) -> str:
    return value if value.__class__ is str else _csv_value("weight_kg", value)


def _csv_flag(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return _csv_value("voided", value)


# write_csv spells the columns out by position.
assert EXPORT_COLUMNS.index("weight_kg") == 8 and EXPORT_COLUMNS.index("voided") == 11
assert EXPORT_COLUMNS[12:] == ("corrects", "corrected_by", "void_reason")


def write_csv(rows: Iterable[ExportRow | Mapping[str, Any]], stream: TextIO) -> int:
    """Header and rows as RFC 4180 CSV, written as they come; returns the number of
    rows. Open files with ``newline=""``."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    write, text, number, flag = writer.writerow, _csv_text, _csv_number, _csv_flag
    count = 0
    for row in rows:
        v = _values(row)
        # Spelled out: this runs once per drop-off, a few hundred thousand times a year.
        write(
            (
                text(v[0]),
                text(v[1]),
                text(v[2]),
                text(v[3]),
                text(v[4]),
                text(v[5]),
                text(v[6]),
                text(v[7]),
                number(v[8]),
                text(v[9]),
                text(v[10]),
                flag(v[11]),
                text(v[12]),
                text(v[13]),
                text(v[14]),
            )
        )
        count += 1
    return count


def write_json(
    rows: Iterable[ExportRow | Mapping[str, Any]],
    stream: TextIO,
    *,
    start_day: date,
    end_day: date,
    anchors: Sequence[str] = (),
) -> int:
    """One JSON object: the period, the chain's anchors when the export was made (one
    per station, ``STATION:NUMBER:HASH``, for ``counter verify --anchor``), the columns
    and the drop-offs (objects with the columns as keys, in column order);
    ``weight_kg`` is a JSON number (``12.340``). Laid out as :func:`json_text` lays out
    the whole object, but written one drop-off at a time; returns their number."""
    head = {
        "period": {"from": start_day.isoformat(), "to": end_day.isoformat()},
        "chain_anchors": list(anchors),
        "columns": list(EXPORT_COLUMNS),
    }
    stream.write("{")
    for key, value in head.items():
        stream.write(f"\n  {json.dumps(key)}: {json_text(value, level=1)},")
    stream.write('\n  "drop_offs": ')
    weight = EXPORT_COLUMNS.index("weight_kg")
    count = 0
    for row in rows:
        values = list(_values(row))
        values[weight] = Decimal(values[weight])
        stream.write("[\n    " if count == 0 else ",\n    ")
        stream.write(json_text(dict(zip(EXPORT_COLUMNS, values, strict=True)), level=2))
        count += 1
    stream.write("[]" if count == 0 else "\n  ]")
    stream.write("\n}\n")
    return count


def _kg_cell(value: Decimal | str) -> Decimal:
    """A weight for a number cell; one the cell could not hold exactly raises."""
    kg = Decimal(value)
    if len(kg.normalize().as_tuple().digits) > XLSX_MAX_DIGITS:
        raise ValueError(f"weight {kg} kg has too many digits for a spreadsheet")
    return kg


_ZERO_KG = Decimal("0.000")
TotalsKey = tuple[str, str, str | None]


class PeriodTotals:
    """Kilograms and counts of export rows that were not voided, added up as the rows
    pass (:meth:`add`); :meth:`result` gives them as :func:`period_totals` does."""

    def __init__(self) -> None:
        self.kg: dict[TotalsKey, Decimal] = {}
        self.count: dict[TotalsKey, int] = {}
        self.voided_kg = _ZERO_KG
        self.voided_count = 0

    def add(self, values: Sequence[Any]) -> None:
        weight = Decimal(values[_WEIGHT])
        if values[_VOIDED]:
            self.voided_kg += weight
            self.voided_count += 1
            return
        key = (values[_CLASSIFICATION], values[_CATEGORY], values[_EURAL_CODE])
        self.kg[key] = self.kg.get(key, _ZERO_KG) + weight
        self.count[key] = self.count.get(key, 0) + 1

    def result(self) -> dict[str, Any]:
        kg, count = self.kg, self.count
        order = {name: index for index, name in enumerate(_CLASSIFICATIONS)}
        keys = sorted(kg, key=lambda k: (order.get(k[0], len(order)), -kg[k], k[1], k[2] or ""))
        names = (*_CLASSIFICATIONS, *sorted({k[0] for k in keys} - set(_CLASSIFICATIONS)))
        classifications = [
            (
                name,
                sum((kg[k] for k in keys if k[0] == name), _ZERO_KG),
                sum(count[k] for k in keys if k[0] == name),
            )
            for name in names
        ]
        return {
            "classifications": classifications,
            "categories": [(*k, kg[k], count[k]) for k in keys],
            "total": (sum(kg.values(), _ZERO_KG), sum(count.values())),
            "voided": (self.voided_kg, self.voided_count),
        }


_WEIGHT = EXPORT_COLUMNS.index("weight_kg")
_VOIDED = EXPORT_COLUMNS.index("voided")
_CLASSIFICATION = EXPORT_COLUMNS.index("classification")
_CATEGORY = EXPORT_COLUMNS.index("category")
_EURAL_CODE = EXPORT_COLUMNS.index("eural_code")


def period_totals(rows: Iterable[ExportRow | Mapping[str, Any]]) -> dict[str, Any]:
    """Kilograms and counts of the export rows that were not voided.

    ``classifications``: ``(classification, kg, count)`` for each classification in
    order, 0 where none; ``categories``: ``(classification, category, eural_code, kg,
    count)``, per classification heaviest first; ``total`` and ``voided``: ``(kg,
    count)``, the voided ones not counted in the others.
    """
    totals = PeriodTotals()
    for row in rows:
        totals.add(_values(row))
    return totals.result()


def write_xlsx(
    rows: Iterable[ExportRow | Mapping[str, Any]],
    target: Path | str | IO[bytes],
    *,
    start_day: date,
    end_day: date,
    tz: ZoneInfo = STATION_TZ,
    anchors: Sequence[str] = (),
) -> int:
    """An Excel workbook (to a file name or a binary stream) with two sheets, written
    with openpyxl's write-only mode: rows go to the sheet as they come, and memory does
    not grow with them. Returns the number of drop-offs.

    ``drop-offs``: a bold header, then the rows. ``weight_kg`` is a number cell written
    from a ``Decimal`` formatted ``0.000``; a weight with more than ``XLSX_MAX_DIGITS``
    significant digits, which the cell could not hold exactly, raises ``ValueError``.
    ``voided`` is a boolean cell; the rest text cells (see :func:`spreadsheet_text`:
    none starts with ``=``, so none is read as a formula).

    ``totals``: the period (date cells), its time zone and the chain's anchors when
    the export was made (a row ``chain`` per station, for ``counter verify --anchor``),
    then kilograms (number cells, ``0.000``) and counts per classification, per
    category or fraction, in total and voided.
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    bold = Font(bold=True)

    def text(value: str) -> str:
        # A character XLSX cannot hold (a control character) shows as U+FFFD.
        return str(ILLEGAL_CHARACTERS_RE.sub("\ufffd", spreadsheet_text(value)))

    def cells(
        sheet: WriteOnlyWorksheet, values: Sequence[Any], *, heading: bool = False
    ) -> list[Any]:
        """One row: text as text cells, a Decimal as a ``0.000`` number cell."""
        row: list[Any] = []
        for value in values:
            if isinstance(value, str):
                value = text(value)
            elif isinstance(value, Decimal):
                cell = WriteOnlyCell(sheet, _kg_cell(value))
                cell.number_format = "0.000"
                value = cell
            elif isinstance(value, date):
                cell = WriteOnlyCell(sheet, value)
                cell.number_format = "yyyy-mm-dd"
                value = cell
            if heading:
                cell = value if hasattr(value, "font") else WriteOnlyCell(sheet, value)
                cell.font = bold
                value = cell
            row.append(value)
        return row

    workbook = Workbook(write_only=True)
    try:
        return _fill_workbook(workbook, cells, rows, target, start_day, end_day, tz, anchors)
    except BaseException:
        _discard(workbook)
        raise


def _discard(workbook: Any) -> None:
    """Close and remove what a write-only workbook that will not be saved has written
    so far: each sheet's rows wait in a temporary file of openpyxl's own."""
    for sheet in workbook.worksheets:
        writer = getattr(sheet, "_writer", None)
        if writer is None:
            continue
        with suppress(Exception):
            sheet.close()
        with suppress(OSError, ValueError):
            writer.cleanup()


def _fill_workbook(
    workbook: Any,
    cells: Callable[..., list[Any]],
    rows: Iterable[ExportRow | Mapping[str, Any]],
    target: Path | str | IO[bytes],
    start_day: date,
    end_day: date,
    tz: ZoneInfo,
    anchors: Sequence[str],
) -> int:
    sheet = workbook.create_sheet("drop-offs")
    sheet.freeze_panes = "A2"
    sheet.append(cells(sheet, EXPORT_COLUMNS, heading=True))
    totals = PeriodTotals()
    count = 0
    for row in rows:
        values = list(_values(row))
        totals.add(values)
        values[_WEIGHT] = Decimal(values[_WEIGHT])
        sheet.append(cells(sheet, values))
        count += 1

    result = totals.result()
    summary = workbook.create_sheet("totals")
    # The period and the chain's anchors, one labelled row each.
    summary.append(cells(summary, ["from", start_day]))
    summary.append(cells(summary, ["to", end_day]))
    summary.append(cells(summary, ["time_zone", tz.key]))
    for anchor in anchors:
        summary.append(cells(summary, ["chain", anchor]))
    summary.append([])
    summary.append(
        cells(summary, ["classification", "category", "eural_code", "kg", "count"], heading=True)
    )
    for name, kg, number in result["classifications"]:
        summary.append(cells(summary, [name, None, None, kg, number]))
    for classification, category, eural_code, kg, number in result["categories"]:
        summary.append(cells(summary, [classification, category, eural_code, kg, number]))
    summary.append(cells(summary, ["total", None, None, *result["total"]], heading=True))
    summary.append(cells(summary, ["voided", None, None, *result["voided"]]))
    workbook.save(target if not isinstance(target, Path) else str(target))
    return count
