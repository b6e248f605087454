"""The message catalogue and the number and time formats the counter shows.

Every sentence an attendant sees comes from ``counter_app/locales/<language>.toml``.
The files use TOML tables (``[scale]`` ``stable = "Stabiel"``); a message is named
by its dotted path (``"scale.stable"``). Parameters use ``str.format`` fields
(``"Opgeslagen: {label_code}"``). Dutch is the default and the fallback: a key
missing in English shows the Dutch text, a key missing everywhere shows the key,
and a message never raises.

Kilograms for people come from one function, :func:`format_kg`, for the screen,
the label and the slip alike, so they agree to the character. It starts from integer
grams, never a float, and leaves the separators to Babel (CLDR data). Exports for
programs keep their language-neutral numbers (``db.export``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from functools import cache
from importlib import resources
from typing import Any, Final

from db.domain import STATION_TZ

LANGUAGES: Final = ("nl", "en")
DEFAULT_LANGUAGE: Final = "nl"

#: Number patterns by decimals: thousands grouped, every decimal shown. Babel puts in
#: the language's separators (``1.234,50`` in Dutch, ``1,234.50`` in English).
_KG_PATTERNS: Final = ("#,##0", "#,##0.0", "#,##0.00", "#,##0.000")


def _flatten(table: Mapping[str, Any], prefix: str, out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            _flatten(value, f"{name}.", out)
        elif isinstance(value, str):
            out[name] = value
        else:
            raise ValueError(f"message {name!r} is not text")


@cache
def message_catalogue(language: str) -> Mapping[str, str]:
    """All messages of one language as ``{"dotted.key": "text"}`` (read once)."""
    if language not in LANGUAGES:
        raise ValueError(f"no messages for language {language!r}; choose one of {LANGUAGES}")
    text = (
        resources.files("counter_app")
        .joinpath("locales", f"{language}.toml")
        .read_text(encoding="utf-8")
    )
    out: dict[str, str] = {}
    _flatten(tomllib.loads(text), "", out)
    return out


class Messages:
    """The messages of one language, with Dutch as the fallback."""

    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._own = message_catalogue(self.language)
        self._fallback = message_catalogue(DEFAULT_LANGUAGE)

    def __contains__(self, key: object) -> bool:
        return key in self._own or key in self._fallback

    def t(self, key: str, **params: object) -> str:
        """The message ``key`` with ``params`` filled in; never raises.

        A missing key gives the Dutch text, then the key itself; a missing or
        malformed parameter gives the text with its ``{fields}`` left as they are.
        """
        template = self._own.get(key)
        if template is None:
            template = self._fallback.get(key, key)
        if not params:
            return template
        try:
            return template.format(**params)
        except (KeyError, IndexError, ValueError, AttributeError):
            return template


def format_kg(grams: int, language: str = DEFAULT_LANGUAGE, *, decimals: int | None = None) -> str:
    """A weight in kilograms as the counter shows it: ``12340`` -> ``"12,34 kg"`` (nl).

    By default the weight shows two decimals (10 g, the resolution of the counter's
    scales) and a third only when the gram is not a multiple of ten, so no gram is
    ever hidden: ``12345`` -> ``"12,345 kg"``. Pass ``decimals`` (0 to 3) for a fixed
    width, e.g. in a column; values are then rounded half to even. Thousands are
    grouped: ``"1.234,50 kg"`` in Dutch, ``"1,234.50 kg"`` in English; a language
    the counter does not speak gets the Dutch form.
    """
    if isinstance(grams, bool) or not isinstance(grams, int):
        raise TypeError(f"grams must be an int, got {type(grams).__name__}")
    if decimals is None:
        decimals = 2 if grams % 10 == 0 else 3
    if not 0 <= decimals <= 3:
        raise ValueError("decimals must be 0, 1, 2 or 3")
    # Babel loads its CLDR data when first asked: the command line and the first paint
    # of the counter, which show no weight yet, do not wait for it.
    from babel.numbers import format_decimal

    # Exact for any number of grams: enough digits that no step here rounds by itself.
    with localcontext(Context(prec=len(str(abs(grams))) + 4, rounding=ROUND_HALF_EVEN)):
        kg = Decimal(grams).scaleb(-3).quantize(Decimal(1).scaleb(-decimals))
        if kg.is_zero():
            kg = kg.copy_abs()  # a weight rounded to nothing has no sign: "0,00", not "-0,00"
        number = format_decimal(
            kg, _KG_PATTERNS[decimals], locale=language if language in LANGUAGES else "nl"
        )
    return f"{number} kg"


def to_local_time(dt_utc: datetime, tz: tzinfo = STATION_TZ) -> datetime:
    """A stored UTC time in the station's time zone; a naive time is taken as UTC."""
    if dt_utc.tzinfo is None:
        dt_utc = dt_utc.replace(tzinfo=UTC)
    return dt_utc.astimezone(tz)


__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "STATION_TZ",
    "Messages",
    "format_kg",
    "message_catalogue",
    "to_local_time",
]
