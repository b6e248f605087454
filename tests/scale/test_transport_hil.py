"""Hardware in the loop without hardware: simulator on a pty -> pyserial -> transport."""

from __future__ import annotations

import errno
import os
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from drivers.scale.comma import CommaProtocol
from drivers.scale.protocol import ScaleProtocol
from drivers.scale.simulator import ScaleSimulator
from drivers.scale.transport import ScaleTransport, TransportLink, describe_error

from .conftest import AskedEmulator, AskedProtocol, Recorder, WaitUntil, needs_pty

pytestmark = [pytest.mark.hil]

MakeTransport = Callable[..., ScaleTransport]


@pytest.fixture
def make_transport(recorder: Recorder) -> Iterator[MakeTransport]:
    made: list[ScaleTransport] = []

    def make(port: str, protocol: ScaleProtocol | None = None, **kwargs: Any) -> ScaleTransport:
        settings: dict[str, Any] = {"reconnect_interval": 0.1, **recorder.callbacks}
        settings.update(kwargs)
        transport = ScaleTransport(port, protocol or CommaProtocol(), **settings)
        made.append(transport)
        transport.start()
        return transport

    yield make
    for transport in made:
        transport.stop()
    for transport in made:
        assert not transport.running


def weight_seen(recorder: Recorder, weight: str, start: int = 0) -> bool:
    return any(r.weight == Decimal(weight) for r in recorder.since(start))


@needs_pty
def test_readings_carry_the_simulators_weight(
    simulator: ScaleSimulator,
    recorder: Recorder,
    make_transport: MakeTransport,
    wait_until: WaitUntil,
) -> None:
    simulator.set_weight("12.34")
    transport = make_transport(simulator.port)
    wait_until(lambda: weight_seen(recorder, "12.34"), message="a 12.34 kg reading")
    reading = next(r for r in recorder.weights() if r.weight == Decimal("12.34"))
    assert isinstance(reading.weight, Decimal)
    assert reading.unit == "kg" and reading.stable is True and reading.net is False
    assert reading.received_at is not None and reading.received_at.tzinfo is UTC
    assert recorder.link_states()[:2] == ["connecting", "connected"]
    assert transport.connected and transport.frames >= 1 and transport.errors == 0
    assert transport.bytes_received >= len(reading.raw)
    assert any(chunk.direction == "rx" and chunk.data for chunk in recorder.raw)


@needs_pty
def test_weight_changes_and_garbage_are_reported_in_order(
    simulator: ScaleSimulator,
    recorder: Recorder,
    make_transport: MakeTransport,
    wait_until: WaitUntil,
) -> None:
    transport = make_transport(simulator.port)
    wait_until(lambda: recorder.weights(), message="a first reading")
    simulator.inject(b"\r\n\x13\xff\xfe noise\r\n")
    wait_until(lambda: transport.errors >= 1, message="an unreadable frame")
    mark = recorder.count()
    simulator.set_weight("0.75")
    wait_until(lambda: weight_seen(recorder, "0.75", mark), message="the new weight")
    errors = [r for r in recorder.readings if r.kind == "error"]
    assert errors and all(r.error == "unreadable" and r.weight is None for r in errors)


@needs_pty
def test_pulled_cable_is_reported_and_the_transport_reconnects_by_itself(
    simulator: ScaleSimulator,
    scale_link: Path,
    recorder: Recorder,
    make_transport: MakeTransport,
    wait_until: WaitUntil,
) -> None:
    simulator.set_weight("5.00")
    transport = make_transport(str(scale_link))
    wait_until(lambda: weight_seen(recorder, "5.00"), message="a reading before the pull")

    simulator.unplug()
    wait_until(lambda: "disconnected" in recorder.link_states(), timeout=5, message="disconnected")
    lost = recorder.last_link()
    assert lost is not None and lost.port == str(scale_link)
    assert str(scale_link) in lost.message
    wait_until(
        lambda: (
            "no such device" in (recorder.last_link() or TransportLink("connected", "")).message
        ),
        message="the reopen attempts to fail plainly",
    )
    assert not transport.connected
    assert transport.send(b"Z\r\n") is False  # nothing is queued for later

    mark = recorder.count()
    simulator.set_weight("6.50")
    simulator.replug()
    wait_until(lambda: weight_seen(recorder, "6.50", mark), message="readings after replug")
    assert recorder.link_states()[-1] == "connected"
    assert transport.connections == 2


@needs_pty
def test_a_port_that_appears_later_is_picked_up(
    scale_link: Path, recorder: Recorder, make_transport: MakeTransport, wait_until: WaitUntil
) -> None:
    make_transport(str(scale_link))
    wait_until(lambda: "disconnected" in recorder.link_states(), message="disconnected")
    link = recorder.last_link()
    assert link is not None
    assert link.message == f"cannot open {scale_link}: no such device"
    with ScaleSimulator("comma", link=scale_link, rate_hz=50) as sim:
        sim.set_weight("1.10")
        wait_until(lambda: weight_seen(recorder, "1.10"), message="readings once plugged")


@needs_pty
def test_polled_indicator_is_asked_and_missed_replies_are_counted(
    recorder: Recorder, make_transport: MakeTransport, wait_until: WaitUntil
) -> None:
    emulator = AskedEmulator()
    with ScaleSimulator(emulator) as sim:
        sim.set_weight("3.30")
        transport = make_transport(sim.port, AskedProtocol(), poll_interval=0.05, reply_timeout=0.3)
        wait_until(lambda: weight_seen(recorder, "3.30"), message="a polled reading")
        assert transport.missed == 0
        assert any(c.direction == "tx" and c.data == b"W\r\n" for c in recorder.raw)

        emulator.mute = True
        wait_until(lambda: transport.missed >= 2, message="missed replies")
        assert recorder.missed == transport.missed or recorder.missed >= 2

        emulator.mute = False
        mark = recorder.count()
        sim.set_weight("3.40")
        wait_until(lambda: weight_seen(recorder, "3.40", mark), message="replies again")


@needs_pty
def test_send_reaches_the_indicator(
    recorder: Recorder, make_transport: MakeTransport, wait_until: WaitUntil
) -> None:
    emulator = AskedEmulator()
    with ScaleSimulator(emulator) as sim:
        sim.set_weight("8.00")
        transport = make_transport(sim.port, AskedProtocol(), poll_interval=0.05)
        wait_until(lambda: transport.connected, message="connected")
        assert transport.send(b"Z\r\n") is True
        wait_until(lambda: sim.snapshot().weight == 0, message="the indicator zeroed")
        wait_until(lambda: b"Z" in emulator.requests)


@needs_pty
def test_a_failing_callback_does_not_stop_the_readings(
    simulator: ScaleSimulator, wait_until: WaitUntil
) -> None:
    seen: list[Decimal | None] = []

    def clumsy(reading: object) -> None:
        seen.append(getattr(reading, "weight", None))
        raise RuntimeError("listener bug")

    transport = ScaleTransport(simulator.port, CommaProtocol(), on_reading=clumsy)
    transport.start()
    try:
        wait_until(lambda: len(seen) >= 3, message="readings despite the failing callback")
    finally:
        transport.stop()
    assert not transport.running


def test_socket_url_and_a_closed_connection(
    recorder: Recorder, make_transport: MakeTransport, wait_until: WaitUntil
) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    host, port = server.getsockname()
    accepted: list[socket.socket] = []
    hang_up = threading.Event()

    def indicator_over_tcp() -> None:
        # Streams like a serial-to-Ethernet converter until told to hang up. (pyserial
        # empties its input when it opens, so a single early frame could be lost.)
        connection, _ = server.accept()
        accepted.append(connection)
        while not hang_up.wait(0.02):
            connection.sendall(b"ST,GS,+0042.00kg\r\n")
        connection.close()

    thread = threading.Thread(target=indicator_over_tcp, daemon=True)
    thread.start()
    try:
        make_transport(f"socket://{host}:{port}")
        wait_until(lambda: weight_seen(recorder, "42.00"), message="a reading over TCP")
        hang_up.set()
        thread.join(10)
        # The transport then reconnects (the server still listens), so look for the
        # disconnection in the history rather than in the latest state.
        wait_until(
            lambda: "disconnected" in recorder.link_states()[2:], message="the closed connection"
        )
        lost = next(link for link in recorder.links[2:] if link.state == "disconnected")
        assert lost.message.startswith(f"lost connection to socket://{host}:{port}")
    finally:
        hang_up.set()
        server.close()
        for connection in accepted:
            connection.close()


@needs_pty
def test_stop_ends_a_read_that_waits_for_bytes(recorder: Recorder, wait_until: WaitUntil) -> None:
    """A silent line does not hold the counter open: stop() cancels the read in
    progress (pyserial's cancel_read) instead of waiting out its timeout."""
    master, slave = os.openpty()  # a line nobody speaks on
    transport = ScaleTransport(
        os.ttyname(slave), CommaProtocol(), read_timeout=60.0, **recorder.callbacks
    )
    try:
        transport.start()
        wait_until(lambda: transport.connected, message="the port open")
        transport.stop(timeout=5.0)
        assert not transport.running, "the read kept the thread for its 60 s timeout"
        assert recorder.link_states()[-1] == "disconnected"
    finally:
        transport.stop(timeout=5.0)
        os.close(master)
        os.close(slave)


def test_stop_before_any_port_opened_and_start_twice(tmp_path: Path, recorder: Recorder) -> None:
    transport = ScaleTransport(str(tmp_path / "nothing"), CommaProtocol(), **recorder.callbacks)
    transport.start()
    with pytest.raises(RuntimeError):
        transport.start()
    transport.stop()
    assert not transport.running
    assert recorder.link_states()[-1] == "disconnected"


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (FileNotFoundError(2, "No such file or directory"), "no such device"),
        (PermissionError(13, "Permission denied"), "permission denied"),
        (OSError(16, "Device or resource busy"), "in use by another program"),
        (OSError("something odd"), "something odd"),
    ],
)
def test_errors_are_described_plainly(exc: OSError, reason: str) -> None:
    assert reason in describe_error(exc)


def test_wrapped_errors_keep_their_reason() -> None:
    # pyserial's socket:// handler wraps the original error in its own message.
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    try:
        try:
            raise refused
        except OSError as inner:
            raise OSError(f"Could not open port socket://x:1: {inner}") from None
    except OSError as outer:
        outer.__context__ = refused
        assert describe_error(outer) == "connection refused"
