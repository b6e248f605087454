"""Faults from the serial layer that are not OSError must not end the transport thread."""

from __future__ import annotations

import os
import termios
from decimal import Decimal
from pathlib import Path

import pytest
import serial

from drivers.scale.registry import make_protocol
from drivers.scale.simulator import ScaleSimulator
from drivers.scale.transport import ScaleTransport, describe_error

pytestmark = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")


def test_termios_error_on_open_is_reported_and_retried(
    tmp_path: Path,
    recorder,
    wait_until,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    link = tmp_path / "ttyBusy"
    simulator = ScaleSimulator("comma", link=link, rate_hz=50.0)
    simulator.start()
    simulator.set_weight(Decimal("4.40"))
    real = serial.serial_for_url
    failures = {"left": 2}

    def flaky(url, *args, **kwargs):  # type: ignore[no-untyped-def]
        port = real(url, *args, **kwargs)
        if failures["left"]:
            failures["left"] -= 1

            def refuse() -> None:
                # What pyserial lets through when the driver rejects the settings.
                raise termios.error(22, "Invalid argument")

            port.open = refuse
        return port

    monkeypatch.setattr(serial, "serial_for_url", flaky)
    transport = ScaleTransport(
        str(link), make_protocol("comma"), reconnect_interval=0.05, **recorder.callbacks
    )
    transport.start()
    try:
        wait_until(
            lambda: any(r.weight == Decimal("4.40") for r in recorder.weights()),
            message="readings after the refused opens",
        )
        messages = [link.message for link in recorder.links if link.state == "disconnected"]
        assert any("refused its line settings" in m for m in messages)
        assert transport.running
    finally:
        transport.stop()
        simulator.stop()


def test_an_unexpected_error_while_reading_loses_the_line_not_the_thread(
    tmp_path: Path,
    recorder,
    wait_until,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    link = tmp_path / "ttyOdd"
    simulator = ScaleSimulator("comma", link=link, rate_hz=50.0)
    simulator.start()
    simulator.set_weight(Decimal("1.10"))
    transport = ScaleTransport(
        str(link), make_protocol("comma"), reconnect_interval=0.05, **recorder.callbacks
    )
    real_serve = transport._serve
    calls = {"n": 0}

    def serve_once_badly(port):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise termios.error(5, "Input/output error")
        real_serve(port)

    monkeypatch.setattr(transport, "_serve", serve_once_badly)
    transport.start()
    try:
        wait_until(
            lambda: any(r.weight == Decimal("1.10") for r in recorder.weights()),
            message="readings after the odd error",
        )
        assert transport.connections >= 2
    finally:
        transport.stop()
        simulator.stop()


def test_describe_error_reads_termios_errors() -> None:
    assert "in use by another program" in describe_error(termios.error(22, "Invalid argument"))
    assert "unplugged" in describe_error(termios.error(5, "Input/output error"))
