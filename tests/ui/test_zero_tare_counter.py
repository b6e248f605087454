"""Zero and tare on the counter screen: the F9 rule (pressed twice), no zero under a
load unless the indicator judges it itself, offered only where the protocol has them."""

from __future__ import annotations

from decimal import Decimal

from pilot_helpers import put_on_scale, ready, screen_text, wait_for
from textual.widgets import Static

from counter_app.config import Config
from counter_app.services.scale import ScaleState


def prompt(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.counter_screen.query_one("#prompt", Static).render())


def with_scale(config: Config, **scale: object) -> Config:
    return config.model_copy(
        update={"scale": config.scale.model_copy(update={"allow_zero_tare": True, **scale})}
    )


async def test_no_zero_under_a_load_and_twice_when_empty(make_app, counter_config: Config) -> None:
    """NCI answers a zero with its status either way: the counter refuses it under a load."""
    app = make_app(with_scale(counter_config, protocol="nci"))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        sim = app.scale_service.simulator
        await put_on_scale(pilot, app, "12.00", state=ScaleState.STABLE)
        await pilot.press("z")
        assert "Niet nulstellen met een last op de weegschaal" in prompt(app)
        await pilot.press("z")  # a second press does not send it either
        assert "Niet nulstellen met een last op de weegschaal" in prompt(app)
        assert sim.snapshot().weight == Decimal("12.00")

        await put_on_scale(pilot, app, "0.10", state=ScaleState.STABLE)  # drift of the zero
        await pilot.press("z")
        assert "Nogmaals z om te bevestigen: Nulstellen verandert elk gewicht hierna" in prompt(app)
        await pilot.press("x")  # any other key takes it back
        await pilot.press("z")
        assert "Nogmaals z om te bevestigen" in prompt(app)
        assert sim.snapshot().weight == Decimal("0.10")
        await pilot.press("z")
        assert "Nulstelling naar de weegschaal gestuurd" in prompt(app)
        await wait_for(pilot, lambda: sim.snapshot().weight == Decimal("0.00"))


async def test_an_indicator_that_judges_its_zero_range_gets_the_zero(
    make_app, counter_config: Config
) -> None:
    """MT-SICS refuses a zero beyond its range itself (Z +): the counter sends it."""
    app = make_app(with_scale(counter_config, protocol="mt-sics"))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        sim = app.scale_service.simulator
        await put_on_scale(pilot, app, "2.40", state=ScaleState.STABLE)
        await pilot.press("z")
        assert "Nogmaals z om te bevestigen" in prompt(app)
        await pilot.press("z")
        assert "Nulstelling naar de weegschaal gestuurd" in prompt(app)
        await wait_for(pilot, lambda: sim.snapshot().weight == Decimal("0.00"))


async def test_zero_and_tare_are_offered_only_where_the_protocol_has_them(
    make_app, counter_config: Config
) -> None:
    with_commands = make_app(with_scale(counter_config, protocol="mt-sics"))
    async with with_commands.run_test(size=(200, 24)) as pilot:
        await ready(pilot, with_commands)
        key_bar = f" {screen_text(with_commands).splitlines()[-1]} "
        assert " z Nul " in key_bar and " t Tarra " in key_bar

    without = make_app(with_scale(counter_config))  # comma: no commands
    async with without.run_test(size=(200, 24)) as pilot:
        await ready(pilot, without)
        key_bar = screen_text(without).splitlines()[-1]
        assert "Nul" not in key_bar and "Tarra" not in key_bar
        await pilot.press("t")  # the key still says why nothing happens
        assert "kent geen nul of tarra" in prompt(without)
