"""The scale service over real pseudo-terminals: what the attendant's screen is told.

Garbage, silence and a pulled cable each become a state a person understands, and the
service recovers by itself when good frames or the port come back.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import tty
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from counter_app.config import ScaleConfig, parse_config
from counter_app.services.scale import CaptureRefusal, ScaleService, ScaleSnapshot, ScaleState
from drivers.scale.reading import Reading

pytestmark = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class Indicator:
    """A hand-driven indicator on a pty: the test decides every byte on the line."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self._slave = slave  # kept open so the master never sees a hang-up
        self.frame = b"ST,GS,+0012.34kg\r\n"
        self.sending = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):  # 20 frames a second
            if self.sending:
                try:
                    os.write(self.master, self.frame)
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def indicator() -> Iterator[Indicator]:
    ind = Indicator()
    yield ind
    ind.close()


def service_for(port: str, **scale: object) -> tuple[ScaleService, list[ScaleSnapshot]]:
    keys = "\n".join(
        f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in scale.items()
    )
    config: ScaleConfig = parse_config(
        f'[scale]\nport = "{port}"\n{keys}\n'.replace("'", '"')
    ).scale
    seen: list[ScaleSnapshot] = []
    service = ScaleService(config, seen.append)
    return service, seen


def state(service: ScaleService) -> ScaleState:
    return service.snapshot().state


def test_stable_frames_give_a_capturable_weight(indicator: Indicator) -> None:
    service, seen = service_for(indicator.path)
    service.start()
    try:
        wait_for(lambda: state(service) is ScaleState.STABLE, 5, "a stable reading")
        capture = service.capture()
        assert capture.ok and capture.reading is not None
        assert capture.reading.weight == Decimal("12.34")
        assert capture.reading.grams == 12340
        assert capture.reading.raw == b"ST,GS,+0012.34kg"
        assert any(s.state is ScaleState.STABLE for s in seen)
    finally:
        service.stop()


def test_garbage_and_wrong_baud_noise_mean_no_valid_signal_then_recovery(
    indicator: Indicator,
) -> None:
    service, _ = service_for(indicator.path)
    service.start()
    try:
        wait_for(lambda: state(service) is ScaleState.STABLE, 5, "a stable reading")
        # What a 9600-baud frame looks like read at 2400 baud: bytes, but no frames.
        indicator.frame = bytes([0xF8, 0x80, 0x1E, 0x78, 0xE0, 0x86, 0x0D, 0x0A])
        wait_for(lambda: state(service) is ScaleState.NO_SIGNAL, 5, "no valid signal")
        assert service.capture().refusal is CaptureRefusal.NO_SIGNAL
        indicator.frame = b"ST,GS,+0012.30kg\r\n\x00\xff\x13partial,frame"
        wait_for(lambda: state(service) is ScaleState.STABLE, 5, "recovery")
        reading = service.snapshot().reading
        assert reading is not None and reading.weight == Decimal("12.30")
    finally:
        service.stop()


def test_noise_without_any_terminator_means_no_valid_signal(indicator: Indicator) -> None:
    # The wrong baud rate often garbles CR and LF too: bytes, but never a frame.
    service, _ = service_for(indicator.path)
    service.start()
    try:
        wait_for(lambda: state(service) is ScaleState.STABLE, 5, "a stable reading")
        indicator.frame = bytes([0xF8, 0x80, 0x1E, 0x78, 0xE0, 0x86, 0x98, 0x66])
        wait_for(lambda: state(service) is ScaleState.NO_SIGNAL, 5, "no valid signal")
        indicator.frame = b"\r\nST,GS,+0012.34kg\r\n"
        wait_for(lambda: state(service) is ScaleState.STABLE, 5, "recovery")
    finally:
        service.stop()


def test_silence_means_offline_and_frames_bring_it_back(indicator: Indicator) -> None:
    service, _ = service_for(indicator.path, offline_after_ms=600)
    service.start()
    try:
        wait_for(lambda: state(service) is ScaleState.STABLE, 5, "a stable reading")
        indicator.sending = False  # an RS-232 cable pulled: no error, just silence
        wait_for(lambda: state(service) is ScaleState.OFFLINE, 5, "offline on silence")
        assert service.capture().refusal is CaptureRefusal.OFFLINE
        indicator.sending = True
        wait_for(lambda: state(service) is ScaleState.STABLE, 5, "back online")
    finally:
        service.stop()


def test_motion_overload_and_underload_frames(indicator: Indicator) -> None:
    service, _ = service_for(indicator.path)
    service.start()
    try:
        for frame, expected, refusal in (
            (b"US,GS,+0003.10kg\r\n", ScaleState.MOTION, CaptureRefusal.MOTION),
            (b"OL,GS,+9999.99kg\r\n", ScaleState.OVERLOAD, CaptureRefusal.OVERLOAD),
            (b"ST,GS,-0001.20kg\r\n", ScaleState.STABLE, CaptureRefusal.NEGATIVE),
            (b"ST,GS,+0000.00kg\r\n", ScaleState.STABLE, CaptureRefusal.ZERO),
        ):
            indicator.frame = frame
            wait_for(
                lambda f=frame: (
                    service.snapshot().reading is not None
                    and service.snapshot().reading.raw == f.strip()
                ),  # type: ignore[union-attr]
                5,
                f"frame {frame!r}",
            )
            assert state(service) is expected
            assert service.capture().refusal is refusal
    finally:
        service.stop()


def test_pulled_cable_shows_offline_within_two_seconds_and_reconnects(tmp_path: Path) -> None:
    from drivers.scale.simulator import ScaleSimulator

    link = tmp_path / "ttyScale"
    simulator = ScaleSimulator(protocol="comma", link=link, rate_hz=20)
    simulator.start()
    simulator.set_weight(Decimal("5.55"))
    service, _ = service_for(str(link))
    service.start()
    try:
        wait_for(lambda: state(service) is ScaleState.STABLE, 5, "a stable reading")
        simulator.unplug()
        # The requirement: the attendant sees the scale offline within 2 s.
        wait_for(lambda: state(service) is ScaleState.OFFLINE, 2.0, "offline after unplug")
        assert service.snapshot().reading is None
        simulator.replug()
        wait_for(lambda: state(service) is ScaleState.STABLE, 8, "reconnect after replug")
        reading = service.snapshot().reading
        assert reading is not None and reading.weight == Decimal("5.55")
    finally:
        service.stop()
        simulator.stop()


def test_port_that_does_not_exist_is_offline_with_the_reason() -> None:
    service, _ = service_for("/dev/ttyDOES-NOT-EXIST")
    service.start()
    try:
        wait_for(lambda: state(service) is ScaleState.OFFLINE, 5, "offline")
        assert "ttyDOES-NOT-EXIST" in service.snapshot().detail
    finally:
        service.stop()


def test_demo_without_pseudo_terminals_shows_offline_with_the_reason(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """On Windows the simulator cannot run: the counter starts, the scale says why."""
    from drivers.scale import simulator as simulator_module

    def no_pty(self) -> None:  # type: ignore[no-untyped-def]
        raise simulator_module.SimulatorUnavailableError("no pseudo-terminals on this system")

    monkeypatch.setattr(simulator_module.ScaleSimulator, "start", no_pty)
    service, seen = service_for("sim")
    service.start()
    try:
        assert state(service) is ScaleState.OFFLINE
        assert "pseudo-terminals" in service.snapshot().detail
        assert seen and seen[-1].state is ScaleState.OFFLINE
        assert service.capture().refusal is CaptureRefusal.OFFLINE
    finally:
        service.stop()


def test_an_answer_without_a_weight_ends_the_old_weight(indicator: Indicator) -> None:
    """A weight seconds old must not be recorded because the indicator still talks."""
    service, _ = service_for(indicator.path)
    service.start()
    try:
        wait_for(lambda: state(service) is ScaleState.STABLE, 5, "a stable reading")
        indicator.frame = b"QT,+0000012 PC\r\n"  # counting mode: pieces, no weight
        wait_for(lambda: state(service) is ScaleState.NO_WEIGHT, 5, "no weight")
        assert service.capture().refusal is CaptureRefusal.NO_WEIGHT
        indicator.frame = b"ST,GS,+0012.34kg\r\n"
        wait_for(lambda: state(service) is ScaleState.STABLE, 5, "a weight again")
        assert service.capture().ok
    finally:
        service.stop()


#: The software-stability window of the XK3190 tests on the simulator (20 frames a
#: second): five readings over 0.3 s instead of the counter's 1 s. What they show (the
#: history starts over, motion is seen) does not depend on its length; the rule with
#: its default window is tests/scale/test_stability.py's.
SHORT_WINDOW_MS = 300


def test_software_stability_starts_over_after_a_reconnect(tmp_path: Path) -> None:
    """XK3190 frames carry no motion flag: a lone frame after a reconnect is not stable."""
    from drivers.scale.simulator import ScaleSimulator

    link = tmp_path / "ttyXk"
    simulator = ScaleSimulator(protocol="xk3190", link=link, rate_hz=20)
    simulator.start()
    simulator.set_weight(Decimal("5.55"))
    service, seen = service_for(str(link), protocol="xk3190", stable_window_ms=SHORT_WINDOW_MS)
    service.start()
    try:
        wait_for(lambda: state(service) is ScaleState.STABLE, 8, "software-stable")
        simulator.unplug()
        wait_for(lambda: state(service) is ScaleState.OFFLINE, 5, "offline")
        mark = len(seen)
        simulator.replug()
        wait_for(lambda: state(service) is ScaleState.STABLE, 8, "stable again")
        after = [s for s in seen[mark:] if s.reading is not None]
        assert after, "no reading after the reconnect"
        assert after[0].state is ScaleState.MOTION  # the history began anew
    finally:
        service.stop()
        simulator.stop()


def test_a_simulated_load_in_motion_is_seen_even_without_a_motion_flag(tmp_path: Path) -> None:
    """XK3190 frames cannot say 'in motion': the simulator wobbles the weight instead."""
    from drivers.scale.simulator import ScaleSimulator

    link = tmp_path / "ttyXkMotion"
    simulator = ScaleSimulator(protocol="xk3190", link=link, rate_hz=20)
    simulator.start()
    simulator.set_weight(Decimal("17.50"))
    service, _ = service_for(str(link), protocol="xk3190", stable_window_ms=SHORT_WINDOW_MS)
    service.start()
    try:
        wait_for(lambda: state(service) is ScaleState.STABLE, 8, "software-stable")
        simulator.set_motion(True)
        wait_for(lambda: state(service) is ScaleState.MOTION, 5, "motion seen")
        assert service.capture().refusal is CaptureRefusal.MOTION
        simulator.set_motion(False)
        wait_for(lambda: state(service) is ScaleState.STABLE, 8, "stable again")
    finally:
        service.stop()
        simulator.stop()


def _record_now(service: ScaleService) -> Decimal:
    capture = service.capture()
    assert capture.ok and capture.reading is not None, capture.refusal
    service.mark_recorded(capture.reading)
    assert capture.reading.weight is not None
    return capture.reading.weight


def _shows(service: ScaleService, raw: bytes) -> bool:
    reading = service.snapshot().reading
    return reading is not None and reading.raw == raw


def test_the_same_load_stays_locked_through_noise_and_flicker(indicator: Indicator) -> None:
    service, _ = service_for(indicator.path)
    service.start()
    try:
        indicator.frame = b"ST,GS,+0132.3kg\r\n"
        wait_for(lambda: state(service) is ScaleState.STABLE, 5, "132.3 kg stable")
        assert _record_now(service) == Decimal("132.3")
        # A garbled frame, then the last digit flickering while the indicator says ST.
        indicator.frame = b"\xff\x13garbled\r\nST,GS,+0132.4kg\r\n"
        wait_for(lambda: _shows(service, b"ST,GS,+0132.4kg"), 5, "flicker to 132.4")
        indicator.frame = b"ST,GS,+0132.3kg\r\n"
        wait_for(lambda: _shows(service, b"ST,GS,+0132.3kg"), 5, "back to 132.3")
        assert service.capture().refusal is CaptureRefusal.SAME_LOAD
        # The indicator's own motion flag: the load was touched.
        indicator.frame = b"US,GS,+0090.0kg\r\n"
        wait_for(lambda: state(service) is ScaleState.MOTION, 5, "motion")
        indicator.frame = b"ST,GS,+0132.3kg\r\n"
        wait_for(lambda: state(service) is ScaleState.STABLE, 5, "stable again")
        assert service.capture().ok
    finally:
        service.stop()


def test_a_tiny_item_is_locked_until_the_scale_is_empty(indicator: Indicator) -> None:
    service, _ = service_for(indicator.path)
    service.start()
    try:
        indicator.frame = b"ST,GS,+0000.02kg\r\n"
        wait_for(lambda: _shows(service, b"ST,GS,+0000.02kg"), 5, "0.02 kg")
        assert _record_now(service) == Decimal("0.02")
        indicator.frame = b"ST,GS,+0000.01kg\r\n"  # drift by one division
        wait_for(lambda: _shows(service, b"ST,GS,+0000.01kg"), 5, "0.01 kg")
        indicator.frame = b"ST,GS,+0000.02kg\r\n"
        wait_for(lambda: _shows(service, b"ST,GS,+0000.02kg"), 5, "0.02 kg again")
        assert service.capture().refusal is CaptureRefusal.SAME_LOAD
        indicator.frame = b"ST,GS,+0000.00kg\r\n"  # taken off
        wait_for(lambda: _shows(service, b"ST,GS,+0000.00kg"), 5, "empty")
        indicator.frame = b"ST,GS,+0000.02kg\r\n"
        wait_for(lambda: _shows(service, b"ST,GS,+0000.02kg"), 5, "put back")
        assert service.capture().ok
    finally:
        service.stop()


def test_garbled_frames_do_not_break_software_stability() -> None:
    """One frame in eight failing its check must not keep an XK3190 'in motion'."""
    from counter_app.services.scale import ScaleService

    config = parse_config('[scale]\nport = "/dev/null-not-used"\nprotocol = "xk3190"\n').scale
    now_ms = [0]
    service = ScaleService(config, clock=lambda: now_ms[0])
    good = Reading(Decimal("12.34"), "kg", None, raw=b"\x02+012342...")
    bad = Reading.unreadable(b"\x02+01234 damaged", error="checksum")
    service._link_up = True  # as if connected; the readings are fed by hand
    service._link_since_ms = 0
    for i in range(40):
        service._on_reading(bad if i % 8 == 7 else good)
        now_ms[0] += 30  # a frame every 30 ms, on the service's own clock
    assert service.snapshot().state is ScaleState.STABLE
