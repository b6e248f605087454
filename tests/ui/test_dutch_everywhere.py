"""With ``language = "nl"`` no screen shows English: every screen is opened with a printer
that refuses its connection and a scale that goes offline, and its text is searched for
common English words (words that are not Dutch as well: "printer" and "offline" are)."""

from __future__ import annotations

import socket

from pilot_helpers import put_on_scale, ready, screen_text, wait_for

from counter_app.config import Config
from counter_app.services.scale import ScaleState
from counter_app.ui.app import CounterApp
from counter_app.ui.counter_screen import CounterScreen
from counter_app.ui.diagnostics import DiagnosticsScreen
from counter_app.ui.help import HelpScreen
from counter_app.ui.print_queue import PrintQueueScreen
from drivers.printer.settings import NetworkPrinter
from tests.english_words import english_in


def closed_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on: the printer refuses."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Seen:
    """What every screen showed, by the name of the moment it was seen."""

    def __init__(self, app: CounterApp) -> None:
        self.app = app
        self.texts: dict[str, str] = {}

    def take(self, moment: str) -> None:
        self.texts[moment] = screen_text(self.app)

    def english(self) -> dict[str, list[str]]:
        found = {moment: english_in(text) for moment, text in self.texts.items()}
        return {moment: words for moment, words in found.items() if words}


def refusing_printer(config: Config) -> Config:
    printer = NetworkPrinter(host="127.0.0.1", port=closed_port())
    return config.model_copy(update={"printer": printer})


async def test_every_screen_speaks_dutch_with_a_failing_printer_and_scale(
    make_app, counter_config: Config
) -> None:
    config = refusing_printer(counter_config)
    assert config.language == "nl"
    app: CounterApp = make_app(config)
    seen = Seen(app)
    # Notifications shown, as in the real terminal (the quit prompt is one).
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await ready(pilot, app)
        await wait_for(pilot, lambda: "weigert de verbinding" in app.printer_line)
        seen.take("idle, printer refusing")

        await put_on_scale(pilot, app, "0.00", state=ScaleState.STABLE)
        await pilot.press("enter")  # nothing chosen, nothing on the scale: refused
        await pilot.pause()
        seen.take("a refusal")

        for key in ("1", "2", "3"):
            await pilot.press(key)
            await wait_for(pilot, lambda: not isinstance(app.screen, CounterScreen))
            seen.take(f"picker {key}")
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is app.counter_screen)

        await put_on_scale(pilot, app, "12.34", state=ScaleState.STABLE)
        await pilot.press("1", "enter", "enter")
        await wait_for(pilot, lambda: "MS01-000001" in screen_text(app))
        await wait_for(pilot, lambda: "wachtrij: 1" in app.printer_line)
        seen.take("a record, its label waiting")

        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        seen.take("F1 help")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.counter_screen)

        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, PrintQueueScreen))
        await wait_for(pilot, lambda: "weigert de verbinding" in screen_text(app))
        seen.take("w print queue, a failed label")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.counter_screen)

        await pilot.press("f9")
        await wait_for(pilot, lambda: isinstance(app.screen, DiagnosticsScreen))
        await wait_for(pilot, lambda: "verbonden:" in screen_text(app))
        seen.take("F9 diagnostics")
        app.scale_service.simulator.unplug()
        await wait_for(pilot, lambda: app.scale_service.snapshot().state is ScaleState.OFFLINE)
        await pilot.pause(0.3)
        seen.take("F9 diagnostics, scale offline")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.counter_screen)
        await wait_for(pilot, lambda: app.counter_screen._snapshot is not None
                       and app.counter_screen._snapshot.state is ScaleState.OFFLINE)  # fmt: skip
        await pilot.press("enter")  # offline: refused
        await pilot.pause()
        seen.take("scale offline, a refusal")

        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: "Afsluiten?" in screen_text(app))
        seen.take("the quit prompt (Ctrl+C)")

    assert seen.english() == {}, f"English on the Dutch screens: {seen.english()}"
    assert len(seen.texts) == 12


async def test_the_repeat_question_speaks_dutch(make_app, counter_config: Config) -> None:
    config = refusing_printer(counter_config)
    first: CounterApp = make_app(config)
    async with first.run_test(size=(120, 36)) as pilot:
        await ready(pilot, first)
        await put_on_scale(pilot, first, "12.34", state=ScaleState.STABLE)
        await pilot.press("1", "enter", "enter")
        await wait_for(pilot, lambda: "MS01-000001" in screen_text(first))

    app: CounterApp = make_app(config)  # the restart, the load still on the scale
    seen = Seen(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "12.34", state=ScaleState.STABLE)
        await pilot.press("1", "enter", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, CounterScreen))
        await wait_for(pilot, lambda: "Nogmaals vastleggen" in screen_text(app))
        seen.take("the repeat question")
        await pilot.press("n")
    assert seen.english() == {}, f"English on the Dutch screens: {seen.english()}"


async def test_the_same_screen_in_english_is_found(make_app, counter_config: Config) -> None:
    # Guards the search and the screen text: in English the words are there to find.
    config = refusing_printer(counter_config).model_copy(update={"language": "en"})
    app: CounterApp = make_app(config)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await ready(pilot, app)
        await wait_for(pilot, lambda: "refuses the connection" in app.printer_line)
        found = english_in(screen_text(app))
        await pilot.press("ctrl+c")  # its toast covers the end of the status line
        await wait_for(pilot, lambda: "Do you want to quit?" in screen_text(app))
        found += english_in(screen_text(app))
    assert {"refuses", "the", "connection", "quit", "press"} <= set(found)


def test_the_search_finds_english() -> None:
    # Guards the search itself: a screen in English would fail the tests above.
    assert english_in("Printer: not reachable · queued: 2 (refuses the connection)") == [
        "connection", "not", "queued", "refuses", "the",
    ]  # fmt: skip
    assert english_in("Printer: niet bereikbaar · wachtrij: 2 (weigert de verbinding)") == []


async def test_waiting_manual_weight_zero_and_database_faults_speak_dutch(
    make_app, counter_config: Config
) -> None:
    from counter_app.config import CounterConfig
    from counter_app.ui.database_fault import DatabaseFaultScreen
    from counter_app.ui.manual_weight import ManualWeightScreen

    scale = counter_config.scale.model_copy(update={"protocol": "nci", "allow_zero_tare": True})
    config = refusing_printer(counter_config).model_copy(
        update={"scale": scale, "counter": CounterConfig(settle_seconds=1, manual_weight=True)}
    )
    app: CounterApp = make_app(config)
    seen = Seen(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot, app)
        await put_on_scale(pilot, app, "5.00", motion=True, state=ScaleState.MOTION)
        await pilot.press("1", "enter", "enter")
        seen.take("waiting for the load to settle")
        await wait_for(pilot, lambda: "Niet vastgelegd" in screen_text(app))
        seen.take("the wait dropped")
        await pilot.press("z")
        seen.take("zero under a load")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ManualWeightScreen))
        await pilot.press("a", "enter", "enter")
        await pilot.pause()
        seen.take("manual weight, bad input")
        await pilot.press("escape")

    config.database_path().unlink()
    config.database_path().write_bytes(b"geen database")
    app = make_app(config)
    seen.app = app
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DatabaseFaultScreen))
        await pilot.pause()
        seen.take("the database fault at start")
        await pilot.press("escape")
        await pilot.press("1", "enter", "enter")
        await pilot.pause()
        seen.take("a capture without a database")
    assert seen.english() == {}, f"English on the Dutch screens: {seen.english()}"
    # Each moment showed what it is about (so the search above searched something).
    for moment, words in (
        ("waiting for the load to settle", "Wacht op stabiel gewicht"),
        ("zero under a load", "Niet nulstellen met een last"),
        ("manual weight, bad input", "Geen geldig gewicht"),
        ("the database fault at start", "De database kan niet worden gebruikt"),
        ("a capture without a database", "Vastleggen kan niet"),
    ):
        assert words in seen.texts[moment], moment
