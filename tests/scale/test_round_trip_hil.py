"""Every protocol end to end over a real pseudo-terminal: simulator -> pyserial -> parser.

The simulator speaks the protocol's emulator on a pty, with the protocol's own line
settings; the real transport opens the other end through pyserial, polls where the
protocol is request/response, and must read back exactly the weight and flags set.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from drivers.scale.registry import PROTOCOL_NAMES, emulator_class, make_protocol
from drivers.scale.simulator import ScaleSimulator
from drivers.scale.transport import ScaleTransport

pytestmark = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")


@pytest.mark.parametrize("name", PROTOCOL_NAMES)
def test_weight_motion_and_net_survive_the_line(
    name: str,
    tmp_path: Path,
    recorder,
    wait_until,  # type: ignore[no-untyped-def]
) -> None:
    link = tmp_path / f"tty-{name}"
    simulator = ScaleSimulator(name, link=link, rate_hz=50.0)
    simulator.start()
    protocol = make_protocol(name)
    transport = ScaleTransport(str(link), protocol, poll_interval=0.02, **recorder.callbacks)
    transport.start()
    try:
        simulator.set_weight(Decimal("23.45"))
        wait_until(
            lambda: any(r.weight == Decimal("23.45") for r in recorder.weights()),
            message=f"{name}: 23.45 kg read back",
        )
        reading = next(r for r in recorder.weights() if r.weight == Decimal("23.45"))
        assert reading.unit == "kg"
        assert reading.grams == 23450
        assert reading.stable in (True, None)  # None: the format has no motion flag
        assert reading.raw  # the frame behind it is kept
        assert reading.received_at is not None

        simulator.set_motion(True)
        simulator.set_weight(Decimal("7.10"))
        if emulator_class(name).has_motion_flag:
            wait_until(
                lambda: any(r.weight == Decimal("7.10") for r in recorder.weights()),
                message=f"{name}: 7.10 kg in motion read back",
            )
            moving = [r for r in recorder.weights() if r.weight == Decimal("7.10")]
            assert all(r.stable is False for r in moving)
        else:
            # No motion flag in the format: the simulated load wobbles around 7.10.
            def wobbling() -> set[Decimal]:
                return {
                    r.weight
                    for r in recorder.weights()
                    if r.weight is not None and abs(r.weight - Decimal("7.10")) <= Decimal("0.03")
                }

            wait_until(lambda: len(wobbling()) >= 2, message=f"{name}: a wobbling 7.10 kg")

        assert transport.errors == 0, f"{name}: unreadable frames on a clean line"
    finally:
        transport.stop()
        simulator.stop()
