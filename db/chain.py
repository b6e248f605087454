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
from collections.abc import Mapping, Sequence
from typing import Any

from db.anchor import ANCHOR_HEX_DIGITS as ANCHOR_HEX_DIGITS
from db.anchor import Anchor as Anchor
from db.anchor import AnchorError as AnchorError
from db.models import AuditEntry, CapturedReading, DropOff, stored_utc_text

GENESIS_HASH = "0" * 64


def canonical_json(content: Mapping[str, Any]) -> bytes:
    """The one byte string a content mapping hashes to."""
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


# The columns of each link's content, in the order the ``*_values_content`` functions
# take them: a reader of many rows selects them in this order and passes plain tuples.
DROP_OFF_CONTENT_COLUMNS: tuple[str, ...] = (
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
    # Migration 0006. In the content only when the row has one (see
    # drop_off_values_content): rows from before it keep their hashes.
    "corrects_id",
)
READING_CONTENT_COLUMNS: tuple[str, ...] = (
    "id",
    "weight",
    "unit",
    "grams",
    "stable",
    "net",
    "tare",
    "raw_frame",
    "received_at",
    "protocol",
    "port",
)
AUDIT_CONTENT_COLUMNS: tuple[str, ...] = (
    "id",
    "station_id",
    "chain_seq",
    "at",
    "actor",
    "action",
    "entity",
    "entity_id",
    "detail",
)


def _flag(value: bool | int | None) -> bool | None:
    """A stored boolean (SQLite keeps 0 and 1) as the JSON boolean the hash holds."""
    return None if value is None else bool(value)


def reading_values_content(values: Sequence[Any]) -> dict[str, Any]:
    """A captured reading's content from its values in ``READING_CONTENT_COLUMNS``
    order; times as stored text or datetimes, flags as booleans or 0/1."""
    content = dict(zip(READING_CONTENT_COLUMNS, values, strict=True))
    content["stable"] = _flag(content["stable"])
    content["net"] = _flag(content["net"])
    content["raw_frame"] = bytes(content["raw_frame"]).hex()
    content["received_at"] = stored_utc_text(content["received_at"])
    return content


def drop_off_values_content(values: Sequence[Any], reading: Sequence[Any] | None) -> dict[str, Any]:
    """A drop-off row's content (everything except its own hash) from its values in
    ``DROP_OFF_CONTENT_COLUMNS`` order and its reading's, or ``None`` without one.

    ``corrects_id`` (migration 0006) is named only when the row has one: rows from
    before it keep their hashes, and a correction's link to its original is covered
    (setting, changing or clearing it afterwards breaks the chain).
    """
    content = dict(zip(DROP_OFF_CONTENT_COLUMNS, values, strict=True))
    if content["corrects_id"] is None:
        del content["corrects_id"]
    content["table"] = "drop_off"
    content["recorded_at"] = stored_utc_text(content["recorded_at"])
    content["reading"] = None if reading is None else reading_values_content(reading)
    return content


def audit_values_content(values: Sequence[Any]) -> dict[str, Any]:
    """An audit entry's content from its values in ``AUDIT_CONTENT_COLUMNS`` order."""
    content = dict(zip(AUDIT_CONTENT_COLUMNS, values, strict=True))
    content["table"] = "audit_entry"
    content["at"] = stored_utc_text(content["at"])
    return content


def reading_content(reading: CapturedReading) -> dict[str, Any]:
    return reading_values_content([getattr(reading, c) for c in READING_CONTENT_COLUMNS])


def drop_off_content(drop_off: DropOff, reading: CapturedReading | None) -> dict[str, Any]:
    """Everything a drop-off row says, except its own hash."""
    return drop_off_values_content(
        [getattr(drop_off, c) for c in DROP_OFF_CONTENT_COLUMNS],
        None if reading is None else [getattr(reading, c) for c in READING_CONTENT_COLUMNS],
    )


def audit_content(entry: AuditEntry) -> dict[str, Any]:
    """Everything an audit entry says, except its own hash."""
    return audit_values_content([getattr(entry, c) for c in AUDIT_CONTENT_COLUMNS])


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
