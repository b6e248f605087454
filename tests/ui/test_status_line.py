"""The status line says all of what is wrong with the scale and the printer: at 80
columns words that do not fit on one line take a second, not cut off, and give it back
when they fit again."""

from __future__ import annotations

from pilot_helpers import ready, screen_text, wait_for
from textual.widgets import Static

from counter_app.config import Config
from counter_app.services.scale import ScaleState
from counter_app.ui.app import CounterApp
from counter_app.ui.widgets import KeyBar
from tests.ui.test_dutch_everywhere import refusing_printer


def status_height(app: CounterApp) -> int:
    return app.counter_screen.query_one("#status", Static).region.height


def flowing(app: CounterApp) -> str:
    """What the screen shows, with its line breaks read as spaces."""
    return " ".join(screen_text(app).split())


async def offline(pilot, app: CounterApp) -> None:  # type: ignore[no-untyped-def]
    app.scale_service.simulator.unplug()
    await wait_for(pilot, lambda: app.scale_service.snapshot().state is ScaleState.OFFLINE)
    await pilot.pause()


async def test_an_offline_scale_beside_a_refusing_printer_is_said_in_full(
    make_app, counter_config: Config
) -> None:
    app: CounterApp = make_app(refusing_printer(counter_config))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await wait_for(pilot, lambda: "weigert de verbinding" in app.printer_line)
        await offline(pilot, app)
        assert status_height(app) == 2
        text = flowing(app)
        assert "Weegschaal offline: demo-simulator · Printer: niet bereikbaar (127.0.0.1:" in text
        assert "weigert de verbinding)" in text
        # The key bar keeps both its lines: the list gives the row.
        assert len(app.counter_screen.query_one(KeyBar).lines) == 2
        assert "^q Stop" in screen_text(app)


async def test_the_second_line_comes_and_goes_with_the_words(make_app) -> None:  # type: ignore[no-untyped-def]
    app: CounterApp = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.pause()
        assert status_height(app) == 1  # "Weegschaal: demo-simulator · Printer: ..."
        await offline(pilot, app)
        assert status_height(app) == 2
        assert "(geen printer)" in flowing(app)
        app.scale_service.simulator.replug()
        await wait_for(pilot, lambda: app.scale_service.snapshot().state is not ScaleState.OFFLINE)
        await pilot.pause()
        assert status_height(app) == 1


async def test_a_long_port_name_beside_a_refusing_printer_takes_four_lines(
    make_app, counter_config: Config
) -> None:
    """A scale on a port named by its adapter (as udev names it) that is not plugged in,
    beside a refusing printer: some 180 characters, all on the screen at 80x24 (the
    port name goes whole to the second line)."""
    port = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"
    config = refusing_printer(counter_config)
    config = config.model_copy(update={"scale": config.scale.model_copy(update={"port": port})})
    app: CounterApp = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.counter_service.is_open)
        await wait_for(pilot, lambda: "weigert de verbinding" in app.printer_line)
        await wait_for(pilot, lambda: app.scale_service.snapshot().state is ScaleState.OFFLINE)
        await pilot.pause()
        assert len(app.counter_screen._status_shown or "") > 160
        assert status_height(app) == 4
        text = flowing(app)
        assert "Weegschaal offline:" in text and "port0" in text
        assert "weigert de verbinding)" in text
        assert "^q Stop" in screen_text(app)
