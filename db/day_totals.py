"""A local day's totals: the SQL that counts them, and what it gives, without SQLAlchemy.

One SQL text serves both readers: the counter runs it through its engine
(:func:`db.queries.totals_for_day`, for the screen and the totals slip) and
``counter totals`` through a plain ``sqlite3`` connection (:mod:`db.read_only`), which
spares the command the import of SQLAlchemy, many times the query's own time. Both
hand :func:`read_day_totals` their connection's ``execute``.

The day is read through the date index ``ix_drop_off_recorded_at``:
``tests/db/test_query_plans.py`` explains these statements on a database of a year.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from db.domain import STATION_TZ, Classification, format_utc

if TYPE_CHECKING:
    from db.read_only import Execute

SHARE_QUANTUM = Decimal("0.0001")

# Drop-offs of the day that are not voids: ``+drop_off.voids_id`` (unary +, SQLite's
# documented way to keep a term from choosing an index, https://www.sqlite.org/
# optoverview.html) keeps the planner off the unique index on voids_id, in which nearly
# every row is NULL; it would read the whole table instead of the day. A voided
# drop-off is one that a void row names (through that same index, by value).
_DAY_DROP_OFFS = (
    "FROM drop_off WHERE drop_off.recorded_at >= ? AND drop_off.recorded_at < ? "
    "AND +drop_off.voids_id IS NULL"
)
_VOIDED = "EXISTS (SELECT 1 FROM drop_off AS void WHERE void.voids_id = drop_off.id)"
_CATEGORY = (
    "drop_off.classification, drop_off.category_code, drop_off.category_name, drop_off.eural_code"
)

#: Grams and number per category of the day's drop-offs that count (not voided); the
#: parameters are the day's bounds as stored UTC text (:func:`day_parameters`).
CATEGORY_TOTALS_SQL = (
    f"SELECT {_CATEGORY}, sum(drop_off.weight_grams), count(*) "
    f"{_DAY_DROP_OFFS} AND NOT {_VOIDED} GROUP BY {_CATEGORY}"
)

#: How many of the day's drop-offs were voided (a corrected original is one of them).
VOIDED_COUNT_SQL = f"SELECT count(*) {_DAY_DROP_OFFS} AND {_VOIDED}"


@dataclass(frozen=True, slots=True)
class CategoryTotal:
    classification: Classification
    category_code: str
    category_name: str
    eural_code: str | None
    grams: int
    count: int


@dataclass(frozen=True, slots=True)
class DayTotals:
    """Totals of one local day; voided drop-offs and void rows are left out (so a
    corrected original is, and its correction counts in its place).

    ``grams_by_classification`` and ``count_by_classification`` have a key for every
    classification, 0 where there was nothing. ``categories`` is ordered reuse,
    repair, recycling, then heaviest first.
    """

    day: date
    grams_by_classification: dict[Classification, int]
    count_by_classification: dict[Classification, int]
    categories: tuple[CategoryTotal, ...]
    voided_count: int = 0

    @property
    def total_grams(self) -> int:
        return sum(self.grams_by_classification.values())

    @property
    def count(self) -> int:
        return sum(self.count_by_classification.values())

    def share(self, classification: Classification) -> Decimal | None:
        """The classification's part of the total weight (0.4567), None when nothing
        was weighed."""
        total = self.total_grams
        if total == 0:
            return None
        grams = Decimal(self.grams_by_classification.get(classification, 0))
        return (grams / Decimal(total)).quantize(SHARE_QUANTUM, rounding=ROUND_HALF_EVEN)

    @property
    def reuse_share(self) -> Decimal | None:
        return self.share(Classification.REUSE)


def day_bounds(day: date, tz: ZoneInfo = STATION_TZ) -> tuple[datetime, datetime]:
    """The UTC instants where the local ``day`` starts and the next one starts.

    A day is 23 or 25 hours long when the clocks change.
    """
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def day_parameters(day: date, tz: ZoneInfo = STATION_TZ) -> tuple[str, str]:
    """The day's bounds as the stored text they are compared with (``format_utc``)."""
    start, end = day_bounds(day, tz)
    return format_utc(start), format_utc(end)


def day_totals(day: date, categories: Iterable[Sequence[Any]], voided_count: int) -> DayTotals:
    """The :class:`DayTotals` of ``day`` from the rows of :data:`CATEGORY_TOTALS_SQL`."""
    found = [
        CategoryTotal(
            classification=Classification(classification),
            category_code=str(code),
            category_name=str(name),
            eural_code=eural,
            grams=int(grams),
            count=int(count),
        )
        for classification, code, name, eural, grams, count in categories
    ]
    order = {name: index for index, name in enumerate(Classification)}
    found.sort(key=lambda c: (order[c.classification], -c.grams, c.category_code))
    grams_by = dict.fromkeys(Classification, 0)
    count_by = dict.fromkeys(Classification, 0)
    for category in found:
        grams_by[category.classification] += category.grams
        count_by[category.classification] += category.count
    return DayTotals(
        day=day,
        grams_by_classification=grams_by,
        count_by_classification=count_by,
        categories=tuple(found),
        voided_count=voided_count,
    )


def read_day_totals(execute: Execute, day: date, tz: ZoneInfo = STATION_TZ) -> DayTotals:
    """Grams and counts per classification and per category/fraction of a local day,
    read by ``execute`` (both statements in the caller's one read transaction)."""
    parameters = day_parameters(day, tz)
    categories = execute(CATEGORY_TOTALS_SQL, parameters).fetchall()
    ((voided,),) = execute(VOIDED_COUNT_SQL, parameters).fetchall()
    return day_totals(day, categories, int(voided))
