"""Paper width, text fitting and character encoding for ESC/POS documents.

Everything here works on *printable* text: text in which every character is one
glyph of the printer's code page and takes exactly one column (one byte). Text is
made printable first (:func:`printable`), then wrapped or shortened, so a line is
never cut inside a character and its width in columns is simply its length times
the character width multiplier.
"""

from __future__ import annotations

import textwrap
import unicodedata
from dataclasses import dataclass
from typing import Any

from escpos.capabilities import CAPABILITIES, get_profile

#: The printer profile used when the configuration names none.
DEFAULT_PROFILE = "TM-T20II"

#: Code pages we can print Dutch text with, best first. CP858 is CP850 with the
#: euro sign at 0xD5 (where CP850 has a dotless i); CP437 is every printer's page 0.
_WESTERN_CODE_PAGES: tuple[tuple[str, str], ...] = (
    ("CP858", "cp858"),
    ("CP850", "cp850"),
    ("CP437", "cp437"),
)

#: Placeholder put at the end of text that had to be shortened.
ELLIPSIS = "..."

#: Readable stand-ins for characters that are not in the code page and that Unicode
#: decomposition (NFKD) does not reduce to something printable.
_FALLBACKS: dict[str, str] = {
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ø": "o",
    "Ø": "O",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ß": "ss",
    "ı": "i",
    "–": "-",
    "—": "-",
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "−": "-",
    "‘": "'",
    "’": "'",
    "‚": ",",
    "‛": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "«": '"',
    "»": '"',
    "‹": "<",
    "›": ">",
    "…": "...",
    "•": "*",
    "·": ".",
    "€": "EUR",
    "×": "x",
    "÷": "/",
    "°": "o",
    "\u00a0": " ",
}

#: Unicode categories that are dropped: format characters (zero-width joiners, soft
#: hyphens, byte order marks) and combining marks left without a base letter.
_DROPPED_CATEGORIES = frozenset({"Cf", "Mn", "Me"})


@dataclass(frozen=True, slots=True)
class PaperLayout:
    """What a document needs to know about the paper and the character table.

    ``columns`` counts normal-width characters of font A across the paper;
    ``code_page`` is the number sent with ``ESC t`` to select ``code_page_name``,
    whose Python codec is ``encoding``. The feature flags say whether the printer
    makes QR codes (``GS ( k``) and CODE128 (``GS k`` function B) itself and has a
    cutter; documents leave out what it cannot do rather than send images.
    """

    profile_name: str
    columns: int
    code_page: int
    code_page_name: str
    encoding: str
    width_dots: int | None
    qr_code: bool = True
    barcode_b: bool = True
    cutter: bool = True

    def columns_at(self, width_mult: int = 1) -> int:
        """Characters per line at a width multiplier (double width halves it)."""
        return columns_at(self.columns, width_mult)

    def encode(self, text: str) -> bytes:
        """``text`` as bytes of the selected code page, with readable fallbacks."""
        return encode_text(text, self.encoding)

    def printable(self, text: str) -> str:
        """``text`` reduced to characters of the selected code page."""
        return printable(text, self.encoding)


def known_profiles() -> list[str]:
    """Names of the printer profiles python-escpos knows, sorted."""
    profiles: dict[str, Any] = CAPABILITIES["profiles"]
    return sorted(profiles)


def paper_layout(profile_name: str = DEFAULT_PROFILE) -> PaperLayout:
    """The layout for a python-escpos printer profile (``TM-T20II``, ``POS-5890`` ...).

    Raises :class:`ValueError` with a readable message for an unknown profile or a
    profile without a Western European code page.
    """
    profiles: dict[str, Any] = CAPABILITIES["profiles"]
    if profile_name not in profiles:
        raise ValueError(
            f"unknown printer profile {profile_name!r}; use one of the python-escpos "
            f"profiles, for example {DEFAULT_PROFILE!r}, 'TM-T88V' or 'POS-5890'"
        )
    profile = get_profile(profile_name)
    columns = int(profile.get_columns(0))
    code_pages: dict[str, Any] = profile.get_code_pages()
    western = [(name, codec) for name, codec in _WESTERN_CODE_PAGES if name in code_pages]
    if not western:
        raise ValueError(
            f"printer profile {profile_name!r} has none of the code pages "
            f"{', '.join(name for name, _ in _WESTERN_CODE_PAGES)}; Dutch text cannot be "
            "printed on it"
        )
    name, codec = western[0]
    return PaperLayout(
        profile_name=profile_name,
        columns=columns,
        code_page=int(code_pages[name]),
        code_page_name=name,
        encoding=codec,
        width_dots=_width_dots(profile.profile_data),
        qr_code=bool(profile.supports("qrCode")),
        barcode_b=bool(profile.supports("barcodeB")),
        cutter=bool(profile.supports("paperPartCut") or profile.supports("paperFullCut")),
    )


def columns_for_profile(profile_name: str = DEFAULT_PROFILE) -> int:
    """Normal-width characters per line on the printer ``profile_name`` (32, 42, 48 ...)."""
    return paper_layout(profile_name).columns


def _width_dots(profile_data: dict[str, Any]) -> int | None:
    try:
        pixels = profile_data["media"]["width"]["pixels"]
    except (KeyError, TypeError):
        return None
    return pixels if isinstance(pixels, int) and pixels > 0 else None


def columns_at(columns: int, width_mult: int = 1) -> int:
    """Characters per line when each takes ``width_mult`` columns (at least 1)."""
    if width_mult < 1:
        raise ValueError(f"width multiplier must be 1 or more, not {width_mult}")
    return max(1, columns // width_mult)


def _can_encode(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _printable_char(char: str, encoding: str) -> str:
    category = unicodedata.category(char)
    if category == "Cc" or category in ("Zl", "Zp"):
        # Control bytes would be executed as printer commands (ESC, GS ...), so
        # they never reach the printer as text. Tabs and newlines read as spaces.
        return " " if char in "\t\n\r\x0b\x0c" or category != "Cc" else "?"
    if category in _DROPPED_CATEGORIES:
        return ""
    if _can_encode(char, encoding):
        return char
    replacement = _FALLBACKS.get(char)
    if replacement is not None and all(_can_encode(c, encoding) for c in replacement):
        return replacement
    decomposed = "".join(
        c
        for c in unicodedata.normalize("NFKD", char)
        if not unicodedata.combining(c)
        and unicodedata.category(c) not in _DROPPED_CATEGORIES
        and unicodedata.category(c) != "Cc"
        and _can_encode(c, encoding)
    )
    return decomposed or "?"


def printable(text: str, encoding: str = "cp858") -> str:
    """``text`` with every character printable in ``encoding``.

    Composed forms are used where they exist (``e`` + combining acute becomes
    ``é``); characters outside the code page get a readable stand-in (``ł`` -> ``l``,
    ``–`` -> ``-``, ``ő`` -> ``o``) or ``?``. Control characters never pass: tabs and
    newlines become spaces, other control bytes ``?``. Never raises for any text.
    """
    return "".join(_printable_char(c, encoding) for c in unicodedata.normalize("NFC", text))


def encode_text(text: str, encoding: str = "cp858") -> bytes:
    """``text`` as printer bytes in ``encoding``; see :func:`printable`."""
    return printable(text, encoding).encode(encoding)


def shorten(text: str, columns: int, width_mult: int = 1, placeholder: str = ELLIPSIS) -> str:
    """Printable ``text`` on one line, ending in ``placeholder`` if it had to be cut.

    ``text`` must already be printable (one column per character); the result is
    never wider than ``columns`` at ``width_mult``.
    """
    text = " ".join(text.split())
    limit = columns_at(columns, width_mult)
    if len(text) <= limit:
        return text
    if len(placeholder) >= limit:
        return text[:limit]
    return text[: limit - len(placeholder)].rstrip() + placeholder


def wrap(
    text: str,
    columns: int,
    width_mult: int = 1,
    max_lines: int | None = None,
    placeholder: str = ELLIPSIS,
) -> list[str]:
    """Printable ``text`` broken into lines that fit ``columns`` at ``width_mult``.

    Breaks at spaces (and after hyphens) where it can and inside a word only when
    the word alone is too long. With ``max_lines`` the last line is shortened with
    ``placeholder``. Empty text gives no lines.
    """
    limit = columns_at(columns, width_mult)
    lines = textwrap.wrap(
        text,
        width=limit,
        break_long_words=True,
        break_on_hyphens=True,
        drop_whitespace=True,
    )
    if max_lines is not None and len(lines) > max_lines:
        if max_lines < 1:
            return []
        kept = lines[: max_lines - 1]
        rest = " ".join(lines[max_lines - 1 :])
        # Shorten the rest so the placeholder always shows something was left out.
        room = limit - len(placeholder)
        last = rest[:room].rstrip() + placeholder if room > 0 else rest[:limit]
        lines = [*kept, last]
    return lines


def two_columns(left: str, right: str, columns: int, width_mult: int = 1) -> str:
    """``left`` and ``right`` on one line, ``left`` shortened so ``right`` always fits."""
    limit = columns_at(columns, width_mult)
    right = shorten(right, limit, placeholder="")
    room = limit - len(right) - 1
    if room < 1:
        return right
    left = shorten(left, room)
    return left + " " * (limit - len(left) - len(right)) + right
