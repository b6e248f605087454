"""The indicator reading a drop-off weighed on the scale stores beside it.

One builder for both writes that keep a reading: recording a drop-off
(``services.counter``) and weighing it again for a correction
(``services.corrections``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from counter_app.config import ScaleConfig
    from db.writes import NewReading
    from drivers.scale.reading import Reading


def captured_reading(reading: Reading, scale: ScaleConfig) -> NewReading:
    """``reading`` as the ``captured_reading`` row stores it, with the protocol and
    port of ``scale`` it came in on. Raises ``ValueError`` for a reading without a
    weight (the scale refuses to capture one)."""
    from db.writes import NewReading

    if reading.grams is None or reading.weight is None or reading.unit is None:
        raise ValueError("reading has no weight")
    return NewReading(
        weight=reading.weight,
        unit=reading.unit,
        grams=reading.grams,
        stable=bool(reading.stable),
        net=reading.net,
        tare=reading.tare,
        raw_frame=reading.raw,
        received_at=reading.received_at or datetime.now(UTC),
        protocol=scale.protocol,
        port=scale.port,
    )
