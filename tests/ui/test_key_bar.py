"""The key bar along the bottom: every key of the screen in the attendant's language,
on one line or two, with short words or behind "F1 Meer" when the terminal is narrow;
drawn again (never rebuilt) when the keys change; a click on a key presses it."""

from __future__ import annotations

from pilot_helpers import ready, wait_for

from counter_app.ui.app import CounterApp
from counter_app.ui.help import HelpScreen
from counter_app.ui.picker import CategoryPicker
from counter_app.ui.widgets import KeyBar, ShownKey, arrange_keys


def words(lines: list[list[tuple[ShownKey, str]]]) -> list[str]:
    return [" ".join(f"{k.display} {w}" for k, w in line) for line in lines]


async def test_every_key_at_80x24_and_a_click_on_one_presses_it(make_app) -> None:  # type: ignore[no-untyped-def]
    app: CounterApp = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        bar = app.counter_screen.query_one(KeyBar)
        assert bar.lines == [
            "1 Hergebruik 2 Reparatie 3 Recycling Enter Wegen Esc Annuleren F1 Help",
            "F9 Diagnose r Herdruk w Wachtrij s Dagtotalen v Etiket ^q Afsluiten",
        ]
        # Both lines are on screen, inside the terminal.
        assert bar.region.height == 2
        assert bar.region.bottom == 24
        assert not bar.children

        app.simulate_key("1")  # pilot.press waits for an idle process: up to 1 s a key
        await wait_for(pilot, lambda: isinstance(app.screen, CategoryPicker))
        app.simulate_key("escape")
        await wait_for(pilot, lambda: app.screen is app.counter_screen)
        # The same widget, drawn again: nothing was mounted.
        assert app.counter_screen.query_one(KeyBar) is bar
        assert not bar.children

        await pilot.click(KeyBar, offset=(bar.lines[0].index("F1"), 0))
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))


async def test_one_line_where_every_key_fits(make_app) -> None:  # type: ignore[no-untyped-def]
    app: CounterApp = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await ready(pilot, app)
        bar = app.counter_screen.query_one(KeyBar)
        assert len(bar.lines) == 1
        assert bar.region.height == 1
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: len(bar.lines) == 2 and bar.region.height == 2)


def key(display: str, word: str, short: str = "", action: str = "") -> ShownKey:
    return ShownKey(display.lower(), display, word, True, action or display, short)


KEYS = [
    key("1", "Hergebruik"),
    key("2", "Reparatie"),
    key("3", "Recycling"),
    key("Enter", "Wegen"),
    key("Esc", "Annuleren", "Terug"),
    key("F1", "Help", action="help"),
    key("m", "Handmatig", "Hand"),
    key("z", "Nul"),
    key("t", "Tarra"),
    key("Del", "Vervallen"),
    key("c", "Corrigeren", "Corr"),
    key("F9", "Diagnose", "Diag"),
    key("r", "Herdruk"),
    key("w", "Wachtrij", "Rij"),
    key("s", "Dagtotalen", "Totalen"),
    key("v", "Etiket"),
    key("^q", "Afsluiten", "Stop"),
]


def test_short_words_when_the_full_ones_take_more_than_two_lines() -> None:
    assert words(arrange_keys(KEYS, 80, more_action="help", more_word="Meer")) == [
        "1 Hergebruik 2 Reparatie 3 Recycling Enter Wegen Esc Terug F1 Help m Hand z Nul",
        "t Tarra Del Vervallen c Corr F9 Diag r Herdruk w Rij s Totalen v Etiket ^q Stop",
    ]
    # Wide enough: every full word, on one line.
    assert words(arrange_keys(KEYS, 250))[0].startswith("1 Hergebruik 2 Reparatie")
    assert len(arrange_keys(KEYS, 250)) == 1


def test_what_does_not_fit_waits_behind_the_help_key() -> None:
    lines = words(arrange_keys(KEYS, 60, more_action="help", more_word="Meer"))
    assert len(lines) == 2
    assert lines[-1].endswith("F1 Meer")
    text = " ".join(lines)
    # The first keys keep their place; the help key says there is more.
    assert text.startswith("1 Hergebruik 2 Reparatie 3 Recycling Enter Wegen Esc Terug")
    assert "F1 Help" not in text
    assert all(len(line) <= 60 for line in lines)
