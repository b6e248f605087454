"""The counter service: record a classified, weighed drop-off, and today's view.

A record is acknowledged only after its transaction committed (``db.records``): the
drop-off, its captured reading, audit entry, print job and outbox row in one go.
Printing happens after, from the queue, so a jammed printer never delays a record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from counter_app.catalogue import CatalogueEntry
from drivers.scale.reading import Reading

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from counter_app.config import Config
    from db.records import DayTotals, RecordedDropOff

LOCAL_TZ = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True, slots=True)
class TodayView:
    drop_offs: list[RecordedDropOff]
    totals: DayTotals


class CounterService:
    def __init__(self, config: Config, engine: Engine, *, port: str = "") -> None:
        self._config = config
        self._engine = engine
        self._port = port

    @classmethod
    def open(cls, config: Config) -> CounterService:
        """Open (and migrate) the configured database; raises ``DatabaseError``."""
        from db.engine import open_database

        return cls(config, open_database(config.database_path()))

    @property
    def engine(self) -> Engine:
        return self._engine

    def record(self, entry: CatalogueEntry, reading: Reading) -> RecordedDropOff:
        """Record a drop-off weighed on the scale; raises if it was not stored."""
        from db.records import NewDropOff, NewReading, record_drop_off

        grams = reading.grams
        if grams is None or reading.weight is None or reading.unit is None:
            raise ValueError("reading has no weight")
        new = NewDropOff(
            station_id=self._config.station.id,
            classification=entry.classification,
            category_code=entry.code,
            category_name=entry.name(self._config.language),
            eural_code=entry.eural_code,
            weight_grams=grams,
            weight_source="scale",
            operator=self._config.station.operator,
            reading=NewReading(
                weight=reading.weight,
                unit=reading.unit,
                grams=grams,
                stable=bool(reading.stable),
                net=reading.net,
                tare=reading.tare,
                raw_frame=reading.raw,
                received_at=reading.received_at or datetime.now(UTC),
                protocol=self._config.scale.protocol,
                port=self._port or self._config.scale.port,
            ),
        )
        return record_drop_off(self._engine, new)

    def today(self, day: date | None = None) -> TodayView:
        from db.records import day_bounds, drop_offs_between, totals_for_day

        day = day or datetime.now(LOCAL_TZ).date()
        start, end = day_bounds(day, LOCAL_TZ)
        return TodayView(
            drop_offs=drop_offs_between(self._engine, start, end),
            totals=totals_for_day(self._engine, day, LOCAL_TZ),
        )

    def queue_reprint(self, drop_off_id: str) -> str:
        from db.printjobs import queue_reprint

        return queue_reprint(self._engine, drop_off_id, self._config.station.operator)
