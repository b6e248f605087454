"""A drop-off as the counter records it from a stable comma-protocol reading, for tests
that need records in a real database (one place instead of a copy per test file)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from db.writes import NewDropOff, NewReading

AT = datetime(2024, 5, 14, 10, 0, tzinfo=UTC)


def scale_drop_off(
    grams: int = 12340, *, station_id: str = "MS01", received_at: datetime = AT
) -> NewDropOff:
    """A recycling drop-off of metals weighing ``grams``, from the scale."""
    kilograms = Decimal(grams).scaleb(-3)
    return NewDropOff(
        station_id=station_id,
        classification="recycling",
        category_code="metaal",
        category_name="Metalen",
        eural_code="20 01 40",
        weight_grams=grams,
        weight_source="scale",
        operator="balie",
        reading=NewReading(
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
        ),
    )
