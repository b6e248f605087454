"""Audit entries join the hash chain; each station's head names the chain's last link.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Before this revision only ``drop_off`` rows were chained, so removing an audit entry,
or the newest rows of a station, went unnoticed. From here on:

- ``audit_entry`` rows are links of their station's chain, numbered in one sequence
  with the station's ``drop_off`` rows (``station_id``, ``chain_seq``, ``prev_hash``,
  ``content_hash``);
- ``label_sequence`` is the station's head: besides the last label number it names
  the chain's last link (``chain_seq``, ``chain_hash``), and the database refuses to
  delete it or to move it anywhere but forward.

Existing rows are linked again in the order they were written (drop-offs in their old
chain order, audit entries in insertion order, merged by time), and every hash is
computed anew with the rules of ``db.chain``. The old chain is checked first by its
own rules; each station then gets a ``chain.relinked`` audit entry that records the
old head hash and whether the old chain was intact, so a database that was tampered
with before the upgrade still says so.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
_REFUSE = "BEGIN SELECT RAISE(ABORT, '{message}'); END"
APPEND_ONLY = "{table} rows are append-only: record a correction instead"
HEAD_ONLY_FORWARD = (
    "label_sequence rows are the station heads: they are never deleted and only move forward"
)


def _append_only_triggers(table: str) -> None:
    for statement in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{statement.lower()} BEFORE {statement} ON {table} "
            + _REFUSE.format(message=APPEND_ONLY.format(table=table))
        )


def _head_triggers() -> None:
    op.execute(
        "CREATE TRIGGER label_sequence_no_delete BEFORE DELETE ON label_sequence "
        + _REFUSE.format(message=HEAD_ONLY_FORWARD)
    )
    op.execute(
        "CREATE TRIGGER label_sequence_forward_only BEFORE UPDATE ON label_sequence "
        "WHEN NOT (NEW.station_id = OLD.station_id AND NEW.last_no >= OLD.last_no "
        "AND NEW.chain_seq > OLD.chain_seq) " + _REFUSE.format(message=HEAD_ONLY_FORWARD)
    )


def _old_drop_off_hash(row: dict[str, Any], reading: dict[str, Any] | None) -> str:
    """The hash revision 0001 gave a drop-off row (its content had no ``table`` key)."""
    from db.chain import canonical_json

    content = {key: row[key] for key in _DROP_OFF_KEYS}
    content["reading"] = None if reading is None else _reading_content(reading)
    content["prev_hash"] = row["prev_hash"]
    return hashlib.sha256(canonical_json(content)).hexdigest()


_DROP_OFF_KEYS = (
    "id",
    "station_id",
    "chain_seq",
    "label_no",
    "label_code",
    "recorded_at",
    "visit_id",
    "classification",
    "category_code",
    "category_name",
    "eural_code",
    "weight_grams",
    "weight_source",
    "operator",
    "reading_id",
    "voids_id",
    "reason",
)


def _reading_content(reading: dict[str, Any]) -> dict[str, Any]:
    content = dict(reading)
    raw = content["raw_frame"]
    content["raw_frame"] = bytes(raw).hex()
    content["stable"] = None if content["stable"] is None else bool(content["stable"])
    content["net"] = None if content["net"] is None else bool(content["net"])
    return content


def _old_chain_intact(drop_offs: list[dict[str, Any]], readings: dict[str, Any]) -> bool:
    prev = GENESIS
    for seq, row in enumerate(drop_offs, start=1):
        reading = readings.get(row["reading_id"]) if row["reading_id"] else None
        if row["chain_seq"] != seq or row["prev_hash"] != prev:
            return False
        if _old_drop_off_hash(row, reading) != row["content_hash"]:
            return False
        prev = row["content_hash"]
    return True


def _relink(connection: sa.Connection) -> None:
    from db.chain import audit_hash, chain_hash, drop_off_content
    from db.models import AuditEntry, CapturedReading, DropOff

    def rows(sql: str) -> list[dict[str, Any]]:
        return [dict(row._mapping) for row in connection.exec_driver_sql(sql)]

    drop_offs = rows("SELECT * FROM drop_off ORDER BY station_id, chain_seq")
    readings = {row["id"]: row for row in rows("SELECT * FROM captured_reading")}
    audits = rows("SELECT rowid AS _rowid, * FROM audit_entry ORDER BY rowid")
    job_columns = {row["name"] for row in rows("PRAGMA table_info(print_job)")}
    job_station_sql = "station_id" if "station_id" in job_columns else "NULL"
    jobs = {
        row["id"]: row
        for row in rows(f"SELECT id, drop_off_id, {job_station_sql} AS station_id FROM print_job")
    }
    station_of_drop_off = {row["id"]: row["station_id"] for row in drop_offs}
    heads = rows("SELECT station_id, last_no FROM label_sequence ORDER BY station_id")
    stations = sorted({row["station_id"] for row in heads} | set(station_of_drop_off.values()))
    fallback = stations[0] if stations else "-"

    def audit_station(entry: dict[str, Any]) -> str:
        if entry["entity"] == "drop_off":
            return str(station_of_drop_off.get(entry["entity_id"], fallback))
        job = jobs.get(entry["entity_id"])
        if job is not None and job["station_id"]:
            return str(job["station_id"])
        if job is not None and job["drop_off_id"] in station_of_drop_off:
            return str(station_of_drop_off[job["drop_off_id"]])
        return fallback

    by_station: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for row in drop_offs:
        by_station.setdefault(row["station_id"], ([], []))[0].append(row)
    for entry in audits:
        by_station.setdefault(audit_station(entry), ([], []))[1].append(entry)

    now = datetime.now(UTC)
    # Free every position first: the new numbers overlap the old ones.
    connection.exec_driver_sql("UPDATE drop_off SET chain_seq = -chain_seq")
    last_labels = {row["station_id"]: row["last_no"] for row in heads}
    for station, (station_drop_offs, station_audits) in sorted(by_station.items()):
        intact = _old_chain_intact(station_drop_offs, readings)
        old_head = station_drop_offs[-1]["content_hash"] if station_drop_offs else GENESIS
        merged = heapq.merge(
            ((row["recorded_at"], 0, "drop_off", row) for row in station_drop_offs),
            ((entry["at"], 1, "audit_entry", entry) for entry in station_audits),
            key=lambda item: (item[0], item[1]),
        )
        seq, prev = 0, GENESIS
        for _at, _rank, table, row in merged:
            seq += 1
            if table == "drop_off":
                reading_row = readings.get(row["reading_id"]) if row["reading_id"] else None
                drop_off = DropOff.model_validate({**row, "chain_seq": seq, "prev_hash": prev})
                reading = (
                    None if reading_row is None else CapturedReading.model_validate(reading_row)
                )
                digest = chain_hash(drop_off_content(drop_off, reading), prev)
                connection.execute(
                    sa.text(
                        "UPDATE drop_off SET chain_seq = :seq, prev_hash = :prev, "
                        "content_hash = :hash WHERE id = :id"
                    ),
                    {"seq": seq, "prev": prev, "hash": digest, "id": row["id"]},
                )
            else:
                fields = {k: v for k, v in row.items() if k != "_rowid"}
                audit = AuditEntry.model_validate(
                    {
                        **fields,
                        "station_id": station,
                        "chain_seq": seq,
                        "prev_hash": prev,
                        "content_hash": "",
                    }
                )
                digest = audit_hash(audit)
                connection.execute(
                    sa.text(
                        "UPDATE audit_entry SET station_id = :station, chain_seq = :seq, "
                        "prev_hash = :prev, content_hash = :hash WHERE id = :id"
                    ),
                    {"station": station, "seq": seq, "prev": prev, "hash": digest, "id": row["id"]},
                )
            prev = digest
        # The relink itself is the station's next link, saying what the old chain was.
        seq += 1
        relinked = AuditEntry.model_validate(
            {
                "id": str(uuid.uuid4()),
                "station_id": station,
                "chain_seq": seq,
                "at": now,
                "actor": "migration 0003",
                "action": "chain.relinked",
                "entity": "station",
                "entity_id": station,
                "detail": json.dumps(
                    {"old_chain_intact": intact, "old_head": old_head, "links": seq - 1},
                    sort_keys=True,
                ),
                "prev_hash": prev,
                "content_hash": "",
            }
        )
        digest = audit_hash(relinked)
        connection.execute(
            sa.text(
                "INSERT INTO audit_entry (id, station_id, chain_seq, at, actor, action, entity,"
                " entity_id, detail, prev_hash, content_hash) VALUES (:id, :station, :seq, :at,"
                " :actor, :action, :entity, :entity_id, :detail, :prev, :hash)"
            ),
            {
                "id": relinked.id,
                "station": station,
                "seq": seq,
                "at": now.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
                "actor": relinked.actor,
                "action": relinked.action,
                "entity": relinked.entity,
                "entity_id": relinked.entity_id,
                "detail": relinked.detail,
                "prev": prev,
                "hash": digest,
            },
        )
        if station in last_labels:
            connection.execute(
                sa.text(
                    "UPDATE label_sequence SET chain_seq = :seq, chain_hash = :hash "
                    "WHERE station_id = :station"
                ),
                {"seq": seq, "hash": digest, "station": station},
            )
        else:
            connection.execute(
                sa.text(
                    "INSERT INTO label_sequence (station_id, last_no, chain_seq, chain_hash) "
                    "VALUES (:station, 0, :seq, :hash)"
                ),
                {"seq": seq, "hash": digest, "station": station},
            )


def upgrade() -> None:
    with op.batch_alter_table("label_sequence") as batch:
        batch.add_column(sa.Column("chain_seq", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("chain_hash", sa.String(), nullable=False, server_default=GENESIS)
        )
    for column in ("station_id", "chain_seq", "prev_hash", "content_hash"):
        kind: Any = sa.Integer() if column == "chain_seq" else sa.String()
        op.add_column("audit_entry", sa.Column(column, kind, nullable=True))
    for table in ("drop_off", "audit_entry"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
    _relink(op.get_bind())
    with op.batch_alter_table("audit_entry", recreate="always") as batch:
        for column in ("station_id", "chain_seq", "prev_hash", "content_hash"):
            kind = sa.Integer() if column == "chain_seq" else sa.String()
            batch.alter_column(column, existing_type=kind, nullable=False)
        batch.create_unique_constraint("uq_audit_entry_content_hash", ["content_hash"])
        batch.create_unique_constraint(
            "uq_audit_entry_station_id_chain_seq", ["station_id", "chain_seq"]
        )
    # The rebuilt audit_entry table lost its triggers (see 0001's note).
    op.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")
    _append_only_triggers("audit_entry")
    op.execute(
        "CREATE TRIGGER drop_off_no_update BEFORE UPDATE ON drop_off "
        + _REFUSE.format(message=APPEND_ONLY.format(table="drop_off"))
    )
    _head_triggers()


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS label_sequence_no_delete")
    op.execute("DROP TRIGGER IF EXISTS label_sequence_forward_only")
    with op.batch_alter_table("audit_entry", recreate="always") as batch:
        batch.drop_constraint("uq_audit_entry_station_id_chain_seq", type_="unique")
        batch.drop_constraint("uq_audit_entry_content_hash", type_="unique")
        for column in ("content_hash", "prev_hash", "chain_seq", "station_id"):
            batch.drop_column(column)
    op.execute("DROP TRIGGER IF EXISTS audit_entry_no_update")
    op.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")
    _append_only_triggers("audit_entry")
    with op.batch_alter_table("label_sequence") as batch:
        batch.drop_column("chain_hash")
        batch.drop_column("chain_seq")
