"""A drop-off as the counter records it from a stable comma-protocol reading, for tests
and benchmarks that need records in a real database (one place instead of a copy per
file)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from db.domain import Classification
from db.writes import NewCategory, NewDropOff, NewReading

AT = datetime(2024, 5, 14, 10, 0, tzinfo=UTC)

METALS = NewCategory(Classification.RECYCLING, "metaal", "Metalen", "20 01 40")


def scale_reading(grams: int = 12340, *, received_at: datetime = AT) -> NewReading:
    """The stable gross reading of ``grams`` the comma protocol gives, as captured."""
    kilograms = Decimal(grams).scaleb(-3)
    return NewReading(
        weight=kilograms,
        unit="kg",
        grams=grams,
        stable=True,
        net=False,
        tare=None,
        raw_frame=f"ST,GS,+{kilograms:.3f}kg\r\n".encode("ascii"),
        received_at=received_at,
        protocol="comma",
        port="sim",
    )


def scale_drop_off(
    grams: int = 12340,
    *,
    station_id: str = "MS01",
    received_at: datetime = AT,
    category: NewCategory = METALS,
) -> NewDropOff:
    """A drop-off of ``category`` (metals unless told) weighing ``grams``, from the
    scale."""
    return NewDropOff(
        station_id=station_id,
        classification=category.classification,
        category_code=category.code,
        category_name=category.name,
        eural_code=category.eural_code,
        weight_grams=grams,
        weight_source="scale",
        operator="balie",
        reading=scale_reading(grams, received_at=received_at),
    )


#: The tables a drop-off writes to.
RECORD_TABLES = (
    "captured_reading",
    "drop_off",
    "audit_entry",
    "print_job",
    "outbox_entry",
    "label_sequence",
)


def count_rows(path: Path) -> dict[str, int]:
    """The number of rows in each of :data:`RECORD_TABLES` of the database at ``path``."""
    with sqlite3.connect(path) as connection:
        return {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in RECORD_TABLES
        }
