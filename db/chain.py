"""The hash chain over drop-off rows (DESIGN.md section 3: ``counter verify``).

Each ``drop_off`` row stores ``content_hash = sha256(canonical JSON of its content and
prev_hash)``, where ``prev_hash`` is the ``content_hash`` of the station's previous row
(by ``chain_seq``), or :data:`GENESIS_HASH` for its first. The content includes the
captured reading the weight came from, so changing a raw frame is caught as well.
Changing, removing or inserting a row breaks the chain from that row on.

Canonical JSON: keys sorted, no whitespace, UTF-8, times as ``format_utc`` text, bytes
as lowercase hex, integers as JSON numbers (never floats).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from db.models import CapturedReading, DropOff, format_utc

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
    """Everything a drop-off row says, except its own hash."""
    return {
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


def chain_hash(content: Mapping[str, Any], prev_hash: str) -> str:
    """The hex sha256 of ``content`` chained to ``prev_hash``."""
    if "prev_hash" in content:
        raise ValueError("content must not contain its own prev_hash key")
    return hashlib.sha256(canonical_json({**content, "prev_hash": prev_hash})).hexdigest()


def drop_off_hash(drop_off: DropOff, reading: CapturedReading | None) -> str:
    """The hash a drop-off row must carry, given its stored ``prev_hash``."""
    return chain_hash(drop_off_content(drop_off, reading), drop_off.prev_hash)
