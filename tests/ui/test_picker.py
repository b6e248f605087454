"""The category picker as the attendant types into it: EURAL codes, and nothing found."""

from __future__ import annotations

import pytest
from pilot_helpers import ready, screen_text, wait_for
from textual.widgets import Input, OptionList

from counter_app.config import Config
from counter_app.ui.app import CounterApp
from counter_app.ui.picker import CategoryPicker


def picker(app: CounterApp) -> CategoryPicker | None:
    screen = app.screen
    return screen if isinstance(screen, CategoryPicker) and screen.is_mounted else None


def shown_codes(app: CounterApp) -> list[str]:
    screen = picker(app)
    assert screen is not None
    options = screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).id) for i in range(options.option_count)]


async def type_into_picker(pilot, app: CounterApp, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type ``text`` key by key, as the attendant does, and wait until the list follows."""
    await pilot.press(*("space" if c == " " else c for c in text))

    def filtered() -> bool:
        screen = picker(app)
        return screen is not None and screen.query_one(Input).value.endswith(text)

    filtered.__doc__ = f"the picker's filter ending in {text!r}"
    await wait_for(pilot, filtered)
    await pilot.pause()


@pytest.mark.parametrize("typed", ["170107", "17 01 07", "1701"])
async def test_the_picker_finds_a_eural_code_with_or_without_spaces(make_app, typed: str) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        await wait_for(pilot, lambda: picker(app) is not None)
        await type_into_picker(pilot, app, typed)
        assert shown_codes(app) == ["puin"]
        text = screen_text(app)
        assert "Schoon puin" in text and "17 01 07" in text
        assert "Niets gevonden" not in text


@pytest.mark.parametrize(
    ("language", "nothing"), [("nl", "Niets gevonden"), ("en", "Nothing found")]
)
async def test_the_picker_says_nothing_found_as_soon_as_nothing_matches(
    make_app, counter_config: Config, language: str, nothing: str
) -> None:
    app = make_app(counter_config.model_copy(update={"language": language}))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        await wait_for(pilot, lambda: picker(app) is not None)
        await type_into_picker(pilot, app, "20 01 37*")
        assert shown_codes(app) == ["hout-c"]
        assert nothing not in screen_text(app)
        # One more digit: no code is 20 01 37 followed by anything.
        await pilot.press("backspace")
        await type_into_picker(pilot, app, "1")
        assert shown_codes(app) == []
        assert nothing in screen_text(app)
        # Back to a match: the words go again.
        await pilot.press("backspace")
        await wait_for(pilot, lambda: bool(shown_codes(app)))
        await pilot.pause()
        assert nothing not in screen_text(app)
