"""The values a scale protocol produces.

A ``Reading`` is what one indicator frame said, exactly: the weight as a ``Decimal``
in the indicator's own unit (never a float), the flags it carried, and the raw frame.
Conversion to grams happens once, in :func:`to_grams`, with exact decimal arithmetic.

A weight no indicator can show (forty digits from a wrong pattern, more than the
scale's capacity) is not a weight: :func:`within_range` turns such a reading into a
bad frame (``error="range"``), and every protocol's readings pass through it (see
``drivers.scale.protocol.ScaleProtocol``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

ReadingKind = Literal["weight", "status", "error"]

# Exact factors to grams. The avoirdupois pound is defined as exactly 0.45359237 kg
# (international yard and pound agreement, 1959).
GRAMS_PER_UNIT: dict[str, Decimal] = {
    "g": Decimal(1),
    "kg": Decimal(1000),
    "t": Decimal(1_000_000),
    "lb": Decimal("453.59237"),
    "oz": Decimal("28.349523125"),
}
_GRAMS_PER_KG = GRAMS_PER_UNIT["kg"]


#: What a scale may weigh when the configuration does not say (``[scale] capacity_kg``):
#: more than any weighbridge of a milieustraat carries.
DEFAULT_CAPACITY_KG = Decimal(100_000)
#: No indicator shows more significant digits than this, nor a value beyond
#: ``10**MAX_WEIGHT_MAGNITUDE`` or finer than ``10**-MAX_WEIGHT_MAGNITUDE`` in its unit.
#: Within these bounds, conversion to grams is exact in Decimal's default context
#: (28 digits) and can never raise.
MAX_WEIGHT_DIGITS = 15
MAX_WEIGHT_MAGNITUDE = 12


def is_plausible_number(value: Decimal) -> bool:
    """True for a finite number of at most 15 digits, between 1e-12 and 1e12 in size."""
    if not isinstance(value, Decimal):
        return True  # an int or a wrong type: to_grams decides
    if not value and value.is_finite():
        return True  # zero, whatever its exponent (and the commonest tare)
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        return False  # NaN or infinity
    return (
        len(digits) <= MAX_WEIGHT_DIGITS
        and exponent >= -MAX_WEIGHT_MAGNITUDE
        and len(digits) - 1 + exponent < MAX_WEIGHT_MAGNITUDE  # Decimal.adjusted()
    )


def to_grams(weight: Decimal, unit: str) -> int:
    """Convert a weight in ``unit`` to whole grams, rounding half to even.

    Raises ``ValueError`` for a unit we cannot convert (a piece count, say) and for a
    number no indicator can show (see :func:`is_plausible_number`).
    """
    try:
        factor = GRAMS_PER_UNIT[unit.lower()]
    except KeyError:
        raise ValueError(f"cannot convert unit {unit!r} to grams") from None
    if not is_plausible_number(weight):
        raise ValueError(f"{weight} {unit} is not a weight an indicator can show")
    return int((weight * factor).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def within_range(reading: Reading, capacity_kg: Decimal = DEFAULT_CAPACITY_KG) -> Reading:
    """``reading``, or a bad frame (``error="range"``) when its weight cannot be real.

    A weight or tare beyond ``capacity_kg`` (either sign), or a number no indicator
    can show, makes the frame unreadable: it is line noise or a wrong pattern, not a
    load. A status frame (overload, underload) keeps its status and loses the number.
    A unit that is not a weight (a piece count) is only bounded by its digits.
    """
    weight, tare = reading.weight, reading.tare
    # Every reading of every parser passes here: most carry no tare, many no number.
    if weight is None and tare is None:
        return reading
    # The unit's factor and the capacity in grams, once for the weight and the tare.
    unit = reading.unit
    factor = GRAMS_PER_UNIT.get(unit) or GRAMS_PER_UNIT.get(unit.lower()) if unit else None
    limit = capacity_kg * _GRAMS_PER_KG
    if (weight is None or _in_range(weight, factor, limit)) and (
        tare is None or _in_range(tare, factor, limit)
    ):
        return reading
    if reading.kind == "status":
        return dataclasses.replace(reading, weight=None, tare=None)
    return dataclasses.replace(
        Reading.unreadable(reading.raw, error="range"), received_at=reading.received_at
    )


def _in_range(value: Decimal, factor: Decimal | None, limit_grams: Decimal) -> bool:
    """A plausible number, within ``limit_grams`` either side when ``factor`` (grams per
    unit) says what it weighs."""
    if not is_plausible_number(value):
        return False
    return factor is None or abs(value) * factor <= limit_grams


@dataclass(frozen=True, slots=True)
class Reading:
    """One decoded indicator frame.

    ``None`` in a field means the frame does not say (e.g. a format without a
    gross/net field). ``kind`` is ``"weight"`` for a weight value, ``"status"`` for a
    frame that reports state without a usable weight (overload, underload, an
    acknowledged zero), and ``"error"`` for an error reply or an unreadable frame;
    ``error`` then says which, in a short English code such as ``"unreadable"``,
    ``"checksum"``, ``"syntax"`` or ``"overload"``.
    """

    weight: Decimal | None = None
    unit: str | None = None
    stable: bool | None = None
    overload: bool = False
    underload: bool = False
    net: bool | None = None
    kind: ReadingKind = "weight"
    raw: bytes = b""
    received_at: datetime | None = None
    tare: Decimal | None = None
    error: str | None = None

    @classmethod
    def unreadable(cls, raw: bytes, error: str = "unreadable") -> Reading:
        """A frame that could not be read: kept with its bytes, never a weight."""
        return cls(kind="error", raw=bytes(raw), error=error)

    @property
    def grams(self) -> int | None:
        """The weight in whole grams, or ``None`` when there is no convertible weight."""
        if self.weight is None or self.unit is None:
            return None
        try:
            return to_grams(self.weight, self.unit)
        except (ValueError, ArithmeticError):  # decimal errors are ArithmeticErrors
            return None

    @property
    def is_valid_weight(self) -> bool:
        return self.kind == "weight" and self.weight is not None

    def to_json_dict(self) -> dict[str, Any]:
        """The ``counter scale decode`` line (DESIGN.md section 4)."""
        return {
            "weight": None if self.weight is None else str(self.weight),
            "unit": self.unit,
            "stable": self.stable,
            "overload": self.overload,
            "underload": self.underload,
            "net": self.net,
            "kind": self.kind,
            "raw": self.raw.decode("latin-1"),
        }


@dataclass(slots=True)
class IndicatorState:
    """What a (simulated) indicator is showing; the emulators turn it into frames."""

    weight: Decimal = Decimal("0.00")
    unit: str = "kg"
    motion: bool = False
    overload: bool = False
    underload: bool = False
    tare: Decimal = Decimal("0.00")
    decimals: int = 2
    # Free for an emulator's own counters (e.g. a sequence number).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def net(self) -> bool:
        return self.tare != 0

    @property
    def displayed(self) -> Decimal:
        """The value on the display: gross minus tare, at the display's resolution."""
        q = Decimal(1).scaleb(-self.decimals)
        return (self.weight - self.tare).quantize(q, rounding=ROUND_HALF_EVEN)
