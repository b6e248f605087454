"""A day of drop-offs with the catalogue's longest names and weights over a thousand
kilograms, recorded into a real SQLite file in one go, before the counter starts.

The counter is then told that this day is today (``CounterApp.local_day``), so the
list always shows the same times and screenshots stay the same.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from drop_offs import scale_drop_off

from counter_app.catalogue import load_default_catalogue
from counter_app.ui.app import CounterApp
from db.engine import open_database
from db.writes import NewCategory, NewDropOff, record_drop_off

DAY = date(2024, 5, 14)

#: A site's own category with a name longer than any list column gives it.
LONG_NAME = "Elektrische en elektronische apparatuur, groot, zonder koelmiddel of olie"

#: (UTC time, classification, catalogue code, grams): newest last, as they were weighed.
#: The last one carries LONG_NAME instead of its catalogue name.
DROP_OFFS = (
    (datetime(2024, 5, 14, 7, 5, tzinfo=UTC), "recycling", "aeea", 1_234_560),
    (datetime(2024, 5, 14, 7, 40, tzinfo=UTC), "reuse", "huishoudelijk", 12_340),
    (datetime(2024, 5, 14, 8, 15, tzinfo=UTC), "recycling", "grof-rest", 1_234_560),
    (datetime(2024, 5, 14, 9, 20, tzinfo=UTC), "repair", "groot-elektrisch", 987_650),
    (datetime(2024, 5, 14, 10, 2, tzinfo=UTC), "recycling", "aeea-koel", 1_234_560),
    (datetime(2024, 5, 14, 10, 30, tzinfo=UTC), "recycling", "aeea", 1_234_560),
)


def record_busy_day(database: Path, language: str = "nl") -> list[NewDropOff]:
    """Record :data:`DROP_OFFS` into ``database`` as the counter records a scale
    weight (the same write, ``db.writes.record_drop_off``); what was recorded."""
    catalogue = load_default_catalogue()
    engine = open_database(database)
    recorded = []
    try:
        for number, (at, classification, code, grams) in enumerate(DROP_OFFS, start=1):
            entry = catalogue.find(classification, code)
            assert entry is not None, code
            name = LONG_NAME if number == len(DROP_OFFS) else entry.name(language)
            category = NewCategory(entry.classification, entry.code, name, entry.eural_code)
            new = scale_drop_off(grams, received_at=at, category=category)
            record_drop_off(engine, new, now=at)
            recorded.append(new)
    finally:
        engine.dispose()
    return recorded


def on_busy_day(app: CounterApp) -> CounterApp:
    """The counter, told that :data:`DAY` is today."""
    app.local_day = lambda: DAY  # type: ignore[method-assign]
    return app
