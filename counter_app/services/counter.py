"""The counter service: the counter's workflow, from Enter to a committed record.

:meth:`CounterService.capture` is the whole rule of the counter in one call: a weight
is recorded only when a category is chosen, the database is open, the scale gives a
stable, positive reading in a known unit and the load was not recorded already (one
load, one record; across a restart the attendant confirms first). Then it records the
drop-off, holds the scale until the load changes and wakes the print queue. Its answer
is typed: :class:`Recorded`, :class:`Refused` (a reason and the scale as it was) or
:class:`NeedsConfirmation` (the record it may repeat; :meth:`CounterService.confirm_repeat`
records after a yes). A screen asks and shows; it holds no rule.

A record is acknowledged only after its transaction committed (``db.writes``): the
drop-off, its captured reading, audit entry, print job and outbox row in one go.
Printing happens after, from the queue, so a jammed printer never delays a record.

Enter while the load still moves arms the capture (:class:`Waiting`): the service
records by itself the moment the reading is stable and positive (:meth:`CounterService.settle`,
which the screen calls as the scale changes), or drops it after ``[counter]
settle_seconds`` (:class:`Dropped`). The same rule decides as for Enter, so one load is
still one record and the repeat question still comes.

A weight typed in by hand (:meth:`CounterService.record_manual`, when the site allows
it) is recorded as ``manual`` with its reason; its text is read by
:func:`read_manual_weight`, never through a float.

Voids and corrections (:meth:`CounterService.void`, :meth:`CounterService.correct`)
follow the rules of ``counter_app.services.corrections``, shared with the command line.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from counter_app.catalogue import CatalogueEntry
from counter_app.services.captured_reading import captured_reading
from counter_app.services.corrections import (
    Corrected,
    CorrectionRefusal,
    CorrectionRefused,
    CorrectionService,
    CorrectOutcome,
    VoidOutcome,
)
from counter_app.services.scale import CaptureRefusal, ScaleService, ScaleSnapshot
from counter_app.services.typed_weight import ManualWeightProblem, read_manual_weight
from db.domain import STATION_TZ, WeightSource
from drivers.scale.reading import Reading

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from counter_app.config import Config
    from counter_app.services.printing import PrintService
    from db.queries import DayTotals as DayTotals
    from db.queries import RecordedDropOff as RecordedDropOff
    from db.recent import LastDropOff as LastDropOff
    from db.writes import NewDropOff, NewReading


class CounterRefusal(enum.Enum):
    """Why the counter records nothing, where the scale is not the reason
    (the scale's reasons are :class:`CaptureRefusal`)."""

    #: No classification and category chosen yet.
    NOTHING_CHOSEN = "nothing_chosen"
    #: The database is not open yet.
    NOT_OPEN = "not_open"
    #: The database failed to open: nothing can be recorded until it is fixed
    #: (:attr:`CounterService.open_failure` says why).
    UNAVAILABLE = "unavailable"


#: Every reason a capture is refused for.
RefusalReason = CaptureRefusal | CounterRefusal


@dataclass(frozen=True, slots=True)
class Recorded:
    """The drop-off is committed; its label waits in the print queue."""

    drop_off: RecordedDropOff


@dataclass(frozen=True, slots=True)
class Refused:
    """Nothing was recorded, for ``reason``; ``snapshot`` is the scale as it was then
    (``None`` when the scale was not asked)."""

    reason: RefusalReason
    snapshot: ScaleSnapshot | None = None


@dataclass(frozen=True, slots=True)
class NeedsConfirmation:
    """The weight may be ``previous``, recorded before this start: nothing was
    recorded; after the attendant's yes, :meth:`CounterService.confirm_repeat`."""

    previous: LastDropOff
    reading: Reading


@dataclass(frozen=True, slots=True)
class Waiting:
    """Nothing recorded yet: the load moves. The capture is armed for ``entry``: it is
    made by :meth:`CounterService.settle` once the reading is stable and positive,
    or dropped after ``seconds``."""

    entry: CatalogueEntry
    seconds: int
    snapshot: ScaleSnapshot | None = None


@dataclass(frozen=True, slots=True)
class Dropped:
    """The armed capture found no stable, positive weight in time: nothing was
    recorded; ``reason`` is why the scale refused it last."""

    reason: RefusalReason


CaptureOutcome = Recorded | Refused | NeedsConfirmation | Waiting | Dropped


@dataclass(frozen=True, slots=True)
class ManualRefused:
    """A typed weight that was not recorded, for ``problem``."""

    problem: ManualWeightProblem


@dataclass(frozen=True, slots=True)
class _Armed:
    entry: CatalogueEntry
    repeat_confirmed: bool
    #: On the scale service's clock (:meth:`ScaleService.now_ms`).
    deadline_ms: int


@dataclass(frozen=True, slots=True)
class TodayView:
    drop_offs: list[RecordedDropOff]
    totals: DayTotals


class CounterService:
    """The counter's workflow over the scale, the database and the print queue.

    It exists from the counter's first moment; :meth:`open` opens the database (it
    blocks: call it from a worker) and until then every capture is refused with
    :attr:`CounterRefusal.NOT_OPEN`. :meth:`attach_printer` gives it the print queue
    to wake after a record (a job queued before that is sent when the queue starts).
    """

    def __init__(self, config: Config, scale: ScaleService) -> None:
        self._config = config
        self._scale = scale
        self._engine: Engine | None = None
        self._printer: PrintService | None = None
        # One capture at a time from the check to the scale's hold: two at once
        # could both find the load unrecorded and record it twice.
        self._capture_lock = threading.Lock()
        # One load, one record across a restart: the scale service's lock lives in
        # memory only, so the last record from before this start is kept to ask about
        # (see recorded_before), until this session records one itself.
        self._before_start: LastDropOff | None = None
        #: Why the database could not be opened; ``None`` while it opens or is open.
        self.open_failure: Exception | None = None
        # The armed capture (Enter while the load moved), until it records or drops.
        self._armed: _Armed | None = None
        self._corrections = CorrectionService(
            config, lambda: self._engine, wake_printer=self._wake_printer
        )

    def _wake_printer(self) -> None:
        if self._printer is not None:
            self._printer.wake()

    def open(self, engine: Engine | None = None) -> None:
        """Open (and migrate) the configured database, or use ``engine``; raises
        ``DatabaseError``. Blocks: not on the UI thread."""
        from db.engine import open_database
        from db.recent import last_drop_off

        try:
            engine = engine or open_database(self._config.database_path())
            self._before_start = last_drop_off(engine, self._config.station.id)
        except Exception as exc:
            # Said once at start; every capture after says it again, instead of
            # "not open yet" forever.
            self.open_failure = exc
            raise
        self.open_failure = None
        self._engine = engine

    @property
    def is_open(self) -> bool:
        return self._engine is not None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the counter's database is not open")
        return self._engine

    def attach_printer(self, printer: PrintService) -> None:
        """The print queue to wake after each record and reprint."""
        self._printer = printer

    @property
    def printer(self) -> PrintService | None:
        return self._printer

    # -- the capture ---------------------------------------------------------------------

    def check(
        self, entry: CatalogueEntry | None, *, repeat_confirmed: bool = False
    ) -> Refused | NeedsConfirmation | None:
        """What :meth:`capture` would answer now, without writing anything; ``None``
        when it would record. Quick (no database): the screen asks it on every key
        and scale change, and runs :meth:`capture` itself in a worker."""
        found = self._assess(entry, repeat_confirmed)
        return None if isinstance(found, Reading) else found

    def capture(
        self, entry: CatalogueEntry | None, *, repeat_confirmed: bool = False
    ) -> CaptureOutcome:
        """Capture the scale's weight for ``entry`` and record it; see the module.

        Blocks on the database: not on the UI thread. Raises when the database refused
        the record: then nothing is acknowledged and the load may be captured again.
        """
        with self._capture_lock:
            self._armed = None
            found = self._assess(entry, repeat_confirmed)
            if isinstance(found, Refused) and found.reason is CaptureRefusal.MOTION:
                assert entry is not None  # _assess refuses without one first
                return self._arm(entry, repeat_confirmed, found.snapshot)
            if not isinstance(found, Reading):
                return found
            assert entry is not None  # _assess refuses without one
            drop_off = self._record_weighed(entry, found)
        return Recorded(drop_off)

    def arm(self, entry: CatalogueEntry, *, repeat_confirmed: bool = False) -> Waiting | None:
        """Arm the capture while the load moves (quick: it never records); ``None``
        when the load is no longer moving, for the caller to record in a worker."""
        with self._capture_lock:
            found = self._assess(entry, repeat_confirmed)
            if isinstance(found, Refused) and found.reason is CaptureRefusal.MOTION:
                self._armed = None
                return self._arm(entry, repeat_confirmed, found.snapshot)
        return None

    def _record_weighed(self, entry: CatalogueEntry, reading: Reading) -> RecordedDropOff:
        # Under the capture lock: from the record to the scale's hold nothing else
        # may capture.
        drop_off = self.record(entry, reading)
        self._scale.mark_recorded(reading, drop_off.id)
        if self._printer is not None:
            self._printer.wake()
        return drop_off

    # -- capture on settle ----------------------------------------------------------------

    def _arm(
        self, entry: CatalogueEntry, repeat_confirmed: bool, snapshot: ScaleSnapshot | None
    ) -> Waiting:
        seconds = self._config.counter.settle_seconds
        deadline = self._scale.now_ms() + seconds * 1000
        self._armed = _Armed(entry, repeat_confirmed, deadline)
        return Waiting(entry, seconds, snapshot)

    @property
    def armed(self) -> CatalogueEntry | None:
        """The entry of the armed capture (waiting for the load to settle), if any."""
        armed = self._armed
        return None if armed is None else armed.entry

    def cancel_armed(self) -> bool:
        """Drop the armed capture (Esc); True when one was armed."""
        with self._capture_lock:
            was_armed = self._armed is not None
            self._armed = None
        return was_armed

    def settle_due(self) -> bool:
        """True when :meth:`settle` would do more than wait: the reading is stable and
        positive (record, or ask first) or the time is up. Quick (no database): the
        screen asks it on every scale change and runs :meth:`settle` in a worker."""
        armed = self._armed
        if armed is None:
            return False
        if self._scale.now_ms() >= armed.deadline_ms:
            return True
        return not isinstance(self._assess(armed.entry, armed.repeat_confirmed), Refused)

    def settle(self) -> CaptureOutcome | None:
        """The armed capture, now: :class:`Recorded` (or :class:`NeedsConfirmation`)
        once the reading is stable and positive, :class:`Dropped` when its time is up,
        else :class:`Waiting` still; ``None`` when nothing is armed.

        Blocks on the database when it records: not on the UI thread. Raises as
        :meth:`capture` does; the capture is no longer armed then.
        """
        with self._capture_lock:
            armed = self._armed
            if armed is None:
                return None
            found = self._assess(armed.entry, armed.repeat_confirmed)
            if isinstance(found, Refused):
                remaining_ms = armed.deadline_ms - self._scale.now_ms()
                if remaining_ms <= 0:
                    self._armed = None
                    return Dropped(found.reason)
                return Waiting(armed.entry, -(-remaining_ms // 1000), found.snapshot)
            self._armed = None
            if isinstance(found, NeedsConfirmation):
                return found
            drop_off = self._record_weighed(armed.entry, found)
        return Recorded(drop_off)

    def confirm_repeat(self, entry: CatalogueEntry | None) -> CaptureOutcome:
        """The attendant said yes to :class:`NeedsConfirmation`: capture again (the
        scale may have changed meanwhile) and record without asking."""
        return self.capture(entry, repeat_confirmed=True)

    def _assess(
        self, entry: CatalogueEntry | None, repeat_confirmed: bool
    ) -> Refused | NeedsConfirmation | Reading:
        if entry is None:
            return Refused(CounterRefusal.NOTHING_CHOSEN)
        if self._engine is None:
            if self.open_failure is not None:
                return Refused(CounterRefusal.UNAVAILABLE)
            return Refused(CounterRefusal.NOT_OPEN)
        capture = self._scale.capture()
        if capture.reading is None:
            assert capture.refusal is not None
            return Refused(capture.refusal, self._scale.snapshot())
        reading = capture.reading
        if not repeat_confirmed:
            previous = self.recorded_before(reading, self._scale.division_grams(reading))
            if previous is not None:
                return NeedsConfirmation(previous, reading)
        return reading

    def record(self, entry: CatalogueEntry, reading: Reading) -> RecordedDropOff:
        """Record a drop-off weighed on the scale; raises if it was not stored.

        The step of :meth:`capture` that writes: it checks no rule of the counter.
        """
        from db.writes import record_drop_off

        stored = captured_reading(reading, self._config.scale)
        new = self._new_drop_off(entry, stored.grams, WeightSource.SCALE, reading=stored)
        recorded = record_drop_off(self.engine, new)
        # From now on the scale service's own lock holds the load just recorded.
        self._before_start = None
        return recorded

    def _new_drop_off(
        self,
        entry: CatalogueEntry,
        grams: int,
        source: WeightSource,
        *,
        reading: NewReading | None = None,
        reason: str | None = None,
    ) -> NewDropOff:
        """A drop-off of ``entry`` weighing ``grams``, recorded at this station by its
        operator: weighed (with its ``reading``) or typed in (with its ``reason``)."""
        from db.writes import NewDropOff

        return NewDropOff(
            station_id=self._config.station.id,
            classification=entry.classification,
            category_code=entry.code,
            category_name=entry.name(self._config.language),
            eural_code=entry.eural_code,
            weight_grams=grams,
            weight_source=source,
            operator=self._config.station.operator,
            reading=reading,
            reason=reason,
        )

    def check_manual(self, weight_text: str, reason: str) -> ManualWeightProblem | None:
        """What :meth:`record_manual` would refuse the typed weight and reason for;
        ``None`` when they can be recorded. Quick: the screen asks before it closes."""
        if not self._config.manual_weight_allowed:
            return ManualWeightProblem.NOT_ALLOWED
        grams = read_manual_weight(weight_text, self._config.scale.capacity_kg)
        if isinstance(grams, ManualWeightProblem):
            return grams
        if not reason.strip():
            return ManualWeightProblem.NO_REASON
        return None

    def record_manual(
        self, entry: CatalogueEntry | None, weight_text: str, reason: str
    ) -> Recorded | Refused | ManualRefused:
        """Record a weight typed in by hand (``"12,5"`` kg) with its reason, marked
        ``manual``; only when ``[counter] manual_weight`` allows it. Blocks on the
        database: not on the UI thread. Raises when the database refused the record."""
        from db.writes import record_drop_off

        problem = self.check_manual(weight_text, reason)
        if problem is not None:
            return ManualRefused(problem)
        if entry is None:
            return Refused(CounterRefusal.NOTHING_CHOSEN)
        grams = read_manual_weight(weight_text, self._config.scale.capacity_kg)
        assert isinstance(grams, int)  # check_manual refused every other answer
        if self._engine is None:
            failed = self.open_failure is not None
            return Refused(CounterRefusal.UNAVAILABLE if failed else CounterRefusal.NOT_OPEN)
        new = self._new_drop_off(entry, grams, WeightSource.MANUAL, reason=reason.strip())
        with self._capture_lock:
            drop_off = record_drop_off(self.engine, new)
        if self._printer is not None:
            self._printer.wake()
        return Recorded(drop_off)

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

    # -- the day, and reprints -----------------------------------------------------------

    def today(self, day: date | None = None) -> TodayView:
        from db.queries import day_bounds, drop_offs_between, totals_for_day

        day = day or datetime.now(STATION_TZ).date()
        start, end = day_bounds(day, STATION_TZ)
        return TodayView(
            drop_offs=drop_offs_between(self.engine, start, end),
            totals=totals_for_day(self.engine, day, STATION_TZ),
        )

    def reprint(self, drop_off_id: str) -> str:
        """Queue a reprint of the drop-off's label (marked HERDRUK) and wake the print
        queue; the job's id. Raises ``ValueError`` for a voided drop-off."""
        from db.printjobs import queue_reprint

        job_id = queue_reprint(self.engine, drop_off_id, self._config.station.operator)
        if self._printer is not None:
            self._printer.wake()
        return job_id

    # -- voids and corrections -------------------------------------------------------------

    @property
    def corrections(self) -> CorrectionService:
        return self._corrections

    def void(self, label_or_id: str, reason: str) -> VoidOutcome:
        """Void a drop-off (see ``services.corrections``). Blocks on the database."""
        return self._corrections.void(label_or_id, reason)

    def weight_to_correct_with(self, drop_off_id: str) -> Reading | CaptureRefusal:
        """What weighing again for the drop-off ``drop_off_id`` would take now: the
        scale's stable, positive reading (also that drop-off's own load, still on the
        scale), or why there is none. Quick (no database)."""
        capture = self._scale.capture(recorded_load_of=drop_off_id)
        if capture.reading is not None:
            return capture.reading
        assert capture.refusal is not None
        return capture.refusal

    def correct(
        self,
        label_or_id: str,
        *,
        reason: str,
        entry: CatalogueEntry | None = None,
        weigh_again: bool = False,
        weighed_grams: int | None = None,
    ) -> CorrectOutcome:
        """Correct a drop-off: ``entry`` gives the new classification and category;
        ``weigh_again`` takes the scale's current stable, positive reading as its new
        weight (the load it replaces may still lie on the scale); ``weighed_grams``,
        the weight the attendant was shown, must still be the scale's, or nothing is
        recorded. Blocks on the database: not on the UI thread."""
        with self._capture_lock:
            reading: Reading | None = None
            if weigh_again:
                # Only the load of the record being corrected may be weighed again.
                target = self._corrections.find(label_or_id)
                capture = self._scale.capture(recorded_load_of=target.id if target else None)
                if capture.reading is None:
                    assert capture.refusal is not None
                    return CorrectionRefused(capture.refusal, label_or_id.strip())
                reading = capture.reading
                if weighed_grams is not None and reading.grams != weighed_grams:
                    return CorrectionRefused(CorrectionRefusal.WEIGHT_CHANGED, label_or_id.strip())
            outcome = self._corrections.correct(
                label_or_id, reason=reason, entry=entry, reading=reading
            )
            if reading is not None and isinstance(outcome, Corrected):
                # The load on the scale is recorded now, as the correction.
                self._scale.mark_recorded(reading, outcome.correction.id)
        return outcome
