"""The catalogue of goods: recycling fractions and reuse/repair categories.

The catalogue is configuration, not code (DESIGN.md section 5): the default one is
``counter_app/default_catalogue.toml``; :func:`load_catalogue` reads another file of
the same shape. A recycling fraction carries its EURAL code (``*`` marks hazardous
waste) and an example fee per kg; a reuse or repair category carries neither.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Final

from db.domain import Classification

#: Up the R-ladder: reuse, repair, recycling.
CLASSIFICATIONS: Final[tuple[Classification, ...]] = tuple(Classification)

# EURAL (European List of Waste) codes: three pairs of digits; "*" = hazardous.
EURAL_PATTERN: Final = re.compile(r"\d{2} \d{2} \d{2}\*?")
CODE_PATTERN: Final = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# What an attendant types for a EURAL code: its digits, in pairs or not ("170107",
# "17 01 07", "17-01"), and the catalogue's "*" for hazardous waste at the end.
EURAL_QUERY_PATTERN: Final = re.compile(r"\s*(\d[\d\s.-]*?)\s*(\*)?\s*")


class CatalogueError(ValueError):
    """A catalogue file is malformed; the message names the entry and the field."""


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One thing an attendant can choose after pressing reuse, repair or recycling."""

    code: str
    name_nl: str
    name_en: str
    classification: Classification
    eural_code: str | None = None
    fee_per_kg: Decimal | None = None

    def name(self, language: str) -> str:
        """The name in ``language`` (``"nl"`` or ``"en"``); Dutch for anything else."""
        return self.name_en if language == "en" else self.name_nl

    @property
    def hazardous(self) -> bool:
        """True for a hazardous waste code (EURAL codes marked with ``*``)."""
        return self.eural_code is not None and self.eural_code.endswith("*")


def _fold(text: str) -> str:
    """Lower case, no accents, punctuation as single spaces: what a search compares."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.split(r"[\W_]+", plain)).strip()


@dataclass(frozen=True, slots=True)
class EuralQuery:
    """A search text read as the start of a EURAL code: its digits, and whether it
    asked for hazardous waste (``*``)."""

    digits: str
    hazardous: bool

    @classmethod
    def parse(cls, text: str) -> EuralQuery | None:
        """The query in ``text``, or None when ``text`` is not digits (and a ``*``)."""
        match = EURAL_QUERY_PATTERN.fullmatch(text)
        if match is None:
            return None
        return cls(re.sub(r"\D", "", match.group(1)), match.group(2) is not None)

    def matches(self, eural_code: str | None) -> bool:
        """True when ``eural_code`` starts with these digits (spaces do not count) and,
        for a query with ``*``, is hazardous."""
        if eural_code is None:
            return False
        if self.hazardous and not eural_code.endswith("*"):
            return False
        return re.sub(r"\D", "", eural_code).startswith(self.digits)


class Catalogue:
    """The entries, in the order the file gives them (the order the picker shows)."""

    def __init__(self, entries: Iterable[CatalogueEntry]) -> None:
        self.entries: tuple[CatalogueEntry, ...] = tuple(entries)
        self._by_key: dict[tuple[str, str], CatalogueEntry] = {}
        for entry in self.entries:
            key = (entry.classification, entry.code)
            if key in self._by_key:
                raise CatalogueError(f"{entry.classification} code {entry.code!r} appears twice")
            self._by_key[key] = entry

    def __len__(self) -> int:
        return len(self.entries)

    def entries_for(self, classification: str) -> list[CatalogueEntry]:
        return [e for e in self.entries if e.classification == classification]

    def find(self, classification: str, code: str) -> CatalogueEntry | None:
        return self._by_key.get((classification, code))

    def search(self, classification: str, text: str, language: str) -> list[CatalogueEntry]:
        """Entries of ``classification`` whose name (in ``language``), code or EURAL
        code match ``text``.

        Case, accents and punctuation do not matter (``"a/b"`` finds ``A/B-hout``).
        Digits find a EURAL code from its start with or without its spaces
        (``"170107"``, ``"17 01 07"``, ``"1701"``); a ``*`` after them, as the
        catalogue writes hazardous codes, finds hazardous codes only.
        Order: name, code or EURAL code starting with the text, then a word of the
        name starting with it, then the text anywhere in name or code; the
        catalogue's order within each group.
        An empty text gives every entry.
        """
        query = _fold(text)
        candidates = self.entries_for(classification)
        if not query:
            return candidates
        eural_query = EuralQuery.parse(text)
        ranked: list[tuple[int, int, CatalogueEntry]] = []
        for index, entry in enumerate(candidates):
            name, code = _fold(entry.name(language)), _fold(entry.code)
            eural = eural_query is not None and eural_query.matches(entry.eural_code)
            if name.startswith(query) or code.startswith(query) or eural:
                rank = 0
            elif any(word.startswith(query) for word in name.split(" ")[1:]):
                rank = 1
            elif query in name or query in code:
                rank = 2
            else:
                continue
            ranked.append((rank, index, entry))
        ranked.sort(key=lambda item: (item[0], item[1]))
        return [entry for _, _, entry in ranked]


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(f"{where}: {key} must be non-empty text")
    return value


def _fee(item: Mapping[str, Any], where: str) -> Decimal | None:
    value = item.get("fee_per_kg")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise CatalogueError(f'{where}: fee_per_kg must be text such as "0.23" (no float)')
    try:
        fee = Decimal(str(value))
    except InvalidOperation:
        raise CatalogueError(f"{where}: fee_per_kg {value!r} is not a number") from None
    if not fee.is_finite() or fee < 0:
        raise CatalogueError(f"{where}: fee_per_kg must be zero or more")
    return fee


def _entries_from(document: Mapping[str, Any]) -> list[CatalogueEntry]:
    unknown = set(document) - {"fraction", "category"}
    if unknown:
        raise CatalogueError(f"unknown table {sorted(unknown)[0]!r}; expected fraction, category")
    entries: list[CatalogueEntry] = []
    for number, item in enumerate(document.get("fraction", []), start=1):
        where = f"fraction {number}"
        code = _text(item, "code", where)
        where = f"fraction {code!r}"
        if not CODE_PATTERN.fullmatch(code):
            raise CatalogueError(f"{where}: code must be lower-case letters, digits and '-'")
        eural = _text(item, "eural", where)
        if not EURAL_PATTERN.fullmatch(eural):
            raise CatalogueError(f"{where}: eural {eural!r} is not like '20 01 40' or '20 01 37*'")
        entries.append(
            CatalogueEntry(
                code=code,
                name_nl=_text(item, "nl", where),
                name_en=_text(item, "en", where),
                classification=Classification.RECYCLING,
                eural_code=eural,
                fee_per_kg=_fee(item, where),
            )
        )
    categories: list[tuple[str, CatalogueEntry]] = []
    for number, item in enumerate(document.get("category", []), start=1):
        where = f"category {number}"
        code = _text(item, "code", where)
        where = f"category {code!r}"
        if not CODE_PATTERN.fullmatch(code):
            raise CatalogueError(f"{where}: code must be lower-case letters, digits and '-'")
        offered = item.get("for", [Classification.REUSE, Classification.REPAIR])
        if (
            not isinstance(offered, list)
            or not offered
            or any(c not in (Classification.REUSE, Classification.REPAIR) for c in offered)
        ):
            raise CatalogueError(f'{where}: for must list "reuse" and/or "repair"')
        for classification in offered:
            categories.append(
                (
                    classification,
                    CatalogueEntry(
                        code=code,
                        name_nl=_text(item, "nl", where),
                        name_en=_text(item, "en", where),
                        classification=Classification(classification),
                    ),
                )
            )
    # Up the R-ladder: reuse, repair, recycling; the file's order within each.
    return _ladder_order([*(entry for _, entry in categories), *entries])


def _ladder_order(entries: Sequence[CatalogueEntry]) -> list[CatalogueEntry]:
    rank = {c: i for i, c in enumerate(CLASSIFICATIONS)}
    return sorted(entries, key=lambda e: rank[e.classification])  # stable: keeps file order


def catalogue_from_toml(text: str) -> Catalogue:
    """Build a catalogue from TOML text; raises :class:`CatalogueError`."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"not valid TOML: {exc}") from None
    return Catalogue(_entries_from(document))


def load_catalogue(path: str | Path) -> Catalogue:
    """Read a catalogue file of the same shape as ``default_catalogue.toml``."""
    return catalogue_from_toml(Path(path).read_text(encoding="utf-8"))


def load_default_catalogue() -> Catalogue:
    text = (
        resources.files("counter_app")
        .joinpath("default_catalogue.toml")
        .read_text(encoding="utf-8")
    )
    return catalogue_from_toml(text)


__all__ = [
    "CLASSIFICATIONS",
    "Catalogue",
    "CatalogueEntry",
    "CatalogueError",
    "Classification",
    "EuralQuery",
    "catalogue_from_toml",
    "load_catalogue",
    "load_default_catalogue",
]
