"""The counter service: record a classified, weighed drop-off, and today's view.

A record is acknowledged only after its transaction committed (``db.records``): the
drop-off, its captured reading, audit entry, print job and outbox row in one go.
Printing happens after, from the queue, so a jammed printer never delays a record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from counter_app.catalogue import CatalogueEntry
from db.domain import STATION_TZ, WeightSource
from drivers.scale.reading import Reading

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from counter_app.config import Config
    from db.recent import LastDropOff
    from db.records import DayTotals, RecordedDropOff


@dataclass(frozen=True, slots=True)
class TodayView:
    drop_offs: list[RecordedDropOff]
    totals: DayTotals


class CounterService:
    def __init__(self, config: Config, engine: Engine, *, port: str = "") -> None:
        from db.recent import last_drop_off

        self._config = config
        self._engine = engine
        self._port = port
        # One load, one record across a restart: the scale service's lock lives in
        # memory only, so the last record from before this start is kept to ask about
        # (see recorded_before), until this session records one itself.
        self._before_start: LastDropOff | None = last_drop_off(engine, config.station.id)

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
            weight_source=WeightSource.SCALE,
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
        recorded = record_drop_off(self._engine, new)
        # From now on the scale service's own lock holds the load just recorded.
        self._before_start = None
        return recorded

    def recorded_before(
        self, reading: Reading, division_grams: int, *, now: datetime | None = None
    ) -> LastDropOff | None:
        """The record from before this start that ``reading`` may be the same load as.

        Before a crash a record can be committed yet not shown, and the scale service's
        one-load lock does not survive the restart. So, until this session records, a
        weight within one division of the station's last record, weighed within
        ``[scale] same_load_minutes`` of it, is that record: the attendant confirms
        before it is recorded again. ``None``: record as usual.
        """
        last = self._before_start
        minutes = self._config.scale.same_load_minutes
        grams = reading.grams
        if last is None or grams is None or minutes <= 0:
            return None
        age = (now or datetime.now(UTC)) - last.recorded_at
        if age > timedelta(minutes=minutes):
            return None
        if abs(grams - last.weight_grams) > max(1, division_grams):
            return None
        return last

    def today(self, day: date | None = None) -> TodayView:
        from db.records import day_bounds, drop_offs_between, totals_for_day

        day = day or datetime.now(STATION_TZ).date()
        start, end = day_bounds(day, STATION_TZ)
        return TodayView(
            drop_offs=drop_offs_between(self._engine, start, end),
            totals=totals_for_day(self._engine, day, STATION_TZ),
        )

    def queue_reprint(self, drop_off_id: str) -> str:
        from db.printjobs import queue_reprint

        return queue_reprint(self._engine, drop_off_id, self._config.station.operator)
