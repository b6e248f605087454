"""The message catalogue and the weight and time formats."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from counter_app.i18n import (
    LANGUAGES,
    Messages,
    format_kg,
    message_catalogue,
    to_local_time,
)


def fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


# -- the catalogue files ------------------------------------------------------------


def test_every_language_has_exactly_the_dutch_keys() -> None:
    dutch = set(message_catalogue("nl"))
    for language in LANGUAGES:
        assert set(message_catalogue(language)) == dutch, language


def test_every_message_has_the_same_parameters_in_every_language() -> None:
    for key, dutch in message_catalogue("nl").items():
        for language in LANGUAGES:
            assert fields_of(message_catalogue(language)[key]) == fields_of(dutch), (language, key)


def test_parameters_are_plain_names() -> None:
    # "{0}" or "{x.y}" would make callers depend on argument order or attributes.
    for language in LANGUAGES:
        for key, template in message_catalogue(language).items():
            for name in fields_of(template):
                assert name.isidentifier(), (language, key, name)


def test_no_message_is_empty() -> None:
    for language in LANGUAGES:
        for key, text in message_catalogue(language).items():
            assert text.strip(), (language, key)


def test_unknown_language_has_no_catalogue() -> None:
    with pytest.raises(ValueError, match="no messages for language 'de'"):
        message_catalogue("de")


@pytest.mark.parametrize(
    ("key", "dutch", "english"),
    [
        ("classification.reuse", "Hergebruik", "Reuse"),
        ("classification.repair", "Reparatie", "Repair"),
        ("classification.recycling", "Recycling", "Recycling"),
        ("scale.stable", "Stabiel", "Stable"),
        ("scale.motion", "In beweging", "In motion"),
        ("scale.overload", "Overbelast", "Overload"),
        ("scale.underload", "Onderbelast/negatief", "Underload/negative"),
        ("scale.no_signal", "Geen geldig signaal", "No valid signal"),
        ("scale.offline", "Weegschaal offline", "Scale offline"),
        ("scale.connecting", "Verbinden...", "Connecting..."),
        ("capture.motion", "Wacht op een stabiele weging", "Wait for a stable weight"),
        ("capture.zero", "Gewicht is nul", "Weight is zero"),
        ("capture.negative", "Negatief gewicht", "Negative weight"),
        ("capture.overload", "Weegschaal overbelast", "Scale overloaded"),
        ("capture.offline", "Weegschaal offline", "Scale offline"),
        ("printer.paper_out", "Printer: papier op", "Printer: out of paper"),
        ("printer.cover_open", "Printer: klep open", "Printer: cover open"),
        ("printer.offline", "Printer: offline", "Printer: offline"),
        ("printer.unknown", "Printer: status onbekend", "Printer: status unknown"),
        ("keys.weigh", "Wegen", "Weigh"),
        ("keys.cancel", "Annuleren", "Cancel"),
        ("keys.quit", "Afsluiten", "Quit"),
        ("totals.today", "Vandaag", "Today"),
        ("totals.total", "Totaal", "Total"),
        ("list.time", "Tijd", "Time"),
        ("list.kind", "Soort", "Kind"),
        ("list.weight", "Gewicht", "Weight"),
        ("app.demo_banner", "DEMO — gesimuleerde weegschaal", "DEMO — simulated scale"),
    ],
)
def test_the_words_at_the_counter(key: str, dutch: str, english: str) -> None:
    assert Messages("nl").t(key) == dutch
    assert Messages("en").t(key) == english


@pytest.mark.parametrize(
    "reason",
    ["motion", "overload", "underload", "negative", "zero", "offline", "no_signal", "unit"],
)
def test_every_capture_refusal_has_a_sentence(reason: str) -> None:
    assert f"capture.{reason}" in Messages("nl")


def test_help_names_the_classification_keys() -> None:
    for language in LANGUAGES:
        body = Messages(language).t("help.body")
        for key in ("1", "2", "3", "Enter", "Esc", "F1"):
            assert f"  {key} " in body, (language, key)
        assert "[" not in body  # shown as Rich markup: no accidental tags


# -- looking messages up ------------------------------------------------------------


def test_saved_message_with_parameters() -> None:
    nl = Messages("nl").t(
        "record.saved",
        label_code="MS01-000001",
        weight=format_kg(12340, "nl"),
        classification=Messages("nl").t("classification.reuse").lower(),
    )
    assert nl == "Opgeslagen: MS01-000001 — 12,34 kg hergebruik"
    assert Messages("en").t("printer.queued", label_code="MS01-000002") == (
        "Label queued: MS01-000002"
    )
    assert Messages("nl").t("printer.failed", reason="papier op") == "Afdruk mislukt: papier op"


def test_missing_key_falls_back_to_dutch_then_to_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    english = Messages("en")
    monkeypatch.setattr(english, "_own", {})
    assert english.t("scale.stable") == "Stabiel"
    assert english.t("no.such.key") == "no.such.key"
    assert english.t("no.such.key", count=3) == "no.such.key"


def test_unknown_language_speaks_dutch() -> None:
    messages = Messages("fr")
    assert messages.language == "nl"
    assert messages.t("scale.stable") == "Stabiel"


def test_missing_or_extra_parameters_never_raise() -> None:
    messages = Messages("nl")
    assert messages.t("printer.queued") == "Etiket in de wachtrij: {label_code}"
    assert messages.t("printer.queued", other=1) == "Etiket in de wachtrij: {label_code}"
    assert messages.t("printer.queued", label_code="X", extra=2) == "Etiket in de wachtrij: X"
    assert messages.t("scale.stable", anything="x") == "Stabiel"


# -- weights ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grams", "dutch", "english"),
    [
        (12340, "12,34 kg", "12.34 kg"),
        (12345, "12,345 kg", "12.345 kg"),
        (0, "0,00 kg", "0.00 kg"),
        (5, "0,005 kg", "0.005 kg"),
        (10, "0,01 kg", "0.01 kg"),
        (1000, "1,00 kg", "1.00 kg"),
        (-20, "-0,02 kg", "-0.02 kg"),
        (-5, "-0,005 kg", "-0.005 kg"),
        (1_234_560, "1.234,56 kg", "1,234.56 kg"),
        (12_340_000, "12.340,00 kg", "12,340.00 kg"),
        (9_007_199_254_740_993, "9.007.199.254.740,993 kg", "9,007,199,254,740.993 kg"),
    ],
)
def test_format_kg(grams: int, dutch: str, english: str) -> None:
    assert format_kg(grams, "nl") == dutch
    assert format_kg(grams, "en") == english


@pytest.mark.parametrize(
    ("grams", "decimals", "text"),
    [
        (12340, 3, "12,340 kg"),
        (12345, 2, "12,34 kg"),  # half to even
        (12355, 2, "12,36 kg"),
        (12346, 2, "12,35 kg"),
        (12500, 0, "12 kg"),
        (13500, 0, "14 kg"),
        (12340, 1, "12,3 kg"),
        (-4, 2, "0,00 kg"),  # no "-0,00"
        (-6, 2, "-0,01 kg"),
    ],
)
def test_format_kg_with_fixed_decimals(grams: int, decimals: int, text: str) -> None:
    assert format_kg(grams, "nl", decimals=decimals) == text


@pytest.mark.parametrize("value", [12.34, Decimal("12.34"), "12340", True])
def test_format_kg_takes_only_integer_grams(value: object) -> None:
    with pytest.raises(TypeError):
        format_kg(value, "nl")  # type: ignore[arg-type]


def test_format_kg_refuses_more_than_three_decimals() -> None:
    with pytest.raises(ValueError):
        format_kg(1, "nl", decimals=4)


# -- times --------------------------------------------------------------------------


def test_local_time_in_summer_and_winter() -> None:
    summer = datetime(2024, 7, 1, 12, 5, 9, tzinfo=UTC)
    winter = datetime(2024, 1, 15, 23, 30, tzinfo=UTC)
    assert to_local_time(summer).strftime("%H:%M:%S") == "14:05:09"
    assert to_local_time(winter).strftime("%Y-%m-%d %H:%M") == "2024-01-16 00:30"


def test_naive_time_is_taken_as_utc() -> None:
    assert to_local_time(datetime(2024, 7, 1, 12, 0)).strftime("%H:%M") == "14:00"


def test_other_time_zones() -> None:
    moment = datetime(2024, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=-4)))
    assert to_local_time(moment).strftime("%H:%M") == "18:00"
    assert to_local_time(moment, tz=UTC).strftime("%H:%M") == "16:00"
    assert to_local_time(moment).utcoffset() == timedelta(hours=2)


def test_prompt_line_messages_fit_80_columns() -> None:
    """The prompt is one line with a column of padding each side at 80x24."""
    import tomllib
    from pathlib import Path

    for language in ("nl", "en"):
        path = Path(__file__).parent.parent / "counter_app" / "locales" / f"{language}.toml"
        catalogue = tomllib.loads(path.read_text(encoding="utf-8"))
        for table in ("capture", "zero_tare", "prompt"):
            for key, text in catalogue[table].items():
                if isinstance(text, str) and "{" not in text:
                    assert len(text) <= 78, f"{language} {table}.{key}: {len(text)} columns"
