"""Voiding and correcting a drop-off: the rules, shared by the counter and the command line.

A void takes a drop-off out of the day's kilograms (it stays listed, voided); a
correction voids it and records the drop-off that replaces it, with a new label
number, the new classification and category or the new weight, in one transaction
(``db.writes.correct_drop_off``); its label is printed marked as a correction.

Every call answers with a typed outcome: :class:`Voided`, :class:`Corrected` or
:class:`CorrectionRefused` with a reason (:class:`CorrectionRefusal`, or the scale's
:class:`~counter_app.services.scale.CaptureRefusal` when a weight taken again was not
stable and positive). Nothing is recorded on a refusal. :func:`refusal_words` puts
one into the configured language for the screen and the command line alike.
Unexpected database failures (a locked or full database) are raised, as by a capture:
nothing was stored then either.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from counter_app.catalogue import CatalogueEntry
from counter_app.services.captured_reading import captured_reading
from counter_app.services.scale import CaptureRefusal
from counter_app.services.typed_weight import ManualWeightProblem, read_manual_weight
from db.domain import WeightSource

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from counter_app.config import Config
    from counter_app.i18n import Messages
    from db.queries import RecordedDropOff
    from db.writes import VoidRecord
    from drivers.scale.reading import Reading


class CorrectionRefusal(enum.Enum):
    """Why a void or correction records nothing (besides the scale's reasons)."""

    #: The database is not open (yet, or it failed to open).
    NOT_OPEN = "not_open"
    #: No drop-off has that label code (or id).
    UNKNOWN_LABEL = "unknown_label"
    #: The drop-off was voided already: nothing to void or correct.
    ALREADY_VOIDED = "already_voided"
    #: The drop-off was corrected: its correction stands in its place.
    ALREADY_CORRECTED = "already_corrected"
    #: A void or correction needs a reason.
    EMPTY_REASON = "empty_reason"
    #: The correction would change neither the category nor the weight.
    NOTHING_CHANGED = "nothing_changed"
    #: Weighed again: the scale's weight is no longer the one the attendant was shown.
    WEIGHT_CHANGED = "weight_changed"
    #: A typed weight that is not a number ("12,5" and "12.5" are).
    WEIGHT_NOT_A_NUMBER = "weight_not_a_number"
    #: A typed weight of zero or less.
    WEIGHT_NOT_POSITIVE = "weight_not_positive"
    #: A typed weight above the scale's capacity (``[scale] capacity_kg``).
    WEIGHT_TOO_HIGH = "weight_too_high"
    #: A typed weight finer than a gram.
    WEIGHT_TOO_FINE = "weight_too_fine"


#: Every reason a void or correction is refused for.
CorrectionRefusalReason = CorrectionRefusal | CaptureRefusal


@dataclass(frozen=True, slots=True)
class Voided:
    """The void is committed; ``drop_off`` is the record as it stood before."""

    drop_off: RecordedDropOff
    void: VoidRecord


@dataclass(frozen=True, slots=True)
class Corrected:
    """The correction is committed: ``original`` is voided, ``correction`` replaces it
    (its label waits in the print queue)."""

    original: RecordedDropOff
    correction: RecordedDropOff


@dataclass(frozen=True, slots=True)
class CorrectionRefused:
    """Nothing was recorded, for ``reason``. ``label_code`` is the drop-off asked
    for (or the text typed); ``other_label_code`` the correction that replaced it
    (:attr:`CorrectionRefusal.ALREADY_CORRECTED`); ``limit`` the capacity a typed
    weight went over."""

    reason: CorrectionRefusalReason
    label_code: str = ""
    other_label_code: str = ""
    limit: Decimal | None = None


VoidOutcome = Voided | CorrectionRefused
CorrectOutcome = Corrected | CorrectionRefused

_GRAM = Decimal("0.001")


#: A typed weight's problem as a correction's refusal (the same sentences' subjects).
_TYPED_WEIGHT_REFUSALS: dict[ManualWeightProblem, CorrectionRefusal] = {
    ManualWeightProblem.NOT_A_NUMBER: CorrectionRefusal.WEIGHT_NOT_A_NUMBER,
    ManualWeightProblem.ZERO: CorrectionRefusal.WEIGHT_NOT_POSITIVE,
    ManualWeightProblem.NEGATIVE: CorrectionRefusal.WEIGHT_NOT_POSITIVE,
    ManualWeightProblem.OVER_CAPACITY: CorrectionRefusal.WEIGHT_TOO_HIGH,
    ManualWeightProblem.TOO_FINE: CorrectionRefusal.WEIGHT_TOO_FINE,
}


class CorrectionService:
    """Voids and corrections for one station's counter or the supervisor's command line.

    ``engine`` gives the open database (``None`` while it is not open); ``operator`` is
    the role written with each void and correction; ``wake_printer`` is called after a
    correction queued its label.
    """

    def __init__(
        self,
        config: Config,
        engine: Callable[[], Engine | None],
        *,
        operator: str | None = None,
        wake_printer: Callable[[], None] | None = None,
    ) -> None:
        self._config = config
        self._engine = engine
        self._operator = operator or config.station.operator
        self._wake_printer = wake_printer

    # -- finding the drop-off --------------------------------------------------------------

    def find(self, label_or_id: str) -> RecordedDropOff | None:
        """The drop-off with this label code (``MS01-000123``) or id; ``None`` if none.
        Blocks on the database."""
        from db.queries import RecordNotFound, drop_off_by_id, drop_off_by_label_code

        engine = self._engine()
        text = label_or_id.strip()
        if engine is None or not text:
            return None
        for lookup in (drop_off_by_label_code, drop_off_by_id):
            try:
                return lookup(engine, text)
            except RecordNotFound:
                continue
        return None

    # -- void ------------------------------------------------------------------------------

    def void(self, label_or_id: str, reason: str) -> VoidOutcome:
        """Void the drop-off: it stays listed, struck through, and leaves the totals."""
        from db.queries import RecordNotFound
        from db.writes import void_drop_off

        found = self._standing(label_or_id, reason)
        if isinstance(found, CorrectionRefused):
            return found
        engine = self._engine()
        assert engine is not None  # _standing refuses without one
        try:
            void = void_drop_off(engine, found.id, self._operator, reason.strip())
        except RecordNotFound:
            return CorrectionRefused(CorrectionRefusal.UNKNOWN_LABEL, label_or_id.strip())
        except ValueError as exc:
            return _refusal_of(exc, found.label_code)
        return Voided(found, void)

    # -- correct ---------------------------------------------------------------------------

    def correct(
        self,
        label_or_id: str,
        *,
        reason: str,
        entry: CatalogueEntry | None = None,
        reading: Reading | None = None,
        manual_kg: Decimal | str | None = None,
    ) -> CorrectOutcome:
        """Void the drop-off and record its replacement with ``entry`` (the new
        classification and category) and/or a new weight: ``reading``, a stable
        positive reading of the scale, or ``manual_kg``, typed by a person (``"12,5"``),
        recorded as a manual weight with ``reason``."""
        from db.queries import RecordNotFound
        from db.writes import NewCategory, NewWeight, correct_drop_off

        weight: NewWeight | None = None
        if manual_kg is not None:
            typed = self.manual_grams(manual_kg)
            if isinstance(typed, CorrectionRefused):
                return typed
            weight = NewWeight(typed, WeightSource.MANUAL, None)
        elif reading is not None:
            if reading.grams is None or reading.grams <= 0 or not reading.stable:
                return CorrectionRefused(_unfit_reading(reading), label_or_id.strip())
            weight = NewWeight(
                reading.grams, WeightSource.SCALE, captured_reading(reading, self._config.scale)
            )
        found = self._standing(label_or_id, reason)
        if isinstance(found, CorrectionRefused):
            return found
        category = (
            None
            if entry is None
            else NewCategory(
                entry.classification,
                entry.code,
                entry.name(self._config.language),
                entry.eural_code,
            )
        )
        engine = self._engine()
        assert engine is not None  # _standing refuses without one
        try:
            done = correct_drop_off(
                engine,
                found.id,
                self._operator,
                reason.strip(),
                category=category,
                weight=weight,
            )
        except RecordNotFound:
            return CorrectionRefused(CorrectionRefusal.UNKNOWN_LABEL, label_or_id.strip())
        except ValueError as exc:
            return _refusal_of(exc, found.label_code)
        if self._wake_printer is not None:
            self._wake_printer()
        return Corrected(found, done.correction)

    def manual_grams(self, kg: Decimal | str) -> int | CorrectionRefused:
        """A typed weight in grams, or why it cannot be recorded: not a number, zero or
        less, above ``[scale] capacity_kg``, or finer than a gram (read as the counter
        reads a manual weight: :func:`read_manual_weight`)."""
        text = kg if isinstance(kg, str) else format(kg, "f") if kg.is_finite() else "x"
        capacity = self._config.scale.capacity_kg
        grams = read_manual_weight(text, capacity)
        if isinstance(grams, int):
            return grams
        refusal = _TYPED_WEIGHT_REFUSALS[grams]
        limit = capacity if refusal is CorrectionRefusal.WEIGHT_TOO_HIGH else None
        return CorrectionRefused(refusal, str(kg), limit=limit)

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def refusal_for(drop_off: RecordedDropOff) -> CorrectionRefused | None:
        """Why ``drop_off``, as it was last read, cannot be voided or corrected; ``None``
        when it can (the write transaction checks again)."""
        if not drop_off.voided:
            return None
        if drop_off.corrected_by_label_code:
            return CorrectionRefused(
                CorrectionRefusal.ALREADY_CORRECTED,
                drop_off.label_code,
                drop_off.corrected_by_label_code,
            )
        return CorrectionRefused(CorrectionRefusal.ALREADY_VOIDED, drop_off.label_code)

    def _standing(self, label_or_id: str, reason: str) -> RecordedDropOff | CorrectionRefused:
        """The drop-off if it can be voided or corrected, else why not (checked again
        inside the write transaction)."""
        asked = label_or_id.strip()
        if self._engine() is None:
            return CorrectionRefused(CorrectionRefusal.NOT_OPEN, asked)
        if not reason or not reason.strip():
            return CorrectionRefused(CorrectionRefusal.EMPTY_REASON, asked)
        found = self.find(asked)
        if found is None:
            return CorrectionRefused(CorrectionRefusal.UNKNOWN_LABEL, asked)
        return self.refusal_for(found) or found


def _unfit_reading(reading: Reading) -> CaptureRefusal:
    if reading.grams is None:
        return CaptureRefusal.UNIT
    if reading.grams < 0:
        return CaptureRefusal.NEGATIVE
    if reading.grams == 0:
        return CaptureRefusal.ZERO
    return CaptureRefusal.MOTION


def _refusal_of(error: ValueError, label_code: str) -> CorrectionRefused:
    """A refusal by the write transaction itself (another counter voided or corrected
    the drop-off since it was looked up)."""
    from db.writes import DropOffCorrected, DropOffVoided, NothingToCorrect

    if isinstance(error, DropOffCorrected):
        return CorrectionRefused(
            CorrectionRefusal.ALREADY_CORRECTED, label_code, error.corrected_by
        )
    if isinstance(error, DropOffVoided):
        return CorrectionRefused(CorrectionRefusal.ALREADY_VOIDED, label_code)
    if isinstance(error, NothingToCorrect):
        return CorrectionRefused(CorrectionRefusal.NOTHING_CHANGED, label_code)
    raise error


def refusal_words(refused: CorrectionRefused, messages: Messages, language: str) -> str:
    """A refusal in the configured language."""
    from counter_app.i18n import format_kg

    reason = refused.reason
    if isinstance(reason, CaptureRefusal):
        return messages.t(f"capture.{reason.value}")
    limit = ""
    if refused.limit is not None:
        limit = format_kg(int(refused.limit / _GRAM), language)
    return messages.t(
        f"correction.refused.{reason.value}",
        label_code=refused.label_code,
        text=refused.label_code,
        other=refused.other_label_code,
        limit=limit,
    )
