"""The technician's diagnostics screen, against the real simulator on a pty."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from pilot_helpers import ready, wait_for
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import RichLog

from counter_app.config import Config, load_config
from counter_app.scale_view import FrameRate, LineFeed, clock, hex_bytes, printable
from counter_app.ui.app import CounterApp
from counter_app.ui.diagnostics import DiagnosticsScreen
from drivers.scale.reading import IndicatorState
from drivers.scale.registry import make_emulator, make_protocol

GARBAGE = b"\x00\xff\x1b\x83ST,G\xfe\x9a\r\n\x15\xe1+00\xa712\r\n"


def shown(widget: Widget) -> str:
    """The text a widget shows on the screen now."""
    width, height = widget.size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, width, height)))


def logged(log: RichLog) -> str:
    return "\n".join(strip.text for strip in log.lines)


def logged_hex(log: RichLog) -> str:
    """Every hex byte in the raw log, run together: immune to how chunks and rows split."""
    pairs = []
    for line in logged(log).splitlines():
        fields = line.split()
        if "rx" in fields:
            for field in fields[fields.index("rx") + 1 :]:
                if len(field) == 2 and all(c in "0123456789abcdef" for c in field):
                    pairs.append(field)
                else:
                    break
    return "".join(pairs)


def config_for(config_file: Callable[..., Path], tmp_path: Path, extra: str = "") -> Config:
    return load_config(
        config_file(
            f"""
            {extra}
            [printer]
            connection = "preview"
            path = "{tmp_path / "labels"}"
            [database]
            path = "{tmp_path / "counter.sqlite3"}"
            """
        )
    )


async def open_diagnostics(pilot, app: CounterApp) -> DiagnosticsScreen:  # type: ignore[no-untyped-def]
    await ready(pilot, app)
    screen = DiagnosticsScreen(app.scale_service, app.messages)
    await app.push_screen(screen)
    await wait_for(pilot, lambda: "verbonden:" in shown(screen.query_one("#diag-line")))
    return screen


async def test_garbage_counts_as_errors_and_a_weight_is_decoded(make_app) -> None:  # type: ignore[no-untyped-def]
    app: CounterApp = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_diagnostics(pilot, app)
        line = shown(screen.query_one("#diag-line"))
        assert "(ingebouwde simulator)" in line
        assert "comma · continu" in line
        assert "9600 baud · databits 8 · pariteit geen · stopbits 1 (8N1)" in line

        sim = app.scale_service.simulator
        assert sim is not None
        assert app.scale_service.counters().errors == 0
        sim.inject(GARBAGE)
        raw_log = screen.query_one("#diag-raw", RichLog)
        await wait_for(pilot, lambda: GARBAGE.hex() in logged_hex(raw_log))
        assert "\\xff" in logged(raw_log)  # shown as text too, escaped
        errors = app.scale_service.counters().errors
        assert errors >= 1
        counters = screen.query_one("#diag-counters")
        await wait_for(pilot, lambda: f"Fouten     {errors} ·" in shown(counters))

        sim.set_weight(Decimal("12.34"))
        reading = screen.query_one("#diag-reading")
        await wait_for(pilot, lambda: "12,34 kg · stabiel: ja · netto: nee" in shown(reading))
        assert "soort: gewicht · fout: -" in shown(reading)
        readings_log = screen.query_one("#diag-readings", RichLog)
        assert "12,34 kg" in logged(readings_log)
        # The garbage frames are in the list too, as unreadable errors.
        assert "fout    " in logged(readings_log) and "unreadable" in logged(readings_log)
        # A streaming indicator at 10 frames a second.
        await wait_for(pilot, lambda: "(0,0/s)" not in shown(counters))


async def test_zero_and_tare_say_when_the_protocol_has_no_such_command(make_app) -> None:  # type: ignore[no-untyped-def]
    app: CounterApp = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_diagnostics(pilot, app)
        await pilot.press("z")
        notice = screen.query_one("#diag-notice")
        assert "Nulstellen: niet ondersteund door dit protocol (comma)" in shown(notice)
        await pilot.press("t")
        assert "Tarreren: niet ondersteund door dit protocol (comma)" in shown(notice)
        # Nothing went out on the line.
        assert " tx " not in logged(screen.query_one("#diag-raw", RichLog))


async def test_polled_indicator_in_english_tare_goes_over_the_line(
    config_file: Callable[..., Path], tmp_path: Path
) -> None:
    config = config_for(
        config_file, tmp_path, 'language = "en"\n[scale]\nport = "sim"\nprotocol = "mt-sics"'
    )
    app = CounterApp(config, demo_scenario=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        screen = DiagnosticsScreen(app.scale_service, app.messages)
        await app.push_screen(screen)
        line = screen.query_one("#diag-line")
        await wait_for(pilot, lambda: "connected:" in shown(line))
        assert "mt-sics · polled" in shown(line)
        assert "(built-in simulator)" in shown(line)
        sim = app.scale_service.simulator
        assert sim is not None
        sim.set_weight(Decimal("7.50"))
        reading = screen.query_one("#diag-reading")
        await wait_for(pilot, lambda: "7.50 kg · stable: yes" in shown(reading))

        await pilot.press("t")
        notice = screen.query_one("#diag-notice")
        assert "Press t again to confirm" in shown(notice)
        await pilot.press("p", "p")  # another key in between: the tare is off again
        await pilot.press("t")
        assert "Press t again to confirm" in shown(notice)
        assert sim.snapshot().tare == Decimal("0.00")
        await pilot.press("t")
        assert "Tare: command sent to the scale" in shown(notice)
        raw_log = screen.query_one("#diag-raw", RichLog)
        # MT-SICS "T" (tare) goes out; weight requests ("SI") went out all along.
        await wait_for(pilot, lambda: " tx 54 0d 0a  T\\r\\n" in logged(raw_log))
        assert " tx 53 49 0d 0a  SI\\r\\n" in logged(raw_log)
        # The indicator took the tare: it shows zero (an MT-SICS "S" reply does not say
        # gross or net).
        await wait_for(pilot, lambda: sim.snapshot().tare == Decimal("7.50"))
        await wait_for(pilot, lambda: "0.00 kg · stable: yes · net: -" in shown(reading))
        assert "missed replies 0" in shown(screen.query_one("#diag-counters"))

        # Cable pulled: the link says so, and a command is not sent into the void.
        sim.unplug()
        await wait_for(pilot, lambda: "not connected:" in shown(line))
        await pilot.press("z")
        assert "Zero: the scale is not connected" in shown(notice)


async def test_checksum_failures_are_counted_apart(
    config_file: Callable[..., Path], tmp_path: Path
) -> None:
    config = config_for(config_file, tmp_path, '[scale]\nport = "sim"\nprotocol = "toledo"')
    app = CounterApp(config, demo_scenario=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_diagnostics(pilot, app)
        assert "pariteit even · stopbits 1 (7E1)" in shown(screen.query_one("#diag-line"))
        sim = app.scale_service.simulator
        assert sim is not None
        frame = make_emulator("toledo").frame(sim.snapshot())
        damaged = frame[:-1] + bytes([frame[-1] ^ 0x04])
        sim.inject(damaged)
        await wait_for(pilot, lambda: app.scale_service.counters().checksum_failures == 1)
        counters = screen.query_one("#diag-counters")
        await wait_for(pilot, lambda: "checksumfouten 1" in shown(counters))


async def test_fits_80x24_and_uses_a_large_terminal(make_app) -> None:  # type: ignore[no-untyped-def]
    app: CounterApp = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_diagnostics(pilot, app)
        screen_region = Region(0, 0, 80, 24)
        for selector in (
            "#diag-title",
            "#diag-line",
            "#diag-counters",
            "#diag-reading",
            "#diag-raw",
            "#diag-readings",
            "#diag-notice",
            "KeyBar",
        ):
            region = screen.query_one(selector).region
            assert region.height > 0, selector
            assert screen_region.contains_region(region), (selector, region)
        # Both logs get room for a few lines.
        assert screen.query_one("#diag-raw").region.height >= 3
        assert screen.query_one("#diag-readings").region.height >= 3
        assert not screen.has_class("-wide")

        await pilot.resize_terminal(160, 45)
        await wait_for(pilot, lambda: screen.has_class("-wide"))
        await pilot.pause()
        raw = screen.query_one("#diag-raw").region
        readings = screen.query_one("#diag-readings").region
        assert raw.x < readings.x and raw.y == readings.y  # side by side
        assert raw.height >= 25


async def test_esc_goes_back_and_stops_listening(make_app) -> None:  # type: ignore[no-untyped-def]
    app: CounterApp = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_diagnostics(pilot, app)
        service = app.scale_service
        assert screen._feed.on_raw in service._raw_listeners
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.counter_screen)
        await wait_for(pilot, lambda: not service._raw_listeners)
        assert not service._reading_listeners


# -- the shared formatting (no Textual) -------------------------------------------------


def test_raw_bytes_as_hex_and_text() -> None:
    assert hex_bytes(b"ST\r\n\xff") == "53 54 0d 0a ff"
    assert printable(b"ST\r\n\xff") == "ST\\r\\n\\xff"


def test_clock_shows_the_stations_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Europe/Amsterdam with milliseconds, whatever zone the computer is set to."""
    if hasattr(time, "tzset"):
        monkeypatch.setenv("TZ", "Asia/Tokyo")
        time.tzset()
    try:
        assert clock(datetime(2026, 1, 15, 11, 5, 9, 123456, tzinfo=UTC)) == "12:05:09.123"
        assert clock(datetime(2026, 7, 15, 11, 5, 9, 4000, tzinfo=UTC)) == "13:05:09.004"
        # The night summer time ends: 00:30 UTC is 02:30 CEST, 01:30 UTC is 02:30 CET.
        assert clock(datetime(2026, 10, 25, 0, 30, tzinfo=UTC)) == "02:30:00.000"
        assert clock(datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) == "02:30:00.000"
        # Any aware time converts; a naive one is taken as UTC, as stored times are.
        assert clock(datetime(2026, 1, 15, 20, 0, tzinfo=timezone(timedelta(hours=9)))) == (
            "12:00:00.000"
        )
        assert clock(datetime(2026, 1, 15, 11, 0)) == "12:00:00.000"
        assert clock(None) == ""
    finally:
        monkeypatch.undo()
        if hasattr(time, "tzset"):
            time.tzset()


def test_frame_rate_over_a_sliding_window() -> None:
    rate = FrameRate(window=2.0)
    assert rate.sample(0, now=100.0) == 0.0
    assert rate.sample(10, now=101.0) == 10.0
    assert rate.sample(20, now=102.0) == 10.0
    # The window slides: older samples stop counting.
    assert rate.sample(20, now=104.0) == 0.0
    # A counter that starts again (a new transport) is not a negative rate.
    assert rate.sample(3, now=105.0) == 0.0


def test_line_feed_is_bounded_and_counts_what_it_dropped() -> None:
    feed = LineFeed(limit=3)
    emulator = make_emulator("comma")
    parser = make_protocol("comma")
    for _ in range(5):
        for reading in parser.feed(emulator.frame(IndicatorState())):
            feed.on_reading(reading)
    drained = feed.drain()
    assert len(drained.readings) == 3
    assert drained.dropped == 2
    assert feed.drain().readings == []
