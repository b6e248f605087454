"""The hash chain of each station (``counter verify``).

Every row a station appends, a ``drop_off`` row (a drop-off or a void) or an
``audit_entry``, is one link of that station's chain: the rows of both tables are
numbered in one sequence (``chain_seq`` 1, 2, 3 ...), and each stores
``content_hash = sha256(canonical JSON of its content and prev_hash)``, where
``prev_hash`` is the ``content_hash`` of the station's previous link, or
:data:`GENESIS_HASH` for its first. The content names its table, and a drop-off's
includes the captured reading its weight came from, so changing a raw frame is caught
as well. Changing, removing or inserting a row breaks the chain from that row on; the
station's head (``label_sequence``) names the last link, so removing the newest rows is
found too.

What the chain cannot show by itself: somebody who removes the newest links and sets
the head back, or rewrites a row and computes every later hash again, leaves a chain
that is consistent. An :class:`Anchor` closes that gap: it names one link by station,
position and hash, and is kept outside the database (printed on the day's totals slip,
carried by exports, shown by ``counter verify``). ``counter verify --anchor`` checks
that the chain still contains that link.

Canonical JSON: keys sorted, no whitespace, UTF-8, times as ``format_utc`` text, bytes
as lowercase hex, integers as JSON numbers (never floats).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from db.anchor import ANCHOR_HEX_DIGITS as ANCHOR_HEX_DIGITS
from db.anchor import Anchor as Anchor
from db.anchor import AnchorError as AnchorError
from db.models import AuditEntry, CapturedReading, DropOff, format_utc

GENESIS_HASH = "0" * 64


def canonical_json(content: Mapping[str, Any]) -> bytes:
    """The one byte string a content mapping hashes to."""
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def reading_content(reading: CapturedReading) -> dict[str, Any]:
    return {
        "id": reading.id,
        "weight": reading.weight,
        "unit": reading.unit,
        "grams": reading.grams,
        "stable": reading.stable,
        "net": reading.net,
        "tare": reading.tare,
        "raw_frame": reading.raw_frame.hex(),
        "received_at": format_utc(reading.received_at),
        "protocol": reading.protocol,
        "port": reading.port,
    }


def drop_off_content(drop_off: DropOff, reading: CapturedReading | None) -> dict[str, Any]:
    """Everything a drop-off row says, except its own hash.

    ``corrects_id`` (migration 0006) is named only when the row has one: rows from
    before it keep their hashes, and a correction's link to its original is covered
    (setting, changing or clearing it afterwards breaks the chain).
    """
    content: dict[str, Any] = {
        "table": "drop_off",
        "id": drop_off.id,
        "station_id": drop_off.station_id,
        "chain_seq": drop_off.chain_seq,
        "label_no": drop_off.label_no,
        "label_code": drop_off.label_code,
        "recorded_at": format_utc(drop_off.recorded_at),
        "visit_id": drop_off.visit_id,
        "classification": drop_off.classification,
        "category_code": drop_off.category_code,
        "category_name": drop_off.category_name,
        "eural_code": drop_off.eural_code,
        "weight_grams": drop_off.weight_grams,
        "weight_source": drop_off.weight_source,
        "operator": drop_off.operator,
        "reading_id": drop_off.reading_id,
        "reading": None if reading is None else reading_content(reading),
        "voids_id": drop_off.voids_id,
        "reason": drop_off.reason,
    }
    if drop_off.corrects_id is not None:
        content["corrects_id"] = drop_off.corrects_id
    return content


def audit_content(entry: AuditEntry) -> dict[str, Any]:
    """Everything an audit entry says, except its own hash."""
    return {
        "table": "audit_entry",
        "id": entry.id,
        "station_id": entry.station_id,
        "chain_seq": entry.chain_seq,
        "at": format_utc(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "detail": entry.detail,
    }


def chain_hash(content: Mapping[str, Any], prev_hash: str) -> str:
    """The hex sha256 of ``content`` chained to ``prev_hash``."""
    if "prev_hash" in content:
        raise ValueError("content must not contain its own prev_hash key")
    return hashlib.sha256(canonical_json({**content, "prev_hash": prev_hash})).hexdigest()


def drop_off_hash(drop_off: DropOff, reading: CapturedReading | None) -> str:
    """The hash a drop-off row must carry, given its stored ``prev_hash``."""
    return chain_hash(drop_off_content(drop_off, reading), drop_off.prev_hash)


def audit_hash(entry: AuditEntry) -> str:
    """The hash an audit entry must carry, given its stored ``prev_hash``."""
    return chain_hash(audit_content(entry), entry.prev_hash)
