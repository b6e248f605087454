"""Kilograms and JSON as the exports write them, without SQLAlchemy.

Apart from :mod:`db.export` (which re-exports them) so that ``counter totals``, which
reads through ``sqlite3`` alone, writes its kilograms and its JSON the same way.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

_KG = Decimal("0.001")


def grams_to_kg(grams: int) -> Decimal:
    """``12340`` -> ``Decimal("12.340")``: exact, three decimals."""
    if not isinstance(grams, int) or isinstance(grams, bool):
        raise TypeError(f"grams must be an integer, not {grams!r}")
    return (Decimal(grams) * _KG).quantize(_KG)


def json_text(value: Any, indent: int = 2, level: int = 0) -> str:
    """``value`` as JSON laid out like ``json.dumps(value, indent=indent)``, but with a
    ``Decimal`` written as a JSON number with its own digits (``12.340``, ``0.3000``).
    ``level`` lays it out as nested that deep in a larger document (its inner lines
    indented ``indent * (level + 1)``), so a document can be written piece by piece.

    Takes dicts with string keys, lists, tuples, strings, integers, booleans, ``None``
    and finite ``Decimal`` values; a float raises ``TypeError``, so none slips in.
    """
    parts: list[str] = []
    _encode(value, level, indent, parts)
    return "".join(parts)


# A module function, not one nested in json_text: a nested function that calls itself
# is a reference cycle, and an export calls json_text once per drop-off, so each row
# would leave its text as garbage for the cycle collector, and the export's peak
# memory would depend on when that runs.
def _encode(item: Any, level: int, indent: int, parts: list[str]) -> None:
    if item is None:
        parts.append("null")
    elif isinstance(item, bool):
        parts.append("true" if item else "false")
    elif isinstance(item, int):
        parts.append(str(item))
    elif isinstance(item, Decimal):
        if not item.is_finite():
            raise ValueError(f"{item} is not a number JSON can hold")
        parts.append(format(item, "f"))
    elif isinstance(item, str):
        parts.append(json.dumps(item, ensure_ascii=False))
    elif isinstance(item, dict | list | tuple):
        pairs = list(item.items()) if isinstance(item, dict) else list(item)
        opening, closing = ("{", "}") if isinstance(item, dict) else ("[", "]")
        if not pairs:
            parts.append(opening + closing)
            return
        inner = "\n" + " " * (indent * (level + 1))
        parts.append(opening)
        for index, pair in enumerate(pairs):
            parts.append(inner if index == 0 else "," + inner)
            if isinstance(item, dict):
                key, pair = pair
                if not isinstance(key, str):
                    raise TypeError(f"JSON keys are text, not {key!r}")
                parts.append(json.dumps(key, ensure_ascii=False) + ": ")
            _encode(pair, level + 1, indent, parts)
        parts.append("\n" + " " * (indent * level) + closing)
    else:
        raise TypeError(f"{type(item).__name__} is not written to JSON: {item!r}")
