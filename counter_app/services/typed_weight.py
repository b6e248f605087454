"""A weight a person types in kilograms ("12,5" or "12.5"), read as whole grams.

One reader for every typed weight: the counter's manual weight (``m``) and a
correction's new weight on the screen or the command line. Read as a ``Decimal`` from
the text itself, never through a float.
"""

from __future__ import annotations

import enum
import re
from decimal import Decimal, InvalidOperation


class ManualWeightProblem(enum.Enum):
    """Why a typed weight is not recorded; each has a sentence in the catalogue."""

    NOT_ALLOWED = "not_allowed"
    NOT_A_NUMBER = "not_a_number"
    ZERO = "zero"
    NEGATIVE = "negative"
    TOO_FINE = "too_fine"
    OVER_CAPACITY = "over_capacity"
    NO_REASON = "no_reason"


# "12,5", "12.5", "-3", "0,125": one decimal sign, comma or point, as typed in either
# language; a thousands separator would make "1.250" ambiguous, so there is none.
_TYPED_WEIGHT = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")


def read_manual_weight(text: str, capacity_kg: Decimal) -> int | ManualWeightProblem:
    """A weight typed in kilograms as whole grams, or why it cannot be recorded.

    Read as a Decimal from the text itself; more than three decimals (below a gram),
    zero, negative or over ``capacity_kg`` (the scale's capacity) are refused.
    """
    typed = text.strip().replace(" ", "")
    if not _TYPED_WEIGHT.fullmatch(typed):
        return ManualWeightProblem.NOT_A_NUMBER
    try:
        kg = Decimal(typed.replace(",", "."))
    except InvalidOperation:
        return ManualWeightProblem.NOT_A_NUMBER
    if kg < 0:
        return ManualWeightProblem.NEGATIVE
    if kg == 0:
        return ManualWeightProblem.ZERO
    if kg > capacity_kg:
        return ManualWeightProblem.OVER_CAPACITY
    grams = kg * 1000
    if grams != grams.to_integral_value():
        return ManualWeightProblem.TOO_FINE
    return int(grams)
