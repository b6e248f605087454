"""What changes nothing on the screen draws nothing: the indicator repeats its reading
ten or twenty times a second all day, mostly the same weight, and every Static that is
given its text again lays the whole screen out again (under a modal, both screens are
painted in full). Counted as the widgets' requests to be drawn again, not timed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pilot_helpers import put_on_scale, ready, wait_for
from textual.widget import Widget

from counter_app.services.scale import ScaleSnapshot, ScaleState
from counter_app.ui.app import CounterApp
from counter_app.ui.picker import CategoryPicker

#: Readings the screen handles while the refreshes are counted.
READINGS = 5


@contextmanager
def refreshes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every widget that asks to be drawn or laid out again meanwhile (by name)."""
    asked: list[str] = []
    refresh = Widget.refresh

    def counted(widget: Widget, *regions: object, **kwargs: bool) -> Widget:
        asked.append(f"{widget!r} {kwargs}")
        return refresh(widget, *regions, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(Widget, "refresh", counted)
        yield asked


async def readings_handled(pilot, app: CounterApp, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Let the counter screen handle ``READINGS`` more readings of the scale."""
    handled = 0
    show = app.counter_screen.show_snapshot

    def counted(snapshot: ScaleSnapshot) -> None:
        nonlocal handled
        show(snapshot)
        handled += 1

    with monkeypatch.context() as patch:
        patch.setattr(app.counter_screen, "show_snapshot", counted)
        await wait_for(pilot, lambda: handled >= READINGS)


async def test_the_same_reading_again_draws_nothing(make_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "8.00", state=ScaleState.STABLE)
        with refreshes(monkeypatch) as asked:
            await readings_handled(pilot, app, monkeypatch)
        assert asked == []


async def test_the_same_reading_under_the_picker_draws_nothing(make_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "8.00", state=ScaleState.STABLE)
        await pilot.press("3")
        assert isinstance(app.screen, CategoryPicker)
        with refreshes(monkeypatch) as asked:
            await readings_handled(pilot, app, monkeypatch)
        assert asked == []


async def test_a_key_the_counter_does_not_use_draws_nothing(make_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "8.00", state=ScaleState.STABLE)
        with refreshes(monkeypatch) as asked:
            await pilot.press("x", "y")
        assert asked == []


async def test_a_new_weight_is_drawn(make_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The other side: a reading that changes the weight is drawn (the test above
    cannot pass by drawing nothing at all)."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "8.00", state=ScaleState.STABLE)
        with refreshes(monkeypatch) as asked:
            await put_on_scale(pilot, app, "8.10", state=ScaleState.STABLE)
        assert any("weight-digits" in widget for widget in asked)


async def test_a_new_weight_of_the_same_width_lays_nothing_out(make_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A new weight is drawn where the old one was: with as many digits, the same unit
    and the same state words nothing changes size, and laying the whole screen out
    again (3 to 4 ms a time here, many times a second) would be wasted."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "8.00", state=ScaleState.STABLE)
        with refreshes(monkeypatch) as asked:
            await put_on_scale(pilot, app, "8.10", state=ScaleState.STABLE)
            await put_on_scale(pilot, app, "9.35", state=ScaleState.STABLE)
        assert any("weight-digits" in widget for widget in asked)
        laid_out = [widget for widget in asked if "'layout': True" in widget]
        assert laid_out == []


async def test_a_longer_weight_is_laid_out(make_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The other side: a weight with more digits is wider, and the unit beside it moves."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "8.00", state=ScaleState.STABLE)
        with refreshes(monkeypatch) as asked:
            await put_on_scale(pilot, app, "18.00", state=ScaleState.STABLE)
        assert any("weight-digits" in w and "'layout': True" in w for w in asked)
