"""The default catalogue of DESIGN.md section 5 and how the picker searches it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from counter_app.catalogue import (
    CLASSIFICATIONS,
    Catalogue,
    CatalogueEntry,
    CatalogueError,
    catalogue_from_toml,
    load_catalogue,
    load_default_catalogue,
)

# DESIGN.md section 5, row by row: code, Dutch name, EURAL code, example fee per kg.
DESIGN_FRACTIONS = [
    ("grof-rest", "Grof huishoudelijk restafval", "20 03 07", "0.23"),
    ("bouw-sloop", "Bouw- en sloopafval", "17 09 04", "0.23"),
    ("puin", "Schoon puin", "17 01 07", "0.05"),
    ("hout-ab", "A/B-hout", "20 01 38", "0.14"),
    ("hout-c", "C-hout", "20 01 37*", None),
    ("metaal", "Metalen", "20 01 40", "0"),
    ("groen", "Grof tuinafval", "20 02 01", "0"),
    ("grond", "Grond", "20 02 02", "0.14"),
    ("papier", "Papier en karton", "20 01 01", "0"),
    ("textiel", "Textiel", "20 01 11", "0"),
    ("vlakglas", "Vlakglas", "17 02 02", "0"),
    ("glas", "Verpakkingsglas", "20 01 02", "0"),
    ("kunststof", "Harde kunststoffen", "20 01 39", "0.05"),
    ("eps", "EPS (piepschuim)", "20 01 39", "0"),
    ("matras", "Matrassen", "20 03 07", "0.05"),
    ("tapijt", "Tapijt", "20 03 07", None),
    ("dakleer", "Dakleer (bitumen)", "17 03 02", "0.30"),
    ("gips", "Gips", "17 08 02", None),
    ("asbest", "Asbest (verpakt)", "17 06 05*", "0.14"),
    ("banden", "Autobanden", "16 01 03", "0.14"),
    ("aeea-koel", "Koel- en vriesapparatuur", "20 01 23*", "0"),
    ("aeea", "Overige elektrische apparaten", "20 01 36", "0"),
    ("lampen", "Lampen (TL, spaarlampen)", "20 01 21*", "0"),
    ("kca", "Klein chemisch afval", "20 01 27*", "0"),
    ("batterijen", "Batterijen", "20 01 34", "0"),
    ("frituurvet", "Frituurvet", "20 01 25", "0"),
]

CATEGORIES = [
    ("meubels", "Meubels", "Furniture"),
    ("fietsen", "Fietsen", "Bicycles"),
    ("klein-elektrisch", "Klein elektrisch", "Small electrical"),
    ("groot-elektrisch", "Groot elektrisch", "Large electrical"),
    ("ict", "ICT-apparatuur", "IT equipment"),
    ("textiel", "Textiel en kleding", "Textiles and clothing"),
    ("huishoudelijk", "Huishoudelijke artikelen", "Household goods"),
    ("boeken-media", "Boeken en media", "Books and media"),
    ("speelgoed", "Speelgoed", "Toys"),
    ("gereedschap", "Gereedschap", "Tools"),
    ("tuin", "Tuin", "Garden"),
    ("bouwmaterialen", "Bouwmaterialen", "Building materials"),
    ("overig", "Overig", "Other"),
]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_default_catalogue()


def codes(entries: list[CatalogueEntry]) -> list[str]:
    return [e.code for e in entries]


# -- the default catalogue ----------------------------------------------------------


def test_all_26_fractions_as_in_the_design(catalogue: Catalogue) -> None:
    fractions = catalogue.entries_for("recycling")
    assert [
        (e.code, e.name_nl, e.eural_code, None if e.fee_per_kg is None else str(e.fee_per_kg))
        for e in fractions
    ] == DESIGN_FRACTIONS
    assert all(e.classification == "recycling" for e in fractions)
    assert all((e.name_en and e.name_en != e.name_nl) or e.code == "eps" for e in fractions)


def test_fees_are_decimals(catalogue: Catalogue) -> None:
    asbest = catalogue.find("recycling", "asbest")
    assert asbest is not None and asbest.fee_per_kg == Decimal("0.14")
    assert isinstance(asbest.fee_per_kg, Decimal)
    free = catalogue.find("recycling", "metaal")
    assert free is not None and free.fee_per_kg == Decimal(0)


def test_hazardous_fractions_keep_their_asterisk(catalogue: Catalogue) -> None:
    hazardous = [e.code for e in catalogue.entries_for("recycling") if e.hazardous]
    assert hazardous == ["hout-c", "asbest", "aeea-koel", "lampen", "kca"]


@pytest.mark.parametrize("classification", ["reuse", "repair"])
def test_every_category_for_reuse_and_for_repair(catalogue: Catalogue, classification: str) -> None:
    entries = catalogue.entries_for(classification)
    assert [(e.code, e.name_nl, e.name_en) for e in entries] == CATEGORIES
    assert all(e.eural_code is None and e.fee_per_kg is None for e in entries)
    assert all(e.classification == classification for e in entries)


def test_entries_climb_the_r_ladder(catalogue: Catalogue) -> None:
    order = [e.classification for e in catalogue.entries]
    assert order == sorted(order, key=CLASSIFICATIONS.index)
    assert len(catalogue) == 13 + 13 + 26


def test_names_per_language(catalogue: Catalogue) -> None:
    bicycles = catalogue.find("repair", "fietsen")
    assert bicycles is not None
    assert bicycles.name("nl") == "Fietsen"
    assert bicycles.name("en") == "Bicycles"
    assert bicycles.name("de") == "Fietsen"


def test_find(catalogue: Catalogue) -> None:
    textile_waste = catalogue.find("recycling", "textiel")
    textile_goods = catalogue.find("reuse", "textiel")
    assert textile_waste is not None and textile_waste.eural_code == "20 01 11"
    assert textile_goods is not None and textile_goods.name_nl == "Textiel en kleding"
    assert catalogue.find("recycling", "meubels") is None
    assert catalogue.find("reuse", "nope") is None
    assert catalogue.entries_for("nonsense") == []


# -- searching ----------------------------------------------------------------------


def test_empty_search_gives_everything_in_order(catalogue: Catalogue) -> None:
    assert catalogue.search("recycling", "  ", "nl") == catalogue.entries_for("recycling")


def test_search_puts_prefix_matches_first(catalogue: Catalogue) -> None:
    # "Glas..." starts with it; "Vlakglas" only contains it.
    assert codes(catalogue.search("recycling", "glas", "nl")) == ["glas", "vlakglas"]
    # code prefix first, then a word of the name, then anywhere.
    assert codes(catalogue.search("recycling", "el", "nl")) == [
        "aeea",  # "Overige elektrische apparaten": a word starts with "el"
        "grof-rest",  # "huishoudelijk"
        "textiel",
        "aeea-koel",  # code contains "el"
    ]
    assert codes(catalogue.search("reuse", "kl", "nl")) == ["klein-elektrisch", "textiel"]


def test_search_ignores_case_accents_and_punctuation(catalogue: Catalogue) -> None:
    assert codes(catalogue.search("recycling", "MÉTAL", "nl")) == ["metaal"]
    assert codes(catalogue.search("recycling", "a/b", "nl")) == ["hout-ab"]
    assert codes(catalogue.search("recycling", "ab hout", "nl")) == []
    assert codes(catalogue.search("recycling", "a b hout", "nl")) == ["hout-ab"]
    assert codes(catalogue.search("recycling", "hout", "nl")) == ["hout-ab", "hout-c"]
    assert codes(catalogue.search("recycling", "koel-", "nl")) == ["aeea-koel"]


def test_search_by_code_and_eural_code(catalogue: Catalogue) -> None:
    assert codes(catalogue.search("recycling", "kca", "en")) == ["kca"]
    assert codes(catalogue.search("recycling", "20 01 3", "nl")) == [
        "hout-ab",
        "hout-c",
        "kunststof",
        "eps",
        "aeea",
        "batterijen",
    ]
    assert codes(catalogue.search("recycling", "17 06 05*", "nl")) == ["asbest"]


@pytest.mark.parametrize("text", ["170107", "17 01 07", "1701", "17 01", " 17-01-07 ", "17.01.07"])
def test_search_finds_a_eural_code_with_or_without_spaces(catalogue: Catalogue, text: str) -> None:
    assert codes(catalogue.search("recycling", text, "nl")) == ["puin"]


def test_search_by_eural_code_as_the_catalogue_spells_it(catalogue: Catalogue) -> None:
    # The asterisk marks hazardous waste: with it, only hazardous codes match.
    assert codes(catalogue.search("recycling", "20 01 37*", "nl")) == ["hout-c"]
    assert codes(catalogue.search("recycling", "200137*", "nl")) == ["hout-c"]
    assert codes(catalogue.search("recycling", "200137", "nl")) == ["hout-c"]
    assert catalogue.search("recycling", "20 01 38*", "nl") == []
    assert codes(catalogue.search("recycling", "2001*", "en")) == [
        "hout-c",
        "aeea-koel",
        "lampen",
        "kca",
    ]


def test_search_by_eural_code_matches_from_its_start(catalogue: Catalogue) -> None:
    assert codes(catalogue.search("recycling", "200140", "nl")) == ["metaal"]
    assert catalogue.search("recycling", "0107", "nl") == []
    assert catalogue.search("recycling", "170108", "nl") == []
    # Reuse and repair categories have no EURAL code.
    assert catalogue.search("reuse", "1701", "nl") == []


def test_search_uses_the_names_of_the_language(catalogue: Catalogue) -> None:
    assert codes(catalogue.search("reuse", "furn", "en")) == ["meubels"]
    assert catalogue.search("reuse", "furn", "nl") == []
    assert codes(catalogue.search("repair", "fiets", "nl")) == ["fietsen"]


def test_search_stays_within_the_classification(catalogue: Catalogue) -> None:
    assert all(e.classification == "repair" for e in catalogue.search("repair", "t", "nl"))
    assert catalogue.search("recycling", "speelgoed", "nl") == []


# -- other catalogue files ----------------------------------------------------------


def test_a_catalogue_file_of_a_centre(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(
        """
[[fraction]]
code = "snoeihout"
nl = "Snoeihout"
en = "Prunings"
eural = "20 02 01"
fee_per_kg = 0

[[category]]
code = "lampen"
nl = "Lampen"
en = "Lamps"
for = ["reuse"]
""",
        encoding="utf-8",
    )
    catalogue = load_catalogue(path)
    assert codes(catalogue.entries_for("reuse")) == ["lampen"]
    assert catalogue.entries_for("repair") == []
    [prunings] = catalogue.entries_for("recycling")
    assert prunings.fee_per_kg == Decimal(0)
    assert not prunings.hazardous


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[[fraction]]\ncode = "x"\nnl = "X"\nen = "X"\neural = "200140"', "is not like"),
        ('[[fraction]]\ncode = "x"\nnl = "X"\nen = "X"', "eural must be non-empty text"),
        (
            '[[fraction]]\ncode = "x"\nnl = "X"\nen = "X"\neural = "20 01 40"\nfee_per_kg = 0.1',
            "no float",
        ),
        (
            '[[fraction]]\ncode = "x"\nnl = "X"\nen = "X"\neural = "20 01 40"\nfee_per_kg = "-1"',
            "zero or more",
        ),
        ('[[category]]\ncode = "Meubels"\nnl = "M"\nen = "F"', "lower-case"),
        ('[[category]]\ncode = "m"\nnl = ""\nen = "F"', "nl must be non-empty"),
        ('[[category]]\ncode = "m"\nnl = "M"\nen = "F"\nfor = ["recycling"]', '"reuse"'),
        (
            '[[category]]\ncode = "m"\nnl = "M"\nen = "F"\n'
            '[[category]]\ncode = "m"\nnl = "M2"\nen = "F2"',
            "appears twice",
        ),
        ("[[fractions]]\n", "unknown table 'fractions'"),
        ("[[fraction]\n", "not valid TOML"),
    ],
)
def test_malformed_catalogue(text: str, fragment: str) -> None:
    with pytest.raises(CatalogueError, match=None) as info:
        catalogue_from_toml(text)
    assert fragment in str(info.value)
