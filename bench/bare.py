"""The baselines of the volume bench: the supervisor's commands' work done with the
standard library alone (``sqlite3``, ``csv``, ``hashlib``, ``zoneinfo``).

Nothing of the project is imported here, so a baseline process starts and grows like
the barest program that could do the job. Run as ``python -m bench.bare totals DB DAY``,
``... export DB FROM TO OUTPUT`` or ``... verify DB``.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
import json
import sqlite3
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Amsterdam")
GENESIS = "0" * 64


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, clock(0), tzinfo=LOCAL_TZ)
    end = datetime.combine(day + timedelta(days=1), clock(0), tzinfo=LOCAL_TZ)
    return start.astimezone(UTC), end.astimezone(UTC)


def _read_only(database: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{database}?mode=ro", uri=True)


# -- totals ----------------------------------------------------------------------------

# The statements of db.queries.totals_for_day, written out: the day by the recorded_at
# index, never through the voids_id index (unary +), voided ones by the voids_id index.
BARE_TOTALS = (
    "SELECT classification, category_code, category_name, eural_code, sum(weight_grams), "
    "count(*) FROM drop_off AS d WHERE d.recorded_at >= ? AND d.recorded_at < ? "
    "AND +d.voids_id IS NULL AND NOT EXISTS (SELECT 1 FROM drop_off AS v WHERE v.voids_id = d.id) "
    "GROUP BY classification, category_code, category_name, eural_code"
)
BARE_VOIDED = (
    "SELECT count(*) FROM drop_off AS d WHERE d.recorded_at >= ? AND d.recorded_at < ? "
    "AND +d.voids_id IS NULL AND EXISTS (SELECT 1 FROM drop_off AS v WHERE v.voids_id = d.id)"
)


def bare_totals(database: Path, day: date) -> tuple[int, int]:
    start, end = (moment.isoformat(timespec="microseconds") for moment in day_bounds(day))
    with _read_only(database) as connection:
        rows = connection.execute(BARE_TOTALS, (start, end)).fetchall()
        (voided,) = connection.execute(BARE_VOIDED, (start, end)).fetchone()
    return sum(row[5] for row in rows), voided


# -- export ----------------------------------------------------------------------------

BARE_EXPORT = (
    "SELECT d.id, d.label_code, d.recorded_at, d.station_id, d.visit_id, d.classification, "
    "d.category_code, d.eural_code, d.weight_grams, d.weight_source, d.operator, "
    "EXISTS (SELECT 1 FROM drop_off AS v WHERE v.voids_id = d.id), "
    # The correction columns: the original's label, the correction's label, the void's
    # reason (each through its own unique index).
    "(SELECT o.label_code FROM drop_off AS o WHERE o.id = d.corrects_id), "
    "(SELECT c.label_code FROM drop_off AS c WHERE c.corrects_id = d.id), "
    "(SELECT v.reason FROM drop_off AS v WHERE v.voids_id = d.id) "
    "FROM drop_off AS d WHERE +d.voids_id IS NULL AND d.recorded_at >= ? AND d.recorded_at < ? "
    "ORDER BY d.recorded_at, d.station_id, d.label_no"
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA) else value


def bare_export(database: Path, first: date, last: date, output: Path) -> int:
    """The CSV ``counter export`` writes, with sqlite3 and csv alone; returns the rows."""
    start, _ = day_bounds(first)
    _, end = day_bounds(last)
    stream = io.StringIO(newline="")
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(
        (
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
            "corrects",
            "corrected_by",
            "void_reason",
        )
    )
    count = 0
    with _read_only(database) as connection:
        rows = connection.execute(
            BARE_EXPORT,
            (start.isoformat(timespec="microseconds"), end.isoformat(timespec="microseconds")),
        )
        for row in rows:
            count += 1
            at = datetime.fromisoformat(row[2]).astimezone(LOCAL_TZ)
            grams = row[8]
            writer.writerow(
                (
                    _text(row[0]),
                    _text(row[1]),
                    _text(at.isoformat(timespec="seconds")),
                    _text(row[3]),
                    _text(row[4]),
                    _text(row[5]),
                    _text(row[6]),
                    _text(row[7]),
                    f"{grams // 1000}.{grams % 1000:03d}",
                    _text(row[9]),
                    _text(row[10]),
                    "true" if row[11] else "false",
                    _text(row[12]),
                    _text(row[13]),
                    _text(row[14]),
                )
            )
    output.write_bytes(stream.getvalue().encode("utf-8"))
    return count


# -- verify ----------------------------------------------------------------------------


def _sha(content: dict[str, Any], prev_hash: str) -> str:
    text = json.dumps(
        {**content, "prev_hash": prev_hash},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _drop_off_links(connection: sqlite3.Connection) -> Iterator[tuple[str, int, str, str, str]]:
    """(station, position, prev_hash, content_hash, hash computed) of every drop-off row."""
    rows = connection.execute(
        "SELECT d.id, d.station_id, d.chain_seq, d.label_no, d.label_code, d.recorded_at, "
        "d.visit_id, d.classification, d.category_code, d.category_name, d.eural_code, "
        "d.weight_grams, d.weight_source, d.operator, d.reading_id, d.voids_id, d.reason, "
        "d.prev_hash, d.content_hash, r.id, r.weight, r.unit, r.grams, r.stable, r.net, "
        "r.tare, r.raw_frame, r.received_at, r.protocol, r.port "
        "FROM drop_off AS d LEFT JOIN captured_reading AS r ON r.id = d.reading_id "
        "ORDER BY d.station_id, d.chain_seq"
    )
    for row in rows:
        reading = None
        if row[19] is not None:
            reading = {
                "id": row[19],
                "weight": row[20],
                "unit": row[21],
                "grams": row[22],
                "stable": _flag(row[23]),
                "net": _flag(row[24]),
                "tare": row[25],
                "raw_frame": row[26].hex(),
                "received_at": row[27],
                "protocol": row[28],
                "port": row[29],
            }
        content = {
            "table": "drop_off",
            "id": row[0],
            "station_id": row[1],
            "chain_seq": row[2],
            "label_no": row[3],
            "label_code": row[4],
            "recorded_at": row[5],
            "visit_id": row[6],
            "classification": row[7],
            "category_code": row[8],
            "category_name": row[9],
            "eural_code": row[10],
            "weight_grams": row[11],
            "weight_source": row[12],
            "operator": row[13],
            "reading_id": row[14],
            "reading": reading,
            "voids_id": row[15],
            "reason": row[16],
        }
        yield row[1], row[2], row[17], row[18], _sha(content, row[17])


def _audit_links(connection: sqlite3.Connection) -> Iterator[tuple[str, int, str, str, str]]:
    rows = connection.execute(
        "SELECT id, station_id, chain_seq, at, actor, action, entity, entity_id, detail, "
        "prev_hash, content_hash FROM audit_entry ORDER BY station_id, chain_seq"
    )
    for row in rows:
        content = {
            "table": "audit_entry",
            "id": row[0],
            "station_id": row[1],
            "chain_seq": row[2],
            "at": row[3],
            "actor": row[4],
            "action": row[5],
            "entity": row[6],
            "entity_id": row[7],
            "detail": row[8],
        }
        yield row[1], row[2], row[9], row[10], _sha(content, row[9])


def bare_verify(database: Path) -> tuple[str, int, int]:
    """quick_check, then every link's position, link and hash, and each station's head:
    (quick_check's answer, links walked, problems found)."""
    connection = _read_only(database)
    try:
        (quick,) = connection.execute("PRAGMA quick_check").fetchone()
        problems = links = 0
        heads: dict[str, tuple[int, str]] = {}
        for station, seq, prev, stored, computed in heapq.merge(
            _drop_off_links(connection), _audit_links(connection), key=lambda link: link[:2]
        ):
            links += 1
            expected_seq, expected_prev = heads.get(station, (0, GENESIS))
            if seq != expected_seq + 1 or prev != expected_prev or stored != computed:
                problems += 1
            heads[station] = (seq, stored)
        for station, seq, chain_hash in connection.execute(
            "SELECT station_id, chain_seq, chain_hash FROM label_sequence"
        ):
            if heads.get(station, (0, GENESIS)) != (seq, chain_hash):
                problems += 1
    finally:
        connection.close()
    return str(quick), links, problems


def main(argv: list[str]) -> int:
    what, database = argv[0], Path(argv[1])
    if what == "totals":
        count, voided = bare_totals(database, date.fromisoformat(argv[2]))
        print(f"{count} drop-offs, {voided} voided")
    elif what == "export":
        first, last = date.fromisoformat(argv[2]), date.fromisoformat(argv[3])
        print(f"{bare_export(database, first, last, Path(argv[4]))} drop-offs")
    elif what == "verify":
        quick, links, problems = bare_verify(database)
        print(f"quick_check {quick}, {links} links, {problems} problems")
        return 0 if quick == "ok" and problems == 0 else 1
    else:
        raise SystemExit(f"unknown baseline {what!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
