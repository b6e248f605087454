"""The station's last drop-off, as the counter needs it when it starts.

One load, one record across a restart: a weight equal to the last record's, weighed
again within minutes of it, may be the same load recorded just before a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import col

from db.engine import read_session
from db.models import CapturedReading, DropOff
from db.queries import not_a_void


@dataclass(frozen=True, slots=True)
class LastDropOff:
    label_code: str
    weight_grams: int
    #: When its load was weighed: for a correction weighed again, its reading's time.
    recorded_at: datetime


def last_drop_off(engine: Engine, station_id: str) -> LastDropOff | None:
    """The station's newest drop-off that stands (not voided); ``None`` if none."""
    void = aliased(DropOff)
    voided = exists().where(col(void.voids_id) == col(DropOff.id))
    query = (
        select(DropOff)
        .where(
            col(DropOff.station_id) == station_id,
            not_a_void(),
            ~voided,
        )
        .order_by(col(DropOff.chain_seq).desc())
        .limit(1)
    )
    with read_session(engine) as session:
        row = session.scalars(query).first()
        if row is None or row.label_code is None:
            return None
        weighed_at = row.recorded_at
        if row.corrects_id is not None and row.reading_id is not None:
            # A correction keeps its original's time (its kilograms stay on that day),
            # but a load weighed again lay on the scale when its reading came.
            reading = session.get(CapturedReading, row.reading_id)
            if reading is not None and reading.received_at > weighed_at:
                weighed_at = reading.received_at
    return LastDropOff(row.label_code, row.weight_grams, weighed_at)
