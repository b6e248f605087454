"""The values a scale protocol produces.

A ``Reading`` is what one indicator frame said, exactly: the weight as a ``Decimal``
in the indicator's own unit (never a float), the flags it carried, and the raw frame.
Conversion to grams happens once, in :func:`to_grams`, with exact decimal arithmetic.
"""

from __future__ import annotations

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


def to_grams(weight: Decimal, unit: str) -> int:
    """Convert a weight in ``unit`` to whole grams, rounding half to even.

    Raises ``ValueError`` for a unit we cannot convert (a piece count, say).
    """
    try:
        factor = GRAMS_PER_UNIT[unit.lower()]
    except KeyError:
        raise ValueError(f"cannot convert unit {unit!r} to grams") from None
    return int((weight * factor).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


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
        except ValueError:
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
