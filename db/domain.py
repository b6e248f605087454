"""The words the records are written in, and the station's time zone.

Each enumeration is the closed set of values one column may hold; the CHECK
constraints in ``db.models`` are generated from them, in this order. They are
``StrEnum``s, so a member is its stored text (``Classification.REUSE == "reuse"``)
and a value read back from the database compares equal without conversion.

This module imports nothing but the standard library: the counter's screens use
these names at their first paint, before SQLAlchemy is loaded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

#: The station's time zone: a counter day runs from midnight to midnight here, and
#: every time a person reads (screen, label, slip, export) is shown in it.
STATION_TZ: Final = ZoneInfo("Europe/Amsterdam")


class Classification(StrEnum):
    """What becomes of a drop-off: the three kinds of circular work the counter counts."""

    REUSE = "reuse"
    REPAIR = "repair"
    RECYCLING = "recycling"


class WeightSource(StrEnum):
    """Where a drop-off's weight came from."""

    SCALE = "scale"  # a stable reading of the indicator
    DIFFERENCE = "difference"  # weigh-in minus weigh-out
    MANUAL = "manual"  # typed in, with a reason


class DocumentKind(StrEnum):
    """What a print job prints."""

    ITEM_LABEL = "item_label"
    TOTALS_SLIP = "totals_slip"
    TEST_PAGE = "test_page"


class PrintJobStatus(StrEnum):
    """Where a print job is: waiting (``QUEUED``, ``FAILED``) or done."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: A job in one of these still waits to be sent (a failed one is tried again).
PENDING_STATUSES: Final[tuple[PrintJobStatus, ...]] = (PrintJobStatus.QUEUED, PrintJobStatus.FAILED)


class CopyMarker(StrEnum):
    """Why a document is printed again; the word goes on top of the paper."""

    REPRINT = "reprint"  # asked for by the attendant
    DUPLICATE = "duplicate"  # the first copy may have come out


__all__ = [
    "PENDING_STATUSES",
    "STATION_TZ",
    "Classification",
    "CopyMarker",
    "DocumentKind",
    "PrintJobStatus",
    "WeightSource",
]


def utc_now(now: datetime | None = None) -> datetime:
    """``now`` (which must be timezone-aware) or the current time, in UTC."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"time without a timezone: {now!r}")
    return now.astimezone(UTC)


# 2024-03-31T00:59:59.123456+00:00: always 32 characters, so text order is time order.
_UTC_TEXT_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"


def format_utc(moment: datetime) -> str:
    """The stored text of an aware datetime: UTC, microseconds, explicit offset (how
    ``db.models.UtcDateTime`` stores it on SQLite, and what a plain ``sqlite3`` query
    compares stored times with)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a time without a timezone cannot be stored: {moment!r}")
    return moment.astimezone(UTC).strftime(_UTC_TEXT_FORMAT)
